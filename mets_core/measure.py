"""Conventional ECG measurements with neurokit2: rate, intervals, frontal axis, per-lead signal quality.

``measure(ecg) -> Measurements``. Every number is measured on the recording or is ``None`` ("not
measurable"), with the reason in ``Measurements.notes``: a number is never guessed or filled in.

How each value is obtained (and why)
- R peaks: ``nk.ecg_clean`` (0.5 Hz high-pass, powerline notch) + ``nk.ecg_peaks`` on one *interval lead*:
  the first present lead, in the order II, V5, I, V6, V2, ... (lead II first, as in the rhythm strip), whose
  signal quality is not "Unacceptable" and that has at least ``MIN_BEATS`` detected beats.
- Heart rate and RR: median RR interval of that lead; HR = 60 000 / median RR (ms).
- QRS onset and offset: neurokit2's DWT boundaries of the QRS are systematically ~40 ms too wide against
  LUDB's cardiologist annotations, so QRS limits are found from the slope envelope instead: the smoothed
  |dV/dt| around each R peak, with the QRS being the run of samples (gaps < 20 ms allowed) containing the
  R peak where the slope exceeds ``QRS_SLOPE_FRACTION`` of the beat's maximum slope.
- P onset: neurokit2 DWT delineation (``ECG_P_Onsets``), paired with the beat's QRS onset.
  PR interval = QRS onset - P onset (the clinical PR: start of P to start of QRS).
- T end: from the T peak (the largest deflection from the PQ baseline after the QRS), the point of
  steepest descent; T end is where the slope falls below ``T_SLOPE_FRACTION`` of that steepest slope.
  A T wave smaller than 0.05 mV has no measurable end. QT = T end - QRS onset.
- QTc: Bazett, QTc = QT / sqrt(RR in s) (the formula ECG machines print; it over-corrects at high rates).
- Frontal axis: atan2 of the net QRS area (integral from QRS onset to offset, above the PQ baseline) in
  aVF and in I, median over beats. Needs both I and aVF.
- Each interval is the median over beats whose value is physiologically possible (PR 60-400 ms, QRS
  40-250 ms, QT 200-700 ms); fewer than ``MIN_BEATS`` such beats gives None.
- Per-lead signal quality: ``nk.ecg_quality(method="zhao2018", approach="fuzzy")`` ("Excellent",
  "Barely acceptable", "Unacceptable"; kurtosis, QRS-band power and baseline power SQIs), gated by a
  template-matching SQI (Orphanidou et al. 2015, IEEE JBHI 19:832): the mean correlation of each beat
  (-0.2 s..+0.4 s around R) with the average beat, in ``Measurements.lead_sqi``; below
  ``TEMPLATE_SQI_MIN`` = 0.66 (their threshold) the lead is "Unacceptable" whatever zhao2018 says
  (zhao2018 alone rates white noise "Excellent"). "Not recorded" for absent leads. Nothing is measured
  when every recorded lead is unacceptable.

Long recordings are measured on their first ``MAX_SECONDS`` seconds (stated in the notes).
The thresholds were chosen on LUDB records 1, 8, 15, ... (every 7th); tests/test_measure.py checks them
on the other LUDB records.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .ecg import ECG, STANDARD_LEADS

INTERVAL_LEAD_ORDER = ("II", "V5", "I", "V6", "V2", "V1", "V3", "V4", "aVF", "III", "aVL", "aVR")
MAX_SECONDS = 60.0
MIN_BEATS = 2
QRS_SLOPE_FRACTION = 0.07
T_SLOPE_FRACTION = 0.15
MIN_T_AMPLITUDE_MV = 0.05
TEMPLATE_SQI_MIN = 0.66
MIN_SQI_BEATS = 4
PLAUSIBLE_MS = {"pr": (60.0, 400.0), "qrs": (40.0, 250.0), "qt": (200.0, 700.0), "rr": (200.0, 3000.0)}
QUALITY_NOT_RECORDED = "Not recorded"


@dataclass
class Measurements:
    heart_rate_bpm: float | None = None
    rr_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_ms: float | None = None
    qtc_formula: str = "Bazett"
    axis_deg: float | None = None
    interval_lead: str | None = None          # the lead rate and intervals were measured in
    n_beats: int = 0                           # beats detected in that lead
    seconds_analysed: float = 0.0
    lead_quality: dict[str, str] = field(default_factory=dict)   # every standard lead -> quality label
    lead_sqi: dict[str, float] = field(default_factory=dict)     # recorded leads -> template-matching SQI
    notes: dict[str, str] = field(default_factory=dict)          # why a value is None, and caveats

    def to_dict(self) -> dict:
        return asdict(self)


def measure(ecg: ECG) -> Measurements:
    """Measure rate, intervals, axis and per-lead quality of an ECG (None where not measurable)."""
    import neurokit2 as nk  # heavy import, only when measuring

    fs = float(ecg.fs)
    n = min(ecg.n_samples, int(MAX_SECONDS * fs))
    out = Measurements(seconds_analysed=round(n / fs, 3))
    if ecg.n_samples > n:
        out.notes["length"] = f"measured on the first {MAX_SECONDS:.0f} s of {ecg.duration:.0f} s"

    cleaned: dict[str, np.ndarray] = {}
    peaks: dict[str, np.ndarray] = {}
    for i, lead in enumerate(STANDARD_LEADS):
        if not ecg.lead_mask[i]:
            out.lead_quality[lead] = QUALITY_NOT_RECORDED
            continue
        x = np.asarray(ecg.signal[i, :n], dtype=float)
        cleaned[lead], peaks[lead], out.lead_quality[lead], out.lead_sqi[lead] = _clean_and_rate(nk, x, fs)

    lead = _choose_interval_lead(peaks, out.lead_quality)
    if lead is None:
        why = "signal quality unacceptable in every recorded lead (noise, flat line or too few beats)"
        for key in ("rate", "pr", "qrs", "qt", "qtc", "axis"):
            out.notes[key] = why
        return out
    out.interval_lead, c, rp = lead, cleaned[lead], peaks[lead]
    out.n_beats = int(len(rp))
    # Beats are simultaneous in all leads: rate every lead's quality again on the interval lead's beats. A
    # lead's own detector can count tall T waves as beats (V2-V3), which would wrongly call it unusable.
    for other in cleaned:
        if other != lead and np.ptp(cleaned[other]) > 1e-6:
            out.lead_quality[other], out.lead_sqi[other] = _rate_on_beats(nk, cleaned[other], rp, fs)

    rr = _plausible(np.diff(rp) / fs * 1000.0, "rr")
    if rr is None:
        out.notes["rate"] = "RR intervals outside 200-3000 ms"
    else:
        out.rr_ms = rr
        out.heart_rate_bpm = 60000.0 / rr

    beats = _qrs_and_t_limits(c, rp, fs)
    qrs_on = np.array([b[0] for b in beats], dtype=float)
    qrs_off = np.array([b[1] for b in beats], dtype=float)
    t_end = np.array([b[2] for b in beats], dtype=float)
    out.qrs_ms = _plausible((qrs_off - qrs_on) / fs * 1000.0, "qrs")
    out.qt_ms = _plausible((t_end - qrs_on) / fs * 1000.0, "qt")
    out.pr_ms = _plausible((qrs_on - _p_onsets(nk, c, rp, qrs_on, fs)) / fs * 1000.0, "pr")
    for key, value, why in (("qrs", out.qrs_ms, "QRS limits not found"),
                            ("qt", out.qt_ms, "T wave end not found (flat or noisy T)"),
                            ("pr", out.pr_ms, "P wave onset not found (no P waves, e.g. AF, or noise)")):
        if value is None:
            out.notes[key] = why
    if out.qt_ms is not None and out.rr_ms is not None:
        out.qtc_ms = out.qt_ms / math.sqrt(out.rr_ms / 1000.0)
    elif out.qt_ms is not None:
        out.notes["qtc"] = "needs a measurable RR"
    else:
        out.notes["qtc"] = "needs a measurable QT"

    if "I" in cleaned and "aVF" in cleaned:
        out.axis_deg = _frontal_axis(cleaned["I"], cleaned["aVF"], qrs_on, qrs_off, fs)
        if out.axis_deg is None:
            out.notes["axis"] = "net QRS area not measurable in I and aVF"
    else:
        out.notes["axis"] = "needs leads I and aVF"
    for attr in ("heart_rate_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "axis_deg"):
        value = getattr(out, attr)
        if value is not None:
            setattr(out, attr, round(float(value), 1))
    return out


def _clean_and_rate(nk, x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Cleaned lead, its R peaks, its quality label and template SQI ("Unacceptable" when unusable)."""
    none = np.zeros(0, dtype=int)
    if not np.all(np.isfinite(x)) or np.ptp(x) < 1e-6 or len(x) < int(2 * fs):
        return np.zeros_like(x), none, "Unacceptable", 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            c = np.asarray(nk.ecg_clean(x, sampling_rate=fs), dtype=float)
            _, info = nk.ecg_peaks(c, sampling_rate=fs)
            rp = np.asarray(info["ECG_R_Peaks"], dtype=int)
        except Exception:  # neurokit2 raises assorted errors on pathological input
            return np.zeros_like(x), none, "Unacceptable", 0.0
        if len(rp) < MIN_BEATS + 1:
            return c, rp, "Unacceptable", 0.0
        sqi = _template_sqi(c, rp, fs)
        try:
            quality = str(nk.ecg_quality(c, rpeaks=rp, sampling_rate=fs, method="zhao2018", approach="fuzzy"))
        except Exception:
            quality = "Unacceptable"
    if sqi < TEMPLATE_SQI_MIN:
        quality = "Unacceptable"
    return c, rp, quality, round(sqi, 3)


