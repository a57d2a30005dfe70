"""Builders of the ECG files hospitals export (GE MUSE XML, Philips Sierra XML with XLI compression,
HL7 aECG XML, EDF/BDF), shaped as the devices write them, generated in memory by the tests.

The signals are integers in device units (microvolts / units per bit) so that a reader's output can be
compared exactly with what was written. ``synthetic_12lead`` is the project's synthetic ECG
(``mets_core.simulate``) with the limb leads related as on a body (III = II - I, Goldberger's augmented
leads), so derived leads can be checked.
"""
from __future__ import annotations

import base64
import binascii
import functools
import io
import struct

import numpy as np

LEADS12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def synthetic_12lead(seconds: float = 10.0, fs: float = 500.0, seed: int = 0, hr: float = 72.0) -> dict[str, np.ndarray]:
    """Lead name -> float µV of the project's one synthetic 12-lead ECG (mets_core.simulate; limb leads
    consistent by Einthoven/Goldberger, as the hospital formats that store 8 leads assume)."""
    return {lead: row.copy() for lead, row in _simulated_uv(float(seconds), int(fs), seed, float(hr)).items()}


@functools.lru_cache(maxsize=32)
def _simulated_uv(seconds: float, fs: int, seed: int, hr: float) -> dict[str, np.ndarray]:
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(duration_s=seconds, fs=fs, heart_rate=hr, seed=seed)   # noise-free: III = II - I exactly
    return {lead: ecg.signal[i].astype(np.float64) * 1000.0 for i, lead in enumerate(LEADS12)}


# ---------------------------------------------------------------------------------------------- GE MUSE

def _b64_lines(raw: bytes, width: int = 76) -> str:
    text = base64.b64encode(raw).decode()
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


def muse_xml(rhythm: dict[str, np.ndarray], fs: int = 500, median: dict[str, np.ndarray] | None = None,
             units_per_bit: float = 4.88, units: str = "MICROVOLTS", sample_exponent: int = 0,
             declared_counts: dict[str, int] | None = None, doctype: bool = True,
             acquired: tuple[str, str | None] | None = None) -> bytes:
    """A MUSE RestingECG export: demographics (made up), a Median and a Rhythm waveform; ``rhythm`` values
    are in ``units`` and are stored as int16 counts of ``units_per_bit``. ``acquired``: the texts of
    TestDemographics' AcquisitionDate (``MM-DD-YYYY``) and AcquisitionTime (``HH:MM:SS``; None: left out)."""
    def waveform(kind: str, leads: dict[str, np.ndarray]) -> str:
        parts = [f"<Waveform><WaveformType>{kind}</WaveformType><WaveformStartTime>0</WaveformStartTime>"
                 f"<NumberofLeads>{len(leads)}</NumberofLeads><SampleType>CONTINUOUS_SAMPLES</SampleType>"
                 f"<SampleBase>{fs // 10 ** sample_exponent}</SampleBase><SampleExponent>{sample_exponent}"
                 f"</SampleExponent><HighPassFilter>16</HighPassFilter><LowPassFilter>150</LowPassFilter>"
                 f"<ACFilter>60</ACFilter>"]
        for name, values in leads.items():
            counts = np.round(np.asarray(values) / units_per_bit).astype("<i2")
            n = (declared_counts or {}).get(name, counts.size)
            parts.append(
                f"<LeadData><LeadByteCountTotal>{2 * counts.size}</LeadByteCountTotal><LeadTimeOffset>0"
                f"</LeadTimeOffset><LeadSampleCountTotal>{n}</LeadSampleCountTotal>"
                f"<LeadAmplitudeUnitsPerBit>{units_per_bit}</LeadAmplitudeUnitsPerBit>"
                f"<LeadAmplitudeUnits>{units}</LeadAmplitudeUnits><LeadHighLimit>32767</LeadHighLimit>"
                f"<LeadLowLimit>-32768</LeadLowLimit><LeadID>{name}</LeadID><LeadOffsetFirstSample>0"
                f"</LeadOffsetFirstSample><FirstSampleBaseline>0</FirstSampleBaseline><LeadSampleSize>2"
                f"</LeadSampleSize><LeadOff>FALSE</LeadOff><BaselineSway>FALSE</BaselineSway>"
                f"<WaveFormData>{_b64_lines(counts.tobytes())}</WaveFormData></LeadData>")
        parts.append("</Waveform>")
        return "".join(parts)

    head = '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    if doctype:
        head += '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">\n'
    body = ("<RestingECG><MuseInfo><MuseVersion>8.0.2.10132</MuseVersion></MuseInfo>"
            "<PatientDemographics><PatientID>TEST0001</PatientID><PatientLastName>M\xfcller</PatientLastName>"
            "<Gender>FEMALE</Gender></PatientDemographics><TestDemographics><DataType>RESTING</DataType>"
            "<Site>1</Site><AcquisitionDevice>MAC55</AcquisitionDevice>"
            + (f"<AcquisitionDate>{acquired[0]}</AcquisitionDate>" if acquired else "")
            + (f"<AcquisitionTime>{acquired[1]}</AcquisitionTime>" if acquired and acquired[1] is not None else "")
            + "</TestDemographics>"
            "<RestingECGMeasurements><VentricularRate>72</VentricularRate></RestingECGMeasurements>"
            "<Diagnosis><DiagnosisStatement><StmtText>Normal sinus rhythm</StmtText></DiagnosisStatement></Diagnosis>")
    if median is not None:
        body += waveform("Median", median)
    body += waveform("Rhythm", rhythm) + "</RestingECG>"
    return (head + body).encode("iso-8859-1")


