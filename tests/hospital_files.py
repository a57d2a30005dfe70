"""Builders of the ECG files hospitals export (GE MUSE XML, Philips Sierra XML with XLI compression,
HL7 aECG XML, EDF/BDF), shaped as the devices write them, generated in memory by the tests.

The signals are integers in device units (microvolts / units per bit) so that a reader's output can be
compared exactly with what was written. ``synthetic_12lead`` is a smooth beat train with the limb leads
related as on a body (III = II - I, Goldberger's augmented leads), so derived leads can be checked.
"""
from __future__ import annotations

import base64
import io
import struct

import numpy as np

LEADS12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def synthetic_12lead(seconds: float = 10.0, fs: float = 500.0, seed: int = 0, hr: float = 72.0) -> dict[str, np.ndarray]:
    """Lead name -> float µV (a PQRST beat train, different amplitude per lead, a little noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    beat = np.zeros_like(t)
    for onset in np.arange(0.3, seconds, 60.0 / hr):
        for centre, width, amp in ((0.0, 0.025, 150), (0.16, 0.010, -120), (0.18, 0.012, 1200),
                                   (0.20, 0.010, -250), (0.42, 0.045, 300)):
            beat += amp * np.exp(-0.5 * ((t - onset - centre) / width) ** 2)
    out = {"I": 0.6 * beat, "II": 1.0 * beat}
    out["III"], out["aVR"] = out["II"] - out["I"], -(out["I"] + out["II"]) / 2
    out["aVL"], out["aVF"] = out["I"] - out["II"] / 2, out["II"] - out["I"] / 2
    for k, gain in zip(("V1", "V2", "V3", "V4", "V5", "V6"), (-0.5, -0.2, 0.4, 1.1, 1.0, 0.8)):
        out[k] = gain * beat + rng.normal(0, 8, t.size)
    return out


# ---------------------------------------------------------------------------------------------- GE MUSE

def _b64_lines(raw: bytes, width: int = 76) -> str:
    text = base64.b64encode(raw).decode()
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


def muse_xml(rhythm: dict[str, np.ndarray], fs: int = 500, median: dict[str, np.ndarray] | None = None,
             units_per_bit: float = 4.88, units: str = "MICROVOLTS", sample_exponent: int = 0,
             declared_counts: dict[str, int] | None = None, doctype: bool = True) -> bytes:
    """A MUSE RestingECG export: demographics (made up), a Median and a Rhythm waveform; ``rhythm`` values
    are in ``units`` and are stored as int16 counts of ``units_per_bit``."""
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
            "<Site>1</Site><AcquisitionDevice>MAC55</AcquisitionDevice></TestDemographics>"
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
                compression: str = "XLI", version: str = "1.04", chunk_bytes: bytes | None = None) -> bytes:
    """A Philips Sierra ECG export; ``leads`` are µV (12 standard leads, in order), stored as counts of
    ``resolution`` µV. With XLI, III/aVR/aVL/aVF are stored as residuals, as the carts do."""
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
            '<dataacquisition><signalcharacteristics><acquisitiontype>STD-12</acquisitiontype>'
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
             scale_unit: str = "uV", increment_unit: str = "s", sets: int = 1) -> bytes:
    """An FDA HL7 aECG: one RHYTHM series; ``leads`` µV stored as digits of ``scale_uv`` µV;
    ``sets`` > 1 splits the recording into consecutive sequence sets."""
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
            '<effectiveTime><low value="20240101120000"/><high value="20240101120010"/></effectiveTime>'
            '<component><series><id root="1"/><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>'
            '<effectiveTime><low value="20240101120000"/></effectiveTime>'
            + "".join(set_xml) + '</series></component></AnnotatedECG>').encode()


# ---------------------------------------------------------------------------------------------- EDF / BDF

def edf_bytes(leads: dict[str, np.ndarray], fs: float = 250.0, dimension: str = "uV", bdf: bool = False,
              extra: dict[str, tuple[np.ndarray, float, str]] | None = None, record_s: float = 1.0) -> bytes:
    """An EDF (or BDF) written by edfio: ECG channels labelled as given (e.g. 'ECG II'), physical values in
    ``dimension``; ``extra`` adds other signals (label -> (values, fs, dimension)), as sleep labs record."""
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
    file_cls(signals, data_record_duration=record_s).write(buf)
    return buf.getvalue()
