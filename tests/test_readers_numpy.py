"""NumPy files through read_ecg (``mets_core/readers/numpy_array.py``): both orientations, names, rates
and units from arguments or ``.npz`` entries."""
from __future__ import annotations

import numpy as np
import pytest

from mets_core import STANDARD_LEADS, ECGReadError, read_ecg

from helpers import assert_same_ecg, npy_bytes, npz_bytes, synthetic_signal

TWELVE = list(STANDARD_LEADS)

# ---------------------------------------------------------------------------------------------------
# NumPy

def test_npy_both_orientations_with_fs(tmp_path):
    sig = synthetic_signal(12, n=1000).T.astype(np.float32)      # (12, n), standard order
    for arr in (sig, sig.T):
        ecg = read_ecg(npy_bytes(arr), name="x.npy", fs=500)
        assert ecg.leads == TWELVE and ecg.n_samples == 1000
        np.testing.assert_array_equal(ecg.signal, sig)
        assert "assumed standard order" in ecg.metadata["lead_order"]
    (tmp_path / "x.npy").write_bytes(npy_bytes(sig))
    assert_same_ecg(read_ecg(tmp_path / "x.npy", fs=500), read_ecg(npy_bytes(sig), name="x.npy", fs=500))
    assert read_ecg(npy_bytes(sig), fs=500).leads == TWELVE     # recognised from its content, no name
    with pytest.raises(ECGReadError, match=r"sampling rate.*fs=500"):
        read_ecg(npy_bytes(sig), name="x.npy")


def test_npy_fewer_leads_need_names():
    sig = synthetic_signal(3, n=800).T
    with pytest.raises(ECGReadError, match="3 leads without names.*lead_names"):
        read_ecg(npy_bytes(sig), name="x.npy", fs=250)
    ecg = read_ecg(npy_bytes(sig.T), name="x.npy", fs=250, lead_names=["II", "V1", "V6"])
    assert ecg.leads == ["II", "V1", "V6"]
    np.testing.assert_allclose(ecg.lead("V6"), sig[2], atol=1e-6)


def test_npz_with_signal_fs_leads_units():
    sig = synthetic_signal(2, n=1500, fs=300).T
    ecg = read_ecg(npz_bytes(signal=sig.T * 1000, fs=np.array(300.0), leads=np.array(["ECG", "V2"]),
                        units=np.array("uV")), name="rec.npz")
    assert ecg.fs == 300 and ecg.leads == ["I", "V2"] and ecg.metadata["units"] == "uV (declared)"
    np.testing.assert_allclose(ecg.lead("I"), sig[0], atol=1e-6)
    ecg2 = read_ecg(npz_bytes(signal=sig, fs=300, leads=np.array(["ECG", "V2"])))      # no name: sniffed
    np.testing.assert_array_equal(ecg2.signal, ecg.signal)
    with pytest.raises(ECGReadError, match="sampling rate.*fs=500.*'fs' entry"):
        read_ecg(npz_bytes(signal=sig, leads=np.array(["I", "II"])), name="rec.npz")
    with pytest.raises(ECGReadError, match="entries.*'signal'"):
        read_ecg(npz_bytes(data=sig, fs=300), name="rec.npz")


def test_z_scored_arrays_are_said_to_be_not_mv_and_left_as_they_are():
    """A z-scored array (PTB-XL's zscore100 form: each lead mean 0, SD 1) is not mV: read as it is, its units
    said; an ECG in mV, or one lead of it z-scored only, is not taken for one."""
    sig = synthetic_signal(12, n=1000).T.astype(np.float64)
    z = (sig - sig.mean(axis=1, keepdims=True)) / sig.std(axis=1, keepdims=True)
    ecg = read_ecg(npy_bytes(z.astype(np.float32)), name="z.npy", fs=100)
    assert ecg.metadata["units"].startswith("standard deviations of each lead") and "not mV" in ecg.metadata["units"]
    np.testing.assert_allclose(ecg.signal, z, atol=1e-6)
    in_mv = read_ecg(npy_bytes(sig.astype(np.float32)), name="mv.npy", fs=100)
    assert in_mv.metadata["units"].startswith("mV (inferred")
    mixed = sig.copy()
    mixed[0] = z[0]
    assert read_ecg(npy_bytes(mixed.astype(np.float32)), name="mixed.npy", fs=100).metadata["units"].startswith("mV")
