"""Built-in demo ECGs that need no data and no network: clearly labelled SYNTHETIC.

Each demo is built from neurokit2's ECGSYN model (McSharry et al. 2003, `nk.ecg_simulate(method="ecgsyn")`)
run once per recorded lead with the same random state (so the beats line up across leads) and a per-lead
wave shape (P, Q, R, S, T amplitudes). Leads I, II and V1-V6 are simulated; III, aVR, aVL and aVF are
derived from I and II by Einthoven's and Goldberger's equations, so the limb leads are consistent the way
real ones are. ECGSYN compresses P, QRS and T into each other above ~90 bpm, so there is no tachycardia demo. (neurokit2's own "multileads" mode gives lead II a tiny QRS under a 3x taller T wave, which
no measurement or clinician would accept as a demo.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mets_core.ecg import ECG

FS = 500
SECONDS = 10
# ECGSYN wave timings (degrees of the cardiac cycle) and widths: neurokit2's defaults give a ~150 ms QRS
# (broad Q and S Gaussians); these give adult-normal intervals (PR ~180, QRS ~85, QTc ~430 ms at 70 bpm).
_TIMINGS = (-60.0, -10.0, 0.0, 10.0, 90.0)
_WIDTHS = (0.2, 0.06, 0.07, 0.06, 0.4)

# (P, Q, R, S, T) ECGSYN amplitudes shaping each simulated lead, and its QRS peak-to-peak amplitude in mV
_SHAPES = {
    "I": ((1.0, -3.0, 20.0, -4.0, 0.6), 0.9),
    "II": ((1.2, -5.0, 30.0, -7.5, 0.75), 1.4),
    "V1": ((0.5, 0.0, 7.0, -30.0, -0.15), 1.3),
    "V2": ((0.8, 0.0, 14.0, -30.0, 1.0), 2.0),
    "V3": ((0.8, -1.0, 22.0, -20.0, 1.0), 1.8),
    "V4": ((0.9, -3.0, 30.0, -10.0, 0.9), 2.0),
    "V5": ((0.9, -4.0, 30.0, -6.0, 0.8), 1.7),
    "V6": ((0.9, -4.0, 25.0, -4.0, 0.7), 1.3),
}


@dataclass(frozen=True)
class Demo:
    title: str
    heart_rate: float
    leads: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
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


def _simulate_lead(shape: tuple[float, ...], ptp_mv: float, heart_rate: float, seed: int) -> np.ndarray:
    import neurokit2 as nk
    # one extra second, dropped: ECGSYN starts with a transient that looks like an artefact
    x = np.asarray(nk.ecg_simulate(duration=SECONDS + 1, sampling_rate=FS, heart_rate=heart_rate, method="ecgsyn",
                                   random_state=seed, ai=shape, ti=_TIMINGS, bi=_WIDTHS), dtype=np.float64)[FS:]
    x = x - np.median(x)          # ECGSYN rescales to [-0.4, 1.2]; put the isoelectric line at 0
    return x * (ptp_mv / max(np.ptp(x), 1e-9))


def make_demo(title: str) -> ECG:
    """The demo ECG called `title` (one of DEMOS), 12 x 5000 at 500 Hz, with absent leads masked."""
    demo = DEMOS[title]
    sim = {lead: _simulate_lead(shape, ptp, demo.heart_rate, demo.seed) for lead, (shape, ptp) in _SHAPES.items()}
    i, ii = sim["I"], sim["II"]
    sim.update({"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2})
    rng = np.random.default_rng(demo.seed)
    t = np.arange(SECONDS * FS) / FS
    if demo.wander or demo.noise:
        for lead in sim:
            phase = rng.uniform(0, 2 * np.pi)
            sim[lead] = (sim[lead] + demo.wander * np.sin(2 * np.pi * 0.25 * t + phase)
                         + demo.noise * rng.standard_normal(len(t)))
    leads = list(demo.leads)
    meta = {"source_format": "synthetic",
            "comments": "SYNTHETIC ECG, not a patient: neurokit2 ECGSYN (McSharry et al. 2003), "
                        f"{demo.heart_rate:g} bpm; limb leads III, aVR, aVL, aVF derived from I and II."}
    return ECG.from_leads(np.stack([sim[lead] for lead in leads]), leads, FS, name=title, metadata=meta)
