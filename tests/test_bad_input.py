"""Bad input: every case gives an ECGReadError whose message says what was wrong and what is accepted.

No other exception type may escape read_ecg for bad input; test_reliability_fuzz.py feeds random and
mutated files of every format to check that (and that whatever reads is a valid ECG).
"""
from __future__ import annotations

import io
import re
import warnings
import zipfile

import numpy as np
import pytest

from mets_core import ECG, ECGReadError, read_ecg
from mets_core.readers import MAX_UPLOAD_BYTES

from helpers import make_dicom, npy_bytes, record_files, zip_bytes

ACCEPTED = "accepted"        # every format error names what is accepted


def _with_record_line(hea: bytes, new_line: str) -> bytes:
    lines = hea.decode().splitlines()
    lines[0] = new_line
    return ("\n".join(lines) + "\n").encode()


def _raises(source, *patterns, **kwargs) -> str:
    with pytest.raises(ECGReadError) as info:
        read_ecg(source, **kwargs)
    message = str(info.value)
    for pattern in patterns:
        assert re.search(pattern, message, re.S), f"{pattern!r} not in {message!r}"
    return message


# --- empty, random, wrong type --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x.csv", "x.npy", "x.npz", "x.dcm", "x.zip", "x.txt", None])
def test_empty_file(tmp_path, name):
    _raises(b"", "empty|0 bytes", ACCEPTED, name=name)
    if name:
        (tmp_path / name).write_bytes(b"")
        _raises(tmp_path / name, "empty|0 bytes")


def test_empty_wfdb_files(rec1):
    _raises([("1.hea", b""), ("1.dat", rec1["1.dat"])], "'1.hea' is empty", "record line")
    _raises([("1.hea", rec1["1.hea"]), ("1.dat", b"")], "truncated", "5000 samples")


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes(seed):
    data = np.random.default_rng(seed).bytes(5000)
    _raises(data, ACCEPTED)
    for name in ("r.hea", "r.dat", "r.csv", "r.npy", "r.npz", "r.dcm", "r.zip", "r.mat"):
        _raises(data, name=name)


@pytest.mark.parametrize("name", ["ecg.png", "ecg.pdf", "report.docx", "ecg.jpg", "ecg.xls"])
def test_wrong_extension(name, rec1):
    _raises(rec1["1.dat"][:4000], rf"file type '\.{name.split('.')[1]}'.* not supported", "WFDB", "CSV", "DICOM",
            name=name)


def test_content_that_does_not_fit_its_extension(rec1):
    _raises(rec1["1.dat"], "not a text CSV", ACCEPTED, name="ecg.csv")
    _raises(b"I,II\n1,2\n3,4\n", "not a valid .npy", name="ecg.npy")
    _raises(b"I,II\n1,2\n3,4\n", "not a readable DICOM", name="ecg.dcm")
    _raises(b"I,II\n1,2\n3,4\n", "not a readable zip", name="ecg.zip")


@pytest.mark.parametrize("source", [None, 42, 3.5, object(), [("a.csv", "text, not bytes")], [b"no name"], []])
def test_wrong_source_type(source):
    _raises(source, "path|bytes|no files")


def test_bad_arguments(rec1):
    _raises(list(rec1.items()), "lead_names must be a list of strings", lead_names="I")
    _raises(list(rec1.items()), "fs must be a number", fs="fast")
    _raises(list(rec1.items()), "sampled at 500 Hz but the fs argument says 250 Hz", fs=250)
    _raises(list(rec1.items()), "lead_names has 2 names but .* 12 channels", lead_names=["I", "II"])


def test_missing_path(tmp_path):
    _raises(tmp_path / "nothing.hea", "no such file")
    _raises(tmp_path, "is not a file")


# --- WFDB headers and signal files ----------------------------------------------------------------

