"""Fuzzing every reader: whatever the bytes, read_ecg returns a valid ECG or raises ECGReadError with a
message. No other exception, no hang, no memory blow-up.

Each case runs under ``bounded_case`` (tests/reliability_support.py): a per-case time bound (SIGALRM, with
faulthandler as a backstop for hangs inside C code) and a per-case memory bound on the tracemalloc peak
(numpy reports its buffers to it): 32 MiB + 48 x the bytes the case hands over (declared unpacked sizes for
archives). A reader that allocates what a header *declares* before checking it against the data breaks it.

Inputs (every format the readers accept, plus the files that travel with them):
  random bytes under every file name, behind every format's magic bytes;
  real records from METS_DATA_DIR (LUDB, MIT-BIH, QTDB, PTB, PTB-XL, Challenge .mat, CinC 2017, CPSC) and
    records this module synthesises (WFDB formats 16/212/80/24/32/61/160/508, multi-segment, Challenge
    .mat, CSV, NumPy, DICOM, zip), truncated, bit-flipped, overwritten, spliced, renamed, files dropped;
  WFDB headers with absurd values (negative/huge/NaN rates, 10^9 samples, 0 or 5,000 leads, unknown
    formats, bad gains and units, '../' signal files, non-UTF-8 comments);
  CSVs with mixed types, units, encodings, separators and ragged rows;
  .npy/.npz with any dtype (object/pickled included), shapes up to 2^62, bad fs/leads/units entries;
  DICOM waveforms with absurd channel/sample counts, rates, bit depths, sensitivities, units;
  zips with nested zips, symlinks, '../' and absolute names, encryption flags, zip bombs;
  SCP-ECG files with absurd lead counts, sample ranges, rates, multipliers, encodings and byte counts, and
    damaged sections, their CRCs recomputed so that the decoders see the damage; EDF+D files in the bank;
  files on disk that are symlinks (to /dev/zero, loops, dangling, outside the folder), FIFOs, folders.

Profiles (hypothesis settings profiles, chosen by METS_FUZZ_PROFILE):
  ci (default): a few hundred cases, derandomized, well under a minute;
  slow: >= 10,000 cases in all, random seeds; the tests are then marked `slow`. Reproduce the figures in
    docs/reliability.md with
        METS_FUZZ_PROFILE=slow METS_FUZZ_REPORT=fuzz_slow.json .venv/bin/python -m pytest -q -m slow \
            tests/test_reliability_fuzz.py
"""
from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
import tempfile
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import wfdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mets_core import ECG, ECGReadError, STANDARD_LEADS, read_ecg
from mets_core.readers import MAX_ABS_MV, MAX_DURATION_S, MAX_FS, MAX_UPLOAD_BYTES, MIN_FS

from dashboard_fixtures import synthetic_csv
from hospital_files import edf_discontinuous, scp_bytes, scp_record, scp_sections, synthetic_12lead
from helpers import (PACKED_HERE, CodeRunningPickle, csv_bytes, make_dicom, npy_bytes, npz_bytes, pickle_payload,
                     record_files, synthetic_signal)
from helpers import zip_bytes as zip_entries
from reliability_support import bounded_case, max_rss_bytes

# ------------------------------------------------------------------------------------------ profiles

PROFILE = os.environ.get("METS_FUZZ_PROFILE", "ci").strip().lower() or "ci"
if PROFILE not in ("ci", "slow"):
    raise ValueError(f"METS_FUZZ_PROFILE must be 'ci' or 'slow', got {PROFILE!r}")
SLOW = PROFILE == "slow"
if SLOW:
    pytestmark = pytest.mark.slow

# cases per test: (ci, slow). The slow column sums to 11,100.
BUDGET = {
    "random_bytes": (70, 1500),
    "damaged_records": (110, 3000),
    "absurd_headers": (90, 1800),
    "csv": (50, 1200),
    "numpy": (50, 900),
    "dicom": (25, 700),
    "zips": (45, 900),
    "paths": (15, 300),
    "scp": (40, 800),
}
MIN_SLOW_CASES = 10_000
CASE_TIME_S = float(os.environ.get("METS_FUZZ_CASE_TIMEOUT", "20"))   # generous: 2 shared CPU cores
# the whole module: peak RSS growth over its start. One accepted record may hold MAX_TOTAL_SAMPLES samples
# (a 24-hour Holter); reading it holds them as float64 and as the float32 ECG at once (12 B per sample), on
# top of ~1 GiB of interpreter, wfdb and hypothesis working memory.
from mets_core.readers import limits as _limits  # noqa: E402
RSS_GROWTH_BOUND = 2**30 + 12 * _limits.MAX_TOTAL_SAMPLES

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example]
settings.register_profile("mets-fuzz-ci", deadline=None, database=None, derandomize=True, print_blob=True,
                          suppress_health_check=_HEALTH)
settings.register_profile("mets-fuzz-slow", deadline=None, database=None, derandomize=False, print_blob=True,
                          suppress_health_check=_HEALTH)


def fuzz(test: str):
    """Hypothesis settings of the active profile, with this test's number of cases."""
    return settings(settings.get_profile(f"mets-fuzz-{PROFILE}"), max_examples=BUDGET[test][SLOW])


# ------------------------------------------------------------------------------------ case checking

OUTCOMES: Counter = Counter()        # (test, format, "valid" | "ECGReadError") -> cases
SLOWEST = {"seconds": 0.0, "case": ""}
PEAK = {"bytes": 0, "case": ""}
_RSS_AT_START = max_rss_bytes()       # reset when the module's cases start (outcome_report), not at collection


def _effective_bytes(source) -> int:
    """Bytes a case hands to the reader, counting archives at their declared unpacked size (capped)."""
    def one(data: bytes) -> int:
        n = len(data)
        if data[:2] == b"PK":
            try:
                declared = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
            except Exception:       # a damaged zip: its bytes are all the reader can get
                declared = 0
            if declared <= MAX_UPLOAD_BYTES:     # more than that must be refused before unpacking
                n += declared
        return n

    if isinstance(source, (bytes, bytearray)):
        return one(bytes(source))
    if isinstance(source, (str, Path)):
        folder = Path(source).parent
        total = 0
        for p in folder.iterdir():
            try:
                st_ = p.stat()
            except OSError:
                continue
            if stat.S_ISREG(st_.st_mode) and st_.st_size <= MAX_UPLOAD_BYTES:
                total += st_.st_size
        return total
    return sum(one(bytes(b)) for _, b in source)


def memory_bound(source) -> int:
    return 32 * 2**20 + 48 * _effective_bytes(source)


def assert_valid_ecg(ecg: ECG) -> None:
    """What every ECG the readers return must satisfy."""
    assert isinstance(ecg, ECG)
    sig = ecg.signal
    assert sig.dtype == np.float32 and sig.ndim == 2 and sig.shape[0] == len(STANDARD_LEADS)
    assert sig.shape[1] >= 2
    assert np.isfinite(sig).all()
    assert float(np.abs(sig).max(initial=0.0)) <= MAX_ABS_MV * (1 + 1e-6)
    assert MIN_FS <= ecg.fs <= MAX_FS
    assert sig.shape[1] / ecg.fs <= MAX_DURATION_S + 1e-6
    assert ecg.lead_mask.dtype == bool and ecg.lead_mask.shape == (12,) and ecg.lead_mask.any()
    assert not sig[~ecg.lead_mask].any(), "a masked (absent) lead must be zeros"
    assert isinstance(ecg.name, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in ecg.metadata.items())


