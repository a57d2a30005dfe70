"""WFDB records through read_ecg (``mets_core/readers/wfdb_record.py``): every database of METS_DATA_DIR,
every signal format, units, multi-segment records with and without null segments, day-long Holters.

Expectations come from outside the reader: shapes, rates and lead names from ``wfdb.rdheader``, values from
``wfdb.rdrecord``, and for synthetic records from the arrays they were written from.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from mets_core import ECG, ECGReadError, STANDARD_LEADS, read_ecg
from mets_core.ecg import standard_lead

from helpers import PACKED_HERE, WRITTEN_BY_WFDB, assert_same_ecg, synthetic_signal

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
    ("ptbxl/records500/06000/06002_hr", TWELVE),           # I II III AVR AVL AVF V1..V6
    ("challenge2021/HR06002", TWELVE),                     # .hea + .mat (format 16x1+24)
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
    base = data_dir / "challenge2021" / "HR06002"
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
    with pytest.raises(ECGReadError, match="lead_names has 1 name but .* 2 channels"):
        read_ecg(header, lead_names=["II"])
    with pytest.raises(ECGReadError, match=r"(?s)'V1-V2', 'V4-V5'.*lead_names"):
        read_ecg(data_dir / "qtdb" / "sele0509")     # bipolar chest leads between two electrodes: not standard


def test_nonstandard_leads_are_dropped_and_listed(data_dir):
    ecg = read_ecg(data_dir / "ptbdb" / "s0010_re")
    assert ecg.metadata["dropped_leads"] == "vx vy vz"
    assert "V1=v1" in ecg.metadata["lead_sources"]


# ---------------------------------------------------------------------------------------------------
# Every WFDB signal format, written by wfdb itself

@pytest.mark.parametrize("fmt", WRITTEN_BY_WFDB + list(PACKED_HERE))
def test_wfdb_formats(tmp_path, fmt):
    if fmt in ("508", "516", "524"):
        pytest.importorskip("soundfile", reason="wfdb reads FLAC formats 508/516/524 through soundfile")
    sig = synthetic_signal()
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
    assert_same_ecg(read_ecg([(p.name, p.read_bytes()) for p in tmp_path.iterdir()]), ecg)


def test_wfdb_microvolt_units_are_converted(tmp_path):
    sig = synthetic_signal(2) * 1000.0                           # values in µV
    wfdb.wrsamp("uv", fs=250, units=["uV", "uV"], sig_name=["II", "V2"], d_signal=np.round(sig * 5).astype(int),
                fmt=["16", "16"], adc_gain=[5.0, 5.0], baseline=[0, 0], write_dir=str(tmp_path))
    ecg = read_ecg(tmp_path / "uv")
    np.testing.assert_allclose(ecg.lead("II"), sig[:, 0] / 1000.0, atol=1e-3)


# ---------------------------------------------------------------------------------------------------
# Multi-segment records and long ones

def test_multi_segment_record(tmp_path):
    digital = np.round(synthetic_signal(2, n=2000) * 200).astype(np.int64)
    for i, part in enumerate((digital[:1200], digital[1200:])):
        wfdb.wrsamp(f"seg{i + 1}", fs=500, units=["mV", "mV"], sig_name=["II", "V1"], d_signal=part,
                    fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
    (tmp_path / "multi.hea").write_text("multi/2 2 500 2000\nseg1 1200\nseg2 800\n# two segments\n")
    ref = wfdb.rdrecord(str(tmp_path / "multi"))
    ecg = read_ecg(tmp_path / "multi.hea")
    assert ecg.name == "multi" and ecg.n_samples == 2000 and ecg.metadata["comments"] == "two segments"
    np.testing.assert_array_equal(ecg.lead("V1"), ref.p_signal[:, 1].astype(np.float32))
    files = [(p.name, p.read_bytes()) for p in tmp_path.iterdir()]
    assert_same_ecg(read_ecg(files), ecg)                            # segment headers are not records of their own
    with pytest.raises(ECGReadError, match=r"segment file 'seg2\.hea', which is missing"):
        read_ecg([f for f in files if f[0] != "seg2.hea"])
    with pytest.raises(ECGReadError, match=r"signal file 'seg2\.dat', which is missing"):
        read_ecg([f for f in files if f[0] != "seg2.dat"])


@pytest.mark.parametrize("layout", ["variable", "fixed"])
def test_multi_segment_record_with_a_null_segment(tmp_path, layout):
    """'~' segments (MIMIC-style waveform records) are gaps: a short one is interpolated, as any missing
    samples; the layout header's '~' signal files are not missing files."""
    digital = np.round(synthetic_signal(2, n=2000, fs=250.0) * 200).astype(np.int64)
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
    assert_same_ecg(read_ecg([(p.name, p.read_bytes()) for p in tmp_path.iterdir()]), ecg)
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


