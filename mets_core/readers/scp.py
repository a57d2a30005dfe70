"""SCP-ECG (EN 1064 / ISO 11073-91064) files, ``.scp``: the binary format of many ECG carts and
telemedicine systems. Read here without third-party code (no maintained Python package reads it).

Layout (all integers little-endian): a record CRC (2 bytes) and the record length (4 bytes), then
sections, each with a 16-byte header: CRC, section number, section length (header included), section and
protocol version, 6 reserved bytes ("SCPECG" in section 0 from version 2.0). Sections read:

* 0  pointers: per section its number, length and 1-based byte index in the record;
* 1  header tags (tag, length, value; 255 ends): only age (tag 4, in years) and sex (tag 8) are kept,
     as ``comments`` lines ("Age: 63", "Sex: female"), and the date and time of acquisition (tag 25: year
     as 2 bytes, month, day; tag 26: hour, minute, second) as ``metadata["recorded_at"]`` (``recorded.py``);
     names, IDs and birth dates are never copied;
* 2  Huffman tables: absent = no Huffman coding; 19999 = the standard's default table;
* 3  lead definition: number of leads, flags (bit 0: reference beat subtraction), per lead the first and
     last sample number and the lead code (1 I, 2 II, 3-8 V1-V6, 61-64 III aVR aVL aVF, ...);
* 6  rhythm data: amplitude multiplier (nV per unit), sample interval (us), difference coding (0 none,
     1 first, 2 second differences), bimodal compression flag, byte length per lead, then the leads.

Decoded: 16-bit samples or the default Huffman table, each with no, first or second differences.
Refused with a message that says what to export instead: reference beat subtraction, bimodal
compression, the file's own Huffman tables. Every CRC is checked, and every declared length and count is
checked against the bytes present before anything is allocated.
"""
from __future__ import annotations

import binascii
import struct

import numpy as np

from ..ecg import ECGReadError
from .channels import Channels, with_caller_hints
from .limits import ACCEPTED_FORMATS, check_channels, check_fs, check_length, counted, override_names
from .muse import derive_limb_leads
from .recorded import iso_stamp

_SECTION_HEADER = 16
_DEFAULT_HUFFMAN = 19999            # section 2's "number of tables" meaning the standard's default table
_EXPORT_HINT = ("export the ECG as SCP-ECG without compression (or with the default Huffman table), or as "
                "HL7 aECG / GE MUSE / Philips XML or EDF")
# lead codes of section 3 (EN 1064 table of lead identifications; ISO 11073-10101 MDC_ECG_LEAD_* numbers)
LEAD_CODES = {1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6", 9: "V7", 10: "V2R",
              11: "V3R", 12: "V4R", 13: "V5R", 14: "V6R", 15: "V7R", 16: "X", 17: "Y", 18: "Z", 19: "CC5",
              20: "CM5", 21: "LA", 22: "RA", 23: "LL", 61: "III", 62: "aVR", 63: "aVL", 64: "aVF", 65: "-aVR",
              66: "V8", 67: "V9", 68: "V8R", 69: "V9R", 70: "D (Nehb)", 71: "A (Nehb)", 72: "J (Nehb)"}
_SEX = {1: "male", 2: "female"}
# The default Huffman table of the standard: (bits in the prefix, bits in the whole code, value, base code).
# Base codes are stored bit-reversed (first bit of the stream = lowest bit). The last two prefixes are
# escapes: the next 8 or 16 bits hold the value itself (two's complement).
_DEFAULT_TABLE = ((1, 1, 0, 0), (3, 3, 1, 1), (3, 3, -1, 5), (4, 4, 2, 3), (4, 4, -2, 11), (5, 5, 3, 7),
                  (5, 5, -3, 23), (6, 6, 4, 15), (6, 6, -4, 47), (7, 7, 5, 31), (7, 7, -5, 95), (8, 8, 6, 63),
                  (8, 8, -6, 191), (9, 9, 7, 127), (9, 9, -7, 383), (10, 10, 8, 255), (10, 10, -8, 767),
                  (10, 18, 0, 511), (10, 26, 0, 1023))
SCP_MAGIC = b"SCPECG"               # bytes 16-21 of a file: section 0's reserved field


def looks_like_scp(data: bytes) -> bool:
    """Content test for files without the .scp extension (section 0 marked 'SCPECG', version 2.0 on)."""
    return len(data) >= 22 and data[8:10] == b"\x00\x00" and data[16:22] == SCP_MAGIC


def crc_ccitt(data: bytes) -> int:
    """The standard's CRC-CCITT (polynomial 0x1021, initial value 0xFFFF)."""
    return binascii.crc_hqx(data, 0xFFFF)