def check_read(test: str, fmt: str, source, **kwargs) -> str:
    """read_ecg under the watchdog and memory bound; only a valid ECG or ECGReadError may come out."""
    with bounded_case(CASE_TIME_S, memory_bound(source)) as report:
        try:
            ecg = read_ecg(source, **kwargs)
            outcome, message = "valid", ""
        except ECGReadError as err:
            outcome, message, ecg = "ECGReadError", str(err), None
    if ecg is not None:
        assert_valid_ecg(ecg)
    else:
        assert message.strip(), "an ECGReadError must carry a message"
        assert "Traceback" not in message
    OUTCOMES[(test, fmt, outcome)] += 1
    if report.seconds > SLOWEST["seconds"]:
        SLOWEST.update(seconds=report.seconds, case=f"{test}/{fmt}")
    if report.peak_bytes > PEAK["bytes"]:
        PEAK.update(bytes=report.peak_bytes, case=f"{test}/{fmt}")
    return outcome


def _pos(data, n: int) -> int:
    """A position in a sequence of length n (draws a large integer, so shrinking stays cheap)."""
    return data.draw(st.integers(0, 2**31 - 1)) % max(n, 1)


def _random_bytes(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)


# ---------------------------------------------------------------------------------------- the bank

class Quiet(dict):
    """A dict of files whose repr lists names, not megabytes (hypothesis prints a failing test's arguments)."""

    def __repr__(self) -> str:
        return f"<{len(self)} entries: {', '.join(map(str, list(self)[:8]))}{', ...' if len(self) > 8 else ''}>"


@dataclass
class Sample:
    fmt: str                                  # outcome label: wfdb, wfdb-mat, csv, npy, npz, dicom, zip
    files: list[tuple[str, bytes]] = field(repr=False)
    kwargs: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def record(rec1) -> Quiet:
    """test_bad_input's synthetic 12-lead WFDB upload {'1.hea': ..., '1.dat': ...}, quietly printed."""
    return Quiet(rec1)


def _wfdb_synthetic(folder: Path, name: str, fmt: str, leads: list[str], fs: float, n: int) -> list[tuple[str, bytes]]:
    """A WFDB record in format `fmt`, written by wfdb (or packed with test_readers' packers)."""
    sig = synthetic_signal(len(leads), n, fs)
    bits = {"80": 8, "508": 8, "212": 12}.get(fmt, 16)
    gain = (2 ** (bits - 1) - 2) / 2.0
    digital = np.round(sig * gain).astype(np.int64)
    write_fmt = "16" if fmt in PACKED_HERE else fmt
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(leads), sig_name=leads, d_signal=digital,
                fmt=[write_fmt] * len(leads), adc_gain=[gain] * len(leads), baseline=[0] * len(leads),
                write_dir=str(folder), comments=["synthetic", "<age>: 40"])
    if fmt in PACKED_HERE:
        hea = (folder / f"{name}.hea").read_text().replace(f"{name}.dat 16", f"{name}.dat {fmt}")
        (folder / f"{name}.hea").write_text(hea)
        (folder / f"{name}.dat").write_bytes(PACKED_HERE[fmt](digital))
    return record_files(folder / name)


def _challenge_mat(rec1_files: dict[str, bytes]) -> list[tuple[str, bytes]]:
    """PhysioNet Challenge layout: the same samples behind a 24-byte MAT v4 header, format 16x1+24."""
    from scipy.io import savemat
    digital = np.frombuffer(rec1_files["1.dat"], dtype="<i2").reshape(-1, 12).T.copy()
    buf = io.BytesIO()
    savemat(buf, {"val": digital}, format="4")
    mat = buf.getvalue()
    assert len(mat) == 24 + digital.nbytes
    hea = rec1_files["1.hea"].decode().replace("1.dat 16 ", "1.mat 16x1+24 ")
    return [("1.hea", hea.encode()), ("1.mat", mat)]


@pytest.fixture(scope="module")
def bank(rec1, tmp_path_factory) -> dict[str, Sample]:
    """Valid records of every format (synthesised here; plus real ones when METS_DATA_DIR is set)."""
    folder = tmp_path_factory.mktemp("fuzz_bank")
    out: dict[str, Sample] = {"wfdb16-12lead": Sample("wfdb", sorted(rec1.items()))}
    for fmt, leads, fs in [("212", ["MLII", "V1"], 360.0), ("80", ["I", "II", "V2"], 250.0),
                           ("24", ["II"], 500.0), ("32", ["V5", "aVF"], 1000.0), ("61", ["I", "III"], 500.0),
                           ("160", ["aVR"], 128.0)]:
        out[f"wfdb{fmt}"] = Sample("wfdb", _wfdb_synthetic(folder, f"f{fmt}", fmt, leads, fs, 3000))
    try:
        import soundfile  # noqa: F401
        out["wfdb508-flac"] = Sample("wfdb", _wfdb_synthetic(folder, "flac", "508", ["I", "II"], 500.0, 3000))
    except ImportError:
        pass
    seg = folder / "multi"
    seg.mkdir()
    digital = np.round(synthetic_signal(2, n=2000) * 200).astype(np.int64)
    for i, part in enumerate((digital[:1200], digital[1200:])):
        wfdb.wrsamp(f"seg{i + 1}", fs=500, units=["mV", "mV"], sig_name=["II", "V1"], d_signal=part,
                    fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(seg))
    (seg / "multi.hea").write_text("multi/2 2 500 2000\nseg1 1200\nseg2 800\n# two segments\n")
    out["wfdb-multisegment"] = Sample("wfdb", [(p.name, p.read_bytes()) for p in sorted(seg.iterdir())])
    out["challenge-mat"] = Sample("wfdb-mat", _challenge_mat(rec1))
    out["csv-time"] = Sample("csv", [("syn.csv", synthetic_csv(seconds=3))])
    sig = synthetic_signal(3, 1500, 500.0)
    out["csv-uv-comment"] = Sample("csv", [("uv.csv", csv_bytes(["II (uV)", "V1", "V6"], list(sig.T * 1000),
                                                           comments=("fs=500", "units=uV"), sep=";"))])
    twelve = synthetic_signal(12, 2000, 500.0).T
    out["npy"] = Sample("npy", [("x.npy", npy_bytes(twelve))], {"fs": 500.0})
    out["npz"] = Sample("npz", [("x.npz", npz_bytes(signal=twelve[:3] * 1000, fs=np.array(500.0),
                                              leads=np.array(["I", "II", "V3"]), units=np.array("uV")))])
    out["dicom"] = Sample("dicom", [("x.dcm", make_dicom(twelve * 1000, with_median=True))])
    out["zip-wfdb"] = Sample("zip", [("rec.zip", zip_entries(sorted(rec1.items())))])
    hospital = synthetic_12lead(seconds=4.0, fs=250.0, seed=9)
    out["scp-huffman"] = Sample("scp", [("x.scp", scp_bytes(hospital, fs=250.0, huffman=True, difference=2))])
    out["scp-raw"] = Sample("scp", [("x.scp", scp_bytes({k: hospital[k] for k in ("I", "II", "V2")}, fs=250.0))])
    out["edf+d"] = Sample("edf+d", [("holter.edf", edf_discontinuous({"ECG II": hospital["II"], "ECG V5": hospital["V5"]},
                                                                      [0, 1, 2, 3.1], fs=250.0))])
    data = os.environ.get("METS_DATA_DIR")
    if data and Path(data).is_dir():
        for rec in ["ludb/data/1", "mitdb/101", "qtdb/sel102", "ptbdb/s0010_re", "ptbxl/records500/06000/06002_hr",
                    "challenge2021/HR06002", "cinc2017/A00004", "cpsc2021/data_101_6"]:
            path = Path(data) / rec
            if path.with_suffix(".hea").is_file():
                files = record_files(path)
                fmt = "wfdb-mat" if any(n.endswith(".mat") for n, _ in files) else "wfdb"
                out[f"real:{rec}"] = Sample(fmt, files)
    for label, sample in out.items():     # every seed record is valid as it stands
        if len(sample.files) > 1:
            assert_valid_ecg(read_ecg(sample.files, **sample.kwargs))
        else:
            assert_valid_ecg(read_ecg(sample.files[0][1], name=sample.files[0][0], **sample.kwargs))
    return Quiet(out)


