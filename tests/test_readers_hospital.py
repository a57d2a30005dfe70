"""Hospital export formats through read_ecg: GE MUSE XML, Philips Sierra XML (XLI), HL7 aECG, EDF/BDF.

Every file is generated here, shaped as the devices write it (tests/hospital_files.py); values are
compared exactly with what was written (integer device units times the declared resolution).
"""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from hospital_files import (aecg_xml, edf_bytes, edf_discontinuous, muse_xml, philips_xml, scp_bytes,
                            synthetic_12lead, xli_chunk)
from mets_core import ECGReadError, read_ecg
from mets_core.readers import ACCEPTED_FORMATS, UPLOAD_EXTENSIONS

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE RestingECG [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']>\n<RestingECG><MuseInfo><MuseVersion>&lol9;</MuseVersion></MuseInfo></RestingECG>')
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE restingecgdata [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
       b'<restingecgdata><documentinfo><documentversion>&secret;</documentversion></documentinfo></restingecgdata>')


@pytest.fixture(scope="module")
def sig():
    return synthetic_12lead(seconds=10.0, fs=500.0, seed=3)


def counts(values, per_bit):
    return np.round(np.asarray(values) / per_bit)


# ------------------------------------------------------------------------------------------------ GE MUSE

def test_muse_rhythm_eight_leads_with_derived_limb_leads(sig):
    data = muse_xml({k: sig[k] for k in EIGHT}, median={k: sig[k][:600] for k in EIGHT})
    ecg = read_ecg(data, name="muse_0001.xml")
    assert ecg.fs == 500 and ecg.n_samples == 5000 and len(ecg.leads) == 12
    assert ecg.metadata["source_format"] == "ge-muse-xml" and ecg.metadata["muse_waveform"] == "Rhythm"
    stored = {k: counts(sig[k], 4.88) * 4.88 / 1000 for k in EIGHT}
    for k in EIGHT:
        np.testing.assert_allclose(ecg.lead(k), stored[k], atol=1e-6)
    i, ii = stored["I"], stored["II"]
    np.testing.assert_allclose(ecg.lead("III"), ii - i, atol=1e-6)
    np.testing.assert_allclose(ecg.lead("aVR"), -(i + ii) / 2, atol=1e-6)
    np.testing.assert_allclose(ecg.lead("aVL"), i - ii / 2, atol=1e-6)
    np.testing.assert_allclose(ecg.lead("aVF"), ii - i / 2, atol=1e-6)
    assert "III aVR aVL aVF" in ecg.metadata["derived_leads"]
    # the made-up patient's name and ID are not copied anywhere
    assert not any("TEST0001" in v or "ller" in v for v in ecg.metadata.values())


def test_muse_twelve_stored_leads_are_not_rederived_and_units_honoured(sig):
    data = muse_xml({k: sig[k] / 1000 for k in sig}, units="MILLIVOLTS", units_per_bit=0.005)
    ecg = read_ecg(data, name="m.xml")
    assert "derived_leads" not in ecg.metadata
    np.testing.assert_allclose(ecg.lead("aVL"), counts(sig["aVL"] / 1000, 0.005) * 0.005, atol=1e-6)


def test_muse_median_only_and_sample_exponent(sig):
    beat = {k: sig[k][:600] for k in EIGHT}
    whole = muse_xml(beat, fs=500, sample_exponent=1).replace(b"<WaveformType>Rhythm", b"<WaveformType>Median")
    ecg = read_ecg(whole, name="median.xml")
    assert ecg.metadata["muse_waveform"] == "Median" and ecg.fs == 500 and ecg.n_samples == 600
    from mets_core.readers import muse
    rhythm_and_median = muse_xml({k: sig[k] for k in EIGHT}, median=beat)
    assert muse.read(rhythm_and_median, "x.xml", waveform="Median").signals.shape[1] == 600