def read(data: bytes, filename: str, lead_names: list[str] | None = None,
         fs_given: float | None = None) -> Channels:
    where = f"SCP-ECG file {filename!r}"
    if len(data) < 6 + _SECTION_HEADER:
        raise ECGReadError(f"{where} is {len(data)} bytes long, too short for an SCP-ECG record (its header and "
                           f"pointer section alone take {6 + _SECTION_HEADER} bytes); upload the complete file")
    if data[8:10] != b"\x00\x00":
        raise ECGReadError(f"{where} is not an SCP-ECG file: it does not start with the record header and the "
                           f"pointer section (section 0); accepted: {ACCEPTED_FORMATS}")
    crc, size = struct.unpack_from("<HI", data, 0)
    if size > len(data):
        raise ECGReadError(f"{where} is truncated: its header declares {size:,} bytes but the file holds "
                           f"{len(data):,}; upload the complete file")
    if size < 6 + _SECTION_HEADER:
        raise ECGReadError(f"{where} declares a record length of {size} bytes, too short for an SCP-ECG record")
    data = data[:size]
    if crc_ccitt(data[2:]) != crc:
        raise ECGReadError(f"{where} is damaged: its checksum (CRC) does not match its content; upload an "
                           f"undamaged copy of the file")
    sections = _sections(data, where)
    version = data[15]
    if 6 not in sections:
        raise ECGReadError(f"{where} holds no rhythm data (section 6); {_EXPORT_HINT}")
    if 3 not in sections:
        raise ECGReadError(f"{where} has no lead definition (section 3), so its signals cannot be assigned to leads")
    huffman = _huffman_mode(sections.get(2), where)
    leads, reference_beats = _lead_definition(sections[3], where)
    if reference_beats:
        raise ECGReadError(f"{where} is compressed with reference beat subtraction (sections 4 and 5), which "
                           f"this reader does not decode; {_EXPORT_HINT}")
    signals, fs, encoding, avm_nv = _rhythm(sections[6], leads, huffman, where)
    names = [LEAD_CODES.get(code, f"lead code {code}") for _, _, code in leads]
    rows = list(signals)
    if "-aVR" in names and "aVR" not in names:           # stored inverted (Cabrera display): aVR = -(-aVR)
        rows[names.index("-aVR")] = -rows[names.index("-aVR")]
        names[names.index("-aVR")] = "aVR"
    meta = {"source_format": "scp-ecg", "scp_version": f"{version // 10}.{version % 10}",
            "scp_encoding": encoding, "units": f"{avm_nv} nV per unit (declared)"}
    # the caller's names are for the stored leads: the limb leads are derived from them after
    names = override_names(names, lead_names, len(names), where)
    derive_limb_leads(rows, names, meta)
    if 1 in sections:
        comments = _age_and_sex(sections[1])
        if comments:
            meta["comments"] = comments
        recorded = _recorded_at(sections[1])
        if recorded is not None:
            meta["recorded_at"] = recorded
    return with_caller_hints(Channels(np.stack(rows), names, fs, meta, where), None, fs_given)


def _sections(data: bytes, where: str) -> dict[int, bytes]:
    """Section number -> its bytes after the 16-byte header, each checked (place, number, length, CRC)."""
    pointers = _section_at(data, 6, 0, where)
    out = {}
    for pos in range(0, len(pointers) - 9, 10):
        number, length, index = struct.unpack_from("<HII", pointers, pos)
        if length == 0 or number == 0 or number in out:
            continue                                       # an absent section (pointer fields stay listed)
        if index < 1 or index - 1 + length > len(data) or length < _SECTION_HEADER:
            raise ECGReadError(f"{where} is damaged or truncated: its pointer to section {number} (byte "
                               f"{index:,}, {length:,} bytes) lies outside the {len(data):,}-byte record")
        out[number] = _section_at(data, index - 1, number, where, length)
    return out


def _section_at(data: bytes, offset: int, number: int, where: str, declared: int | None = None) -> bytes:
    if offset + _SECTION_HEADER > len(data):
        raise ECGReadError(f"{where} is truncated inside the header of section {number}")
    crc, found, length = struct.unpack_from("<HHI", data, offset)
    if found != number:
        raise ECGReadError(f"{where} is damaged: the pointer to section {number} leads to section {found}")
    room = len(data) - offset if declared is None else min(declared, len(data) - offset)
    if length < _SECTION_HEADER or length > room:
        raise ECGReadError(f"{where} is damaged or truncated: section {number} declares {length:,} bytes, but "
                           f"{room:,} bytes are there for it (a section takes at least {_SECTION_HEADER})")
    if crc_ccitt(data[offset + 2:offset + length]) != crc:
        raise ECGReadError(f"{where} is damaged: the checksum (CRC) of section {number} does not match its "
                           f"content; upload an undamaged copy of the file")
    return data[offset + _SECTION_HEADER:offset + length]


