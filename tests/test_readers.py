"""read_ecg on every database of METS_DATA_DIR and on every other accepted format.

Expectations come from outside the reader: shapes, rates and lead names from ``wfdb.rdheader``, values from
``wfdb.rdrecord``, and for synthetic files from the arrays they were written from.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb

from mets_core import ECG, ECGReadError, STANDARD_LEADS, read_ecg
from mets_core.ecg import standard_lead
from mets_core.readers import MAX_MISSING_FRACTION

from conftest import make_dicom, record_files

# ---------------------------------------------------------------------------------------------------
# Real records

# (record, the standard leads it must yield) -- written out from the headers, independently of the alias table
TWELVE = list(STANDARD_LEADS)
CURATED = [
    ("ludb/data/1", TWELVE),                               # i ii ... v6, lower case
    ("ludb/data/200", TWELVE),
    ("ptbdb/s0010_re", TWELVE),                            # 15 channels: + Frank vx vy vz (dropped)
    ("ptbdb/s0015lre", TWELVE),                            # header names an .xyz that is absent here
    ("ptbdb/patient200_s0405_re", TWELVE),
    ("ptbxl/records500/06000/06000_hr", TWELVE),           # I II III AVR AVL AVF V1..V6
    ("challenge2021/HR06000", TWELVE),                     # .hea + .mat (format 16x1+24)
    ("mitdb/101", ["II", "V1"]),                           # MLII, V1; 30 min at 360 Hz, format 212
    ("mitdb/102", ["V2", "V5"]),                           # V5, V2
    ("mitdb/124", ["II", "V4"]),                           # MLII, V4
    ("qtdb/sel102", ["V2", "V5"]),                         # V5, V2
    ("qtdb/sele0104", ["III"]),                            # D3 D4: D4 is no standard lead, dropped
    ("qtdb/sele0203", ["V5"]),                             # CM5 CC5: both approximate V5, the first wins
    ("qtdb/sele0405", ["V1", "V5"]),                       # CM5 mod.V1
    ("cinc2017/A00004", ["I"]),                            # single handheld lead 'ECG' (.mat)
    ("cpsc2021/data_101_6", ["I", "II"]),
]
DATABASES = ["ludb/data", "ptbdb", "ptbxl/records500/06000", "challenge2021", "mitdb", "qtdb", "cinc2017",
             "cpsc2021"]
SWEEP_PER_DATABASE = 12


def _expected_channels(record: Path) -> dict[str, int]:
    """standard lead -> header channel index, from the header's names (first spelling of a lead wins)."""
    hdr = wfdb.rdheader(str(record))
    present = {c for c, f in enumerate(hdr.file_name) if (record.parent / f).is_file()}
    out: dict[str, int] = {}
    for c, name in enumerate(hdr.sig_name):
        lead = standard_lead(name)
        if lead is not None and lead not in out and c in present:
            out[lead] = c
    return out


def _check_against_wfdb(ecg: ECG, record: Path) -> None:
    hdr = wfdb.rdheader(str(record))
    assert ecg.fs == hdr.fs
    assert ecg.signal.shape == (12, hdr.sig_len)
    assert ecg.signal.dtype == np.float32
    expected = _expected_channels(record)
    assert ecg.leads == [lead for lead in STANDARD_LEADS if lead in expected]
    assert ecg.metadata["comments"] == "\n".join(hdr.comments)
    assert ecg.metadata["source_format"] == "wfdb"
    ref = wfdb.rdrecord(str(record), channels=sorted(expected.values()))
    for lead, channel in expected.items():
        assert ref.units[ref.sig_name.index(hdr.sig_name[channel])].lower() == "mv"
        want = ref.p_signal[:, ref.sig_name.index(hdr.sig_name[channel])].astype(np.float32)
        got = ecg.signal[STANDARD_LEADS.index(lead)]
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[finite], want[finite])
        assert np.isfinite(got).all()
    for i, lead in enumerate(STANDARD_LEADS):
        if lead not in expected:
            assert not ecg.signal[i].any(), f"absent lead {lead} must be zeros"


