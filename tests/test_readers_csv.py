"""CSV files through read_ecg (``mets_core/readers/csv_table.py``): time columns, rates from every source,
units by suffix, comment or magnitude, separators, PhysioNet's export, lead names, missing samples."""
from __future__ import annotations

import numpy as np
import pytest

from mets_core import ECGReadError, read_ecg
from mets_core.readers import MAX_MISSING_FRACTION

from helpers import csv_bytes, synthetic_signal

# ---------------------------------------------------------------------------------------------------
# CSV

def test_csv_with_time_column_in_seconds(ludb_leads):
    t = np.arange(ludb_leads.shape[1]) / 500
    ecg = read_ecg(csv_bytes(["time", "I", "II", "V1"], [t, *ludb_leads]), name="rec.csv")
    assert ecg.fs == 500 and ecg.leads == ["I", "II", "V1"] and ecg.name == "rec"
    np.testing.assert_allclose(ecg.lead("V1"), ludb_leads[2], atol=1e-6)
    assert ecg.metadata["source_format"] == "csv" and ecg.metadata["units"].startswith("mV (inferred")


def test_csv_with_time_in_ms_and_odd_rate():
    sig = synthetic_signal(2, n=3600, fs=360).T
    t_ms = np.round(np.arange(3600) / 360 * 1000, 3)
    ecg = read_ecg(csv_bytes(["time_ms", "MLII", "V5"], [t_ms, *sig]), name="holter.csv")
    assert ecg.fs == 360 and ecg.leads == ["II", "V5"]
    np.testing.assert_allclose(ecg.lead("II"), sig[0], atol=1e-6)


def test_csv_rate_from_comment_argument_or_name(ludb_leads):
    data = csv_bytes(["I", "II", "V1"], list(ludb_leads), comments=("fs=500", "device: test"))
    ecg = read_ecg(data, name="a.csv")
    assert ecg.fs == 500 and "device: test" in ecg.metadata["comments"]
    plain = csv_bytes(["I", "II", "V1"], list(ludb_leads))
    assert read_ecg(plain, name="a.csv", fs=500).fs == 500
    assert read_ecg(plain, name="patient_500hz.csv").fs == 500
    with pytest.raises(ECGReadError, match=r"sampling rate is unknown.*time column.*# fs=500.*fs=500"):
        read_ecg(plain, name="a.csv")
    with pytest.raises(ECGReadError, match="says 250 Hz but .* says 500 Hz"):
        read_ecg(data, name="a.csv", fs=250)


def test_csv_microvolts_by_suffix_comment_and_magnitude(ludb_leads):
    uv = ludb_leads * 1000
    by_suffix = read_ecg(csv_bytes(["I (uV)", "II_uV", "V1 [µV]"], list(uv), comments=("fs=500",)), name="s.csv")
    np.testing.assert_allclose(by_suffix.signal[[0, 1, 6]], ludb_leads, atol=1e-6)
    assert by_suffix.metadata["units"] == "uV uV µV (declared)"
    by_comment = read_ecg(csv_bytes(["I", "II", "V1"], list(uv), comments=("fs=500", "units=uV")), name="c.csv")
    np.testing.assert_allclose(by_comment.signal[[0, 1, 6]], ludb_leads, atol=1e-6)
    by_size = read_ecg(csv_bytes(["I", "II", "V1"], list(uv), comments=("fs=500",)), name="m.csv")
    np.testing.assert_allclose(by_size.signal[[0, 1, 6]], ludb_leads, atol=1e-6)
    assert by_size.metadata["units"].startswith("uV (inferred")
    mixed = read_ecg(csv_bytes(["I_mV", "II (uV)"], [ludb_leads[0], uv[1]], comments=("fs=500",)), name="x.csv")
    np.testing.assert_allclose(mixed.signal[[0, 1]], ludb_leads[:2], atol=1e-6)