@pytest.fixture(scope="module", autouse=True)
def outcome_report():
    """After the module: the RSS bound, and the outcome table (printed; JSON to $METS_FUZZ_REPORT). The bound is
    on this module's growth: measured from its start, not from collection (the tests run before it in the same
    process, with their own peaks, are not the fuzz run's)."""
    global _RSS_AT_START
    _RSS_AT_START = max_rss_bytes()
    yield
    growth = max_rss_bytes() - _RSS_AT_START
    summary = {
        "profile": PROFILE,
        "cases": sum(OUTCOMES.values()),
        "by_test": {},
        "by_format": {},
        "slowest_case_s": round(SLOWEST["seconds"], 3), "slowest_case": SLOWEST["case"],
        "peak_traced_mib": round(PEAK["bytes"] / 2**20, 1), "peak_case": PEAK["case"],
        "rss_growth_mib": round(growth / 2**20, 1),
        "data_dir": bool(os.environ.get("METS_DATA_DIR")),
    }
    for (test, fmt, outcome), n in sorted(OUTCOMES.items()):
        summary["by_test"].setdefault(test, Counter())[outcome] += n
        summary["by_format"].setdefault(fmt, Counter())[outcome] += n
    print("\nfuzz outcomes:", json.dumps(summary, indent=1, default=dict))
    if os.environ.get("METS_FUZZ_REPORT"):
        Path(os.environ["METS_FUZZ_REPORT"]).write_text(json.dumps(summary, indent=1, default=dict) + "\n")
    assert growth < RSS_GROWTH_BOUND, f"peak RSS grew by {growth / 2**20:.0f} MiB during the fuzz run"


# ----------------------------------------------------------------------------------- 1. random bytes

NAMES = [None, "x", "x.hea", "x.dat", "x.mat", "x.csv", "x.tsv", "x.txt", "x.npy", "x.npz", "x.dcm", "x.dicom",
         "x.zip", "x.bin", "x.edf", "x.scp", "x.i", "x.atr", "x.xyz"]
MAGIC = [b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"\x93NUMPY\x03\x00",
         bytes(128) + b"DICM", b"x 12 500 5000\n", b"x/2 12 500 5000\nseg1 2500\n", b"I,II,V1\n", b"time,I\n",
         b"\xef\xbb\xbf", b"\xff\xfe", b"\x80\x04\x95", b"MATLAB 5.0 MAT-file", b"0 I 0\n",
         bytes(8) + b"\xa0\x00\x00\x00\x14\x14SCPECG"]


@fuzz("random_bytes")
@given(magic=st.sampled_from(MAGIC), body=st.binary(max_size=6000), name=st.sampled_from(NAMES),
       fs=st.sampled_from([None, 500.0]), as_list=st.booleans())
def test_fuzz_random_bytes(magic, body, name, fs, as_list):
    data = magic + body
    fmt = "random:" + (Path(name).suffix or "no-extension" if name else "unnamed")
    if as_list:
        check_read("random_bytes", fmt, [(name or "upload", data)], fs=fs)
    else:
        check_read("random_bytes", fmt, data, name=name, fs=fs)


# ----------------------------------------------------------------------- 2. damaged real records

EXTENSIONS = [".hea", ".dat", ".mat", ".csv", ".npy", ".zip", ".dcm", ".atr", "", ".HEA", ".xyz", ".scp", ".edf"]


def _mutate(data, files: dict[str, bytes]) -> dict[str, bytes]:
    names = sorted(files)
    target = data.draw(st.sampled_from(names))
    blob = bytearray(files[target])
    op = data.draw(st.sampled_from(["truncate", "flip", "flip", "overwrite", "splice", "insert", "drop",
                                    "rename", "lines"]))
    if op == "truncate":
        del blob[_pos(data, len(blob) + 1):]
    elif op == "flip":
        for _ in range(data.draw(st.integers(1, 24))):
            if blob:
                blob[_pos(data, len(blob))] ^= 1 << data.draw(st.integers(0, 7))
    elif op == "overwrite" and blob:
        start = _pos(data, len(blob))
        filler = data.draw(st.sampled_from([b"\x00", b"\xff", b"9", b" ", b"\n", b"-"]))
        length = data.draw(st.integers(1, 4096))
        blob[start:start + length] = (filler * length)[: len(blob[start:start + length])]
    elif op == "splice" and blob:
        start = _pos(data, len(blob))
        del blob[start:start + data.draw(st.integers(1, 4096))]
    elif op == "insert":
        blob[_pos(data, len(blob) + 1):0] = data.draw(st.binary(min_size=1, max_size=64))
    elif op == "drop" and len(files) > 1:
        return {k: v for k, v in files.items() if k != target}
    elif op == "rename":
        new = Path(target).stem + data.draw(st.sampled_from(EXTENSIONS))
        if new not in files:
            return {(new if k == target else k): v for k, v in files.items()}
    elif op == "lines":                       # delete, duplicate or swap whole text lines
        lines = bytes(blob).split(b"\n")
        i, j = _pos(data, len(lines)), _pos(data, len(lines))
        how = data.draw(st.sampled_from(["delete", "duplicate", "swap"]))
        if how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[j])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        blob = bytearray(b"\n".join(lines))
    return {**files, target: bytes(blob)}


@fuzz("damaged_records")
@given(data=st.data())
def test_fuzz_damaged_records(bank, data):
    """Valid records of every format, damaged 1-3 times, uploaded as files, as one zip, or as bytes."""
    label = data.draw(st.sampled_from(sorted(bank)), label="record")
    sample = bank[label]
    files = dict(sample.files)
    for _ in range(data.draw(st.integers(1, 3))):
        files = _mutate(data, files)
    packaging = data.draw(st.sampled_from(["files", "zip", "bytes"]))
    if packaging == "zip":
        blob = bytearray(zip_entries(sorted(files.items())))
        if data.draw(st.booleans()):
            for _ in range(data.draw(st.integers(1, 8))):
                blob[_pos(data, len(blob))] ^= 1 << data.draw(st.integers(0, 7))
        check_read("damaged_records", sample.fmt, bytes(blob), **sample.kwargs)
    elif packaging == "bytes" and len(files) == 1:
        (name, blob), = files.items()
        check_read("damaged_records", sample.fmt, blob, name=data.draw(st.sampled_from([name, None])),
                   **sample.kwargs)
    else:
        check_read("damaged_records", sample.fmt, sorted(files.items()), **sample.kwargs)


# ------------------------------------------------------------------------ 3. absurd WFDB headers

FS_TOKENS = ["500", "360", "250/360", "250/360(-5)", "500(1)", "0", "-500", "1e9", "1000000000", "0.0001", "49.99",
             "10000.01", "nan", "inf", "1e308", "500/0", "fast", "", "5e2", "1e-320", "1e400"]
LEN_TOKENS = ["5000", "2000", "0", "1", "2", "-1", "1000000000", str(10 ** 18), "9" * 30, "", "5000.5", "x",
              "1800000", "1800001", "50000001"]
