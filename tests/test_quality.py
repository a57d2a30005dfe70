"""mets_core.quality.lead_quality gives neurokit2's Zhao & Zhang (2018) fuzzy label (``ecg_quality(
method="zhao2018", approach="fuzzy")``), computed from one spectrum: the same label on every lead, simulated
ones with each kind of noise at several levels (so that all three labels occur) and real leads."""
from __future__ import annotations

import warnings

import neurokit2 as nk
import numpy as np
import wfdb

from mets_core.quality import LABELS, lead_quality

from helpers import data_dir_or_none, needs_data


def neurokit_label(c: np.ndarray, fs: float) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(nk.ecg_quality(c, sampling_rate=fs, rpeaks=np.array([0, 1]), method="zhao2018",
                                  approach="fuzzy"))


def cleaned(x: np.ndarray, fs: float) -> np.ndarray:
    return np.asarray(nk.ecg_clean(x, sampling_rate=fs), dtype=float)


def simulated_leads():
    """(name, lead, rate): ECGs at 4 rates and 2 lengths with baseline wander, muscle noise and powerline hum
    from none to more than the ECG itself, each as recorded and as measure() rates it (cleaned)."""
    rng = np.random.default_rng(0)
    for fs in (100, 250, 360, 500):
        for seconds in (10, 30):
            ecg = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=int(rng.integers(45, 130)),
                                  random_state=int(rng.integers(1000)))
            t = np.arange(len(ecg)) / fs
            for level in (0.0, 0.1, 0.3, 1.0, 3.0):
                wander = level * np.sin(2 * np.pi * 0.3 * t)
                muscle = level * 0.3 * rng.standard_normal(len(ecg))
                hum = level * 0.2 * np.sin(2 * np.pi * 50 * t) if fs > 100 else 0.0
                for kind, noise in (("wander", wander), ("muscle", muscle), ("hum", hum),
                                    ("all", wander + muscle + hum)):
                    yield f"{fs} Hz {seconds} s {kind} x{level}", ecg + noise, fs
                    yield f"{fs} Hz {seconds} s {kind} x{level}, cleaned", cleaned(ecg + noise, fs), fs


def test_the_label_is_neurokit2s_on_simulated_leads_with_noise():
    labels = {}
    for name, c, fs in simulated_leads():
        labels[name] = lead_quality(c, fs)
        assert labels[name] == neurokit_label(c, fs), name
    assert set(labels.values()) == set(LABELS), "the leads should reach all three labels"


def test_a_flat_or_constant_lead_gets_neurokit2s_label_too():
    for c in (np.zeros(2500), np.full(2500, 0.3), np.r_[np.zeros(1250), np.ones(1250)]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # scipy's kurtosis of a constant: "catastrophic cancellation"
            assert lead_quality(c, 250.0) == neurokit_label(c, 250.0)


@needs_data("ludb/data", "qtdb", "mitdb")
def test_the_label_is_neurokit2s_on_real_leads():
    """LUDB (12 leads, 500 Hz), QTDB (2 leads, 250 Hz) and MIT-BIH (2 leads, 360 Hz, its first minute)."""
    data = data_dir_or_none()
    paths = [data / "ludb" / "data" / str(i) for i in range(1, 41)]
    paths += sorted(p.with_suffix("") for p in (data / "qtdb").glob("*.hea"))[:20]
    paths += sorted(p.with_suffix("") for p in (data / "mitdb").glob("*.hea"))[:6]
    seen = set()
    for path in paths:
        record = wfdb.rdrecord(str(path))
        fs = float(record.fs)
        for row in record.p_signal[: int(60 * fs)].T:
            if not np.all(np.isfinite(row)) or np.ptp(row) < 1e-6:
                continue
            for lead in (row, cleaned(row, fs)):
                label = lead_quality(lead, fs)
                assert label == neurokit_label(lead, fs), path.name
                seen.add(label)
    assert len(seen) >= 2, seen
