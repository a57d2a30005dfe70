"""The record type: content_hash (the one key of the engine's and the dashboard's caches) and crop."""
import dataclasses

import numpy as np
import pytest

from mets_core.ecg import ECG, STANDARD_LEADS

from helpers import synthetic_signal


def synthetic_ecg(seconds: float, fs: float, leads=STANDARD_LEADS) -> ECG:
    return ECG.from_leads(synthetic_signal(len(leads), int(seconds * fs), fs).T, list(leads), fs)


def test_content_hash_is_the_signal_rate_and_leads_not_the_name():
    ecg = synthetic_ecg(seconds=10.0, fs=500.0)
    h = ecg.content_hash()
    assert len(h) == 64 and int(h, 16) >= 0
    renamed = dataclasses.replace(ecg, name="other.hea", metadata={"source": "elsewhere"})
    assert renamed.content_hash() == h
    assert ECG(ecg.signal.astype(np.float64), ecg.fs, ecg.lead_mask).content_hash() == h   # stored as float32
    changed = ecg.signal.copy()
    changed[3, 100] += 1e-3
    assert ECG(changed, ecg.fs, ecg.lead_mask).content_hash() != h                         # one sample
    assert ECG(ecg.signal, 250.0, ecg.lead_mask).content_hash() != h                         # the rate
    mask = ecg.lead_mask.copy()
    mask[5] = False
    assert ECG(ecg.signal, ecg.fs, mask).content_hash() != h                                 # the lead set
    # the same samples laid out differently are another recording
    assert ECG(ecg.signal[:, :2500], ecg.fs, ecg.lead_mask).content_hash() != \
        ECG(ecg.signal[:, 2500:], ecg.fs, ecg.lead_mask).content_hash()


def test_crop_returns_a_new_ecg_of_the_samples_in_the_interval():
    ecg = synthetic_ecg(seconds=10.0, fs=500.0)
    part = ecg.crop(2.0, 4.5)
    assert part.n_samples == 1250 and part.fs == ecg.fs and part.duration == pytest.approx(2.5)
    assert np.array_equal(part.signal, ecg.signal[:, 1000:2250])
    assert np.array_equal(part.lead_mask, ecg.lead_mask) and part.name == ecg.name
    assert part.metadata["cropped_from_s"] == "2.000" and "cropped_from_s" not in ecg.metadata
    part.signal[0, 0] = 99.0                                     # a copy: the original is untouched
    assert ecg.signal[0, 1000] != 99.0
    assert ecg.crop(8.0).n_samples == 1000                       # to the end
    assert ecg.crop(0.0, ecg.duration).content_hash() == ecg.content_hash()
    for start, end in [(-1.0, 2.0), (5.0, 5.0), (6.0, 3.0), (0.0, 11.0)]:
        with pytest.raises(ValueError, match="cannot crop"):
            ecg.crop(start, end)


def test_crop_keeps_absent_leads_absent():
    ecg = synthetic_ecg(seconds=4.0, fs=250.0, leads=("I", "II", "V2"))
    part = ecg.crop(1.0, 2.0)
    assert part.leads == ["I", "II", "V2"] and not part.signal[~part.lead_mask].any()
    assert len(STANDARD_LEADS) == part.signal.shape[0]


def test_absent_leads_are_not_part_of_the_content_hash():
    """The model zeroes leads that were not recorded, so what such a row holds does not make another ECG."""
    ecg = synthetic_ecg(seconds=4.0, fs=250.0, leads=("II", "V1"))
    stray = ecg.signal.copy()
    stray[0] = 5.0                                               # lead I: not recorded
    assert ECG(stray, ecg.fs, ecg.lead_mask).content_hash() == ecg.content_hash()
    stray[1, 10] += 1e-3                                         # lead II: recorded
    assert ECG(stray, ecg.fs, ecg.lead_mask).content_hash() != ecg.content_hash()


def test_an_ecg_is_pickled_with_its_recorded_leads_only():
    """What a measuring process (or a cache) receives: the same ECG, for a 2-lead Holter a sixth of the bytes."""
    import pickle

    two = synthetic_ecg(seconds=60.0, fs=250.0, leads=("II", "V5"))
    two.metadata["source"] = "holter.hea"
    back = pickle.loads(pickle.dumps(two, protocol=pickle.HIGHEST_PROTOCOL))
    assert np.array_equal(back.signal, two.signal) and back.signal.dtype == np.float32
    assert np.array_equal(back.lead_mask, two.lead_mask) and back.fs == two.fs
    assert back.name == two.name and back.metadata == two.metadata
    assert back.content_hash() == two.content_hash()
    twelve = synthetic_ecg(seconds=60.0, fs=250.0)
    n_two = len(pickle.dumps(two, protocol=pickle.HIGHEST_PROTOCOL))
    n_twelve = len(pickle.dumps(twelve, protocol=pickle.HIGHEST_PROTOCOL))
    assert n_twelve > twelve.signal.nbytes and n_two < 1.05 * twelve.signal.nbytes * 2 / 12
