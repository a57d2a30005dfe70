"""Hostile and damaged files of the binary and XML formats: each is refused with an ECGReadError that says, in
the user's words, what was wrong and what to do - never a Python, numpy or library error (OverflowError,
AttributeError, 'UFuncTypeError', a 300-digit number) - and nothing is read silently in the wrong way (a rate of
'1e3' Hz as 1 Hz, a header as its own signal file, mmHg as mV, a fractional count truncated).

Every file is a small one made here; the formats' builders are tests/hospital_files.py and tests/helpers.py.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from helpers import make_dicom
from hospital_files import edf_bytes, muse_xml, philips_xml
from mets_core import ECGReadError, read_ecg
from mets_core.ecg import STANDARD_LEADS
from mets_core.readers import MAX_SAMPLES_PER_LEAD, muse, philips, xml_safe

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
LIBRARY_WORDS = re.compile(r"Error\b|Traceback|object has no attribute|dtype|ufunc|invalid literal|\d{30}")


def _refused(source, *patterns, **kwargs) -> str:
    """read_ecg refuses `source` in words: each pattern is in the message, and no library wording is."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ECGReadError) as info:
            read_ecg(source, **kwargs)
    message = str(info.value)
    for pattern in patterns:
        assert re.search(pattern, message, re.S), f"{pattern!r} not in {message!r}"
    assert not LIBRARY_WORDS.search(message), message
    assert not caught, [str(w.message) for w in caught]        # nothing printed to stderr on the way
    return message


@pytest.fixture(scope="module")
def sig():
    """Twelve leads of 10 s at 500 Hz in µV (sines: these tests are about the files, not the waveform)."""
    t = np.arange(5000) / 500.0
    return {lead: 800 * np.sin(2 * np.pi * (1 + i / 10) * t) for i, lead in enumerate(STANDARD_LEADS)}


# ------------------------------------------------------------------------------------------------ WFDB

def _record(header: str, dat: bytes | None = None, **more: bytes) -> dict[str, bytes]:
    files = {"r.hea": header.encode(), **more}
    if dat is not None:
        files["r.dat"] = dat
    return files


SINE = (np.sin(np.arange(1000) / 20) * 200).astype("<i2").tobytes()       # 1000 samples of format 16


def test_wfdb_signal_line_as_written_reads():
    ecg = read_ecg(_record("r 1 100 1000\nr.dat 16 200(0)/mV 16 0 0 0 0 II\n", SINE))
    assert ecg.leads == ["II"] and ecg.fs == 100
    np.testing.assert_allclose(ecg.lead("II"), np.frombuffer(SINE, "<i2") / 200, atol=1e-6)


@pytest.mark.parametrize("header,patterns", [
    ("r/1 1 100 1000\nr 1000\n", [r"names the record itself as one of its segments"]),
    ("r 1 100 10\nr.hea 16 200 16 0 0 0 0 II\n", [r"names 'r\.hea' as a signal file", r"that is a header"]),
    ("r 1 100 1000\nr.dat 16 nan(0)/mV 16 0 0 0 0 II\n", [r"gain field 'nan\(0\)/mV'", r"GAIN\[\(BASELINE\)\]"]),
    ("r 1 100 1000\nr.dat 16 inf(0)/mV 16 0 0 0 0 II\n", [r"gain field 'inf\(0\)/mV'"]),
    ("r 1 100 1000\nr.dat 16 1e999(0)/mV 16 0 0 0 0 II\n", [r"not a finite number"]),
    ("r 1 100 1000\nr.dat 16 200(99999999999999999999)/mV 16 0 0 0 0 II\n", [r"baseline beyond any sample"]),
    ("r 1 " + "1" * 400 + " 1000\nr.dat 16 200 16 0 0 0 0 II\n", [r"sampling rate of inf Hz", r"50 Hz to 10000 Hz"]),
    ("r 1 1e3 1000\nr.dat 16 200 16 0 0 0 0 II\n", [r"'1e3', with an exponent", r"plain number \(e\.g\. 1000\)"]),
    ("r 1 100 1000\nr.dat 16 200(0)/mmHg 16 0 0 0 0 II\n", [r"no channel is a voltage", r"'mmHg'", r"mV, uV or V"]),
])
def test_wfdb_hostile_headers(header, patterns):
    _refused(_record(header, SINE), *patterns)