NSIG = [0, 1, 2, 3, 12, 15, 64, 65, 5000]
FMT_TOKENS = ["16", "212", "80", "24", "32", "61", "160", "310", "311", "8", "508", "516", "0", "999", "-16", "16x2",
              "16x0", "16x99999", "16+24", "16+99999999", "16:3", "x", ""]
GAIN_TOKENS = ["200", "1000.0(0)/mV", "0", "-1", "-200(0)/mV", "nan", "inf", "1e308", "1e-308", "1e400",
               "200(99999999999)/mV", "200(0)/uV", "200(0)/V", "200(0)/mmHg", "200(0)/", "200(-5)/nV", "(0)/mV",
               "200(x)/mV", "200(0)/m\xb5V"]
FILE_TOKENS = ["rec.dat", "rec.dat", "rec.mat", "other.dat", "../rec.dat", "/etc/passwd", "~", "rec.hea", "",
               "sub/rec.dat", "rec.dat\x00"]
LEAD_TOKENS = [*STANDARD_LEADS, "MLII", "ecg", "vx", "?", "\xc4", "", "I II", "V1-V2", "\x00"]
NUM_TOKENS = ["0", "12", "16", "-1", "64", "2147483648", "99999999999999999999", "x", "1e3", "nan"]
COMMENT_LINES = [b"# <age>: 51", b"# Name: M\xfcller, Hans", b"# \xff\xfe\x00garbage", b"# " + bytes(range(128, 256)),
                 b"#\x00\x01\x02", b"# Rhythm: Sinus rhythm.", b"#" * 5000, b"# \xe2\x82\xac \xf0\x9f\x92\x93",
                 b"# fs=1e9", b"\xc3\x28"]


def _sometimes(draw, normal, absurd: list, one_in: int = 4):
    """`normal`, or (about one time in `one_in`) one of the absurd values."""
    return draw(st.sampled_from(absurd)) if draw(st.integers(0, one_in - 1)) == one_in - 1 else normal


HEADER_FIELDS = ["n_sig", "fs", "length", "time", "file", "fmt", "gain", "numbers", "lead", "line_count",
                 "comments", "data_size"]


@st.composite
def wfdb_uploads(draw):
    """A coherent header (n signals of format 16 at 500 Hz, its .dat) in which 0-3 fields are absurd."""
    absurd = draw(st.sets(st.sampled_from(HEADER_FIELDS), max_size=3))

    def field(name, normal, choices):
        return draw(st.sampled_from(choices)) if name in absurd else normal

    n_sig = field("n_sig", draw(st.integers(1, 12)), NSIG + [70, 13])
    fs = field("fs", "500", FS_TOKENS)
    length = field("length", "2000", LEN_TOKENS)
    record_line = " ".join(t for t in ["rec", str(n_sig), fs, length] if t)
    if "time" in absurd:
        record_line += draw(st.sampled_from([" 11:05:48 1/05/2000", " 25:99:99 99/99/9999", " x y z"]))
    everywhere = draw(st.booleans())           # absurd value in every signal line, or in one
    odd_line = draw(st.integers(0, 15))

    def signal_line(k: int) -> str:
        hit = everywhere or k == odd_line

        def f(name, normal, choices):
            return field(name, normal, choices) if hit else normal
        fields = [f("file", "rec.dat", FILE_TOKENS), f("fmt", "16", FMT_TOKENS), f("gain", "200(0)/mV", GAIN_TOKENS),
                  *(f("numbers", v, NUM_TOKENS) for v in ("16", "0", "0", "0", "0")),
                  f("lead", STANDARD_LEADS[k % 12], LEAD_TOKENS)]
        return " ".join(fields)

    n_lines = max(0, min(n_sig, 5000) + field("line_count", 0, [-1, 1, -3]))
    if n_lines <= 16:
        lines = [signal_line(k) for k in range(n_lines)]
    else:                                       # thousands of lines: one template, one exception
        template = signal_line(-1)
        lines = [template] * n_lines
        lines[odd_line % n_lines] = signal_line(odd_line)
    comments = draw(st.lists(st.sampled_from(COMMENT_LINES), min_size=1, max_size=4)) if "comments" in absurd else []
    newline = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    header = newline.join([*comments[:1], record_line.encode("latin-1"),
                           *(ln.encode("latin-1") for ln in lines), *comments[1:]]) + newline
    try:
        declared = int(float(length)) if length else 0
    except ValueError:
        declared = 0
    exact = int(min(max(declared, 0) * max(n_sig, 1) * 2, 2 * 2**20))
    size = field("data_size", "exact", ["zero", "short", "random", "long"])
    n_bytes = {"exact": exact, "zero": 0, "short": exact // 2, "random": draw(st.integers(0, 300_000)),
               "long": exact + 777}[size]
    payload = _random_bytes(draw(st.integers(0, 2**32 - 1)), n_bytes)
    files = [("rec.hea", header), ("rec.dat", payload)]
    if draw(st.integers(0, 3)) == 3:
        files.append(("rec.mat", payload[: n_bytes // 2]))
    return files


@fuzz("absurd_headers")
@given(files=wfdb_uploads(), fs=st.sampled_from([None, None, None, 500.0]))
def test_fuzz_absurd_wfdb_headers(files, fs):
    check_read("absurd_headers", "wfdb-header", files, fs=fs)


# -------------------------------------------------------------------------------------- 4. CSV

HEADER_CELLS = ["time", "t", "ms", "time_ms", "Time (ms)", "seconds", "sample", "index", "", "I", "II", "III",
                "aVR", "AVL", "avf", "V1", "v2", "V3", "V4", "V5", "V6", "MLII", "ECG", "II (uV)", "V1_mV",
                "I [\xb5V]", "V2 (V)", "III (furlongs)", "pleth", "resp", '"I"', "'II'", "\xc4VR", "\ufeffI",
                "x" * 300, "I", "II", "V1"]
JUNK_CELLS = ["nan", "NaN", "", "-", "null", "inf", "-inf", "1e400", "-1e400", "abc", "0x1F", "1,5", "1.5.5",
              "12:00:01.5", "00:00:00.002", "True", "None", "\u221e", "\u0661\u0662", "1_000", "  7  ", '"3.5"',
              "9" * 400, "1e-400", "+", "e5", "0b1", "1e308", "-1e308", "\x00", "\xff"]
CSV_COMMENTS = ["# fs=500", "# fs=0", "# fs=1e9", "# fs=-250", "# units=uV", "# units=parsec", "% sampling rate: 250",
                "# \xff\xfe", "# sample rate = 360", "#"]


CSV_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "MLII", "ECG", "avl", "DI",
             "II (uV)", "V1_mV", "I [\xb5V]", "V2 (V)"]
TIME_COLUMNS = ["time", None, "t", "ms", "time_ms", "Time (ms)", "seconds", "sample", "index"]


@st.composite
def csv_uploads(draw):
    """A plausible CSV (time column, lead columns) with junk cells, odd headers, encodings, separators."""
    time_col = draw(st.sampled_from(TIME_COLUMNS))
    columns = ([time_col] if time_col else []) + draw(st.lists(st.sampled_from(CSV_LEADS), min_size=1, max_size=12,
                                                              unique=True))
    if draw(st.integers(0, 4)) == 4:
        columns[draw(st.integers(0, len(columns) - 1))] = draw(st.sampled_from(HEADER_CELLS))
    n_rows = draw(st.sampled_from([400, 50, 2, 1, 0, 3]))
    rate = _sometimes(draw, 500.0, [250.0, 0.5, 1e5, 360.0, 10.0])
    scale = _sometimes(draw, 1.0, [1000.0, 1e6, 1e-3, 1e9])
    rows = []
    t = np.arange(n_rows) / rate
    for i in range(n_rows):
        row = []
        for j, col in enumerate(columns):
            key = col.strip().lower()
            if key in ("time", "t", "seconds"):
                row.append(f"{t[i]:.6f}")
            elif key in ("ms", "time_ms", "time (ms)"):
                row.append(f"{t[i] * 1000:.3f}")
            elif key in ("sample", "index"):
                row.append(str(i))
            else:
                row.append(f"{scale * math.sin(0.05 * i + j):.5g}")
        rows.append(row)
    for _ in range(draw(st.integers(0, 6))):
        if rows:
            r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(columns) - 1))
            rows[r][c] = draw(st.sampled_from(JUNK_CELLS))
    if rows and draw(st.integers(0, 5)) == 5:
        rows[draw(st.integers(0, len(rows) - 1))].pop()              # a ragged row
    sep = _sometimes(draw, ",", [";", "\t", " ", "|"], 3)
    lines = list(draw(st.lists(st.sampled_from(CSV_COMMENTS), max_size=3)))
    if draw(st.integers(0, 6)) != 6:                                  # usually a header row
        lines.append(sep.join(columns))
    lines += [sep.join(r) for r in rows]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = _sometimes(draw, "utf-8", ["utf-8-sig", "latin-1", "cp1252", "utf-16"], 3)
    blob = newline.join(lines).encode(encoding, errors="replace")
    name = draw(st.sampled_from(["ecg.csv", "ecg.tsv", "ecg.txt", "rec_500hz.csv", "fs250.csv", None]))
    kwargs = {}
    fs = draw(st.sampled_from([None, None, 500.0, 250.0]))
    if fs:
        kwargs["fs"] = fs
    if draw(st.integers(0, 7)) == 7:
        kwargs["lead_names"] = draw(st.sampled_from([["I"], ["I", "II", "V1"], list(STANDARD_LEADS), ["x", "y"]]))
    return blob, name, kwargs


