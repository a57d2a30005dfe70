"""mets_core.simulate.simulate_ecg: the one synthetic-ECG generator (demos and tests use it)."""
from __future__ import annotations

import numpy as np
import pytest

from mets_core.ecg import STANDARD_LEADS
from mets_core.simulate import simulate_ecg


def test_shape_rate_leads_and_synthetic_mark():
    ecg = simulate_ecg(duration_s=4, fs=250, heart_rate=60, leads=["II", "V1", "I"], seed=1, name="demo")
    assert ecg.signal.shape == (12, 1000) and ecg.fs == 250 and ecg.name == "demo"
    assert ecg.leads == ["I", "II", "V1"]                            # standard order, others masked absent
    assert not ecg.signal[~ecg.lead_mask].any()
    assert ecg.metadata["source_format"] == "synthetic" and "not a patient" in ecg.metadata["comments"]


def test_same_arguments_same_samples_other_seed_other_samples():
    a = simulate_ecg(duration_s=3, leads=["II"], seed=4)
    b = simulate_ecg(duration_s=3, leads=["II"], seed=4)
    c = simulate_ecg(duration_s=3, leads=["II"], seed=5)
    np.testing.assert_array_equal(a.signal, b.signal)
    assert not np.array_equal(a.signal, c.signal)


def test_limb_leads_obey_einthoven_and_goldberger():
    ecg = simulate_ecg(duration_s=3, seed=2)
    i, ii, iii = ecg.lead("I"), ecg.lead("II"), ecg.lead("III")
    np.testing.assert_allclose(iii, ii - i, atol=1e-5)
    np.testing.assert_allclose(ecg.lead("aVR"), -(i + ii) / 2, atol=1e-5)
    np.testing.assert_allclose(ecg.lead("aVL") + ecg.lead("aVF"), (i + ii) / 2, atol=1e-5)
    assert ecg.lead_mask.all() and ecg.leads == list(STANDARD_LEADS)


@pytest.mark.parametrize("rate", [48, 60, 75])     # 48: the "sinus bradycardia" demo read PR 242 ms
def test_measured_rate_and_intervals_are_those_asked_for(rate):
    from mets_core.measure import measure
    m = measure(simulate_ecg(duration_s=10, fs=500, heart_rate=rate, seed=3))
    assert m.heart_rate_bpm == pytest.approx(rate, abs=3)
    assert 60 <= m.qrs_ms <= 120 and 120 <= m.pr_ms <= 220         # adult-normal, not neurokit's 150 ms QRS


def test_noise_and_wander_are_added_only_when_asked():
    clean = simulate_ecg(duration_s=4, leads=["II"], seed=6)
    noisy = simulate_ecg(duration_s=4, leads=["II"], seed=6, noise_mv=0.1, wander_mv=0.3)
    residual = noisy.lead("II") - clean.lead("II")
    assert 0.05 < residual.std() < 0.4


@pytest.mark.parametrize("kwargs,words", [
    ({"fs": 250.5}, "whole number of Hz"), ({"duration_s": 0.1}, "duration_s"),
    ({"heart_rate": 400}, "heart_rate"), ({"leads": ["X"]}, "standard lead names"), ({"leads": []}, "standard lead"),
])
def test_bad_arguments_say_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError, match=words):
        simulate_ecg(**kwargs)