def test_wfdb_segments_that_are_multi_segment_records():
    files = {"r.hea": b"r/2 1 100 2000\na 1000\nb 1000\n", "a.hea": b"a/1 1 100 1000\nb 1000\n",
             "b.hea": b"b/1 1 100 1000\na 1000\n"}
    _refused(files, r"segment '[ab]' is itself a multi-segment record", r"single-segment record")


def test_wfdb_non_voltage_channel_is_left_out_and_noted():
    two = np.stack([np.frombuffer(SINE, "<i2")] * 2, axis=1).astype("<i2").tobytes()
    ecg = read_ecg(_record("r 2 100 1000\nr.dat 16 200(0)/mV 16 0 0 0 0 II\n"
                           "r.dat 16 200(0)/mmHg 16 0 0 0 0 V1\n", two))
    assert ecg.leads == ["II"] and ecg.metadata["non_voltage_channels"] == "V1(mmHg)"


def test_wfdb_gain_zero_is_wfdbs_uncalibrated_default_not_refused():
    # QTDB's headers (sel820 ...) write gain 0: uncalibrated, read at WFDB's default 200 units per mV
    ecg = read_ecg(_record("r 1 100 1000\nr.dat 16 0 16 0 0 0 0 II\n", SINE))
    np.testing.assert_allclose(ecg.lead("II"), np.frombuffer(SINE, "<i2") / 200, atol=1e-6)


def test_wfdb_stretch_of_a_record_too_long_to_read_whole():
    n = MAX_SAMPLES_PER_LEAD + 1000                         # format 80: one byte a sample
    files = _record(f"r 1 1000 {n}\nr.dat 80 200 8 0 0 0 0 II\n", b"\x8a" * n)   # offset binary: 10 units
    whole = _refused(files, r"at most 24,000,000 samples per lead", r"cut or downsample",
                     r"read a stretch of it", r"--start and --end", r"start_s and end_s")
    assert "as declared in its header" in whole
    ecg = read_ecg(files, start_s=0, end_s=10)
    assert ecg.n_samples == 10_000 and ecg.metadata.get("cropped_from_s") == "0.000"


# ------------------------------------------------------------------------------------------------ Philips

def test_philips_duration_or_rate_beyond_any_recording(sig):
    data = philips_xml(sig, compression="none")
    huge_duration = re.sub(rb'durationperchannel="\d+"', b'durationperchannel="1e308"', data)
    _refused(huge_duration, r"durationperchannel is 1e\+308 ms", name="p.xml")
    long_duration = re.sub(rb'durationperchannel="\d+"', b'durationperchannel="100000000"', data)
    _refused(long_duration, r"at most 24,000,000 samples per lead", name="p.xml")
    huge_rate = data.replace(b"<samplingrate>500</samplingrate>", b"<samplingrate>1e300</samplingrate>")
    _refused(huge_rate, r"sampling rate of 1e\+300 Hz", r"50 Hz to 10000 Hz", name="p.xml")


def test_philips_fractional_lead_count(sig):
    data = philips_xml(sig, compression="none").replace(b'numberofleads="12"', b'numberofleads="12.9"')
    _refused(data, r"numberofleads is 12\.9, not a whole number", name="p.xml")


# ------------------------------------------------------------------------------------------------ GE MUSE

@pytest.mark.parametrize("old,new,patterns", [
    (b"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>1e300<", [r"LeadSampleCountTotal is 1e\+300",
                                                                       r"accepted: 1 to 24,000,000"]),
    (b"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>-1<", [r"LeadSampleCountTotal is -1"]),
    (b"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>4999.5<", [r"4999\.5, not a whole number"]),
    (b"<LeadSampleSize>2<", b"<LeadSampleSize>2.7<", [r"LeadSampleSize is 2\.7, not a whole number"]),
])
def test_muse_counts_must_be_whole_and_in_range(sig, old, new, patterns):
    data = muse_xml({k: sig[k] for k in EIGHT})
    assert old in data
    _refused(data.replace(old, new, 1), *patterns, name="m.xml")


def _utf16(document: bytes) -> bytes:
    text = document.decode("utf-8")
    return re.sub(r'encoding="[^"]*"', 'encoding="UTF-16"', text, count=1).encode("utf-16")


