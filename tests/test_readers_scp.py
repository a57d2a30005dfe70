"""SCP-ECG (EN 1064) through read_ecg: files written by the small writer in tests/hospital_files.py (round
trips over every encoding the reader decodes), the standard's own Huffman example, and bad input."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from hospital_files import scp_bytes, scp_record, scp_sections, synthetic_12lead
from mets_core import ECGReadError, read_ecg
from mets_core.readers import ACCEPTED_FORMATS, MAX_CHANNELS, UPLOAD_EXTENSIONS

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def sig():
    return synthetic_12lead(seconds=10.0, fs=500.0, seed=5)


def units(uv: np.ndarray, avm_nv: int) -> np.ndarray:
    """What the file stores, back in mV: whole multiples of the amplitude multiplier."""
    return np.round(np.asarray(uv) * 1000 / avm_nv) * avm_nv * 1e-6


@pytest.mark.parametrize("huffman", [False, True])
@pytest.mark.parametrize("difference", [0, 1, 2])
def test_round_trip_every_encoding(sig, huffman, difference):
    data = scp_bytes(sig, fs=500.0, avm_nv=5000, huffman=huffman, difference=difference)
    ecg = read_ecg(data, name="cart.scp")
    assert ecg.metadata["source_format"] == "scp-ecg" and ecg.fs == 500 and ecg.n_samples == 5000
    assert ecg.leads == list(sig) and ecg.name == "cart"
    assert ("Huffman" in ecg.metadata["scp_encoding"]) == huffman
    for lead, uv in sig.items():
        np.testing.assert_allclose(ecg.lead(lead), units(uv, 5000), atol=1e-6, err_msg=lead)


def test_large_values_use_the_escape_codes_and_16_bit_wrap():
    """Steps beyond +-127 units take the 16-bit escape; second differences of 16-bit samples may leave 16 bits
    and wrap in the encoder, which the reader undoes."""
    x = np.array([0, 30000, -30000, 30000, -32768, 32767, 5, -7, 100, -100] * 50, dtype=np.float64)
    ecg = read_ecg(scp_bytes({"II": x, "V1": np.roll(x, 3)}, fs=250.0, avm_nv=1000, huffman=True, difference=2),
                   name="x.scp")
    np.testing.assert_allclose(ecg.lead("II"), x * 1e-3, atol=1e-9)
    np.testing.assert_allclose(ecg.lead("V1"), np.roll(x, 3) * 1e-3, atol=1e-9)


def test_the_standards_huffman_example():
    """EN 1064's worked example of the default table with second differences: 28 values from 15 bytes
    (the standard prints the sixth byte as F5; its own bit table gives F1, as other decoders note)."""
    coded = bytes([0xFF, 0x83, 0x7F, 0xE0, 0xE6, 0xF1, 0x53, 0x65, 0x59, 0xB6, 0x5B, 0x96, 0x4B, 0x96, 0x00])
    expected = [13, 14, 15, 14, 16, 18, 19, 20, 22, 22, 23, 23, 23, 22, 22, 20, 17, 15, 12, 8, 6, 3, 1, 0,
                -2, -2, -3, -3]
    bodies = {2: struct.pack("<H", 19999), 3: bytes([1, 4 | 8]) + struct.pack("<IIB", 1, 28, 2),
              6: struct.pack("<HHBBH", 1000, 2000, 2, 0, len(coded)) + coded}
    ecg = read_ecg(scp_record(bodies), name="example.scp")
    np.testing.assert_allclose(ecg.lead("II"), np.array(expected) * 1e-3, atol=1e-9)


def test_eight_stored_leads_and_age_sex_but_no_identifiers(sig):
    ecg = read_ecg(scp_bytes({k: sig[k] for k in EIGHT}, huffman=True, difference=2, age=71, sex=1),
                   name="x.scp")
    assert set(ecg.leads) == set(sig) and "III" in ecg.metadata["derived_leads"]
    np.testing.assert_allclose(ecg.lead("III"), ecg.lead("II") - ecg.lead("I"), atol=1e-6)
    assert ecg.metadata["comments"] == "Age: 71\nSex: male"
    shown = " ".join(ecg.metadata.values())
    assert "Doe" not in shown and "Jane" not in shown and "1234567" not in shown


def test_content_sniffing_rate_and_inverted_avr(sig):
    data = scp_bytes({"I": sig["I"][:2500], "-aVR": -np.asarray(sig["aVR"][:2500])}, fs=250.0, age=None, sex=None)
    ecg = read_ecg(data)                       # raw bytes, no name: recognised by content
    assert ecg.fs == 250 and "aVR" in ecg.leads and "comments" not in ecg.metadata
    np.testing.assert_allclose(ecg.lead("aVR"), units(sig["aVR"][:2500], 1000), atol=1e-6)
    assert "scp" in UPLOAD_EXTENSIONS and "SCP-ECG" in ACCEPTED_FORMATS


def test_version_1_file_without_marker_reads_by_extension(sig):
    data = scp_bytes({"II": sig["II"]}, version=13)
    assert read_ecg(data, name="old.scp").metadata["scp_version"] == "1.3"


def _resign(data: bytes) -> bytes:
    """The record CRC recomputed (to test a check other than the record CRC)."""
    import binascii
    return struct.pack("<H", binascii.crc_hqx(data[2:], 0xFFFF)) + data[2:]


def _with_section(sig, number: int, body: bytes) -> bytes:
    """A valid file whose section ``number`` is replaced by ``body`` (CRCs correct)."""
    return scp_record({**scp_sections({"II": sig["II"], "V1": sig["V1"]}), number: body})


def test_bad_input(sig):
    good = scp_bytes({"II": sig["II"], "V1": sig["V1"]})
    with pytest.raises(ECGReadError, match="truncated: its header declares"):
        read_ecg(good[:-100], name="x.scp")
    with pytest.raises(ECGReadError, match="too short"):
        read_ecg(good[:10], name="x.scp")
    with pytest.raises(ECGReadError, match="is not an SCP-ECG file.*accepted: WFDB"):
        read_ecg(b"I,II\n" + b"1,2\n" * 40, name="x.scp")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    with pytest.raises(ECGReadError, match="checksum"):
        read_ecg(bytes(flipped), name="x.scp")
    with pytest.raises(ECGReadError, match=r"checksum \(CRC\) of section 6"):
        read_ecg(_resign(bytes(flipped)), name="x.scp")
    # a declared length beyond the buffer, CRCs correct: the record, a pointer, a lead's bytes
    with pytest.raises(ECGReadError, match="truncated: its header declares"):
        read_ecg(_resign(good[:2] + struct.pack("<I", len(good) + 10) + good[6:]), name="x.scp")
    bodies = scp_sections({"II": sig["II"], "V1": sig["V1"]})
    six = bytearray(bodies[6])
    struct.pack_into("<H", six, 6, 60000)
    with pytest.raises(ECGReadError, match="section 6 declares 70,000 bytes of lead data but holds 20,000"):
        read_ecg(_with_section(sig, 6, bytes(six)), name="x.scp")
    three = bytearray(bodies[3])
    struct.pack_into("<I", three, 6, 2_000_000)       # lead II: samples 1 .. 2,000,000
    with pytest.raises(ECGReadError, match="declares 2,000,000 samples but its 10,000 bytes hold at most 5,000"):
        read_ecg(_with_section(sig, 3, bytes(three)), name="x.scp")


@pytest.mark.parametrize("make,expected", [
    (lambda s: scp_bytes({"II": s["II"]}, huffman=True, tables=2), "its own Huffman tables.*export the ECG as SCP"),
    (lambda s: scp_bytes({"II": s["II"]}, bimodal=1), "bimodal compression.*export"),
    (lambda s: scp_bytes({"II": s["II"]}, reference_beats=True), "reference beat subtraction.*export"),
    (lambda s: scp_bytes({}), "declares no signals"),
    (lambda s: scp_bytes({"II": s["II"]}, fs=1e6 / 65535), "sampling rate of 15.259 Hz"),
    (lambda s: scp_bytes({"II": s["II"]}, fs=1e6), "sampling rate of 1e\\+06 Hz"),
    (lambda s: _with_section(s, 6, struct.pack("<HHBBHH", 0, 2000, 0, 0, 0, 0)), "amplitude multiplier of 0"),
    (lambda s: _with_section(s, 3, bytes([MAX_CHANNELS + 1, 0]) + b"\x00" * 9 * (MAX_CHANNELS + 1)),
     f"declares {MAX_CHANNELS + 1} channels"),
    (lambda s: scp_bytes({"X": s["II"]}), "none of the lead names"),
])
def test_unsupported_and_absurd_files_are_refused_clearly(sig, make, expected):
    with pytest.raises(ECGReadError, match=expected):
        read_ecg(make(sig), name="x.scp")


def test_huffman_data_ending_early(sig):
    bodies = scp_sections({"II": sig["II"][:1000]}, huffman=True)
    three = bytearray(bodies[3])
    struct.pack_into("<I", three, 6, 1000 + 3000)         # more samples than the coded bits give
    with pytest.raises(ECGReadError, match="Huffman-coded data of lead II end after 1,0.. of its 4,000"):
        read_ecg(scp_record({**bodies, 3: bytes(three)}), name="x.scp")