@fuzz("csv")
@given(upload=csv_uploads())
def test_fuzz_csv_mixed_types(upload):
    blob, name, kwargs = upload
    check_read("csv", "csv", blob, name=name, **kwargs)


# ------------------------------------------------------------------------------------ 5. NumPy

DTYPES = ["<f8", "<f8", "<f4", ">f8", "<f2", "<i2", "<i8", "|u1", "|b1", "<c16", "<U3", "|S4", "|O", "|V8",
          "<M8[s]", "<m8[s]", [("a", "<f4")], "<f16"]
DIMS = [0, 1, 2, 11, 12, 13, 2000, 3000, 10 ** 6, 10 ** 9, 2 ** 62, -1]


@pytest.fixture(scope="module")
def pickle_marker(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pickle") / "executed"


def _npy_header(descr, shape, fortran: bool, version: int) -> bytes:
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}
    (np.lib.format.write_array_header_1_0 if version == 1 else np.lib.format.write_array_header_2_0)(buf, header)
    return buf.getvalue()


@st.composite
def npy_files(draw, marker: str):
    kind = draw(st.sampled_from(["values", "crafted", "values", "crafted", "pickle"]))
    if kind == "pickle":
        return _npy_pickle(marker)
    if kind == "values":
        shape = draw(st.sampled_from([(12, 2000), (2000, 12), (3, 1500), (1500,), (12, 12), (2, 3, 400), (0, 12)]))
        dtype = draw(st.sampled_from(["<f8", "<f4", "<i2", "<f2"]))
        arr = (np.sin(np.arange(int(np.prod(shape))) * 0.01) * draw(st.sampled_from([1.0, 1e3, 1e9]))).reshape(shape)
        arr = arr.astype(dtype)
        if draw(st.booleans()) and arr.size and arr.dtype.kind == "f":
            arr.reshape(-1)[draw(st.integers(0, arr.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return npy_bytes(np.asfortranarray(arr) if draw(st.booleans()) else arr)
    descr = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.sampled_from(DIMS), max_size=3))
    head = _npy_header(descr, shape, draw(st.booleans()), draw(st.sampled_from([1, 2])))
    try:
        itemsize = np.dtype(descr).itemsize if descr != "|O" else 8
    except TypeError:
        itemsize = 8
    n = int(np.prod([max(d, 0) for d in shape], dtype=object)) * itemsize if shape else itemsize
    size = draw(st.sampled_from(["exact", "short", "zero", "random"]))
    n_bytes = {"exact": min(n, 1 << 20), "short": min(n, 1 << 20) // 2, "zero": 0,
               "random": draw(st.integers(0, 50_000))}[size]
    return head + _random_bytes(draw(st.integers(0, 2**32 - 1)), n_bytes)


def _npy_pickle(marker: str) -> bytes:
    return pickle_payload("npy-object-array", marker)


@st.composite
def npz_files(draw, marker: str):
    members = {}
    if draw(st.integers(0, 5)):
        members[draw(st.sampled_from(["signal", "signals", "ecg", "data"]))] = draw(npy_files(marker))
    fs_choice = draw(st.sampled_from(["500", "nan", "-1", "1e12", "pair", "string", "pickle", "bool", "absent"]))
    fs_values = {"500": np.array(500.0), "nan": np.array(np.nan), "-1": np.array(-1.0), "1e12": np.array(1e12),
                 "pair": np.array([500.0, 250.0]), "string": np.array("500"), "bool": np.array(True)}
    if fs_choice == "pickle":
        members["fs"] = _npy_pickle(marker)
    elif fs_choice != "absent":
        members["fs"] = npy_bytes(fs_values[fs_choice])
    leads = draw(st.sampled_from(["none", "three", "twelve", "bytes", "2d", "object", "junk"]))
    lead_values = {"three": np.array(["I", "II", "V3"]), "twelve": np.array(list(STANDARD_LEADS)),
                   "bytes": np.array([b"I", b"II", b"V3"]), "2d": np.array([["I", "II"], ["V1", "V2"]]),
                   "junk": np.array(["\x00", "\xff" * 50, ""])}
    if leads == "object":
        members["leads"] = _npy_pickle(marker)
    elif leads != "none":
        members["leads"] = npy_bytes(lead_values[leads])
    units = draw(st.sampled_from(["none", "mV", "uV", "V", "parsec", "", "number"]))
    if units == "number":
        members["units"] = npy_bytes(np.array(3.0))
    elif units != "none":
        members["units"] = npy_bytes(np.array(units))
    if draw(st.integers(0, 4)) == 0:
        members["notes.txt"] = b"free text"
    buf = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buf, "w", method) as zf:
        for key, blob in members.items():
            zf.writestr(key if "." in key else key + ".npy", blob)
    return buf.getvalue()


@fuzz("numpy")
@given(data=st.data())
def test_fuzz_numpy(pickle_marker, data):
    """Any dtype (pickled objects included: never unpickled), any declared shape, any npz entries."""
    npz = data.draw(st.booleans(), label="npz")
    blob = data.draw(npz_files(str(pickle_marker)) if npz else npy_files(str(pickle_marker)), label="file")
    name = data.draw(st.sampled_from(["x.npz" if npz else "x.npy", None]))
    fs = data.draw(st.sampled_from([500.0, None]))
    lead_names = data.draw(st.sampled_from([None, None, ["I", "II", "V3"], ["I"]]))
    check_read("numpy", "npz" if npz else "npy", blob, name=name, fs=fs, lead_names=lead_names)
    assert not pickle_marker.exists(), "a pickle inside a NumPy upload was executed"