def _has_standard_lead(record: Path) -> bool:
    return any(standard_lead(n) for n in wfdb.rdheader(str(record)).sig_name)


@pytest.mark.parametrize("record,leads", CURATED, ids=[r for r, _ in CURATED])
def test_real_record_matches_wfdb(data_dir, record, leads):
    path = data_dir / record
    ecg = read_ecg(path)
    assert sorted(ecg.leads) == sorted(leads)
    assert ecg.name == path.name
    _check_against_wfdb(ecg, path)


@pytest.mark.parametrize("database", DATABASES)
def test_database_sweep(data_dir, database):
    """A spread of records of each database (all of a small one): shape, rate, leads, values."""
    headers = sorted((data_dir / database).glob("*.hea"))
    assert headers, f"no records in {data_dir / database}"
    step = max(1, len(headers) // SWEEP_PER_DATABASE)
    for header in headers[::step][:SWEEP_PER_DATABASE]:
        record = header.with_suffix("")
        if not _has_standard_lead(record):
            with pytest.raises(ECGReadError, match="lead_names"):
                read_ecg(header)
            continue
        _check_against_wfdb(read_ecg(header), record)


def test_every_path_form_reads_the_same_record(data_dir):
    base = data_dir / "challenge2021" / "HR06000"
    ref = read_ecg(base)
    for form in (base.with_suffix(".hea"), base.with_suffix(".mat"), str(base), str(base) + ".hea"):
        ecg = read_ecg(form)
        np.testing.assert_array_equal(ecg.signal, ref.signal)
        assert ecg.metadata == ref.metadata


def test_thirty_minute_record_reads_whole(data_dir):
    ecg = read_ecg(data_dir / "mitdb" / "101")
    assert ecg.n_samples == 650000 and ecg.fs == 360
    assert 1800 < ecg.duration < 1810


def test_unknown_lead_names_need_lead_names(data_dir):
    """QTDB records whose leads are only 'ECG1'/'ECG2' map to nothing: a clear error, and lead_names fixes it."""
    unnamed = [h for h in sorted((data_dir / "qtdb").glob("*.hea")) if not _has_standard_lead(h.with_suffix(""))]
    assert unnamed, "QTDB has records with unnamed leads (ECG1/ECG2)"
    header = unnamed[0]
    with pytest.raises(ECGReadError, match=r"(?s)ECG1.*lead_names"):
        read_ecg(header)
    ecg = read_ecg(header, lead_names=["II", "V5"])
    assert ecg.leads == ["II", "V5"]
    ref = wfdb.rdrecord(str(header.with_suffix("")))
    np.testing.assert_array_equal(ecg.lead("II"), ref.p_signal[:, 0].astype(np.float32))
    np.testing.assert_array_equal(ecg.lead("V5"), ref.p_signal[:, 1].astype(np.float32))
    with pytest.raises(ECGReadError, match="lead_names has 1 names but .* 2 channels"):
        read_ecg(header, lead_names=["II"])
    with pytest.raises(ECGReadError, match=r"(?s)'V1-V2', 'V4-V5'.*lead_names"):
        read_ecg(data_dir / "qtdb" / "sele0509")     # bipolar chest leads between two electrodes: not standard


def test_nonstandard_leads_are_dropped_and_listed(data_dir):
    ecg = read_ecg(data_dir / "ptbdb" / "s0010_re")
    assert ecg.metadata["dropped_leads"] == "vx vy vz"
    assert "V1=v1" in ecg.metadata["lead_sources"]


# ---------------------------------------------------------------------------------------------------
# Bytes equal paths

ONE_PER_DATABASE = ["ludb/data/1", "ptbdb/s0014lre", "ptbxl/records500/06000/06000_hr", "challenge2021/HR06001",
                    "mitdb/203", "qtdb/sel102", "cinc2017/A00004", "cpsc2021/data_101_6"]


def _same(a: ECG, b: ECG) -> None:
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.lead_mask, b.lead_mask)
    assert (a.fs, a.name, a.metadata) == (b.fs, b.name, b.metadata)


def _zip(files, prefix="") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(prefix + name, data)
    return buf.getvalue()


