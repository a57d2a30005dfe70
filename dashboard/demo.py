"""Built-in demo ECGs that need no data and no network: clearly labelled SYNTHETIC (made by
mets_core.simulate.simulate_ecg)."""
from __future__ import annotations

from dataclasses import dataclass

from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.simulate import simulate_ecg

FS = 500
SECONDS = 10


@dataclass(frozen=True)
class Demo:
    title: str
    heart_rate: float
    leads: tuple[str, ...] = tuple(STANDARD_LEADS)
    noise: float = 0.0
    wander: float = 0.0           # baseline wander amplitude, mV
    seed: int = 7


DEMOS: dict[str, Demo] = {d.title: d for d in (
    Demo("Synthetic: sinus rhythm, 70 bpm", 70),
    Demo("Synthetic: sinus bradycardia, 48 bpm", 48, seed=5),
    Demo("Synthetic: limb leads only (6 of 12 recorded)", 72,
         leads=("I", "II", "III", "aVR", "aVL", "aVF"), seed=3),
    Demo("Synthetic: one lead (I), as from a handheld device", 76, leads=("I",), seed=9),
    Demo("Synthetic: noisy recording with baseline wander", 80, noise=0.06, wander=0.3, seed=13),
)}


def make_demo(title: str) -> ECG:
    """The demo ECG called `title` (one of DEMOS), 10 s at 500 Hz, with absent leads masked."""
    demo = DEMOS[title]
    return simulate_ecg(duration_s=SECONDS, fs=FS, heart_rate=demo.heart_rate, leads=demo.leads,
                        noise_mv=demo.noise, wander_mv=demo.wander, seed=demo.seed, name=title)