# ---------------------------------------------------------------------------------------------- Philips

def _lzw_encode(data: bytes, bits: int = 10) -> bytes:
    """LZW with fixed-width codes, most significant bit first, no clear code: the inverse of the
    decoder Philips XLI uses (dictionary grows until code 2**bits - 2)."""
    max_code = (1 << bits) - 2
    table = {bytes([i]): i for i in range(256)}
    next_code, codes, w = 256, [], b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        codes.append(table[w])
        if next_code <= max_code:
            table[wc] = next_code
            next_code += 1
        w = bytes([byte])
    if w:
        codes.append(table[w])
    acc, n_bits, out = 0, 0, bytearray()
    for code in codes:
        acc = (acc << bits) | code
        n_bits += bits
        while n_bits >= 8:
            n_bits -= 8
            out.append((acc >> n_bits) & 0xFF)
    if n_bits:
        out.append((acc << (8 - n_bits)) & 0xFF)
    return bytes(out)


def xli_chunk(samples: np.ndarray) -> bytes:
    """One lead as an XLI chunk: second differences (+64) split into high and low bytes, LZW-coded."""
    s = np.asarray(samples, dtype=np.int64)
    n = s.size
    enc = np.zeros(n, dtype=np.int64)
    enc[0], enc[1] = s[0], s[1]
    enc[2:n - 1] = 2 * s[2:n - 1] - s[1:n - 2] - s[3:n] + 64
    first = int(2 * s[1] - s[0] - s[2])
    u = (enc.astype(np.int16)).view(np.uint16)
    payload = bytes((u >> 8).astype(np.uint8)) + bytes((u & 0xFF).astype(np.uint8))
    packed = _lzw_encode(payload)
    return struct.pack("<ihh", len(packed), 0, first) + packed