@pytest.mark.parametrize("record", ONE_PER_DATABASE)
def test_bytes_equal_path(data_dir, record):
    path = data_dir / record
    from_path = read_ecg(path)
    files = record_files(path)          # header, signal file(s) and annotations, as a browser uploads them
    _same(read_ecg(files), from_path)
    _same(read_ecg(dict(files)), from_path)
    _same(read_ecg(_zip(files)), from_path)                        # raw zip bytes, no name
    _same(read_ecg(_zip(files, prefix=f"{path.name}/")), from_path)  # zipped inside a folder
    _same(read_ecg([("upload.zip", _zip(files))]), from_path)


def test_bytes_never_touch_the_disk(data_dir, monkeypatch):
    """Uploads are decoded in memory: no file may be opened (read or written) while reading bytes."""
    import builtins
    import os
    import tempfile

    from fsspec.implementations.local import LocalFileSystem

    files = record_files(data_dir / "mitdb" / "203")
    csv_bytes = b"time,I,II\n" + b"".join(f"{i / 500},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n".encode()
                                          for i in range(1000))
    read_ecg(files)           # warm any lazy imports before the guard goes up

    def forbidden(*args, **kwargs):
        raise AssertionError(f"file access during an in-memory read: {args[:1]}")

    for target, attr in [(builtins, "open"), (io, "open"), (os, "open"), (tempfile, "mkstemp"),
                         (tempfile, "NamedTemporaryFile"), (tempfile, "TemporaryFile"),
                         (LocalFileSystem, "_open"), (np, "fromfile")]:
        monkeypatch.setattr(target, attr, forbidden)
    assert read_ecg(files).leads == ["II", "V1"]
    assert read_ecg(_zip(files)).leads == ["II", "V1"]
    assert read_ecg(csv_bytes, name="x.csv").leads == ["I", "II"]


def test_upload_with_several_records_needs_a_choice(data_dir):
    files = record_files(data_dir / "cpsc2021" / "data_101_6") + record_files(data_dir / "cpsc2021" / "data_101_8")
    with pytest.raises(ECGReadError, match=r"2 WFDB records \(data_101_6, data_101_8\).*name="):
        read_ecg(files)
    assert read_ecg(files, name="data_101_8").n_samples == wfdb.rdheader(
        str(data_dir / "cpsc2021" / "data_101_8")).sig_len


# ---------------------------------------------------------------------------------------------------
# Every WFDB signal format, written by wfdb itself

