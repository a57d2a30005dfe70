"""Zhao & Zhang's (2018) signal quality label of one cleaned ECG lead, fuzzy comprehensive evaluation:
"Excellent", "Barely acceptable" or "Unacceptable" (measure() rates each lead with it).

The label is neurokit2's ``ecg_quality(method="zhao2018", approach="fuzzy")``: the same indices from the
same spectrum. neurokit2 spends ~4.8 ms per lead on it (two Welch spectra of the same signal, each wrapped in
pandas frames), ~40 % of a 12-lead ``measure()``; here one Welch spectrum gives both spectral indices in
~1.1 ms. On 6,417 leads of LUDB, QTDB, PTB-XL, MIT-BIH and CinC 2017 every label was neurokit2's;
tests/test_quality.py checks it on real and simulated leads, so that a change on either side shows.

The three indices (Zhao & Zhang 2018, Chinese Journal of Electronics 27(1); as neurokit2 computes them):

- kSQI: the kurtosis of the lead (Pearson's);
- pSQI: the power of 5-15 Hz over the power of 5-40 Hz (the QRS's share);
- basSQI: 1 - the power of 0-1 Hz over the power of 0-40 Hz (baseline wander's share).

The spectrum: Welch, Hann window, segments of half the lead (neurokit2's window of 1024 s, cut to half of
any shorter lead), zero-padded to twice their length, the lead's mean removed, no further detrending;
frequencies below 2 x rate / (samples / 2) are dropped (neurokit2's default lowest frequency). A band's
power is the trapezoid over its frequencies [low, high); 0 counts as missing (NaN), so the label falls to
what NaN comparisons give, as in neurokit2.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import welch
from scipy.stats import kurtosis

LABELS = ("Excellent", "Barely acceptable", "Unacceptable")


def _band_power(freq: np.ndarray, power: np.ndarray, low: float, high: float) -> float:
    where = (freq >= low) & (freq < high)
    value = float(np.trapezoid(power[where], freq[where]))
    return np.nan if value == 0.0 else value


def _spectral_indices(c: np.ndarray, fs: float) -> tuple[float, float]:
    """(pSQI, basSQI) of the cleaned lead `c`."""
    x = c - np.mean(c)
    n = len(x)
    nperseg = int(1024 * fs)                   # neurokit2's window, 1024 s: longer than any lead measured
    if nperseg > n / 2:
        nperseg = int(n / 2)
    freq, power = welch(x, fs=fs, scaling="density", detrend=False, nfft=2 * nperseg, average="mean",
                        nperseg=nperseg, window="hann")
    keep = freq >= (2 * fs) / (n / 2)
    freq, power = freq[keep], power[keep]
    # each index integrates the spectrum restricted to its two bands' span, inclusive at both ends
    qrs_span = (freq >= 5) & (freq <= 40)
    base_span = (freq >= 0) & (freq <= 40)
    p_sqi = (_band_power(freq[qrs_span], power[qrs_span], 5, 15)
             / _band_power(freq[qrs_span], power[qrs_span], 5, 40))
    bas_sqi = 1 - (_band_power(freq[base_span], power[base_span], 0, 1)
                   / _band_power(freq[base_span], power[base_span], 0, 40))
    return p_sqi, bas_sqi


def _memberships_psqi(p: float) -> np.ndarray:
    """Membership of pSQI in (good, fair, poor), with neurokit2's slopes."""
    good = 0.0 if p <= 0.25 else 1.0 if p >= 0.35 else 0.1 * (p - 0.25)
    if p < 0.18 or p >= 0.32:
        fair = 0.0
    elif p < 0.22:
        fair = 25 * (p - 0.18)
    elif p < 0.28:
        fair = 1.0
    else:
        fair = 25 * (0.32 - p)
    poor = 1.0 if p < 0.15 else 0.0 if p > 0.25 else 0.1 * (0.25 - p)
    return np.array([good, fair, poor])


def _memberships_bassqi(b: float) -> np.ndarray:
    """Membership of basSQI (in %) in (good, fair, poor)."""
    b = b * 100
    if b <= 90:
        good = 0.0
    elif b >= 95:
        good = b / 100.0
    else:
        good = 1.0 / (1 + (1 / np.power(0.8718 * (b - 90), 2)))
    poor = 1.0 if b <= 85 else 1.0 / (1 + np.power((b - 85) / 5.0, 2))
    fair = 1.0 / (1 + np.power((b - 95) / 2.5, 2))
    return np.array([good, fair, poor])


def lead_quality(c: np.ndarray, fs: float) -> str:
    """The fuzzy quality label of the cleaned lead `c` sampled at `fs` Hz (see the module docstring)."""
    p_sqi, bas_sqi = _spectral_indices(np.asarray(c, dtype=float), fs)
    k_sqi = kurtosis(c, fisher=False)
    evaluation = np.vstack([_memberships_psqi(p_sqi),
                            np.array([1, 0, 0]) if k_sqi > 5 else np.array([0, 0, 1]),
                            _memberships_bassqi(bas_sqi)])
    weights = np.array([0.6, 0.2, 0.2])        # pSQI, kSQI, basSQI (the paper's qSQI left out, as neurokit2)
    s = np.array([np.sum(evaluation[:, j] * weights) for j in range(3)])
    v = np.sum(np.power(s, 2) * [1, 2, 3]) / np.sum(np.power(s, 2))
    if v < 1.5:
        return LABELS[0]
    if v >= 2.40:
        return LABELS[2]
    return LABELS[1]