def philips_xml(leads: dict[str, np.ndarray], fs: int = 500, resolution: float = 5.0,
                compression: str = "XLI", version: str = "1.04", chunk_bytes: bytes | None = None,
                acquired: tuple[str, str | None] | None = None) -> bytes:
    """A Philips Sierra ECG export; ``leads`` are µV (12 standard leads, in order), stored as counts of
    ``resolution`` µV. With XLI, III/aVR/aVL/aVF are stored as residuals, as the carts do. ``acquired``: the
    ``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM:SS``; None: left out) attributes of <dataacquisition>."""
    names = list(leads)
    counts = {k: np.round(np.asarray(v) / resolution).astype(np.int64) for k, v in leads.items()}
    n = min(v.size for v in counts.values())
    if compression == "XLI":
        i, ii, iii = counts["I"], counts["II"], counts["III"]
        stored = dict(counts)
        stored["III"] = ii - i - iii
        stored["aVR"] = -counts["aVR"] - np.floor_divide(i + ii, 2)
        stored["aVL"] = np.floor_divide(i - iii, 2) - counts["aVL"]
        stored["aVF"] = np.floor_divide(ii + iii, 2) - counts["aVF"]
        raw = chunk_bytes if chunk_bytes is not None else b"".join(xli_chunk(stored[k]) for k in names)
        attrs = 'compression="XLI" compressflag="True" compressmethod="XLI"'
    else:
        raw = b"".join(counts[k][:n].astype("<i2").tobytes() for k in names)
        attrs = 'compressflag="False"'
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<restingecgdata xmlns="http://www3.medical.philips.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<documentinfo><documentname>test.xml</documentname><documenttype>SierraECG</documenttype>'
            f'<documentversion>{version}</documentversion></documentinfo>'
            '<patient><generalpatientdata><patientid>TEST0001</patientid></generalpatientdata></patient>'
            + ('<dataacquisition' + (f' date="{acquired[0]}"' if acquired else '')
               + (f' time="{acquired[1]}"' if acquired and acquired[1] is not None else '') + '>')
            + '<signalcharacteristics><acquisitiontype>STD-12</acquisitiontype>'
            f'<bitspersample>16</bitspersample><signalresolution>{resolution:g}</signalresolution>'
            f'<signaloffset>0</signaloffset><signalsigned>Yes</signalsigned>'
            f'<numberchannelsvalid>{len(names)}</numberchannelsvalid>'
            f'<numberchannelsallocated>{len(names)}</numberchannelsallocated>'
            f'<samplingrate>{fs}</samplingrate></signalcharacteristics></dataacquisition>'
            f'<waveforms><parsedwaveforms durationperchannel="{int(n * 1000 / fs)}" samplespersecond="{fs}" '
            f'dataencoding="Base64" {attrs} numberofleads="{len(names)}" leadlabels="{" ".join(names)}">'
            f'{_b64_lines(raw)}</parsedwaveforms></waveforms></restingecgdata>').encode()


# ---------------------------------------------------------------------------------------------- HL7 aECG

def aecg_xml(leads: dict[str, np.ndarray], fs: float = 500.0, scale_uv: float = 5.0, origin_uv: float = 0.0,
             scale_unit: str = "uV", increment_unit: str = "s", sets: int = 1,
             acquired: str | None = "20240101120000") -> bytes:
    """An FDA HL7 aECG: one RHYTHM series; ``leads`` µV stored as digits of ``scale_uv`` µV;
    ``sets`` > 1 splits the recording into consecutive sequence sets. ``acquired``: the AnnotatedECG's
    effectiveTime/low value (HL7 TS; None: no effectiveTime)."""
    inc = 1.0 / fs if increment_unit == "s" else 1000.0 / fs
    n = min(np.asarray(v).size for v in leads.values())
    bounds = np.linspace(0, n, sets + 1).astype(int)
    set_xml = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        comps = ['<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>'
                 '<value xsi:type="GLIST_TS"><head value="20240101120000.000"/>'
                 f'<increment value="{inc:g}" unit="{increment_unit}"/></value></sequence></component>']
        for name, values in leads.items():
            digits = np.round((np.asarray(values[a:b]) - origin_uv) / scale_uv).astype(np.int64)
            comps.append(
                f'<component><sequence><code code="MDC_ECG_LEAD_{name.upper() if name.startswith("a") is False else name}" '
                'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="SLIST_PQ">'
                f'<origin value="{origin_uv:g}" unit="uV"/><scale value="{scale_uv:g}" unit="{scale_unit}"/>'
                f'<digits>{" ".join(map(str, digits.tolist()))}</digits></value></sequence></component>')
        set_xml.append("<component><sequenceSet>" + "".join(comps) + "</sequenceSet></component>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:voc="urn:hl7-org:v3/voc" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" classCode="OBS" moodCode="EVN">'
            '<id root="728989ec-b8db-4d4f-a4ca-6f1fd4e7c4a9"/><code code="93000" codeSystem="2.16.840.1.113883.6.12"/>'
            + (f'<effectiveTime><low value="{acquired}"/><high value="20240101120010"/></effectiveTime>'
               if acquired is not None else '')
            + '<component><series><id root="1"/><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>'
            '<effectiveTime><low value="20240101120000"/></effectiveTime>'
            + "".join(set_xml) + '</series></component></AnnotatedECG>').encode()


# ---------------------------------------------------------------------------------------------- EDF / BDF