def test_muse_from_path_and_without_extension(sig, tmp_path):
    data = muse_xml({k: sig[k] for k in EIGHT})
    path = tmp_path / "ecg.xml"
    path.write_bytes(data)
    assert read_ecg(path).leads == read_ecg(data).leads
    assert read_ecg(data).metadata["source_format"] == "ge-muse-xml"     # sniffed from the content


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d.replace(b"MICROVOLTS", b"MILLIMETERS"), "not a voltage"),
    (lambda d: d.replace(b"<LeadAmplitudeUnitsPerBit>4.88", b"<LeadAmplitudeUnitsPerBit>0"), "must be positive"),
    (lambda d: d.replace(b"<LeadAmplitudeUnitsPerBit>4.88", b"<LeadAmplitudeUnitsPerBit>abc"), "not a number"),
    (lambda d: d.replace(b"<SampleBase>500", b"<SampleBase>5"), "sampling rate"),
    (lambda d: d.replace(b"<LeadSampleCountTotal>5000", b"<LeadSampleCountTotal>6000", 1), "truncated"),
    (lambda d: d[: d.index(b"</WaveFormData>") - 7] + d[d.index(b"</WaveFormData>"):], "base64"),
    (lambda d: d[: len(d) // 2], "not well-formed"),
    (lambda d: d.replace(b"<RestingECG>", b"<RestingEKG>").replace(b"</RestingECG>", b"</RestingEKG>"),
     "not a GE MUSE"),
])
def test_muse_bad_input(sig, mutate, expected):
    data = mutate(muse_xml({k: sig[k] for k in EIGHT}))
    with pytest.raises(ECGReadError, match=expected):
        read_ecg(data, name="bad.xml")


def test_muse_missing_leads(sig):
    # no LeadData at all
    empty = muse_xml({k: sig[k] for k in EIGHT})
    start, end = empty.index(b"<LeadData>"), empty.rindex(b"</LeadData>") + len(b"</LeadData>")
    with pytest.raises(ECGReadError, match="no <LeadData>"):
        read_ecg(empty[:start] + empty[end:], name="x.xml")
    # chest leads only: limb leads cannot be derived and stay absent (masked), never invented
    ecg = read_ecg(muse_xml({k: sig[k] for k in EIGHT[2:]}), name="x.xml")
    assert ecg.leads == ["V1", "V2", "V3", "V4", "V5", "V6"] and "derived_leads" not in ecg.metadata
    # a lead with a shorter waveform: the missing tail is a gap under the missing-sample rule
    short = {k: sig[k] for k in EIGHT}
    short["V3"] = sig["V3"][:2000]
    ecg = read_ecg(muse_xml(short), name="x.xml")
    assert "V3" not in ecg.leads and "V3" in ecg.metadata["absent_leads_missing_data"]


# ------------------------------------------------------------------------------------------------ Philips

def test_philips_xli_round_trip_exact(sig):
    data = philips_xml(sig)
    assert b'compressmethod="XLI"' in data
    ecg = read_ecg(data, name="philips.xml")
    assert ecg.fs == 500 and ecg.n_samples == 5000 and len(ecg.leads) == 12
    assert ecg.metadata["philips_compression"] == "XLI"
    for k in sig:
        np.testing.assert_allclose(ecg.lead(k), counts(sig[k], 5.0) * 5.0 / 1000, atol=1e-6, err_msg=k)


def test_philips_agrees_with_sierraecg(sig):
    from sierraecg import read_file
    data = philips_xml(sig)
    ecg = read_ecg(data, name="p.xml")
    for lead in read_file(io.BytesIO(data)).leads:
        np.testing.assert_allclose(ecg.lead(lead.label), lead.samples[:5000].astype(float) * 5.0 / 1000, atol=1e-6)


def test_philips_uncompressed(sig):
    ecg = read_ecg(philips_xml(sig, compression="none", resolution=2.5), name="p.xml")
    assert ecg.metadata["philips_limb_leads"] == "stored as recorded"
    np.testing.assert_allclose(ecg.lead("aVF"), counts(sig["aVF"], 2.5) * 2.5 / 1000, atol=1e-6)


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d.replace(b"<signalresolution>5</signalresolution>", b""), "signalresolution"),
    (lambda d: d.replace(b'compressmethod="XLI"', b'compressmethod="ZIP"').replace(b'compression="XLI" ', b""),
     "compression 'ZIP' is not supported"),
    (lambda d: d.replace(b'leadlabels="I II', b'leadlabels="I'), "leadlabels names 11"),
    (lambda d: d.replace(b"</parsedwaveforms>", b"!</parsedwaveforms>"), "base64"),
])
def test_philips_bad_input(sig, mutate, expected):
    with pytest.raises(ECGReadError, match=expected):
        read_ecg(mutate(philips_xml(sig)), name="p.xml")