def _huffman_mode(section2: bytes | None, where: str) -> bool:
    """True for the default Huffman table, False for no Huffman coding."""
    if section2 is None:
        return False
    if len(section2) < 2:
        raise ECGReadError(f"{where}: its Huffman section (2) is empty")
    tables = struct.unpack_from("<H", section2)[0]
    if tables == _DEFAULT_HUFFMAN:
        return True
    if tables == 0:         # written by some carts for "no table" instead of leaving section 2 out
        return False
    raise ECGReadError(f"{where} is compressed with its own Huffman tables ({tables} in section 2), which this "
                       f"reader does not decode (it reads uncompressed data and the standard's default table); "
                       f"{_EXPORT_HINT}")


def _lead_definition(section3: bytes, where: str) -> tuple[list[tuple[int, int, int]], bool]:
    """[(first sample, last sample, lead code)] and whether reference beat subtraction is used."""
    if len(section3) < 2:
        raise ECGReadError(f"{where}: its lead definition (section 3) is empty")
    n_leads, flags = section3[0], section3[1]
    check_channels(n_leads, 0, where)                      # at least one lead, at most MAX_CHANNELS
    if 2 + 9 * n_leads > len(section3):
        raise ECGReadError(f"{where}: section 3 declares {counted(n_leads, 'lead')} but holds the definitions of "
                           f"{(len(section3) - 2) // 9}")
    leads = [struct.unpack_from("<IIB", section3, 2 + 9 * i) for i in range(n_leads)]
    for first, last, code in leads:
        if first < 1 or last < first:
            raise ECGReadError(f"{where}: lead {LEAD_CODES.get(code, code)} is defined from sample {first} to "
                               f"{last}; sample numbers start at 1 and the last follows the first")
    return leads, bool(flags & 1)


def _rhythm(section6: bytes, leads: list[tuple[int, int, int]], huffman: bool,
            where: str) -> tuple[np.ndarray, float, str, int]:
    """(leads x samples in mV over the samples every lead covers, rate in Hz, how it was encoded, nV per unit)."""
    n_leads = len(leads)
    if len(section6) < 6 + 2 * n_leads:
        raise ECGReadError(f"{where}: its rhythm section (6) is too short for the byte counts of {counted(n_leads, 'lead')}")
    avm_nv, interval_us, difference, bimodal = struct.unpack_from("<HHBB", section6)
    if bimodal:
        raise ECGReadError(f"{where} is compressed with bimodal compression (section 6), which this reader does "
                           f"not decode; {_EXPORT_HINT}")
    if difference not in (0, 1, 2):
        raise ECGReadError(f"{where}: section 6 declares difference coding {difference}; the standard defines "
                           f"0 (none), 1 (first) and 2 (second differences)")
    if interval_us == 0:
        raise ECGReadError(f"{where}: section 6 gives a sample interval of 0 us, so the sampling rate is unknown")
    fs = 1e6 / interval_us
    check_fs(fs, where)
    if avm_nv == 0:
        raise ECGReadError(f"{where}: section 6 gives an amplitude multiplier of 0 nV, so the voltages are unknown")
    lengths = struct.unpack_from(f"<{n_leads}H", section6, 6)
    start = 6 + 2 * n_leads
    if start + sum(lengths) > len(section6):
        raise ECGReadError(f"{where} is damaged or truncated: section 6 declares {sum(lengths):,} bytes of lead "
                           f"data but holds {len(section6) - start:,}")
    first, last = max(a for a, _, _ in leads), min(b for _, b, _ in leads)
    common = last - first + 1
    check_length(common, fs, f"{where} (the samples all leads share)")
    check_channels(n_leads, common, where)
    chunks = []
    for (a, b, code), length in zip(leads, lengths):
        n = b - a + 1
        capacity = 8 * length if huffman else length // 2      # one bit per sample at best
        if n > capacity:
            raise ECGReadError(f"{where}: lead {LEAD_CODES.get(code, code)} declares {n:,} samples but its "
                               f"{length:,} bytes hold at most {capacity:,}; the file is damaged or truncated")
        chunks.append(section6[start:start + length])
        start += length
    out = np.empty((n_leads, common), dtype=np.float64)
    for i, ((a, b, code), chunk) in enumerate(zip(leads, chunks)):
        n = b - a + 1
        values = _huffman_decode(chunk, n, where, LEAD_CODES.get(code, str(code))) if huffman \
            else np.frombuffer(chunk, dtype="<i2", count=n).astype(np.int64)
        values = _undo_differences(values, difference)
        out[i] = values[first - a:first - a + common] * (avm_nv * 1e-6)
    encoding = ("default Huffman table" if huffman else "uncompressed 16-bit") + \
        {0: "", 1: ", first differences", 2: ", second differences"}[difference]
    return out, fs, encoding, avm_nv


