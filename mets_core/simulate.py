"""Synthetic 12-lead ECGs for demos and tests: one public verb, `simulate_ecg`.

Built on neurokit2's ECGSYN model (McSharry et al. 2003, `nk.ecg_simulate(method="ecgsyn")`), run once per
simulated lead with the same random state (so the beats line up across leads) and a per-lead wave shape
(P, Q, R, S, T amplitudes). Leads I, II and V1-V6 are simulated; III, aVR, aVL and aVF are derived from I
and II by Einthoven's and Goldberger's equations, so the limb leads are consistent the way real ones are.
The wave timings give adult-normal intervals (PR ~180, QRS ~85, QTc ~430 ms at 70 bpm); ECGSYN compresses
P, QRS and T into each other above ~90 bpm. neurokit2's own "multileads" mode gives lead II a tiny QRS
under a 3x taller T wave, which no measurement or clinician would accept.

The result is an ordinary `ECG` marked SYNTHETIC in its metadata (source_format "synthetic"), never a
patient's recording.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .ecg import ECG, STANDARD_LEADS

# ECGSYN wave timings (degrees of the cardiac cycle) and widths: neurokit2's defaults give a ~150 ms QRS
# (broad Q and S Gaussians); these give adult-normal intervals.
_TIMINGS = (-60.0, -10.0, 0.0, 10.0, 90.0)
_WIDTHS = (0.2, 0.06, 0.07, 0.06, 0.4)
PR_RATE_BPM = 70.0               # below this rate the P wave keeps the distance to the QRS it has here

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
_DERIVED = {"III": lambda i, ii: ii - i, "aVR": lambda i, ii: -(i + ii) / 2, "aVL": lambda i, ii: i - ii / 2,
            "aVF": lambda i, ii: ii - i / 2}
MIN_DURATION_S = 0.5
MAX_DURATION_S = 24 * 3600.0


def _timings(heart_rate: float) -> tuple[float, ...]:
    """_TIMINGS for `heart_rate`. ECGSYN places the waves at angles of the beat's cycle, so a slow rate puts the
    P wave as much further before the QRS as the cycle is longer: the 48 bpm "sinus bradycardia" demo read PR
    242 ms, a first-degree AV block its title does not name. Below PR_RATE_BPM the P wave's angle shrinks so
    that it keeps the time before the QRS it has at that rate (ECGSYN's own rate factor, the fourth root of
    rate / 60, undone)."""
    if heart_rate >= PR_RATE_BPM:
        return _TIMINGS
    angle_per_s = heart_rate / PR_RATE_BPM * (PR_RATE_BPM / heart_rate) ** 0.25
    return (_TIMINGS[0] * angle_per_s, *_TIMINGS[1:])


def _lead(shape: tuple[float, ...], ptp_mv: float, n: int, fs: int, heart_rate: float, seed: int) -> np.ndarray:
    import neurokit2 as nk
    seconds = int(np.ceil(n / fs)) + 1
    # one extra second, dropped: ECGSYN starts with a transient that looks like an artefact
    x = np.asarray(nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=heart_rate, method="ecgsyn",
                                   random_state=seed, ai=shape, ti=_timings(heart_rate), bi=_WIDTHS),
                   dtype=np.float64)[fs:fs + n]
    x = x - np.median(x)          # ECGSYN rescales to [-0.4, 1.2]; put the isoelectric line at 0
    return x * (ptp_mv / max(float(np.ptp(x)), 1e-9))


def simulate_ecg(duration_s: float = 10.0, fs: int = 500, heart_rate: float = 70.0,
                 leads: Sequence[str] = STANDARD_LEADS, noise_mv: float = 0.0, wander_mv: float = 0.0,
                 seed: int = 0, name: str = "synthetic") -> ECG:
    """A synthetic ECG of `duration_s` seconds at `fs` Hz (whole Hz) and `heart_rate` bpm with the given
    standard `leads` recorded (the others masked as absent). `noise_mv`: standard deviation of added white
    noise; `wander_mv`: amplitude of a 0.25 Hz baseline wander. The same arguments give the same samples."""
    fs_int = int(round(float(fs)))
    if fs_int != fs or not 50 <= fs_int <= 10_000:
        raise ValueError(f"fs must be a whole number of Hz between 50 and 10000, got {fs!r}")
    if not MIN_DURATION_S <= float(duration_s) <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be between {MIN_DURATION_S:g} s and 24 h, got {duration_s!r}")
    if not 20 <= float(heart_rate) <= 200:
        raise ValueError(f"heart_rate must be between 20 and 200 bpm, got {heart_rate!r}")
    wanted = list(dict.fromkeys(leads))
    unknown = [lead for lead in wanted if lead not in STANDARD_LEADS]
    if unknown or not wanted:
        raise ValueError(f"leads must be standard lead names ({', '.join(STANDARD_LEADS)}), got {list(leads)!r}")
    n = int(round(float(duration_s) * fs_int))
    base = {lead for lead in wanted if lead in _SHAPES}
    if any(lead in _DERIVED for lead in wanted):
        base |= {"I", "II"}
    sim = {lead: _lead(*_SHAPES[lead], n, fs_int, float(heart_rate), seed) for lead in sorted(base)}
    for lead in wanted:
        if lead in _DERIVED:
            sim[lead] = _DERIVED[lead](sim["I"], sim["II"])
    if noise_mv or wander_mv:
        rng = np.random.default_rng(seed)
        t = np.arange(n) / fs_int
        for lead in wanted:
            phase = rng.uniform(0, 2 * np.pi)
            sim[lead] = (sim[lead] + wander_mv * np.sin(2 * np.pi * 0.25 * t + phase)
                         + noise_mv * rng.standard_normal(n))
    meta = {"source_format": "synthetic",
            "comments": f"SYNTHETIC ECG, not a patient: neurokit2 ECGSYN (McSharry et al. 2003), {heart_rate:g} bpm"
                        + ("; limb leads III, aVR, aVL, aVF derived from I and II." if base & {"I", "II"} else ".")}
    return ECG.from_leads(np.stack([sim[lead] for lead in wanted]), wanted, fs_int, name=name, metadata=meta)