def test_utf16_xml_is_recognised_and_read(sig):
    data = muse_xml({k: sig[k] for k in EIGHT})
    wide = _utf16(data.decode("iso-8859-1").encode("utf-8"))
    assert wide[:2] == b"\xff\xfe"
    assert xml_safe.root_name(wide) == "RestingECG" and xml_safe.looks_like_xml(wide)
    np.testing.assert_array_equal(read_ecg(wide, name="m.xml").signal, read_ecg(data, name="m.xml").signal)


def test_utf16_xml_keeps_entity_and_external_reference_refusals():
    laughs = (b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE RestingECG [<!ENTITY a "aaaaaaaaaa">'
              + b"".join(b'<!ENTITY %s "%s">' % (c.encode(), (b"&" + p.encode() + b";") * 10)
                         for p, c in zip("abcdefgh", "bcdefghi"))
              + b"]><RestingECG><x>&i;</x></RestingECG>")
    with pytest.raises(ECGReadError, match="declares XML entities or external references"):
        muse.read(_utf16(laughs), "laughs.xml")
    xxe = (b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE restingecgdata [<!ENTITY x SYSTEM '
           b'"file:///etc/passwd">]><restingecgdata><documentinfo><documentversion>&x;</documentversion>'
           b'</documentinfo></restingecgdata>')
    with pytest.raises(ECGReadError, match="declares XML entities or external references"):
        philips.read(_utf16(xxe), "xxe.xml")


# ------------------------------------------------------------------------------------------------ EDF

def _patched(data: bytes, offset: int, width: int, value: str) -> bytes:
    return data[:offset] + value.ljust(width).encode()[:width] + data[offset + width:]


@pytest.fixture(scope="module")
def edf(sig):
    return edf_bytes({"ECG II": sig["II"][:2500], "ECG V1": sig["V1"][:2500]}, fs=250)   # 2 signals, 10 records


TWO = 2                     # signals in the `edf` fixture: their fields are TWO x 8 characters wide


PHYSICAL_MIN, PHYSICAL_MAX, DIGITAL_MIN, DIGITAL_MAX = (256 + TWO * w for w in (104, 112, 120, 128))


@pytest.mark.parametrize("patches,patterns", [
    ([(244, 8, "0")], [r"duration of a data record as '0' s", r"above 0"]),
    ([(252, 4, "0")], [r"number of signals as '0'", r"at least 1"]),
    ([(252, 4, "9999")], [r"declares 9999 signals", r"file holds", r"truncated"]),
    ([(236, 8, "abc")], [r"number of data records as 'abc'", r"whole number"]),
    ([(256 + TWO * 216, 8, "x")], [r"signal 'ECG II' 'x' samples per data record"]),
    ([(PHYSICAL_MIN, 8, "1"), (PHYSICAL_MAX, 8, "1")], [r"'ECG II' has physical minimum/maximum 1/1",
                                                        r"cannot be scaled"]),
    ([(DIGITAL_MIN, 8, "32767")], [r"digital minimum/maximum 32767/32767", r"cannot be scaled"]),
])
def test_edf_damaged_fixed_header(edf, patches, patterns):
    data = edf
    for patch in patches:
        data = _patched(data, *patch)
    _refused(data, *patterns, name="e.edf")


def test_edf_only_its_first_256_bytes(edf):
    _refused(edf[:256], r"declares 2 signals, whose descriptions take 768 bytes", r"truncated", name="e.edf")
    _refused(edf[:100], r"shorter than the 256-byte header", name="e.edf")


def test_edf_with_more_data_than_its_header_declares(edf):
    data = _patched(edf, 236, 8, "5")            # 10 records in the file
    message = _refused(data, r"holds more data records than its header declares", name="e.edf")
    assert "truncated" not in message


# ------------------------------------------------------------------------------------------------ DICOM

def test_dicom_bits_allocated_that_no_sample_type_has(sig):
    data = make_dicom(np.stack([sig[k] for k in sig]), with_median=False)
    pattern = b"\x00\x54\x04\x10US\x02\x00\x10\x00"       # (5400,1004) WaveformBitsAllocated, US, 2 bytes: 16
    assert data.count(pattern) == 1
    _refused(data.replace(pattern, pattern[:-2] + b"\x07\x00"), r"7-bit 'SS'",
             r"accepted: 8 bits SB", name="d.dcm")
