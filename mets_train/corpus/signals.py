"""A record's signal for the corpus: read (mV, standard leads), condition (resample + band-pass), and the
heart rate of a stretch that has no beat annotations.

Reading is `readers.read_ecg` and conditioning is `preprocess.resample` + `preprocess.filter_ecg`, the very
steps an uploaded ECG goes through, so a corpus window and the same ECG uploaded in the dashboard reach the
model identically. NOT `preprocess.normalise`: normalisation is the model's input step, done per batch at
training time.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from mets_core import measure as _measure
from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.preprocess import filter_ecg, resample
from mets_core.readers import read_ecg
from ..ptbxl.dataset import read_zscore_array
from .sources import RecordSpec


def read_record(spec: RecordSpec) -> ECG:
    """The record at its own rate on the twelve standard leads (unmapped leads dropped): mV, except the
    z-scored form (spec.form "zscore", a (12, n) .npy in standard lead order) whose units are standard
    deviations of each lead; its metadata says so."""
    if spec.form == "zscore":
        return read_zscore_array(spec.path, spec.fs, f"{spec.source}/{spec.record}")
    return read_ecg(spec.path, name=f"{spec.source}/{spec.record}", lead_names=spec.lead_names)


def resampled_length(n: int, fs_from: float, fs_to: float) -> int:
    """Length of `preprocess.resample` output for n input samples (resample_poly: ceil(n * up / down))."""
    if abs(fs_from - fs_to) < 1e-9:
        return n
    r = Fraction(fs_to / fs_from).limit_denominator(1000)
    return -(-n * r.numerator // r.denominator)


def condition(ecg: ECG, fs: float, highpass_hz: float, lowpass_hz: float) -> ECG:
    """Resample to fs and band-pass (zero-phase Butterworth), exactly as `preprocess` does (the builder passes
    its BuildOptions, whose defaults are PreprocessConfig's)."""
    return filter_ecg(resample(ecg, fs), highpass_hz, lowpass_hz)


def rate_lead(ecg: ECG) -> int:
    """Row of the lead used for R-peak detection: measure.py's interval-lead order (II first)."""
    for name in _measure.INTERVAL_LEAD_ORDER:
        i = STANDARD_LEADS.index(name)
        if ecg.lead_mask[i]:
            return i
    raise ValueError("ECG has no leads")


def measure_rate(x: np.ndarray, fs: float) -> float | None:
    """Heart rate (bpm) of one lead's stretch: 60 000 / the median of its plausible RR intervals
    (``measure.plausible_median``), the R peaks found and the lead rated as ``measure.measure`` rates one lead
    (``measure.clean_and_rate_lead``: neurokit2's detector on that lead alone), without measure's intervals
    and axis (20x faster). None when the lead's signal quality is unacceptable or too few beats are found:
    never guessed.

    Not ``measure.measure``'s rate in two ways: that finds the beats on all recorded leads at once, and in an
    irregular rhythm (RR coefficient of variation above ``measure.RR_IRREGULAR_CV``: atrial fibrillation,
    bigeminy) it takes the MEAN RR, while this always takes the median, which in a two-peaked RR
    distribution sits on one peak. Kept so: the shipped corpus's reports (its rate words, brady-/tachycardia)
    and the model trained on them were made with this rule."""
    import neurokit2 as nk  # slow to import; only the builder needs it

    _, peaks, quality, _ = _measure.clean_and_rate_lead(nk, np.asarray(x, dtype=float), float(fs))
    if quality == "Unacceptable" or len(peaks) < _measure.MIN_BEATS + 1:
        return None
    rr = _measure.plausible_median(np.diff(peaks) / fs * 1000.0, "rr")
    return None if rr is None else 60000.0 / rr