def test_philips_truncated_and_damaged_xli(sig):
    chunks = b"".join(xli_chunk(np.round(sig[k] / 5).astype(int)) for k in sig)
    with pytest.raises(ECGReadError, match="truncated|damaged"):
        read_ecg(philips_xml(sig, chunk_bytes=chunks[: len(chunks) // 2]), name="p.xml")
    rng = np.random.default_rng(0)
    garbage = bytes(rng.integers(0, 256, 300, dtype=np.uint8))
    chunk = len(garbage).to_bytes(4, "little") + b"\0\0\0\0" + garbage
    with pytest.raises(ECGReadError):
        read_ecg(philips_xml(sig, chunk_bytes=chunk * 12), name="p.xml")


def test_xml_entities_and_external_references_are_refused(sig):
    with pytest.raises(ECGReadError, match="entities or external references"):
        read_ecg(BILLION_LAUGHS, name="bomb.xml")
    with pytest.raises(ECGReadError, match="entities or external references") as err:
        read_ecg(XXE, name="xxe.xml")
    assert "root:" not in str(err.value)
    # a DOCTYPE that only names MUSE's DTD is fine (never fetched)
    assert read_ecg(muse_xml({k: sig[k] for k in EIGHT}, doctype=True), name="m.xml").leads


# ------------------------------------------------------------------------------------------------ HL7 aECG

def test_aecg_round_trip(sig):
    ecg = read_ecg(aecg_xml(sig, scale_uv=5.0, origin_uv=10.0), name="study.xml")
    assert ecg.metadata["source_format"] == "hl7-aecg" and ecg.fs == 500 and len(ecg.leads) == 12
    for k in sig:
        expected = (10.0 + counts(np.asarray(sig[k]) - 10.0, 5.0) * 5.0) / 1000
        np.testing.assert_allclose(ecg.lead(k), expected, atol=1e-6, err_msg=k)


def test_aecg_several_sequence_sets_ms_increment_and_mv_scale(sig):
    ecg = read_ecg(aecg_xml(sig, sets=3, increment_unit="ms"), name="a.xml")
    assert ecg.n_samples == 5000 and ecg.fs == 500 and ecg.metadata["aecg_sequence_sets"] == "3 of 3 read"
    mv = aecg_xml({k: np.asarray(v) / 1000 for k, v in sig.items()}, scale_uv=0.005, scale_unit="mV")
    mv = mv.replace(b'<origin value="0" unit="uV"/>', b'<origin value="0" unit="mV"/>')
    np.testing.assert_allclose(read_ecg(mv, name="a.xml").lead("V2"), counts(sig["V2"] / 1000, 0.005) * 0.005,
                               atol=1e-6)


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d.replace(b'unit="uV"/><digits>', b'unit="mm"/><digits>'), "not a voltage"),
    (lambda d: d.replace(b'code="TIME_ABSOLUTE"', b'code="SOMETHING"'), "sampling rate is unknown"),
    (lambda d: d.replace(b"<digits>", b"<digits>x1 ", 1), "not a number"),
    (lambda d: d.replace(b"MDC_ECG_LEAD_", b"MDC_RESP_"), "no lead sequence"),
    (lambda d: d.replace(b'<increment value="0.002" unit="s"/>', b'<increment value="0.002" unit="kg"/>'),
     "not a time unit"),
])
def test_aecg_bad_input(sig, mutate, expected):
    with pytest.raises(ECGReadError, match=expected):
        read_ecg(mutate(aecg_xml(sig)), name="a.xml")


# ------------------------------------------------------------------------------------------------ EDF/BDF

def test_edf_round_trip_with_other_signals(sig):
    sig250 = synthetic_12lead(seconds=30.0, fs=250.0, seed=1)
    data = edf_bytes({"ECG I": sig250["I"], "EKG II": sig250["II"], "ECG V5": sig250["V5"]}, fs=250.0,
                     extra={"EEG C3-A2": (np.sin(np.arange(7500) / 10) * 50, 250.0, "uV"),
                            "SpO2": (np.full(30, 97.0), 1.0, "%")})
    ecg = read_ecg(data, name="night.edf")
    assert ecg.metadata["source_format"] == "edf" and ecg.leads == ["I", "II", "V5"] and ecg.fs == 250
    assert ecg.n_samples == 7500 and "SpO2" in ecg.metadata["non_ecg_signals"]
    for k in ("I", "II", "V5"):
        np.testing.assert_allclose(ecg.lead(k), sig250[k] / 1000, atol=0.01 * np.abs(sig250[k]).max() / 1000)


