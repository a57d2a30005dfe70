"""When the recording began, as every reader keeps it: ``metadata["recorded_at"]`` (ISO 8601), read through
``read_ecg`` from files written the way each format stores its acquisition date and time
(``mets_core/readers/recorded.py``). A file without a date gives no key; an impossible or garbled date gives
no key and the ECG still reads.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import warnings

import numpy as np
import pytest

from helpers import make_dicom, synthetic_signal
from hospital_files import aecg_xml, edf_bytes, muse_xml, philips_xml, scp_bytes, synthetic_12lead
from mets_core import read_ecg

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def sig():
    return synthetic_12lead(seconds=4.0, fs=500.0, seed=5)


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def recorded(data: bytes, name: str) -> str | None:
    """``recorded_at`` of the ECG read from ``data`` (None: no key), after checking that it read, and that
    reading it warned and logged nothing (a date, valid or not, is never logged)."""
    root, kept = logging.getLogger(), _Kept()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ecg = read_ecg(data, name=name)
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert [str(w.message) for w in caught] + kept.messages == []
    assert ecg.n_samples > 0 and len(ecg.leads) > 0
    at = ecg.metadata.get("recorded_at")
    if at is not None:
        stamp = dt.datetime.fromisoformat(at) if len(at) > 8 else dt.time.fromisoformat(at)
        assert stamp is not None                   # the form the dashboard's Compare page reads
    return at


# ------------------------------------------------------------------------------------------------ GE MUSE

def test_muse_acquisition_date_and_time(sig):
    def muse(acquired):
        return recorded(muse_xml({k: sig[k] for k in EIGHT}, acquired=acquired), "ecg.xml")

    assert muse(("07-22-1987", "13:40:59")) == "1987-07-22T13:40:59"
    assert muse(("12-01-2023", "08:05:00")) == "2023-12-01T08:05:00"
    assert muse(("07-22-1987", None)) == "1987-07-22"                   # a date alone
    assert muse(("07-22-1987", "25:61:00")) == "1987-07-22"             # an impossible time: the date alone
    assert muse(None) is None
    for garbage in (("13-22-1987", "13:40:59"), ("02-30-2020", "13:40:59"), ("ab-cd-efgh", "13:40:59"),
                    ("07-22-0000", "13:40:59"), ("", "13:40:59"), ("1987-07-22", "13:40:59")):
        assert muse(garbage) is None, garbage


# ------------------------------------------------------------------------------------------------ Philips

@pytest.mark.parametrize("compression", ["XLI", "none"])
def test_philips_dataacquisition_date_and_time(sig, compression):
    def philips(acquired):
        return recorded(philips_xml(sig, compression=compression, acquired=acquired), "ecg.xml")

    assert philips(("2010-07-21", "09:06:04")) == "2010-07-21T09:06:04"
    assert philips(("2010-07-21", None)) == "2010-07-21"
    assert philips(None) is None
    for garbage in (("2010-13-21", "09:06:04"), ("2010-02-30", "09:06:04"), ("yesterday", "09:06:04"),
                    ("0000-07-21", "09:06:04")):
        assert philips(garbage) is None, garbage


# ------------------------------------------------------------------------------------------------ HL7 aECG

def test_aecg_effective_time_low(sig):
    def aecg(acquired):
        return recorded(aecg_xml({k: sig[k] for k in EIGHT}, acquired=acquired), "ecg.xml")

    assert aecg("20240101120000") == "2024-01-01T12:00:00"               # what the builder writes by default
    assert recorded(aecg_xml({k: sig[k] for k in EIGHT}), "ecg.xml") == "2024-01-01T12:00:00"
    assert aecg("20021122091000.123-0500") == "2002-11-22T09:10:00-05:00"   # fraction dropped, offset kept
    assert aecg("20021122091000+0130") == "2002-11-22T09:10:00+01:30"
    assert aecg("20021122091000+2500") == "2002-11-22T09:10:00"          # no offset fromisoformat accepts
    assert aecg("200211220910") == "2002-11-22T09:10:00"                  # minute precision
    assert aecg("20021122") == "2002-11-22"                               # a date alone
    assert aecg(None) is None            # the series' own effectiveTime is not the AnnotatedECG's
    for garbage in ("20241322120000", "20240230120000", "2024ABCD120000", "202401", "", "00000101120000"):
        assert aecg(garbage) is None, garbage


# ------------------------------------------------------------------------------------------------ SCP-ECG

def test_scp_section1_date_and_time_of_acquisition(sig):
    leads = {k: sig[k] for k in ("I", "II", "V1", "V2")}

    def scp(acquired):
        return recorded(scp_bytes(leads, acquired=acquired), "cart.scp")

    assert scp((1987, 7, 22, 13, 40, 59)) == "1987-07-22T13:40:59"
    assert scp((2021, 2, 28)) == "2021-02-28"                              # tag 25 without tag 26
    assert scp((2021, 2, 28, 24, 0, 0)) == "2021-02-28"                    # an impossible time: the date alone
    assert scp(None) is None
    for garbage in ((1987, 13, 22, 13, 40, 59), (1987, 7, 0, 13, 40, 59), (0, 7, 22, 13, 40, 59),
                    (2023, 2, 29, 13, 40, 59), (65535, 255, 255, 255, 255, 255)):
        assert scp(garbage) is None, garbage
    ecg = read_ecg(scp_bytes(leads, acquired=(1987, 7, 22, 13, 40, 59)), name="cart.scp")
    assert ecg.metadata["comments"] == "Age: 63\nSex: female"              # section 1's other tags still read


# ------------------------------------------------------------------------------------------------ EDF / BDF

def edf_header(data: bytes, recording: str | None = None, date: str | None = None, time: str | None = None) -> bytes:
    """``data`` (an EDF/BDF) with its local recording identification (bytes 88-168), start date (168-176,
    dd.mm.yy) and start time (176-184, hh.mm.ss) replaced as given."""
    out = bytearray(data)
    for value, (a, b) in ((recording, (88, 168)), (date, (168, 176)), (time, (176, 184))):
        if value is not None:
            out[a:b] = value.ljust(b - a).encode("ascii")
    return bytes(out)


def test_edf_start_date_and_time(sig):
    leads = {"ECG I": sig["I"], "ECG II": sig["II"]}
    plain = "Sleep lab bed 3"                              # not EDF+: the header's dd.mm.yy date is the date

    def edf(**header):
        return recorded(edf_header(edf_bytes(leads, recorded=header.pop("at", None)), **header), "night.edf")

    assert edf(at=dt.datetime(2023, 5, 17, 8, 30, 15)) == "2023-05-17T08:30:15"            # EDF+ Startdate
    assert recorded(edf_bytes(leads, bdf=True, recorded=dt.datetime(2019, 11, 3, 23, 59, 1)),
                    "night.bdf") == "2019-11-03T23:59:01"
    assert edf(recording=plain, date="22.07.87", time="13.40.59") == "1987-07-22T13:40:59"   # year 85-99: 19yy
    assert edf(recording=plain, date="22.07.12", time="13.40.59") == "2012-07-22T13:40:59"   # year 00-84: 20yy
    # EDF+'s four-digit year overrides the header's two-digit one
    assert edf(recording="Startdate 22-JUL-1987 X X X", date="22.07.87", time="13.40.59") == "1987-07-22T13:40:59"
    assert edf(recording="Startdate 22-JUL-1987 X X X", date="23.07.87", time="13.40.59") == "1987-07-22T13:40:59"
    assert edf(at=dt.datetime(2023, 5, 17, 8, 30, 15), time="99.99.99") == "2023-05-17"     # a damaged time
    # no date: anonymised EDF+ ('Startdate X', edfio's default), and the placeholder 1 January 1985
    assert edf() is None
    assert edf(recording="Startdate X X X X", date="22.07.87", time="13.40.59") is None
    assert edf(recording=plain, date="01.01.85", time="00.00.00") is None
    assert edf(recording=plain, date="01.01.85", time="13.40.59") is None
    assert edf(recording="Startdate 01-JAN-1985 X X X", date="01.01.85", time="00.00.00") is None
    for garbage in (dict(recording=plain, date="32.13.87"), dict(recording=plain, date="ab.cd.ef"),
                    dict(recording="Startdate 31-FOO-2020 X X X", date="ab.cd.ef"),
                    dict(recording="Startdate 30-FEB-2020 X X X", date="ab.cd.ef")):
        assert edf(**garbage) is None, garbage


# ------------------------------------------------------------------------------------------------ DICOM

@pytest.fixture(scope="module")
def dicom_file() -> bytes:
    return make_dicom(synthetic_signal(12, n=1000).T * 1000, with_median=False)


def dicom_with(data: bytes, **elements: str) -> bytes:
    """``data`` with the date and time elements given (keyword -> value as stored, valid or not)."""
    import pydicom
    ds = pydicom.dcmread(io.BytesIO(data))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # pydicom warns of the invalid values written on purpose
        for keyword, value in elements.items():
            setattr(ds, keyword, value)
        ds.save_as(buf)
    return buf.getvalue()


def test_dicom_acquisition_content_and_study_date_and_time(dicom_file):
    def dicom(**elements):
        return recorded(dicom_with(dicom_file, **elements), "ecg.dcm")

    assert dicom(AcquisitionDateTime="20240315134059") == "2024-03-15T13:40:59"
    assert dicom(AcquisitionDateTime="20240315134059.123456+0100") == "2024-03-15T13:40:59+01:00"
    assert dicom(AcquisitionDateTime="20240315134059-0330") == "2024-03-15T13:40:59-03:30"
    assert dicom(AcquisitionDateTime="20240315134059+2500") == "2024-03-15T13:40:59"   # offset dropped
    assert dicom(AcquisitionDateTime="202403151340") == "2024-03-15T13:40:00"
    assert dicom(AcquisitionDate="20240315", AcquisitionTime="134059.5") == "2024-03-15T13:40:59"
    assert dicom(AcquisitionDate="20240315", AcquisitionTime="1340") == "2024-03-15T13:40:00"
    assert dicom(AcquisitionDate="20240315") == "2024-03-15"
    assert dicom(ContentDate="20240316", ContentTime="101010") == "2024-03-16T10:10:10"
    assert dicom(StudyDate="20240317", StudyTime="090000") == "2024-03-17T09:00:00"
    # the order: acquisition date-time, acquisition date and time, content, study
    every = dict(AcquisitionDate="20240315", AcquisitionTime="134059", ContentDate="20240316",
                 ContentTime="101010", StudyDate="20240317", StudyTime="090000")
    assert dicom(AcquisitionDateTime="20240314120000", **every) == "2024-03-14T12:00:00"
    assert dicom(**every) == "2024-03-15T13:40:59"
    assert dicom(**{k: v for k, v in every.items() if not k.startswith("Acq")}) == "2024-03-16T10:10:10"
    # a garbled element gives way to the next source
    assert dicom(AcquisitionDateTime="20241315134059", ContentDate="20240316", ContentTime="101010") \
        == "2024-03-16T10:10:10"
    assert dicom() is None
    for garbage in (dict(AcquisitionDateTime="20241315134059"), dict(AcquisitionDateTime="2024ab15134059"),
                    dict(AcquisitionDate="20240230", AcquisitionTime="134059"), dict(StudyDate="yesterday"),
                    dict(ContentDate="00000315", ContentTime="101010"), dict(AcquisitionTime="134059")):
        assert dicom(**garbage) is None, garbage
    assert np.isfinite(read_ecg(dicom_with(dicom_file, AcquisitionDateTime="20241315"), name="ecg.dcm").signal).all()



# ------------------------------------------------------------------------------------------------ WFDB

def _wfdb_files(tmp_path, stamp: str) -> list[tuple[str, bytes]]:
    """A 2-lead WFDB record whose record line ends with ``stamp`` (base time and date as written)."""
    import wfdb
    wfdb.wrsamp("r", fs=500, units=["mV", "mV"], sig_name=["I", "II"], write_dir=str(tmp_path),
                p_signal=synthetic_signal(2, 2000, 500.0), fmt=["16", "16"])
    header = (tmp_path / "r.hea").read_text().splitlines()
    header[0] = " ".join(header[0].split()[:4] + stamp.split())
    return [("r.hea", ("\n".join(header) + "\n").encode()), ("r.dat", (tmp_path / "r.dat").read_bytes())]


@pytest.mark.parametrize("stamp, expected", [
    ("13:40:59 22/07/1987", "1987-07-22T13:40:59"),
    ("13:40:59 32/13/1987", "13:40:59"),        # an impossible date: the time alone
    ("13:40:59 22/07/87", "13:40:59"),          # a two-digit year (WFDB writes four)
    ("25:61:00 22/07/1987", None),              # an impossible time: no date without a time
])
def test_wfdb_impossible_base_date_or_time_is_dropped_and_the_record_reads(tmp_path, stamp, expected):
    files = _wfdb_files(tmp_path, stamp)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ecg = read_ecg(files)
    assert not caught
    assert ecg.leads == ["I", "II"] and ecg.n_samples == 2000
    assert ecg.metadata.get("recorded_at") == expected