# ------------------------------------------------------------------------------------- 6. DICOM

@pytest.fixture(scope="module")
def dicom_seed() -> bytes:
    return make_dicom(synthetic_signal(12, 2500, 500.0).T * 1000, with_median=True)


DICOM_EDITS = {
    "NumberOfWaveformChannels": [0, 1, 11, 13, 64, 65, 5000, 65535],
    "NumberOfWaveformSamples": [0, 1, 2, 2499, 2501, 10 ** 6, 10 ** 9, 2 ** 32 - 1],
    "SamplingFrequency": [0, -500, 49, 10000.5, 1e9, 1e-9, 360],
    "WaveformBitsAllocated": [0, 1, 7, 8, 32, 64],
    "WaveformSampleInterpretation": ["UB", "SB", "MB", "AB", "UL", "XX", ""],
    "MultiplexGroupLabel": ["MEDIAN", "", "RHYTHM", "\xff"],
}
CHANNEL_EDITS = {
    "ChannelSensitivity": [0, -1, 1e30, 1e-30, 1e308],
    "ChannelBaseline": [1e30, -1e30, 0.5],
    "ChannelSensitivityCorrectionFactor": [0, 1e30, -1],
    "units": ["mV", "V", "mmHg", "%", "", "\u03bcV", "nV"],
}


@fuzz("dicom")
@given(data=st.data())
def test_fuzz_dicom(dicom_seed, data):
    import pydicom
    ds = pydicom.dcmread(io.BytesIO(dicom_seed))
    group = ds.WaveformSequence[data.draw(st.integers(0, len(ds.WaveformSequence) - 1))]
    for _ in range(data.draw(st.integers(0, 3))):
        what = data.draw(st.sampled_from(sorted(DICOM_EDITS) + sorted(CHANNEL_EDITS) + ["delete", "cut", "drop"]))
        if what in DICOM_EDITS:
            setattr(group, what, data.draw(st.sampled_from(DICOM_EDITS[what])))
        elif what in CHANNEL_EDITS and group.get("ChannelDefinitionSequence"):
            channel = group.ChannelDefinitionSequence[data.draw(st.integers(0, 11)) % len(group.ChannelDefinitionSequence)]
            value = data.draw(st.sampled_from(CHANNEL_EDITS[what]))
            if what == "units":
                channel.ChannelSensitivityUnitsSequence[0].CodeValue = value
            else:
                setattr(channel, what, value)
        elif what == "delete":
            name = data.draw(st.sampled_from(["ChannelDefinitionSequence", "WaveformData", "SamplingFrequency",
                                              "NumberOfWaveformChannels", "WaveformBitsAllocated"]))
            if name in group:
                delattr(group, name)
        elif what == "cut" and "WaveformData" in group:
            group.WaveformData = group.WaveformData[: _pos(data, len(group.WaveformData) + 1)]
        elif what == "drop" and len(group.get("ChannelDefinitionSequence", [])) > 1:
            del group.ChannelDefinitionSequence[-1]
    buf = io.BytesIO()
    saved = pydicom.config.settings.writing_validation_mode
    pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(buf, enforce_file_format=True)
    finally:
        pydicom.config.settings.writing_validation_mode = saved
    blob = bytearray(buf.getvalue())
    if data.draw(st.booleans()):
        for _ in range(data.draw(st.integers(1, 8))):
            blob[_pos(data, len(blob))] ^= 1 << data.draw(st.integers(0, 7))
    if data.draw(st.integers(0, 4)) == 0:
        del blob[_pos(data, len(blob)):]
    check_read("dicom", "dicom", bytes(blob), name=data.draw(st.sampled_from(["x.dcm", None])))


# ------------------------------------------------------------------------------------- 6b. SCP-ECG

@pytest.fixture(scope="module")
def scp_seeds() -> list[dict[int, bytes]]:
    leads = {k: v for k, v in synthetic_12lead(seconds=3.0, fs=500.0, seed=8).items() if k in ("I", "II", "V1")}
    return [scp_sections(leads, huffman=True, difference=2), scp_sections(leads, difference=1)]


# (section, byte offset, struct format, absurd values); section 3's lead fields are those of lead 1
SCP_FIELDS = {
    "n_leads": (3, 0, "<B", [0, 1, 2, 12, 64, 65, 255]),
    "flags": (3, 1, "<B", [0, 1, 4, 255]),
    "first_sample": (3, 2, "<I", [0, 1, 2, 1500, 2 ** 32 - 1]),
    "last_sample": (3, 6, "<I", [0, 1, 2, 1499, 1501, 10 ** 6, 2 ** 32 - 1]),
    "lead_code": (3, 10, "<B", [0, 1, 2, 16, 61, 65, 200, 255]),
    "amplitude_nv": (6, 0, "<H", [0, 1, 5000, 65535]),
    "interval_us": (6, 2, "<H", [0, 1, 99, 100, 2000, 20000, 20001, 65535]),
    "difference": (6, 4, "<B", [0, 1, 2, 3, 255]),
    "bimodal": (6, 5, "<B", [0, 1]),
    "lead_bytes": (6, 6, "<H", [0, 1, 2999, 3000, 3001, 65535]),
    "huffman_tables": (2, 0, "<H", [0, 1, 19999, 65535]),
}


@fuzz("scp")
@given(data=st.data())
def test_fuzz_scp(scp_seeds, data):
    """SCP-ECG files with 1-3 absurd fields or damaged sections, signed with valid CRCs (random damage alone
    stops at the checksum); one in four then cut or bit-flipped after signing."""
    bodies = dict(scp_seeds[data.draw(st.integers(0, len(scp_seeds) - 1))])
    for _ in range(data.draw(st.integers(1, 3))):
        what = data.draw(st.sampled_from(sorted(SCP_FIELDS) + ["flip", "cut", "drop"]))
        if what in SCP_FIELDS:
            number, offset, fmt, values = SCP_FIELDS[what]
            body = bytearray(bodies.get(number, b"\x00\x00"))
            if offset + struct.calcsize(fmt) <= len(body):
                struct.pack_into(fmt, body, offset, data.draw(st.sampled_from(values)))
            bodies[number] = bytes(body)
        else:
            number = data.draw(st.sampled_from(sorted(bodies)))
            body = bytearray(bodies[number])
            if what == "flip":
                for _ in range(data.draw(st.integers(1, 16))):
                    if body:
                        body[_pos(data, len(body))] ^= 1 << data.draw(st.integers(0, 7))
                bodies[number] = bytes(body)
            elif what == "cut":
                bodies[number] = bytes(body[:_pos(data, len(body) + 1)])
            else:
                del bodies[number]
    blob = bytearray(scp_record(bodies, version=data.draw(st.sampled_from([13, 20, 30]))))
    if data.draw(st.integers(0, 3)) == 0:
        if data.draw(st.booleans()):
            del blob[_pos(data, len(blob)):]
        else:
            blob[_pos(data, len(blob))] ^= 1 << data.draw(st.integers(0, 7))
    check_read("scp", "scp", bytes(blob), name=data.draw(st.sampled_from(["x.scp", None])))


# -------------------------------------------------------------------------------------- 7. zips

ZIP_NAMES = ["1.hea", "1.dat", "1.hea", "1.dat", "rec/1.hea", "rec/1.dat", "../1.dat", "../../etc/passwd",
             "/abs/1.dat", "C:/1.dat", "..\\1.dat", "a/../../1.dat", "a/./1.dat", "__MACOSX/._1.hea", ".hidden",
             "RECORDS", "1.atr", "x.csv", "inner.zip", "deep/inner.zip", "1.HEA", "\xfc.csv", "a" * 300 + ".csv",
             "dir/", "1.dat/", "x.npz", "", "./1.hea"]