def test_csv_separators_and_physionet_export():
    sig = synthetic_signal(2, n=500, fs=250).T
    for sep in (";", "\t", " "):
        ecg = read_ecg(csv_bytes(["t", "I", "aVF"], [np.arange(500) / 250, *sig], sep=sep), name="x.csv")
        assert ecg.leads == ["I", "aVF"] and ecg.fs == 250
        np.testing.assert_allclose(ecg.lead("aVF"), sig[1], atol=1e-6)
    # the layout of PhysioNet's 'rdsamp -c -H -v -pd' / ATM exports: quoted names, a units row, h:mm:ss times
    rows = ["'Elapsed time','MLII','V5'", "'hh:mm:ss.mmm','uV','uV'"]
    rows += [f"'{i // 250 // 60}:{(i / 250) % 60:06.3f}',{sig[0, i] * 1000:.1f},{sig[1, i] * 1000:.1f}"
             for i in range(500)]
    ecg = read_ecg("\n".join(rows).encode(), name="export.csv")
    assert ecg.fs == 250 and ecg.leads == ["II", "V5"]
    np.testing.assert_allclose(ecg.lead("V5"), sig[1], atol=1e-4)


def test_csv_with_decimal_commas_a_european_export():
    """';'- or tab-separated values with a decimal comma ("-0,2103") read as numbers; with ',' between the
    columns a decimal comma cannot be told apart, and the message says to use a decimal point."""
    sig = synthetic_signal(2, n=500, fs=250).T
    for sep in (";", "\t"):
        text = csv_bytes(["t", "I", "aVF"], [np.arange(500) / 250, *sig], sep=sep).decode().replace(".", ",")
        ecg = read_ecg(text.encode(), name="eu.csv")
        assert ecg.leads == ["I", "aVF"] and ecg.fs == 250
        np.testing.assert_allclose(ecg.lead("aVF"), sig[1], atol=1e-4)
    comma = [f"{v:.4f}".replace(".", ",") for v in sig[0]]
    rows = "\n".join(f'{k / 250:.3f},"{v}"' for k, v in enumerate(comma))    # quoted: the cell keeps its comma
    with pytest.raises(ECGReadError, match="with a decimal point"):
        read_ecg(("t,I\n" + rows).encode(), name="comma.csv")


def test_csv_without_header_needs_lead_names():
    sig = synthetic_signal(2, n=500).T
    data = "\n".join(f"{a},{b}" for a, b in sig.T).encode()
    with pytest.raises(ECGReadError, match="no header row of lead names.*lead_names"):
        read_ecg(data, name="x.csv", fs=500)
    ecg = read_ecg(data, name="x.csv", fs=500, lead_names=["V1", "V2"])
    assert ecg.leads == ["V1", "V2"]
    np.testing.assert_allclose(ecg.lead("V2"), sig[1], atol=1e-6)


def test_csv_lead_names_rename_columns():
    sig = synthetic_signal(2, n=500).T
    ecg = read_ecg(csv_bytes(["time", "chan1", "chan2"], [np.arange(500) / 500, *sig]), name="x.csv",
                   lead_names=["I", "III"])
    assert ecg.leads == ["I", "III"]


def test_nan_handling(ludb_leads):
    leads = ludb_leads.copy()
    leads[0, [100, 101, 2000]] = np.nan                    # isolated gaps: interpolated
    leads[2, :] = np.nan                                   # an empty lead: absent
    ecg = read_ecg(csv_bytes(["I", "II", "V1"], list(leads), comments=("fs=500",)), name="n.csv")
    assert ecg.leads == ["I", "II"]
    assert ecg.metadata["interpolated_samples"] == "I:3"
    assert ecg.metadata["absent_leads_missing_data"] == f"V1:{leads.shape[1]}/{leads.shape[1]}"
    assert ecg.lead("I")[100] == pytest.approx(ludb_leads[0, 99] + (ludb_leads[0, 102] - ludb_leads[0, 99]) / 3,
                                               abs=1e-6)
    assert np.isfinite(ecg.signal).all()
    mostly = ludb_leads.copy()
    mostly[1, : int(mostly.shape[1] * (MAX_MISSING_FRACTION + 0.05))] = np.nan
    ecg = read_ecg(csv_bytes(["I", "II", "V1"], list(mostly), comments=("fs=500",)), name="m.csv")
    assert ecg.leads == ["I", "V1"]