def edf_bytes(leads: dict[str, np.ndarray], fs: float = 250.0, dimension: str = "uV", bdf: bool = False,
              extra: dict[str, tuple[np.ndarray, float, str]] | None = None, record_s: float = 1.0,
              recorded=None) -> bytes:
    """An EDF (or BDF) written by edfio: ECG channels labelled as given (e.g. 'ECG II'), physical values in
    ``dimension``; ``extra`` adds other signals (label -> (values, fs, dimension)), as sleep labs record.
    ``recorded`` (a datetime): the start date (EDF+ ``Startdate dd-MMM-yyyy`` and the header's ``dd.mm.yy``)
    and time; None: edfio's default, an anonymised ``Startdate X`` with the header's ``01.01.85 00.00.00``."""
    import edfio
    signal_cls, file_cls = (edfio.BdfSignal, edfio.Bdf) if bdf else (edfio.EdfSignal, edfio.Edf)
    digital = (-8388608, 8388607) if bdf else (-32768, 32767)
    signals = []
    for label, values in leads.items():
        v = np.asarray(values, dtype=np.float64)
        lim = float(max(np.abs(v).max(), 1.0)) * 1.01
        signals.append(signal_cls(v, fs, label=label, physical_dimension=dimension,
                                  physical_range=(-lim, lim), digital_range=digital, transducer_type="AgAgCl electrode"))
    for label, (values, rate, dim) in (extra or {}).items():
        v = np.asarray(values, dtype=np.float64)
        lim = float(max(np.abs(v).max(), 1.0)) * 1.01
        signals.append(signal_cls(v, rate, label=label, physical_dimension=dim, physical_range=(-lim, lim),
                                  digital_range=digital))
    buf = io.BytesIO()
    dated = {} if recorded is None else {"recording": edfio.Recording(startdate=recorded.date()),
                                         "starttime": recorded.time()}
    file_cls(signals, data_record_duration=record_s, **dated).write(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- SCP-ECG

SCP_LEAD_CODES = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8, "X": 16, "III": 61,
                  "aVR": 62, "aVL": 63, "aVF": 64, "-aVR": 65}


def _scp_crc(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)     # CRC-CCITT as EN 1064 defines it (CRC-16/CCITT-FALSE)


assert _scp_crc(b"123456789") == 0x29B1       # that variant's published check value


def scp_record(bodies: dict[int, bytes], version: int = 20) -> bytes:
    """An SCP-ECG record from section bodies (section number -> bytes after the 16-byte header): section 0
    (pointers to sections 0-11 and any others), each section's header and CRC, the record CRC and length."""
    numbers = sorted(set(range(12)) | set(bodies))
    pointer_body_len = 10 * len(numbers)
    offsets, pos = {}, 6 + 16 + pointer_body_len
    for number in numbers:
        if number and number in bodies:
            offsets[number] = pos
            pos += 16 + len(bodies[number])

    def section(number: int, body: bytes) -> bytes:
        reserved = b"SCPECG" if number == 0 else b"\x00" * 6
        rest = struct.pack("<HIBB", number, 16 + len(body), version, version) + reserved + body
        return struct.pack("<H", _scp_crc(rest)) + rest

    pointers = b"".join(struct.pack("<HII", n, 16 + pointer_body_len, 7) if n == 0 else
                        struct.pack("<HII", n, 16 + len(bodies[n]), offsets[n] + 1) if n in bodies else
                        struct.pack("<HII", n, 0, 0) for n in numbers)
    body = section(0, pointers) + b"".join(section(n, bodies[n]) for n in numbers if n and n in bodies)
    rest = struct.pack("<I", 6 + len(body)) + body
    return struct.pack("<H", _scp_crc(rest)) + rest


def scp_huffman_encode(values: np.ndarray) -> bytes:
    """The standard's default Huffman code, first bit = highest bit of a byte: 0 -> '0'; +-k (k = 1..8) ->
    k ones, '0', then '0' for + and '1' for -; else '1111111110' + 8 bits or '1111111111' + 16 bits."""
    bits = []
    for v in np.asarray(values, dtype=np.int64).tolist():
        if v == 0:
            bits.append("0")
        elif abs(v) <= 8:
            bits.append("1" * abs(v) + "0" + ("0" if v > 0 else "1"))
        elif -128 <= v <= 127:
            bits.append("1111111110" + format(v & 0xFF, "08b"))
        else:
            bits.append("1111111111" + format(v & 0xFFFF, "016b"))
    text = "".join(bits)
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def scp_bytes(leads: dict[str, np.ndarray], version: int = 20, **options) -> bytes:
    """An SCP-ECG file as a cart writes it (the sections of ``scp_sections``, with their CRCs)."""
    return scp_record(scp_sections(leads, **options), version)