PAYLOADS = ["hea", "dat", "csv", "npy", "nested1", "nested2", "nested3", "empty", "random", "bomb"]
METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]


@pytest.fixture(scope="module")
def zip_payloads(rec1) -> Quiet:
    record = sorted(rec1.items())
    nested1 = zip_entries([("inner.zip", zip_entries(record))])
    nested2 = zip_entries([("mid.zip", nested1)])
    return Quiet({"hea": rec1["1.hea"], "dat": rec1["1.dat"], "csv": synthetic_csv(seconds=2),
            "npy": npy_bytes(synthetic_signal(12, 1000, 500.0).T), "nested1": nested1, "nested2": nested2,
            "nested3": zip_entries([("top.zip", nested2)]), "empty": b"", "random": _random_bytes(1, 3000),
            "bomb": deflate_bomb(MAX_UPLOAD_BYTES + (8 << 20))})


def deflate_bomb(n_bytes: int, name: str = "1.dat") -> bytes:
    """A zip holding one member of `n_bytes` zeros: ~1/1000 of that compressed."""
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(name, "w", force_zip64=True) as member:
            for _ in range(n_bytes // len(chunk)):
                member.write(chunk)
    return buf.getvalue()


@fuzz("zips")
@given(data=st.data())
def test_fuzz_zips(zip_payloads, data):
    base = data.draw(st.sampled_from(["record", "record-in-folder", "csv", "npy", "none"]))
    entries = {"record": [("1.hea", "hea", "file", zipfile.ZIP_DEFLATED), ("1.dat", "dat", "file", zipfile.ZIP_DEFLATED)],
               "record-in-folder": [("rec/1.hea", "hea", "file", zipfile.ZIP_STORED),
                                    ("rec/1.dat", "dat", "file", zipfile.ZIP_STORED)],
               "csv": [("x.csv", "csv", "file", zipfile.ZIP_DEFLATED)],
               "npy": [("x.npy", "npy", "file", zipfile.ZIP_DEFLATED)], "none": []}[base]
    extra = data.draw(st.lists(st.tuples(st.sampled_from(ZIP_NAMES), st.sampled_from(PAYLOADS),
                                         st.sampled_from(["file", "file", "file", "symlink", "dir", "encrypted"]),
                                         st.sampled_from(METHODS)), max_size=4))
    entries = entries + extra
    if len(entries) > 1 and data.draw(st.booleans()):
        entries = data.draw(st.permutations(entries))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # zipfile warns about duplicate names
        with zipfile.ZipFile(buf, "w") as zf:
            for name, payload, kind, method in entries:
                info = zipfile.ZipInfo(name or "noname")
                info.compress_type = method
                content = zip_payloads[payload]
                if kind == "symlink":
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    content = data.draw(st.sampled_from([b"/etc/passwd", b"../../1.dat", b"1.dat", b"/dev/zero"]))
                elif kind == "dir":
                    info = zipfile.ZipInfo((name or "d").rstrip("/") + "/")
                    content = b""
                elif kind == "encrypted":
                    info.flag_bits |= 0x1
                if payload == "bomb" and kind == "file":
                    # splice the precomputed bomb in as a nested archive member (its own size is small)
                    content = zip_payloads["bomb"]
                zf.writestr(info, content)
    blob = bytearray(buf.getvalue())
    if data.draw(st.integers(0, 20)) == 0:
        blob = bytearray(zip_payloads["bomb"])           # the bomb itself, as the whole upload
    if blob and data.draw(st.integers(0, 3)) == 0:
        for _ in range(data.draw(st.integers(1, 6))):
            blob[_pos(data, len(blob))] ^= 1 << data.draw(st.integers(0, 7))
    how = data.draw(st.sampled_from(["bytes", "named", "list"]))
    if how == "bytes":
        check_read("zips", "zip", bytes(blob))
    elif how == "named":
        check_read("zips", "zip", bytes(blob), name="upload.zip")
    else:
        check_read("zips", "zip", [("upload.zip", bytes(blob)), *data.draw(st.sampled_from(
            [[], [("1.hea", zip_payloads["hea"])], [("other.zip", zip_payloads["nested1"])]]))])


# -------------------------------------------------------------------------- 8. files on disk

NODE_KINDS = ["file", "file", "symlink-sibling", "symlink-outside", "/dev/zero", "/dev/null", "/dev/urandom",
              "dangling", "loop", "fifo", "directory", "absent", "sparse-huge"]


def _make_node(path: Path, kind: str, content: bytes, outside: Path) -> None:
    if kind == "file":
        path.write_bytes(content)
    elif kind == "symlink-sibling":
        real = path.with_name("real_" + path.name)
        real.write_bytes(content)
        path.symlink_to(real.name)
    elif kind == "symlink-outside":
        (outside / path.name).write_bytes(content)
        path.symlink_to(outside / path.name)
    elif kind.startswith("/dev/"):
        path.symlink_to(kind)
    elif kind == "dangling":
        path.symlink_to(path.with_name("nowhere_" + path.name))
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "sparse-huge":
        with open(path, "wb") as f:
            f.truncate(MAX_UPLOAD_BYTES + 1)


@fuzz("paths")
@given(hea=st.sampled_from(NODE_KINDS), dat=st.sampled_from(NODE_KINDS),
       target=st.sampled_from(["1.hea", "1", "1.dat", ".", "1.csv"]))
def test_fuzz_paths_symlinks_and_special_files(record, hea, dat, target):
    """read_ecg(path) where the header or signal file is a symlink (to /dev/zero, a loop, outside the
    folder, dangling), a FIFO (opening it would block forever), a folder, or a sparse 100 MB file."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as outside:
        folder = Path(tmp)
        _make_node(folder / "1.hea", hea, record["1.hea"], Path(outside))
        _make_node(folder / "1.dat", dat, record["1.dat"], Path(outside))
        check_read("paths", "path", folder / target)


# ----------------------------------------------------------------------- targeted bad inputs
# Named cases from the issue that the generators above reach only by chance.

def _refused(source, pattern: str, **kwargs) -> str:
    with bounded_case(CASE_TIME_S, memory_bound(source)):
        with pytest.raises(ECGReadError, match=pattern) as info:
            read_ecg(source, **kwargs)
    return str(info.value)


def test_header_declaring_a_billion_samples_or_5000_leads_is_refused_before_reading(rec1, tmp_path):
    hea = rec1["1.hea"].decode()
    lines = hea.splitlines()
    billion = "\n".join(["1 12 500 1000000000", *lines[1:]]) + "\n"
    _refused([("1.hea", billion.encode()), ("1.dat", rec1["1.dat"])], r"h long|at most")
    (tmp_path / "1.hea").write_text(billion)
    (tmp_path / "1.dat").write_bytes(rec1["1.dat"])
    _refused(tmp_path / "1.hea", r"h long|at most")
    many = "1 5000 500 5000\n" + "".join(f"1.dat 16 200 16 0 0 0 0 V{k}\n" for k in range(5000))
    _refused([("1.hea", many.encode()), ("1.dat", rec1["1.dat"])], r"5000 (channels|signal lines).*at most 64")
    _refused([("1.hea", b"1 0 500 5000\n"), ("1.dat", rec1["1.dat"])], r"no signals|not a valid WFDB header")
    for fs in ("-500", "1e9", "nan"):
        _refused([("1.hea", "\n".join([f"1 12 {fs} 5000", *lines[1:]]).encode()), ("1.dat", rec1["1.dat"])],
                 r"Hz|not a valid WFDB header")


def test_non_utf8_header_comments_read_and_stay_text(rec1):
    hea = rec1["1.hea"] + b"# Name: M\xfcller \xff\xfe\n# \xe2\x82\xac ok\n"
    ecg = read_ecg([("1.hea", hea), ("1.dat", rec1["1.dat"])])
    assert_valid_ecg(ecg)
    assert "M" in ecg.metadata["comments"] and isinstance(ecg.metadata["comments"], str)


def _forge_sizes(blob: bytes, declared: int) -> bytes:
    """Rewrite every local and central-directory header of a (non-zip64) zip to declare `declared` bytes."""
    out = bytearray(blob)
    i = 0
    while (i := out.find(b"PK\x03\x04", i)) >= 0:
        struct.pack_into("<I", out, i + 22, declared)
        i += 4
    i = 0
    while (i := out.find(b"PK\x01\x02", i)) >= 0:
        struct.pack_into("<I", out, i + 24, declared)
        i += 4
    return bytes(out)


def test_zip_bombs_are_refused_without_unpacking(rec1):
    # 1. honest declared size over the limit (1 GiB of zeros, ~1 MB zipped)
    _refused(deflate_bomb(256 << 20), "unpacks to more than")
    # 2. a forged small declared size: the reader stops at the declared size and refuses the mismatch
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("1.dat", bytes(50 << 20))
        zf.writestr("1.hea", rec1["1.hea"])
    _refused(_forge_sizes(buf.getvalue(), 1000), "does not match its declared size|damaged|truncated")
    # 3. recursive (42.zip style): zips inside zips are refused at the first level
    layer = deflate_bomb(8 << 20)
    for _ in range(4):
        layer = zip_entries([(f"{k}.zip", layer) for k in range(8)])
    _refused(layer, "nested archives are not accepted|expected one ECG file")
    # 4. overlapping members (Fifield's non-recursive bomb): many entries pointing at one compressed kernel
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("0.dat", bytes(40 << 20))
    kernel = buf.getvalue()
    cd, end = kernel.find(b"PK\x01\x02"), kernel.find(b"PK\x05\x06")
    entries = b"".join(kernel[cd:end].replace(b"0.dat", f"{k}.dat".encode(), 1) for k in range(10))
    overlapping = kernel[:cd] + entries + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 10, 10, len(entries), cd, 0)
    assert [i.file_size for i in zipfile.ZipFile(io.BytesIO(overlapping)).infolist()] == [40 << 20] * 10
    _refused(overlapping, "unpacks to more than")


def test_npy_pickle_is_never_executed(pickle_marker):
    _refused(_npy_pickle(str(pickle_marker)), "dtype object", name="evil.npy", fs=500)
    buf = io.BytesIO()
    np.savez(buf, signal=np.zeros((12, 1000)), fs=np.array(500.0), leads=np.array([CodeRunningPickle(pickle_marker)] * 12, dtype=object))
    _refused(buf.getvalue(), "'leads' must be", name="evil.npz")
    assert not pickle_marker.exists()


def test_reading_a_path_allocates_the_file_size_not_the_upload_limit(tmp_path, rec1):
    """Regression (found by test_fuzz_paths_symlinks_and_special_files): _read_file did f.read(100 MB + 1),
    and Python allocates the requested size up front, so every file read from disk cost 100 MiB at its peak."""
    (tmp_path / "1.hea").write_bytes(rec1["1.hea"])
    (tmp_path / "1.dat").write_bytes(rec1["1.dat"])
    with bounded_case(CASE_TIME_S, 16 * 2**20) as report:
        ecg = read_ecg(tmp_path / "1.hea")
    assert_valid_ecg(ecg)
    assert report.peak_bytes < 16 * 2**20


def test_upper_case_header_extension(rec1, tmp_path):
    """Regression (found by the slow fuzz profile): an upload or path named '1.HEA' raised KeyError."""
    upload = [("1.HEA", rec1["1.hea"]), ("1.dat", rec1["1.dat"])]
    assert_valid_ecg(read_ecg(upload))
    assert_valid_ecg(read_ecg(zip_entries(upload)))
    (tmp_path / "1.HEA").write_bytes(rec1["1.hea"])
    (tmp_path / "1.dat").write_bytes(rec1["1.dat"])
    assert_valid_ecg(read_ecg(tmp_path / "1.HEA"))


def test_header_without_length_or_signal_lines(rec1):
    """Regression (found by the slow fuzz profile): a record line without a length and no signal lines
    raised TypeError while the length was inferred from the signal file."""
    for header in (b"1 1 500\n", b"1 0 500\n", b"1 12 500\n# comment only\n"):
        _refused([("1.hea", header), ("1.dat", rec1["1.dat"])], "no signal lines|declares no signals")


def test_huge_headers_are_refused_before_wfdb_parses_them(rec1, tmp_path):
    """Regression (found by the slow fuzz profile, a case over its time bound): wfdb parses signal lines at
    ~0.2 ms each, so a header of 5,000 lines took 1 s and one of a million would hold a server thread for
    minutes. Headers are now checked for size and line count first."""
    for newline in ("\n", "\r", "\r\n"):
        many = newline.join(["1 20000 500 5000"] + ["1.dat 16 200 16 0 0 0 0 I"] * 20000) + newline
        with bounded_case(1.0, 64 * 2**20) as report:
            _refused([("1.hea", many.encode()), ("1.dat", rec1["1.dat"])], "20000 signal lines; at most 64")
        assert report.seconds < 1.0
    _refused([("1.hea", rec1["1.hea"] + b"# " + b"x" * (2 << 20) + b"\n"), ("1.dat", rec1["1.dat"])],
             "2.0 MB; a WFDB header is a short text file")
    segments = "m/5000 12 500 5000\n" + "".join("s 1\n" for _ in range(5000))
    (tmp_path / "m.hea").write_text(segments)
    _refused(tmp_path / "m.hea", "5000 segment lines; at most 1000")


def test_flac_header_without_length(tmp_path):
    """Regression (found by the slow fuzz profile): a FLAC-format header without a length divided by zero
    while inferring the length."""
    hea = b"flac 2 500\nflac.dat 508 200 8 0 0 0 0 I\nflac.dat 508 200 8 0 0 0 0 II\n"
    _refused([("flac.hea", hea), ("flac.dat", bytes(100))], "no fixed sample size")


def test_fifo_and_device_paths_do_not_block(tmp_path, rec1):
    os.mkfifo(tmp_path / "1.dat")
    (tmp_path / "1.hea").write_bytes(rec1["1.hea"])
    _refused(tmp_path / "1.hea", r"'1\.dat', which is missing")
    _refused(tmp_path / "1.dat", "is not a file")
    (tmp_path / "z.csv").symlink_to("/dev/zero")
    _refused(tmp_path / "z.csv", "is not a file")


# -------------------------------------------------------------------------------- the total

def test_zz_slow_profile_ran_at_least_10000_cases():
    """Runs last: in the slow profile, the cases actually executed (not requested) reach 10,000."""
    total = sum(OUTCOMES.values())
    if not SLOW:
        pytest.skip(f"ci profile ran {total} fuzz cases; METS_FUZZ_PROFILE=slow runs >= {MIN_SLOW_CASES:,}")
    ran = {test for test, _, _ in OUTCOMES}
    if ran != set(BUDGET):
        pytest.skip(f"only part of the fuzz suite ran ({sorted(ran)}); the total is checked on a full run")
    assert total >= MIN_SLOW_CASES, f"the slow profile ran only {total} cases"
