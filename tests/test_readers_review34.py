"""Reader defects found in review 34 (hunt K), each shown on a file built here (no data folder needed):

* CSV exported by a device that opens with 'key,value' lines before its table (Apple Watch's ECG export:
  name, date of birth, 'Sample Rate,512 hertz', 'Lead,Lead I', 'Unit,µV', then one column of µV) was refused
  as a table whose columns 'Name' and the patient's name are not leads, quoting the name back; plain
  metadata lines ('Patient ID: ...', 'Sampling rate: 500 Hz') above a European ';' table were refused alike;
* CSV time columns of date-and-time stamps (phone and wearable exports, '2024-01-31T10:00:00.125') and
  clock times with a decimal comma ('10:00:00,125') were refused, and the refusal did not say what to do;
  a German 'Zeit' column was taken for an unknown lead.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mets_core import ECGReadError, read_ecg

PATIENT = "Jane Appleseed"


def _beats(n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs
    return np.sin(2 * np.pi * 1.1 * t) ** 21 * 0.9 + 0.05 * np.sin(2 * np.pi * 0.3 * t)      # mV


def _apple_watch_csv(fs: int = 512, seconds: int = 30) -> tuple[bytes, np.ndarray]:
    uv = _beats(fs * seconds, fs) * 1000
    preamble = (f"Name,{PATIENT}\nDate of Birth,\"Jan 1, 1970\"\nRecorded Date,2019-12-10 12:34:56 -0800\n"
                f"Classification,Sinus Rhythm\nSymptoms,\nSoftware Version,1.70\nDevice,\"Watch4,1\"\n"
                f"Sample Rate,{fs} hertz\n\nLead,Lead I\nUnit,µV\n\n")
    return (preamble + "\n".join(f"{v:.3f}" for v in uv) + "\n").encode("utf-8"), uv


def test_apple_watch_export_reads_its_lead_rate_and_units_and_keeps_no_patient_details():
    data, uv = _apple_watch_csv()
    ecg = read_ecg(data, "ecg_2019-12-10.csv")
    assert ecg.leads == ["I"] and ecg.fs == 512.0 and ecg.duration == pytest.approx(30.0)
    assert ecg.metadata["units"].startswith("µV") and "declared" in ecg.metadata["units"]
    np.testing.assert_allclose(ecg.lead("I"), uv / 1000, atol=1e-5)                   # read as mV
    assert not any(PATIENT in str(v) or "1970" in str(v) for v in ecg.metadata.values())
    # the file's stated rate is a source like any other: a caller's different rate is refused, naming the line
    with pytest.raises(ECGReadError, match=r"Sample Rate: 512 hertz.*500 Hz|500 Hz.*Sample Rate: 512 hertz") as e:
        read_ecg(data, "ecg_2019-12-10.csv", fs=500)
    assert PATIENT not in str(e.value)


def test_metadata_lines_above_a_european_table_are_read_as_its_description():
    fs, n = 500, 2500
    mv = _beats(n, fs)
    rows = "\n".join(f"{v:.4f};{-v:.4f}".replace(".", ",") for v in mv)
    text = f"Patient ID: 12345\nSampling rate: {fs} Hz\nExported by: CardioSoft\n\nI;aVR\n{rows}\n"
    ecg = read_ecg(text.encode("utf-8"), "export.csv")
    assert ecg.leads == ["I", "aVR"] and ecg.fs == 500.0 and ecg.n_samples == n
    np.testing.assert_allclose(ecg.lead("aVR"), -mv, atol=1e-4)
    assert "12345" not in ecg.metadata.get("comments", "")


@pytest.mark.parametrize("sep,stamp", [
    (",", lambda t: t.isoformat(timespec="milliseconds")),                         # 2024-01-31T23:59:59.998
    (",", lambda t: t.isoformat(sep=" ", timespec="milliseconds") + "Z"),
    (";", lambda t: t.strftime("%H:%M:%S,") + f"{t.microsecond // 1000:03d}"),       # 23:59:59,998 (European)
])
def test_time_column_of_date_and_time_stamps_gives_the_rate(sep, stamp):
    fs, n = 250, 2500
    mv = _beats(n, fs)
    start = dt.datetime(2024, 1, 31, 23, 59, 55)        # runs past midnight: the date keeps the time increasing
    if sep == ";":
        start = dt.datetime(2024, 1, 31, 10, 0, 0)
    cells = [(stamp(start + dt.timedelta(milliseconds=4 * i)), f"{v:.4f}") for i, v in enumerate(mv)]
    value = (lambda c: c.replace(".", ",")) if sep == ";" else (lambda c: c)
    rows = "\n".join(f"{t}{sep}{value(v)}" for t, v in cells)
    ecg = read_ecg(f"timestamp{sep}II\n{rows}\n".encode(), "phone_export.csv")
    assert ecg.fs == 250.0 and ecg.leads == ["II"] and ecg.n_samples == n


def test_a_german_zeit_column_is_the_time_and_a_bad_stamp_says_what_to_do():
    t = np.arange(1000) / 500
    rows = "\n".join(f"{s:.3f};{v:.4f}".replace(".", ",") for s, v in zip(t, _beats(1000, 500)))
    assert read_ecg(f"Zeit;II\n{rows}\n".encode(), "export.csv").fs == 500.0
    bad = "timestamp,II\n2024-01-31 10:00:00.000,0.1\n2024-02-30 10:00:00.002,0.2\n"     # 30 February
    with pytest.raises(ECGReadError, match=r"drop the time column and pass fs="):
        read_ecg(bad.encode(), "phone_export.csv")


@pytest.mark.parametrize("names, leads", [
    (["Lead-II", "Lead-V5"], ["II", "V5"]),
    (["ECG II", "EKG-V1"], ["II", "V1"]),
    (["ECG:aVF", "ECG_V6"], ["aVF", "V6"]),
])
def test_a_device_prefix_or_a_hyphen_before_a_lead_name_still_names_the_lead(names, leads):
    """A CSV whose columns say 'Lead-II' or 'ECG II' was refused as having no lead (an EDF's 'ECG II' was read:
    the rule lived in the EDF reader only); 'ECG1', 'ECG2' stay channel numbers (the page asks which lead)."""
    fs = 250
    x = _beats(10 * fs, fs)
    text = ",".join(["time", *names]) + "\n" + "\n".join(f"{i / fs:.4f},{v:.4f},{0.5 * v:.4f}" for i, v in enumerate(x))
    ecg = read_ecg(text.encode(), name="export.csv")
    assert ecg.leads == leads and ecg.fs == fs


def test_a_holters_numbered_channels_are_still_no_leads():
    from mets_core.ecg import UnnamedLeadsError
    fs = 250
    x = _beats(10 * fs, fs)
    text = "time,ECG1,ECG2\n" + "\n".join(f"{i / fs:.4f},{v:.4f},{0.5 * v:.4f}" for i, v in enumerate(x))
    with pytest.raises(UnnamedLeadsError):
        read_ecg(text.encode(), name="holter.csv")