def test_bdf_and_mv_dimension(sig):
    ecg = read_ecg(edf_bytes({"ECG": np.asarray(sig["I"]) / 1000}, fs=500.0, dimension="mV", bdf=True))
    assert ecg.metadata["source_format"] == "bdf" and ecg.leads == ["I"]
    np.testing.assert_allclose(ecg.lead("I"), np.asarray(sig["I"]) / 1000, atol=1e-4)


def test_edf_bad_input(sig):
    good = edf_bytes({"ECG II": sig["II"]}, fs=500.0)
    with pytest.raises(ECGReadError, match="not a voltage"):
        read_ecg(edf_bytes({"ECG II": sig["II"]}, fs=500.0, dimension="degC"), name="x.edf")
    with pytest.raises(ECGReadError, match="no ECG lead among its signals.*'EEG Fp1'"):
        read_ecg(edf_bytes({"EEG Fp1": sig["II"]}, fs=500.0), name="x.edf")
    with pytest.raises(ECGReadError):
        read_ecg(good[: len(good) - 3000], name="x.edf")
    with pytest.raises(ECGReadError):
        read_ecg(good[:200], name="x.edf")
    with pytest.raises(ECGReadError):
        read_ecg(b"0       " + b"\x00" * 400, name="x.edf")


# ------------------------------------------------------------------------------------------------ shared

def test_unknown_xml_and_zip_of_an_export(sig):
    with pytest.raises(ECGReadError, match="not a GE MUSE"):
        read_ecg(b"<?xml version='1.0'?><svg/>", name="x.xml")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("export/ecg.xml", philips_xml(sig))
    assert read_ecg(buf.getvalue(), name="export.zip").metadata["source_format"] == "philips-xml"
    assert "MUSE" in ACCEPTED_FORMATS and "EDF" in ACCEPTED_FORMATS
    assert {"xml", "edf", "bdf"} <= set(UPLOAD_EXTENSIONS)


@pytest.mark.parametrize("fmt", ["muse", "philips", "aecg", "edf", "edf+d", "scp"])
def test_damaged_files_only_raise_ecg_read_errors(sig, fmt):
    """Cut and bit-flipped copies of each format: a valid ECG or an ECGReadError, nothing else."""
    base = {"muse": lambda: muse_xml({k: sig[k][:1000] for k in EIGHT}),
            "philips": lambda: philips_xml({k: v[:1000] for k, v in sig.items()}),
            "aecg": lambda: aecg_xml({k: v[:1000] for k, v in sig.items()}),
            "edf": lambda: edf_bytes({"ECG II": sig["II"][:1000]}, fs=500.0),
            "edf+d": lambda: edf_discontinuous({"ECG II": sig["II"][:1000]}, [0, 1.05], fs=500.0),
            "scp": lambda: scp_bytes({k: v[:1000] for k, v in sig.items()}, huffman=True, difference=2)}[fmt]()
    name = {"edf": "x.edf", "edf+d": "x.edf", "scp": "x.scp"}.get(fmt, "x.xml")
    rng = np.random.default_rng(11)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(40):
        data = bytearray(base)
        if rng.random() < 0.5:
            data = data[: int(rng.integers(0, len(data)))]
        for _ in range(int(rng.integers(1, 8))):
            if data:
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        try:
            read_ecg(bytes(data), name=name)
            outcomes["ok"] += 1
        except ECGReadError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_real_record_through_muse_and_edf(data_dir):
    """A real LUDB 12-lead record written as MUSE XML and EDF in memory reads back to the same signal."""
    record = data_dir / "ludb" / "data" / "1"
    if not record.with_suffix(".hea").exists():
        pytest.skip(f"{record}.hea is not in METS_DATA_DIR")
    ecg = read_ecg(record.with_suffix(".hea"))
    uv = {k: ecg.lead(k) * 1000 for k in ecg.leads}
    muse = read_ecg(muse_xml({k: uv[k] for k in EIGHT}, fs=int(ecg.fs)), name="ludb1.xml")
    for k in EIGHT:            # stored leads: equal within half a bit (4.88 uV)
        assert np.abs(muse.lead(k) - ecg.lead(k)).max() < 0.003, k
    # derived III follows the recorded III (LUDB's leads are not exactly Einthoven-consistent: r = 0.84)
    assert np.corrcoef(muse.lead("III"), ecg.lead("III"))[0, 1] > 0.7
    edf = read_ecg(edf_bytes({f"ECG {k}": uv[k] for k in ecg.leads}, fs=ecg.fs), name="ludb1.edf")
    assert edf.leads == ecg.leads
    assert np.abs(edf.signal - ecg.signal).max() < 0.01