def scp_sections(leads: dict[str, np.ndarray], fs: float = 500.0, avm_nv: int = 1000, huffman: bool = False,
                 difference: int = 0, age: int | None = 63, sex: int | None = 2, bimodal: int = 0,
                 tables: int | None = None, reference_beats: bool = False,
                 acquired: tuple[int, ...] | None = None) -> dict[int, bytes]:
    """Section bodies of an SCP-ECG file: leads (name -> µV) stored as integers of ``avm_nv`` nV each,
    uncompressed or with the default Huffman table, with no, first or second differences. Section 1 holds a
    name and patient ID (which a reader must not copy), the age (years) and the sex (1 male, 2 female);
    ``acquired`` (year, month, day[, hour, minute, second]) adds tags 25 (date of acquisition) and 26 (time)."""
    counts = [np.round(np.asarray(v, dtype=np.float64) * 1000 / avm_nv).astype(np.int64) for v in leads.values()]
    n = len(counts[0]) if counts else 0
    tags = b"".join(struct.pack("<BH", tag, len(value)) + value for tag, value in [
        (0, b"Doe\x00"), (1, b"Jane\x00"), (2, b"PID-1234567\x00"),
        *([(4, struct.pack("<HB", age, 1))] if age is not None else []),
        *([(8, bytes([sex]))] if sex is not None else []),
        *([(25, struct.pack("<HBB", *acquired[:3]))] if acquired else []),
        *([(26, bytes(acquired[3:6]))] if acquired and len(acquired) >= 6 else [])]) + b"\xff\x00\x00"
    section3 = bytes([len(counts), (4 | (len(counts) << 3)) & 0xFF | (1 if reference_beats else 0)]) + b"".join(
        struct.pack("<IIB", 1, n, SCP_LEAD_CODES[name]) for name in leads)
    encoded = []
    for x in counts:
        d = x.copy()
        if difference == 1:
            d[1:] = x[1:] - x[:-1]
        elif difference == 2:
            d[2:] = x[2:] - 2 * x[1:-1] + x[:-2]
        encoded.append(scp_huffman_encode(d) if huffman else d.astype("<i2").tobytes())
    section6 = struct.pack("<HHBB", avm_nv, int(round(1e6 / fs)), difference, bimodal) + b"".join(
        struct.pack("<H", len(e)) for e in encoded) + b"".join(encoded)
    bodies = {1: tags, 3: section3, 6: section6}
    if huffman or tables is not None:
        bodies[2] = struct.pack("<H", 19999 if tables is None else tables)
    return bodies


def edf_discontinuous(leads: dict[str, np.ndarray], onsets: list[float], fs: float = 250.0, bdf: bool = False,
                      record_s: float = 1.0) -> bytes:
    """An EDF+D (or BDF+D) file: the leads' samples (one data record per ``record_s``) written by edfio as
    EDF+C, then marked discontinuous and each record's time stamp (its first TAL, '+<onset>\\x14\\x14\\x00')
    set to ``onsets[r]`` - the layout of a Holter or sleep recording that paused."""
    import edfio
    edf = (edfio.read_bdf if bdf else edfio.read_edf)(edf_bytes(leads, fs=fs, bdf=bdf, record_s=record_s))
    edf.add_annotations([edfio.EdfAnnotation(0.0, None, "recording start, long enough for any time stamp")])
    data = bytearray(edf.to_bytes())
    fmt = "BDF" if bdf else "EDF"
    data[192:236] = f"{fmt}+D".ljust(44).encode()
    n_signals, header = int(data[252:256]), int(data[184:192])
    per_record = [int(data[256 + 216 * n_signals + 8 * i:264 + 216 * n_signals + 8 * i]) for i in range(n_signals)]
    width = 3 if bdf else 2
    offset, size, record = header + width * sum(per_record[:-1]), width * per_record[-1], width * sum(per_record)
    assert len(onsets) == int(data[236:244])
    for r, onset in enumerate(onsets):
        tal = ("+" + f"{onset:.6f}".rstrip("0").rstrip(".") + "\x14\x14\x00").encode()
        data[offset + r * record:offset + r * record + size] = tal.ljust(size, b"\x00")
    return bytes(data)