# ---------------------------------------------------------------------------------------------------
# Reading a stretch

@pytest.mark.parametrize("segments", [1, 2])
def test_a_stretch_reads_what_cropping_the_whole_record_gives(tmp_path, segments):
    """read_ecg(start_s=, end_s=) decodes only that stretch of a WFDB record (single or multi-segment):
    the same samples, content hash and start as reading it whole and cropping; a stretch past the end is
    refused in words, one running past the end stops there."""
    digital = np.round(synthetic_signal(2, n=5000, fs=250.0) * 200).astype(np.int64)
    kw = dict(fs=250, units=["mV", "mV"], sig_name=["II", "V5"], fmt=["212", "212"], adc_gain=[200.0, 200.0],
              baseline=[0, 0], write_dir=str(tmp_path))
    if segments == 1:
        wfdb.wrsamp("rec", d_signal=digital, **kw)
    else:
        for i, part in enumerate((digital[:2600], digital[2600:])):
            wfdb.wrsamp(f"seg{i + 1}", d_signal=part, **kw)
        (tmp_path / "rec.hea").write_text("rec/2 2 250 5000\nseg1 2600\nseg2 2400\n")
    whole = read_ecg(tmp_path / "rec.hea")
    for a, b in ((3.0, 13.0), (0.0, 4.0), (9.5, None), (12.0, 60.0)):
        part = read_ecg(tmp_path / "rec.hea", start_s=a, end_s=b)
        ref = whole.crop(a, min(whole.duration, b) if b is not None else None)
        np.testing.assert_array_equal(part.signal, ref.signal)
        assert part.content_hash() == ref.content_hash() and part.leads == ["II", "V5"]
        assert float(part.metadata.get("cropped_from_s", 0.0)) == pytest.approx(a)
    files = [(p.name, p.read_bytes()) for p in tmp_path.iterdir()]           # an upload: the same
    assert read_ecg(files, start_s=3.0, end_s=13.0).content_hash() == whole.crop(3.0, 13.0).content_hash()
    with pytest.raises(ECGReadError, match=r"20 s long: a stretch from 25 s is past its end"):
        read_ecg(tmp_path / "rec.hea", start_s=25.0)
    with pytest.raises(ECGReadError, match="must start at 0 s or later and end after it starts"):
        read_ecg(tmp_path / "rec.hea", start_s=5.0, end_s=5.0)


def test_a_stretch_of_other_formats_is_the_whole_cropped():
    from helpers import csv_bytes
    sig = synthetic_signal(2, n=3000, fs=250.0)
    data = csv_bytes(["II", "V5"], [sig[:, 0], sig[:, 1]], comments=("fs=250",))
    whole = read_ecg(data, name="rec.csv")
    part = read_ecg(data, name="rec.csv", start_s=2.0, end_s=6.0)
    assert part.content_hash() == whole.crop(2.0, 6.0).content_hash()
    with pytest.raises(ECGReadError, match=r"12 s long: a stretch from 15 s is past its end"):
        read_ecg(data, name="rec.csv", start_s=15.0)