# ------------------------------------------------------------------------------------- EDF+D / BDF+D

def test_edf_plus_d_gap_is_placed_and_interpolated():
    """Records 0-9 s, then a pause, records resuming at 10.5 s: the samples after the gap sit 0.5 s later and
    the 125 missing samples are interpolated (the one missing-sample rule)."""
    s = synthetic_12lead(seconds=20.0, fs=250.0, seed=4)
    onsets = [*range(10), *(10.5 + i for i in range(10))]
    ecg = read_ecg(edf_discontinuous({"ECG II": s["II"], "ECG V1": s["V1"]}, onsets), name="holter.edf")
    assert ecg.n_samples == 5125 and ecg.metadata["edf_gaps"] == "1 gap between data records, 0.5 s in all (EDF+D)"
    assert ecg.metadata["interpolated_samples"] == "II:125 V1:125"
    tol = 0.01 * np.abs(s["II"]).max() / 1000
    np.testing.assert_allclose(ecg.lead("II")[:2500], s["II"][:2500] / 1000, atol=tol)
    np.testing.assert_allclose(ecg.lead("II")[2625:], s["II"][2500:] / 1000, atol=tol)
    before, after = ecg.lead("II")[2499], ecg.lead("II")[2625]
    np.testing.assert_allclose(ecg.lead("II")[2500:2625], np.linspace(before, after, 127)[1:-1], atol=1e-5)


def test_bdf_plus_d_and_contiguous_edf_plus_d():
    s = synthetic_12lead(seconds=6.0, fs=500.0, seed=6)
    bdf = read_ecg(edf_discontinuous({"ECG I": s["I"]}, [0, 1, 2, 3.2, 4.2, 5.2], fs=500.0, bdf=True),
                   name="x.bdf")
    assert bdf.n_samples == 3100 and bdf.metadata["source_format"] == "bdf" and "0.2 s" in bdf.metadata["edf_gaps"]
    plain = read_ecg(edf_discontinuous({"ECG I": s["I"]}, [7 + i for i in range(6)], fs=500.0), name="x.edf")
    assert plain.n_samples == 3000 and "edf_gaps" not in plain.metadata     # marked D, recorded without a pause


@pytest.mark.parametrize("onsets,expected", [
    ([*range(10), *(100 + i for i in range(10))], r"gaps between its data records of 90 s in all, 82% .*export "
                                                   r"each continuous part"),
    ([*range(19), 10 ** 6], r"at most 24,000,000 samples per lead"),       # refused before allocating 250 M
    ([*range(10), *(9.5 + i for i in range(10))], r"data record 11 starts at 9.5 s, before .* overlap"),
    ([*range(10), 8, *(11 + i for i in range(9))], r"data record 11 starts at 8 s.*out of order"),
])
def test_edf_plus_d_bad_timing_is_refused(onsets, expected):
    s = synthetic_12lead(seconds=20.0, fs=250.0, seed=4)
    with pytest.raises(ECGReadError, match=expected):
        read_ecg(edf_discontinuous({"ECG II": s["II"]}, onsets), name="x.edf")


def test_edf_plus_d_without_time_stamps_is_refused():
    s = synthetic_12lead(seconds=4.0, fs=250.0, seed=4)
    data = bytearray(edf_discontinuous({"ECG II": s["II"]}, [0, 1, 2, 3]))
    data[data.index(b"+2\x14\x14")] = ord("x")
    with pytest.raises(ECGReadError, match="data record 3 does not start with its time stamp"):
        read_ecg(bytes(data), name="x.edf")
    plain = edf_bytes({"ECG II": s["II"]}, fs=250.0)            # no annotation signal at all
    marked = plain[:192] + b"EDF+D".ljust(44) + plain[236:]
    with pytest.raises(ECGReadError, match="marked discontinuous .* no 'EDF Annotations' signal"):
        read_ecg(marked, name="x.edf")