def _undo_differences(d: np.ndarray, order: int) -> np.ndarray:
    """Samples from first (x[n] = d[n] + x[n-1]) or second (x[n] = d[n] + 2x[n-1] - x[n-2]) differences; the
    first one or two values are samples. The encoders work in 16 bits, so the result wraps as theirs did."""
    x = d.astype(np.int64)
    if order == 1:
        x = np.cumsum(x)
    elif order == 2 and x.size > 1:
        step = np.concatenate([[x[1] - x[0]], x[2:]])      # x[1]-x[0], then each next step adds d[n]
        x = np.concatenate([[x[0]], x[0] + np.cumsum(np.cumsum(step))])
    return (x + 32768) % 65536 - 32768


def _default_table_lookup() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each 10-bit window (first bit highest): code length, value and escape bits (0, 8 or 16)."""
    length, value, extra = np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(1024, np.int64)
    for prefix_bits, total_bits, base_value, base_code in _DEFAULT_TABLE:
        code = int(format(base_code, f"0{prefix_bits}b")[::-1], 2)      # stored bit-reversed
        span = 1 << (10 - prefix_bits)
        window = slice(code * span, (code + 1) * span)
        length[window], value[window], extra[window] = total_bits, base_value, total_bits - prefix_bits
    return length, value, extra


_LOOKUP = _default_table_lookup()


def _huffman_decode(chunk: bytes, n: int, where: str, lead: str) -> np.ndarray:
    """n values of one lead coded with the default Huffman table (bits read from the highest of each byte)."""
    n_bits = 8 * len(chunk)
    bits = np.concatenate([np.unpackbits(np.frombuffer(chunk, np.uint8)), np.zeros(26, np.uint8)]).astype(np.int64)

    def window(offset: int, width: int) -> np.ndarray:
        w = np.zeros(n_bits, np.int64)
        for j in range(width):
            w = (w << 1) | bits[offset + j:offset + j + n_bits]
        return w

    prefix = window(0, 10)
    length, value, extra = (table[prefix] for table in _LOOKUP)
    for bits_, sign in ((8, 128), (16, 32768)):            # escapes: the value itself follows the prefix
        escaped = extra == bits_
        if escaped.any():
            raw = window(10, bits_)[escaped]
            value[escaped] = (raw ^ sign) - sign
    lengths, values = length.tolist(), value.tolist()
    out = [0] * n
    pos = 0
    for k in range(n):
        if pos >= n_bits or pos + lengths[pos] > n_bits:
            raise ECGReadError(f"{where}: the Huffman-coded data of lead {lead} end after {k:,} of its {n:,} "
                               f"samples; the file is damaged or truncated")
        out[k] = values[pos]
        pos += lengths[pos]
    return np.asarray(out, dtype=np.int64)


def _header_tags(section1: bytes):
    """(tag, value) of section 1's header tags, in order, up to the end tag (255) or a truncated tag."""
    pos = 0
    while pos + 3 <= len(section1):
        tag, length = section1[pos], struct.unpack_from("<H", section1, pos + 1)[0]
        value = section1[pos + 3:pos + 3 + length]
        if tag == 255 or len(value) < length:
            return
        yield tag, value
        pos += 3 + length


def _age_and_sex(section1: bytes) -> str:
    """'Age: 63' / 'Sex: female' lines from the header tags; nothing else of the patient is read."""
    lines = []
    for tag, value in _header_tags(section1):
        if tag == 4 and len(value) >= 3 and value[2] == 1 and 0 < struct.unpack_from("<H", value)[0] <= 130:
            lines.append(f"Age: {struct.unpack_from('<H', value)[0]}")        # unit 1 = years
        elif tag == 8 and len(value) >= 1 and value[0] in _SEX:
            lines.append(f"Sex: {_SEX[value[0]]}")
    return "\n".join(lines)


def _recorded_at(section1: bytes) -> str | None:
    """Tag 25 (date of acquisition: year as 2 bytes, month, day) and tag 26 (time of acquisition: hour, minute,
    second) in ISO 8601, or None (no date tag, or an impossible date)."""
    tags = {tag: value for tag, value in reversed(list(_header_tags(section1)))}     # the first of each tag
    date, time = tags.get(25, b""), tags.get(26, b"")
    if len(date) < 4:
        return None
    return iso_stamp((struct.unpack_from("<H", date)[0], date[2], date[3]),
                     (time[0], time[1], time[2]) if len(time) >= 3 else None)