def _rate_on_beats(nk, c: np.ndarray, rp: np.ndarray, fs: float) -> tuple[str, float]:
    sqi = _template_sqi(c, rp, fs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            quality = str(nk.ecg_quality(c, rpeaks=rp, sampling_rate=fs, method="zhao2018", approach="fuzzy"))
        except Exception:
            quality = "Unacceptable"
    return ("Unacceptable" if sqi < TEMPLATE_SQI_MIN else quality), round(sqi, 3)


def _template_sqi(c: np.ndarray, rp: np.ndarray, fs: float) -> float:
    """Mean correlation of each beat with the average beat (Orphanidou et al. 2015)."""
    before, after = int(0.2 * fs), int(0.4 * fs)
    beats = np.array([c[r - before:r + after] for r in rp if r - before >= 0 and r + after <= len(c)])
    if len(beats) < MIN_SQI_BEATS:   # a couple of random noise peaks can correlate by chance
        return 0.0
    template = beats.mean(axis=0)
    if np.ptp(template) <= 0:
        return 0.0
    corr = [np.corrcoef(b, template)[0, 1] if np.ptp(b) > 0 else 0.0 for b in beats]
    return float(np.nanmean(corr))


def _choose_interval_lead(peaks: dict[str, np.ndarray], quality: dict[str, str]) -> str | None:
    for lead in INTERVAL_LEAD_ORDER:
        if lead in peaks and len(peaks[lead]) >= MIN_BEATS + 1 and quality.get(lead) != "Unacceptable":
            return lead
    return None


def _plausible(values_ms: np.ndarray, kind: str) -> float | None:
    lo, hi = PLAUSIBLE_MS[kind]
    v = np.asarray(values_ms, dtype=float)
    v = v[np.isfinite(v) & (v >= lo) & (v <= hi)]
    return float(np.median(v)) if len(v) >= MIN_BEATS else None


def _slope_envelope(c: np.ndarray, fs: float) -> np.ndarray:
    k = max(1, int(round(0.01 * fs)))
    return np.convolve(np.abs(np.gradient(c)), np.ones(k) / k, mode="same")


def _qrs_and_t_limits(c: np.ndarray, rp: np.ndarray, fs: float) -> list[tuple[float, float, float]]:
    """Per beat: (QRS onset, QRS offset, T end) in samples; NaN where not found."""
    d = _slope_envelope(c, fs)
    gap = int(round(0.02 * fs))
    beats = []
    for k, r in enumerate(rp):
        a, b = max(0, r - int(0.12 * fs)), min(len(c), r + int(0.14 * fs))
        seg = d[a:b]
        if len(seg) < 3 or seg.max() <= 0:
            beats.append((math.nan, math.nan, math.nan))
            continue
        above = np.flatnonzero(seg > QRS_SLOPE_FRACTION * seg.max())
        i = j = r - a
        while True:   # walk left through supra-threshold samples, bridging gaps shorter than 20 ms
            prev = above[above < i]
            if len(prev) == 0 or i - prev[-1] > gap:
                break
            i = prev[-1]
        while True:
            nxt = above[above > j]
            if len(nxt) == 0 or nxt[0] - j > gap:
                break
            j = nxt[0]
        on, off = a + i, a + j
        if i == 0 or j >= len(seg) - 1:          # the QRS runs into the search window's edge
            beats.append((math.nan, math.nan, math.nan))
            continue
        beats.append((float(on), float(off), _t_end(c, d, rp, k, on, off, fs)))
    return beats


def _t_end(c, d, rp, k, on, off, fs) -> float:
    r = rp[k]
    rr = (rp[k + 1] - r) if k + 1 < len(rp) else (r - rp[k - 1] if k > 0 else fs)
    ta, tb = off + int(0.06 * fs), min(len(c), r + int(min(0.6 * fs, 0.7 * rr)))
    if tb - ta <= int(0.05 * fs):
        return math.nan
    baseline = float(np.median(c[max(0, on - int(0.03 * fs)):on + 1]))
    tp = ta + int(np.argmax(np.abs(c[ta:tb] - baseline)))
    if abs(c[tp] - baseline) < MIN_T_AMPLITUDE_MV:
        return math.nan
    end = min(len(c), tp + int(0.2 * fs))
    if end - tp < 3:
        return math.nan
    steepest = tp + int(np.argmax(d[tp:end]))
    below = np.flatnonzero(d[steepest:end] < T_SLOPE_FRACTION * d[steepest])
    return float(steepest + below[0]) if len(below) else math.nan


def _p_onsets(nk, c: np.ndarray, rp: np.ndarray, qrs_on: np.ndarray, fs: float) -> np.ndarray:
    """P onset (samples) paired with each beat's QRS onset; NaN where DWT finds none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, waves = nk.ecg_delineate(c, rp, sampling_rate=fs, method="dwt")
            candidates = np.asarray(waves.get("ECG_P_Onsets", []), dtype=float)
        except Exception:
            return np.full(len(rp), math.nan)
    candidates = candidates[np.isfinite(candidates)]
    out = np.full(len(rp), math.nan)
    for k, on in enumerate(qrs_on):
        if not np.isfinite(on):
            continue
        lo = max(rp[k - 1] if k > 0 else 0, on - 0.45 * fs)
        inside = candidates[(candidates > lo) & (candidates < on - 0.04 * fs)]
        if len(inside):
            out[k] = inside.max()
    return out


def _frontal_axis(lead_i, lead_avf, qrs_on, qrs_off, fs) -> float | None:
    areas = []
    for on, off in zip(qrs_on, qrs_off):
        if not (np.isfinite(on) and np.isfinite(off)) or off <= on:
            continue
        on, off = int(on), int(off)
        pre = slice(max(0, on - int(0.03 * fs)), on + 1)
        a_i = float(np.sum(lead_i[on:off + 1] - np.median(lead_i[pre]))) / fs
        a_f = float(np.sum(lead_avf[on:off + 1] - np.median(lead_avf[pre]))) / fs
        areas.append((a_i, a_f))
    if len(areas) < MIN_BEATS:
        return None
    a_i, a_f = np.median(np.array(areas), axis=0)
    if abs(a_i) < 1e-6 and abs(a_f) < 1e-6:
        return None
    return math.degrees(math.atan2(a_f, a_i))