def _synthetic(n_leads=3, n=2000, fs=500.0, seed=0) -> np.ndarray:
    """(n, n_leads) ECG-like mV values: a few sines plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    sig = np.stack([np.sin(2 * np.pi * (1.1 + k) * t) * (0.5 + 0.2 * k) for k in range(n_leads)], axis=1)
    return sig + 0.01 * rng.standard_normal(sig.shape)


WRITTEN_BY_WFDB = ["16", "24", "32", "80", "508", "516", "524"]
# formats wfdb reads but cannot write: the test packs the samples itself (the reader still decodes with wfdb)
PACKED_HERE = {
    "61": lambda d: d.astype(">i2").tobytes(),                              # big-endian 16 bit
    "160": lambda d: (d + 32768).astype("<u2").tobytes(),                   # offset binary 16 bit
    "212": lambda d: _pack_212(d),                                          # two 12-bit samples in 3 bytes
}


def _pack_212(digital: np.ndarray) -> bytes:
    flat = (digital.reshape(-1) & 0xFFF).astype(np.uint16)
    if flat.size % 2:
        flat = np.append(flat, 0)
    a, b = flat[0::2], flat[1::2]
    out = np.stack([a & 0xFF, ((a >> 8) & 0x0F) | (((b >> 8) & 0x0F) << 4), b & 0xFF], axis=1)
    return out.astype(np.uint8).tobytes()


@pytest.mark.parametrize("fmt", WRITTEN_BY_WFDB + list(PACKED_HERE))
def test_wfdb_formats(tmp_path, fmt):
    if fmt in ("508", "516", "524"):
        pytest.importorskip("soundfile", reason="wfdb reads FLAC formats 508/516/524 through soundfile")
    sig = _synthetic()
    bits = {"80": 8, "508": 8, "212": 12}.get(fmt, 16)
    gain = (2 ** (bits - 1) - 2) / 2.0                      # +-2 mV fits the format's range
    digital = np.round(sig * gain).astype(np.int64)
    write_fmt = fmt if fmt in WRITTEN_BY_WFDB else "16"
    wfdb.wrsamp("syn", fs=500, units=["mV"] * 3, sig_name=["I", "aVR", "V3"], d_signal=digital,
                fmt=[write_fmt] * 3, adc_gain=[gain] * 3, baseline=[0] * 3, write_dir=str(tmp_path),
                comments=["synthetic"])
    if fmt in PACKED_HERE:
        header = (tmp_path / "syn.hea").read_text().replace("syn.dat 16", f"syn.dat {fmt}")
        (tmp_path / "syn.hea").write_text(header)
        (tmp_path / "syn.dat").write_bytes(PACKED_HERE[fmt](digital))
    ref = wfdb.rdrecord(str(tmp_path / "syn"))
    ecg = read_ecg(tmp_path / "syn.hea")
    assert ecg.leads == ["I", "aVR", "V3"] and ecg.fs == 500 and ecg.n_samples == 2000
    assert ecg.metadata["wfdb_format"] == fmt and ecg.metadata["comments"] == "synthetic"
    for k, lead in enumerate(["I", "aVR", "V3"]):
        np.testing.assert_array_equal(ecg.lead(lead), ref.p_signal[:, k].astype(np.float32))
        np.testing.assert_allclose(ecg.lead(lead), sig[:, k], atol=0.51 / gain + 1e-6)
    _same(read_ecg([(p.name, p.read_bytes()) for p in tmp_path.iterdir()]), ecg)


def test_wfdb_microvolt_units_are_converted(tmp_path):
    sig = _synthetic(2) * 1000.0                           # values in µV
    wfdb.wrsamp("uv", fs=250, units=["uV", "uV"], sig_name=["II", "V2"], d_signal=np.round(sig * 5).astype(int),
                fmt=["16", "16"], adc_gain=[5.0, 5.0], baseline=[0, 0], write_dir=str(tmp_path))
    ecg = read_ecg(tmp_path / "uv")
    np.testing.assert_allclose(ecg.lead("II"), sig[:, 0] / 1000.0, atol=1e-3)


# ---------------------------------------------------------------------------------------------------
# CSV

def _csv(header: list[str], columns: list[np.ndarray], comments: tuple[str, ...] = (), sep=",") -> bytes:
    lines = [f"# {c}" for c in comments] + [sep.join(header)]
    lines += [sep.join(repr(float(v)) if not np.isnan(v) else "" for v in row) for row in zip(*columns)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def ludb_leads(data_dir):
    """Leads I, II, V1 of LUDB record 1 (mV, 500 Hz), as float32 -- real values for round trips."""
    rec = wfdb.rdrecord(str(data_dir / "ludb" / "data" / "1"), channels=[0, 1, 6])
    return rec.p_signal.T.astype(np.float32).astype(np.float64)


def test_csv_with_time_column_in_seconds(ludb_leads):
    t = np.arange(ludb_leads.shape[1]) / 500
    ecg = read_ecg(_csv(["time", "I", "II", "V1"], [t, *ludb_leads]), name="rec.csv")
    assert ecg.fs == 500 and ecg.leads == ["I", "II", "V1"] and ecg.name == "rec"
    np.testing.assert_allclose(ecg.lead("V1"), ludb_leads[2], atol=1e-6)
    assert ecg.metadata["source_format"] == "csv" and ecg.metadata["units"].startswith("mV (inferred")


def test_csv_with_time_in_ms_and_odd_rate():
    sig = _synthetic(2, n=3600, fs=360).T
    t_ms = np.round(np.arange(3600) / 360 * 1000, 3)
    ecg = read_ecg(_csv(["time_ms", "MLII", "V5"], [t_ms, *sig]), name="holter.csv")
    assert ecg.fs == 360 and ecg.leads == ["II", "V5"]
    np.testing.assert_allclose(ecg.lead("II"), sig[0], atol=1e-6)


def test_csv_rate_from_comment_argument_or_name(ludb_leads):
    data = _csv(["I", "II", "V1"], list(ludb_leads), comments=("fs=500", "device: test"))
    ecg = read_ecg(data, name="a.csv")
    assert ecg.fs == 500 and "device: test" in ecg.metadata["comments"]
    plain = _csv(["I", "II", "V1"], list(ludb_leads))
    assert read_ecg(plain, name="a.csv", fs=500).fs == 500
    assert read_ecg(plain, name="patient_500hz.csv").fs == 500
    with pytest.raises(ECGReadError, match=r"sampling rate is unknown.*time column.*# fs=500.*fs=500"):
        read_ecg(plain, name="a.csv")
    with pytest.raises(ECGReadError, match="says 250 Hz but .* says 500 Hz"):
        read_ecg(data, name="a.csv", fs=250)


def test_csv_microvolts_by_suffix_comment_and_magnitude(ludb_leads):
    uv = ludb_leads * 1000
    by_suffix = read_ecg(_csv(["I (uV)", "II_uV", "V1 [µV]"], list(uv), comments=("fs=500",)), name="s.csv")
    np.testing.assert_allclose(by_suffix.signal[[0, 1, 6]], ludb_leads, atol=1e-6)
    assert by_suffix.metadata["units"] == "uV uV µV (declared)"
    by_comment = read_ecg(_csv(["I", "II", "V1"], list(uv), comments=("fs=500", "units=uV")), name="c.csv")
    np.testing.assert_allclose(by_comment.signal[[0, 1, 6]], ludb_leads, atol=1e-6)
    by_size = read_ecg(_csv(["I", "II", "V1"], list(uv), comments=("fs=500",)), name="m.csv")
    np.testing.assert_allclose(by_size.signal[[0, 1, 6]], ludb_leads, atol=1e-6)
    assert by_size.metadata["units"].startswith("uV (inferred")
    mixed = read_ecg(_csv(["I_mV", "II (uV)"], [ludb_leads[0], uv[1]], comments=("fs=500",)), name="x.csv")
    np.testing.assert_allclose(mixed.signal[[0, 1]], ludb_leads[:2], atol=1e-6)


def test_csv_separators_and_physionet_export():
    sig = _synthetic(2, n=500, fs=250).T
    for sep in (";", "\t", " "):
        ecg = read_ecg(_csv(["t", "I", "aVF"], [np.arange(500) / 250, *sig], sep=sep), name="x.csv")
        assert ecg.leads == ["I", "aVF"] and ecg.fs == 250
        np.testing.assert_allclose(ecg.lead("aVF"), sig[1], atol=1e-6)
    # the layout of PhysioNet's 'rdsamp -c -H -v -pd' / ATM exports: quoted names, a units row, h:mm:ss times
    rows = ["'Elapsed time','MLII','V5'", "'hh:mm:ss.mmm','uV','uV'"]
    rows += [f"'{i // 250 // 60}:{(i / 250) % 60:06.3f}',{sig[0, i] * 1000:.1f},{sig[1, i] * 1000:.1f}"
             for i in range(500)]
    ecg = read_ecg("\n".join(rows).encode(), name="export.csv")
    assert ecg.fs == 250 and ecg.leads == ["II", "V5"]
    np.testing.assert_allclose(ecg.lead("V5"), sig[1], atol=1e-4)


def test_csv_without_header_needs_lead_names():
    sig = _synthetic(2, n=500).T
    data = "\n".join(f"{a},{b}" for a, b in sig.T).encode()
    with pytest.raises(ECGReadError, match="no header row of lead names.*lead_names"):
        read_ecg(data, name="x.csv", fs=500)
    ecg = read_ecg(data, name="x.csv", fs=500, lead_names=["V1", "V2"])
    assert ecg.leads == ["V1", "V2"]
    np.testing.assert_allclose(ecg.lead("V2"), sig[1], atol=1e-6)


def test_csv_lead_names_rename_columns():
    sig = _synthetic(2, n=500).T
    ecg = read_ecg(_csv(["time", "chan1", "chan2"], [np.arange(500) / 500, *sig]), name="x.csv",
                   lead_names=["I", "III"])
    assert ecg.leads == ["I", "III"]


def test_nan_handling(ludb_leads):
    leads = ludb_leads.copy()
    leads[0, [100, 101, 2000]] = np.nan                    # isolated gaps: interpolated
    leads[2, :] = np.nan                                   # an empty lead: absent
    ecg = read_ecg(_csv(["I", "II", "V1"], list(leads), comments=("fs=500",)), name="n.csv")
    assert ecg.leads == ["I", "II"]
    assert ecg.metadata["interpolated_samples"] == "I:3"
    assert ecg.metadata["absent_leads_missing_data"] == f"V1:{leads.shape[1]}/{leads.shape[1]}"
    assert ecg.lead("I")[100] == pytest.approx(ludb_leads[0, 99] + (ludb_leads[0, 102] - ludb_leads[0, 99]) / 3,
                                               abs=1e-6)
    assert np.isfinite(ecg.signal).all()
    mostly = ludb_leads.copy()
    mostly[1, : int(mostly.shape[1] * (MAX_MISSING_FRACTION + 0.05))] = np.nan
    ecg = read_ecg(_csv(["I", "II", "V1"], list(mostly), comments=("fs=500",)), name="m.csv")
    assert ecg.leads == ["I", "V1"]


# ---------------------------------------------------------------------------------------------------
# NumPy

def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _npz(**entries) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **entries)
    return buf.getvalue()


def test_npy_both_orientations_with_fs(tmp_path):
    sig = _synthetic(12, n=1000).T.astype(np.float32)      # (12, n), standard order
    for arr in (sig, sig.T):
        ecg = read_ecg(_npy(arr), name="x.npy", fs=500)
        assert ecg.leads == TWELVE and ecg.n_samples == 1000
        np.testing.assert_array_equal(ecg.signal, sig)
        assert "assumed standard order" in ecg.metadata["lead_order"]
    (tmp_path / "x.npy").write_bytes(_npy(sig))
    _same(read_ecg(tmp_path / "x.npy", fs=500), read_ecg(_npy(sig), name="x.npy", fs=500))
    assert read_ecg(_npy(sig), fs=500).leads == TWELVE     # recognised from its content, no name
    with pytest.raises(ECGReadError, match=r"sampling rate.*fs=500"):
        read_ecg(_npy(sig), name="x.npy")


def test_npy_fewer_leads_need_names():
    sig = _synthetic(3, n=800).T
    with pytest.raises(ECGReadError, match="3 leads without names.*lead_names"):
        read_ecg(_npy(sig), name="x.npy", fs=250)
    ecg = read_ecg(_npy(sig.T), name="x.npy", fs=250, lead_names=["II", "V1", "V6"])
    assert ecg.leads == ["II", "V1", "V6"]
    np.testing.assert_allclose(ecg.lead("V6"), sig[2], atol=1e-6)


def test_npz_with_signal_fs_leads_units():
    sig = _synthetic(2, n=1500, fs=300).T
    ecg = read_ecg(_npz(signal=sig.T * 1000, fs=np.array(300.0), leads=np.array(["ECG", "V2"]),
                        units=np.array("uV")), name="rec.npz")
    assert ecg.fs == 300 and ecg.leads == ["I", "V2"] and ecg.metadata["units"] == "uV (declared)"
    np.testing.assert_allclose(ecg.lead("I"), sig[0], atol=1e-6)
    ecg2 = read_ecg(_npz(signal=sig, fs=300, leads=np.array(["ECG", "V2"])))      # no name: sniffed
    np.testing.assert_array_equal(ecg2.signal, ecg.signal)
    with pytest.raises(ECGReadError, match="sampling rate.*fs=500.*'fs' entry"):
        read_ecg(_npz(signal=sig, leads=np.array(["I", "II"])), name="rec.npz")
    with pytest.raises(ECGReadError, match="entries.*'signal'"):
        read_ecg(_npz(data=sig, fs=300), name="rec.npz")


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
    _same(read_ecg(tmp_path / "ecg.dcm"), ecg)


def test_dicom_millivolt_channels_and_partial_leads():
    sig = _synthetic(3, n=1000).T
    data = make_dicom(sig, labels=["Lead II", "Lead V2", "Lead V4"], sensitivity=0.001, units="mV",
                      with_median=False)
    ecg = read_ecg(data, name="three.dcm")
    assert ecg.leads == ["II", "V2", "V4"]
    np.testing.assert_allclose(ecg.lead("V4"), sig[2], atol=6e-4)


def test_dicom_non_voltage_channels_are_left_out():
    sig = _synthetic(3, n=1000).T
    data = make_dicom(sig * 1000, labels=["Lead II", "Lead V1", "Respiration"], with_median=False)
    import pydicom
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.WaveformSequence[0].ChannelDefinitionSequence[2].ChannelSensitivityUnitsSequence[0].CodeValue = "Ohm"
    buf = io.BytesIO()
    ds.save_as(buf)
    ecg = read_ecg(buf.getvalue(), name="resp.dcm")
    assert ecg.leads == ["II", "V1"] and ecg.metadata["non_voltage_channels"] == "Respiration(Ohm)"


# ---------------------------------------------------------------------------------------------------
# Multi-segment WFDB records and zips as archivers write them

def test_multi_segment_record(tmp_path):
    digital = np.round(_synthetic(2, n=2000) * 200).astype(np.int64)
    for i, part in enumerate((digital[:1200], digital[1200:])):
        wfdb.wrsamp(f"seg{i + 1}", fs=500, units=["mV", "mV"], sig_name=["II", "V1"], d_signal=part,
                    fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
    (tmp_path / "multi.hea").write_text("multi/2 2 500 2000\nseg1 1200\nseg2 800\n# two segments\n")
    ref = wfdb.rdrecord(str(tmp_path / "multi"))
    ecg = read_ecg(tmp_path / "multi.hea")
    assert ecg.name == "multi" and ecg.n_samples == 2000 and ecg.metadata["comments"] == "two segments"
    np.testing.assert_array_equal(ecg.lead("V1"), ref.p_signal[:, 1].astype(np.float32))
    files = [(p.name, p.read_bytes()) for p in tmp_path.iterdir()]
    _same(read_ecg(files), ecg)                            # segment headers are not records of their own
    with pytest.raises(ECGReadError, match=r"segment file 'seg2\.hea', which is missing"):
        read_ecg([f for f in files if f[0] != "seg2.hea"])
    with pytest.raises(ECGReadError, match=r"signal file 'seg2\.dat', which is missing"):
        read_ecg([f for f in files if f[0] != "seg2.dat"])


@pytest.mark.parametrize("layout", ["variable", "fixed"])
def test_multi_segment_record_with_a_null_segment(tmp_path, layout):
    """'~' segments (MIMIC-style waveform records) are gaps: a short one is interpolated, as any missing
    samples; the layout header's '~' signal files are not missing files."""
    digital = np.round(_synthetic(2, n=2000, fs=250.0) * 200).astype(np.int64)
    for i, part in enumerate((digital[:1000], digital[1000:])):
        wfdb.wrsamp(f"rec_{i + 1:04d}", fs=250, units=["mV", "mV"], sig_name=["II", "V5"], d_signal=part,
                    fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
    lines = ["rec/4 2 250 2050", "rec_layout 0"] if layout == "variable" else ["rec/3 2 250 2050"]
    (tmp_path / "rec.hea").write_text("\n".join(lines + ["rec_0001 1000", "~ 50", "rec_0002 1000"]) + "\n")
    if layout == "variable":
        (tmp_path / "rec_layout.hea").write_text("rec_layout 2 250 0\n~ 0 200/mV 16 0 0 0 0 II\n"
                                                 "~ 0 200/mV 16 0 0 0 0 V5\n")
    ecg = read_ecg(tmp_path / "rec.hea")
    assert ecg.n_samples == 2050 and ecg.leads == ["II", "V5"]
    assert ecg.metadata["interpolated_samples"] == "II:50 V5:50"
    np.testing.assert_allclose(ecg.lead("II")[:1000], digital[:1000, 0] / 200, atol=1e-6)
    np.testing.assert_allclose(ecg.lead("II")[1050:], digital[1000:, 0] / 200, atol=1e-6)
    gap = ecg.lead("II")[1000:1050]                       # linear between the samples around the gap
    np.testing.assert_allclose(gap, np.linspace(digital[999, 0], digital[1000, 0], 52)[1:-1] / 200, atol=1e-5)
    _same(read_ecg([(p.name, p.read_bytes()) for p in tmp_path.iterdir()]), ecg)
    # a gap longer than the missing-sample limit leaves no usable lead
    (tmp_path / "rec.hea").write_text((tmp_path / "rec.hea").read_text().replace("~ 50", "~ 900")
                                      .replace(" 2050", " 2900"))
    with pytest.raises(ECGReadError, match="no usable lead"):
        read_ecg(tmp_path / "rec.hea")


def test_24_hour_holter_opens_and_hostile_lengths_are_refused(tmp_path):
    """2 leads x 24 h x 250 Hz in format 212 (a 65 MB signal file, sparse on disk): read, not refused for
    its duration; a header declaring more samples than the memory cap is refused before reading."""
    n = 24 * 3600 * 250
    (tmp_path / "holter.hea").write_text(f"holter 2 250 {n}\nholter.dat 212 200 12 0 0 0 0 MLII\n"
                                         f"holter.dat 212 200 12 0 0 0 0 V5\n")
    with open(tmp_path / "holter.dat", "wb") as f:
        f.truncate(n * 3)                                 # 2 samples of 12 bits = 3 bytes per frame
    ecg = read_ecg(tmp_path / "holter.hea")
    assert ecg.leads == ["II", "V5"] and ecg.n_samples == n and ecg.duration == 24 * 3600
    del ecg
    (tmp_path / "holter.hea").write_text(f"holter 2 250 {4 * n}\nholter.dat 212 200 12 0 0 0 0 MLII\n"
                                         f"holter.dat 212 200 12 0 0 0 0 V5\n")
    with pytest.raises(ECGReadError, match="at most 24,000,000 samples per lead"):
        read_ecg(tmp_path / "holter.hea")


def test_zip_with_folder_entries(data_dir):
    """Archivers (zip -r, Finder, Windows) store folder entries too."""
    files = record_files(data_dir / "cpsc2021" / "data_101_6")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("upload/"), b"")
        zf.writestr(zipfile.ZipInfo("upload/record/"), b"")
        for name, data in files:
            zf.writestr(f"upload/record/{name}", data)
        zf.writestr("__MACOSX/upload/._data_101_6.hea", b"\0\5\x16\7")
    _same(read_ecg(buf.getvalue()), read_ecg(data_dir / "cpsc2021" / "data_101_6"))


def test_concurrent_uploads_do_not_mix(data_dir):
    """Dashboard sessions read uploads in parallel threads; each read sees only its own files, and no
    upload stays in memory after its read, whether it succeeded or failed."""
    from concurrent.futures import ThreadPoolExecutor

    from mets_core.readers.wfdb_adapter import UploadFileSystem

    records = ["ludb/data/1", "mitdb/203", "cpsc2021/data_101_6", "challenge2021/HR06001"]
    expected = {r: read_ecg(data_dir / r) for r in records}
    uploads = {r: record_files(data_dir / r) for r in records}

    def read(record):
        if record == "broken":
            with pytest.raises(ECGReadError):
                read_ecg([(n, d[:100]) for n, d in uploads["ludb/data/1"]])
            return None
        return record, read_ecg(uploads[record])

    with ThreadPoolExecutor(4) as pool:
        for result in pool.map(read, (records + ["broken"]) * 3):
            if result:
                _same(result[1], expected[result[0]])
    assert UploadFileSystem.mounted() == 0