def test_truncated_dat(rec1, tmp_path):
    dat = rec1["1.dat"]
    message = _raises([("1.hea", rec1["1.hea"]), ("1.dat", dat[: len(dat) // 2])],
                      r"'1\.dat' is truncated", "5000 samples of 12 channel", f"{len(dat) // 2} bytes")
    assert "the complete file is needed" in message
    (tmp_path / "1.hea").write_bytes(rec1["1.hea"])
    (tmp_path / "1.dat").write_bytes(dat[:-1])
    _raises(tmp_path / "1.hea", "truncated")


def test_header_naming_a_missing_dat(rec1, tmp_path):
    _raises([("1.hea", rec1["1.hea"])], r"names the signal file '1\.dat', which is missing", r"\.hea needs its signal file")
    _raises(rec1["1.hea"], r"names the signal file '1\.dat', which is missing", name="1.hea")
    _raises(rec1["1.hea"], "looks like a WFDB header", "signal file")      # unnamed bytes: sniffed
    (tmp_path / "1.hea").write_bytes(rec1["1.hea"])
    _raises(tmp_path / "1.hea", r"'1\.dat', which is missing")
    _raises([("1.dat", rec1["1.dat"])], "without its header", r"'1\.hea'")


def test_header_naming_a_file_outside_its_folder(rec1, tmp_path):
    hea = rec1["1.hea"].replace(b"1.dat", b"../1.dat")
    outside = "only plain file names|not a valid WFDB header"     # wfdb's own syntax check may refuse it first
    _raises([("1.hea", hea), ("1.dat", rec1["1.dat"])], outside)
    (tmp_path / "sub").mkdir()
    (tmp_path / "1.dat").write_bytes(rec1["1.dat"])
    (tmp_path / "sub" / "1.hea").write_bytes(hea)
    _raises(tmp_path / "sub" / "1.hea", outside)


@pytest.mark.parametrize("line,patterns", [
    ("1 12 0 5000", [r"0 Hz", r"50 Hz to 10000 Hz"]),
    ("1 12 20 5000", [r"20 Hz", r"50 Hz to 10000 Hz"]),
    ("1 12 40000 5000", [r"40000 Hz", r"50 Hz to 10000 Hz"]),
    ("1 12 500 0", [r"no samples", r"at least 2 samples"]),
    ("1 12 500 1", [r"a single sample", r"at least 2 samples"]),
    ("1 12 500 30000000", [r"16\.67 h long", r"at most 24,000,000 samples per lead"]),
    ("1 12 500 7000000", [r"declares 12 x 7000000 samples", r"at most 80,000,000 samples in all"]),
    ("1 0 500 5000", [r"declares no signals|not a valid WFDB header"]),
    ("1 12 fast 5000", [r"not a valid WFDB header", r"malformed field 'fast'", r"record line"]),
    ("1 12 500 5e3x", [r"not a valid WFDB header", r"malformed field '5e3x'"]),
    ("1", [r"not a valid WFDB header", r"incomplete"]),
    ("garbage", [r"not a valid WFDB header", r"record line"]),
])
def test_bad_record_line(rec1, line, patterns):
    _raises([("1.hea", _with_record_line(rec1["1.hea"], line)), ("1.dat", rec1["1.dat"])], *patterns)


def test_header_with_fewer_signal_lines_than_declared(rec1):
    lines = rec1["1.hea"].decode().splitlines()
    del lines[3:6]
    _raises([("1.hea", "\n".join(lines).encode()), ("1.dat", rec1["1.dat"])], "WFDB")


def test_unknown_signal_format(rec1):
    _raises([("1.hea", rec1["1.hea"].replace(b"1.dat 16 ", b"1.dat 999 ")), ("1.dat", rec1["1.dat"])],
            "WFDB")


def test_long_records_limited_by_samples_not_by_duration(data_dir):
    files = dict(record_files(data_dir / "mitdb" / "101"))
    assert read_ecg(files).duration == pytest.approx(650000 / 360)            # 30 min: a valid record
    longer = dict(files, **{"101.hea": files["101.hea"].replace(b"101 2 360 650000", b"101 2 360 2000000")})
    _raises(longer, r"'101\.dat' is truncated")          # 1.5 h is no longer refused for its length
    huge = dict(files, **{"101.hea": files["101.hea"].replace(b"101 2 360 650000", b"101 2 360 90000000")})
    _raises(huge, r"69\.44 h long", "at most 24,000,000 samples per lead", "cut or downsample")


def test_implausible_amplitudes(rec1):
    """A gain that turns samples into volts, or numbers in an unexpected unit, is not read as an ECG."""
    hea = rec1["1.hea"].replace(b"1.dat 16 1000.0(0)/mV", b"1.dat 16 0.001(0)/mV", 1)
    _raises([("1.hea", hea), ("1.dat", rec1["1.dat"])], "values up to .* mV", "units .* gain")
    _raises(npy_bytes(np.full((12, 1000), 5e7)), "values up to", name="x.npy", fs=500)


def test_wfdb_invalid_samples(rec1):
    """WFDB's invalid-sample code (-32768 in format 16) becomes NaN: short gaps are filled, dead leads masked."""
    dat = np.frombuffer(rec1["1.dat"], dtype="<i2").reshape(5000, 12).copy()
    dat[1000:1003, 0] = -32768                   # a 3-sample gap in lead i
    dat[:, 6] = -32768                           # v1 entirely invalid
    ecg = read_ecg([("1.hea", rec1["1.hea"]), ("1.dat", dat.tobytes())])
    assert "V1" not in ecg.leads and len(ecg.leads) == 11
    assert ecg.metadata["interpolated_samples"] == "i:3"
    assert np.isfinite(ecg.signal).all()
    dat[:] = -32768
    _raises([("1.hea", rec1["1.hea"]), ("1.dat", dat.tobytes())], "no usable lead", "NaN")


# --- CSV ------------------------------------------------------------------------------------------

def test_csv_unknown_columns():
    data = b"time,I,II,pleth,resp\n" + b"".join(f"{i / 500},0.1,0.2,80,3\n".encode() for i in range(100))
    message = _raises(data, "'pleth', 'resp'", "not ECG leads", "aVR", "V1-V6", "time", "lead_names",
                      name="monitor.csv")
    assert "MLII" in message          # the accepted spellings are listed


def test_csv_nans():
    rows = "\n".join(",".join(["nan"] * 3) for _ in range(100))
    _raises(("I,II,V1\n" + rows).encode(), "no usable lead", "NaN", name="n.csv", fs=500)
    _raises(b"I,II\n0.1,abc\n0.2,0.3\n", r"'abc', which is not a number", name="t.csv", fs=500)


def test_csv_single_sample_and_no_rows():
    _raises(b"time,I,II\n0,0.1,0.2\n", "a single sample", "at least 2 samples", name="one.csv")
    _raises(b"time,I,II\n", "no samples", name="none.csv")
    _raises(b"# only a comment\n", "no data rows", "header row", name="c.csv")


def test_csv_time_column_problems():
    uneven = b"time,I\n" + b"".join(f"{t},0.1\n".encode() for t in [0, 0.002, 0.004, 0.012, 0.014, 0.016])
    _raises(uneven, "not evenly spaced", "fs=", name="u.csv")
    backwards = b"time,I\n0.004,0.1\n0.002,0.1\n0.000,0.1\n"
    _raises(backwards, "must increase", name="b.csv")
    too_slow = b"time,I\n" + b"".join(f"{i * 0.1},0.1\n".encode() for i in range(50))
    _raises(too_slow, "10 Hz", "50 Hz to 10000 Hz", name="s.csv")
    in_ms = b"time,I\n" + b"".join(f"{i * 2},0.1\n".encode() for i in range(50))
    _raises(in_ms, "0.5 Hz if it is in seconds", "time_ms", name="ms.csv")


def test_csv_ragged_rows():
    _raises(b"I,II\n0.1,0.2\n0.3\n0.4,0.5\n", "row 2 has 1 cells but the header has 2", name="r.csv", fs=500)


# --- NumPy ----------------------------------------------------------------------------------------

def test_npy_never_unpickles():
    data = npy_bytes(np.array([{"evil": 1}, 2], dtype=object), allow_pickle=True)
    _raises(data, "dtype object", "never unpickled", name="p.npy", fs=500)
    buf = io.BytesIO()
    np.savez(buf, signal=np.zeros((12, 1000)), fs=500, leads=np.array(["I", 2], dtype=object))
    _raises(buf.getvalue(), "'leads' must be a unicode string array", name="p.npz")


def test_npy_declaring_a_huge_array_is_refused_before_allocation():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (12, 10 ** 12)})
    buf.write(b"\0" * 800)
    _raises(buf.getvalue(), "truncated", r"\(12, 1000000000000\)", name="huge.npy", fs=500)


@pytest.mark.parametrize("shape,pattern", [
    ((12, 1), "shape"), ((1, 1), "shape"), ((12, 12), "shape"), ((20, 30), "at most 12 leads"),
    ((2, 3, 400), "shape"), ((0, 12), "shape"),
])
def test_npy_bad_shapes(shape, pattern):
    _raises(npy_bytes(np.zeros(shape)), pattern, name="x.npy", fs=500)


def test_npy_all_nan_and_bad_dtype():
    _raises(npy_bytes(np.full((12, 1000), np.nan)), "no usable lead", name="x.npy", fs=500)
    _raises(npy_bytes(np.zeros((12, 1000), dtype=complex)), "dtype complex", name="x.npy", fs=500)
    _raises(npy_bytes(np.array(["a", "b"])), "dtype", name="x.npy", fs=500)


# --- archives -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_name", ["../1.dat", "rec/../../1.dat", "/etc/1.dat", "..\\..\\1.dat", "C:/1.dat"])
def test_zip_with_unsafe_names(rec1, bad_name):
    data = zip_bytes([("1.hea", rec1["1.hea"]), (bad_name, rec1["1.dat"])])
    _raises(data, "unsafe file name", "plain names")


def test_zip_with_symlink(rec1):
    _raises(zip_bytes([("1.hea", rec1["1.hea"])], symlinks=[("1.dat", "/etc/passwd")]), "symbolic link")


def test_nestedzip_bytes(rec1):
    inner = zip_bytes(list(rec1.items()))
    _raises(zip_bytes([("inner.zip", inner)]), "nested archives are not accepted")


def test_zip_bomb_is_refused_from_declared_sizes():
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("1.dat", "w", force_zip64=True) as member:
            for _ in range(MAX_UPLOAD_BYTES // len(chunk) + 10):      # 110 MB of zeros -> ~110 kB zipped
                member.write(chunk)
    assert len(buf.getvalue()) < 1 << 20
    _raises(buf.getvalue(), "unpacks to more than 100 MB", "declared")


def test_zip_with_too_many_entries():
    _raises(zip_bytes([(f"f{i}.atr", b"x") for i in range(1001)]), "1001 entries", "at most 1000")


def test_zip_with_nothing_usable():
    _raises(zip_bytes([("RECORDS", b"1\n"), ("__MACOSX/._1.hea", b"x")]), "empty")
    _raises(zip_bytes([("a.csv", b"I\n1\n2\n"), ("b.csv", b"I\n1\n2\n")]), "expected one ECG file, got 2")


# --- size limits ----------------------------------------------------------------------------------

def test_oversized_files_are_refused_before_reading(tmp_path, monkeypatch):
    """Uploads: 100 MB; files read from a path: 256 MB (a 24-hour Holter in 16-bit samples is ~130 MB)."""
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(300 * 1024 * 1024)                      # sparse: no disk space, no time
    hea = tmp_path / "big.hea"
    hea.write_text("big 12 500 5000\n" + "".join(f"big.dat 16 200 16 0 0 0 0 {n}\n" for n in
                                                  "I II III aVR aVL aVF V1 V2 V3 V4 V5 V6".split()))
    with open(tmp_path / "big.dat", "wb") as f:
        f.truncate(300 * 1024 * 1024)
    huge = memoryview(np.zeros(200 * 1024 * 1024, dtype=np.uint8))   # lazily mapped zeros
    _raises(huge, "200 MB", "at most 100 MB")
    _raises([("big.dat", huge), ("big.hea", hea.read_bytes())], "200 MB", "at most 100 MB")
    import builtins
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if str(file).endswith(("big.csv", "big.dat")):
            raise AssertionError("a file over the size limit was opened")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    _raises(big, r"'big\.csv' is 300 MB", "at most 256 MB")
    _raises(hea, r"'big\.dat' is 300 MB", "at most 256 MB")


# --- DICOM ----------------------------------------------------------------------------------------

def test_dicom_problems():
    sig = np.zeros((12, 1000))
    good = make_dicom(sig, with_median=False)
    assert isinstance(read_ecg(good, name="ok.dcm"), ECG)
    _raises(good[: len(good) - 4000], "truncated|could not|not a readable", name="cut.dcm")
    _raises(make_dicom(sig, fs=0.0, with_median=False), "0 Hz", "50 Hz to 10000 Hz", name="zero.dcm")
    _raises(make_dicom(sig, units="mmHg", with_median=False), "no channel is a voltage", "'mmHg'", "mV, uV",
            name="bp.dcm")

    import pydicom
    ds = pydicom.dcmread(io.BytesIO(good))
    del ds.WaveformSequence
    buf = io.BytesIO()
    ds.save_as(buf)
    _raises(buf.getvalue(), "no waveform", "ECG waveform", name="image.dcm")


def test_dicom_reading_neither_logs_nor_warns(caplog):
    """pydicom reports invalid values in logs and warnings (often quoting them); uploads are never logged."""
    import pydicom
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                       # pydicom warns while writing the bad value
        data = make_dicom(np.zeros((12, 1000)), with_median=False, rhythm_label="SECRET-VALUE-0123456789")
    with pytest.warns(UserWarning, match="exceeds the maximum length"):      # plain pydicom complains
        pydicom.dcmread(io.BytesIO(data)).WaveformSequence[0].MultiplexGroupLabel
    caplog.clear()
    caplog.set_level("DEBUG")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ecg = read_ecg(data, name="x.dcm")
    assert ecg.metadata["dicom_group"] == "SECRET-VALUE-0123456789"
    assert not caught and not caplog.records
