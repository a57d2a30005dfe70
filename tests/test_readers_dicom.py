"""DICOM waveform files through read_ecg (``mets_core/readers/dicom.py``)."""
from __future__ import annotations

import io

import numpy as np

from mets_core import STANDARD_LEADS, read_ecg

from helpers import assert_same_ecg, make_dicom, synthetic_signal

TWELVE = list(STANDARD_LEADS)

# ---------------------------------------------------------------------------------------------------
# DICOM

def test_dicom_round_trip(ludb_leads, tmp_path):
    sig_mv = np.concatenate([ludb_leads, ludb_leads[::-1] * 0.5] * 2)[:12]   # 12 real-valued leads
    data = make_dicom(sig_mv * 1000)
    ecg = read_ecg(data, name="ecg.dcm")
    assert ecg.leads == TWELVE and ecg.fs == 500 and ecg.n_samples == sig_mv.shape[1]   # RHYTHM, not MEDIAN
    np.testing.assert_allclose(ecg.signal, sig_mv, atol=1.25e-3 + 1e-6)     # half a 2.5 µV step
    assert ecg.metadata["source_format"] == "dicom" and ecg.metadata["dicom_group"] == "RHYTHM"
    assert "Synthetic" not in repr(ecg.metadata)                              # no patient identifiers
    nameless = read_ecg(data)                                                 # recognised by content
    np.testing.assert_array_equal(nameless.signal, ecg.signal)
    assert nameless.name == "ecg"
    (tmp_path / "ecg.dcm").write_bytes(data)
    assert_same_ecg(read_ecg(tmp_path / "ecg.dcm"), ecg)


def test_dicom_millivolt_channels_and_partial_leads():
    sig = synthetic_signal(3, n=1000).T
    data = make_dicom(sig, labels=["Lead II", "Lead V2", "Lead V4"], sensitivity=0.001, units="mV",
                      with_median=False)
    ecg = read_ecg(data, name="three.dcm")
    assert ecg.leads == ["II", "V2", "V4"]
    np.testing.assert_allclose(ecg.lead("V4"), sig[2], atol=6e-4)


def test_dicom_non_voltage_channels_are_left_out():
    sig = synthetic_signal(3, n=1000).T
    data = make_dicom(sig * 1000, labels=["Lead II", "Lead V1", "Respiration"], with_median=False)
    import pydicom
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.WaveformSequence[0].ChannelDefinitionSequence[2].ChannelSensitivityUnitsSequence[0].CodeValue = "Ohm"
    buf = io.BytesIO()
    ds.save_as(buf)
    ecg = read_ecg(buf.getvalue(), name="resp.dcm")
    assert ecg.leads == ["II", "V1"] and ecg.metadata["non_voltage_channels"] == "Respiration(Ohm)"
