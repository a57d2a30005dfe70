"""GE MUSE XML (``<RestingECG>``), as MUSE and GE MAC carts export resting ECGs.

Layout: ``RestingECG/Waveform`` elements, each with ``WaveformType`` (``Rhythm``: the full 10 s recording;
``Median``: one representative beat per lead), ``SampleBase`` (Hz) and ``SampleExponent`` (rate =
base x 10^exponent), and one ``LeadData`` per lead: ``LeadID``, ``LeadAmplitudeUnitsPerBit``,
``LeadAmplitudeUnits`` (MICROVOLTS), ``LeadSampleSize`` (bytes per sample, 2), ``LeadSampleCountTotal``
and ``WaveFormData`` (base64 of little-endian signed integers). MUSE stores the 8 independent leads
I, II, V1-V6; III, aVR, aVL and aVF are derived from I and II (Einthoven, Goldberger) unless stored.
No patient demographics are read; when the recording began (``TestDemographics/AcquisitionDate``,
``MM-DD-YYYY``, and ``AcquisitionTime``, ``HH:MM:SS``) is kept as ``metadata["recorded_at"]`` (``recorded.py``).
"""
from __future__ import annotations

import re

import numpy as np

from ..ecg import ECGReadError, standard_lead
from . import xml_safe
from .channels import Channels, to_mv_factor, with_caller_hints
from .recorded import compact_time, iso_stamp
from .limits import MAX_SAMPLES_PER_LEAD, override_names
from .xml_safe import b64decode, integer, number, stack

WAVEFORMS = ("Rhythm", "Median")
_DATE = re.compile(r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})")          # MM-DD-YYYY


def read(data: bytes, filename: str, lead_names: list[str] | None = None,
         fs_given: float | None = None, *, waveform: str = "Rhythm") -> Channels:
    """The ``waveform`` ('Rhythm' by default; 'Median' for the representative beats) of a MUSE file.
    ``lead_names``/``fs_given``: the caller's names and rate (``read_ecg``'s arguments).
    Without a rhythm waveform the median beats are read, and ``metadata['muse_waveform']`` says so."""
    where = f"GE MUSE XML file {filename!r}"
    root = xml_safe.parse(data, where, "RestingECG")
    waveforms = {(xml_safe.text(w, "WaveformType") or "").capitalize(): w for w in root.findall("Waveform")}
    if not waveforms:
        raise ECGReadError(f"{where} holds no <Waveform>; a MUSE resting ECG has a Rhythm and a Median waveform")
    chosen = waveform.capitalize() if waveform.capitalize() in waveforms else next(
        (w for w in WAVEFORMS if w in waveforms), None)
    if chosen is None:
        raise ECGReadError(f"{where} has waveforms of type {sorted(waveforms)}; accepted: {', '.join(WAVEFORMS)}")
    wf = waveforms[chosen]
    where_wf = f"{where} ({chosen} waveform)"
    base = number(xml_safe.text(wf, "SampleBase"), "SampleBase (the sampling rate)", where_wf)
    exponent = number(xml_safe.text(wf, "SampleExponent") or "0", "SampleExponent", where_wf)
    if abs(exponent) > 6:
        raise ECGReadError(f"{where_wf}: SampleExponent {exponent:g} gives no plausible sampling rate")
    fs = base * 10.0 ** exponent
    rows, names, units = [], [], []
    leads = wf.findall("LeadData")
    if not leads:
        raise ECGReadError(f"{where_wf} has no <LeadData>: no lead was stored")
    for lead in leads:
        rows.append(_lead_samples(lead, where_wf))
        names.append(xml_safe.text(lead, "LeadID") or "")
        units.append(xml_safe.text(lead, "LeadAmplitudeUnits") or "MICROVOLTS")
    meta = {"source_format": "ge-muse-xml", "muse_waveform": chosen,
            "units": " ".join(sorted(set(units))) + " (declared, with each lead's units per bit)",
            "waveforms_in_file": " ".join(sorted(waveforms))}
    version = xml_safe.text(root, "MuseInfo/MuseVersion")
    if version:
        meta["muse_version"] = version
    recorded = _recorded_at(root)
    if recorded is not None:
        meta["recorded_at"] = recorded
    # the caller's names are for the stored leads: the limb leads are derived from them after
    names = override_names(names, lead_names, len(names), repr(filename))
    derive_limb_leads(rows, names, meta)
    return with_caller_hints(Channels(stack(rows), names, fs, meta, repr(filename)), None, fs_given)


def _recorded_at(root) -> str | None:
    """``TestDemographics/AcquisitionDate`` (MM-DD-YYYY) and ``AcquisitionTime`` (HH:MM:SS) in ISO 8601, or
    None (no date, or an impossible one)."""
    date = _DATE.fullmatch(xml_safe.text(root, "TestDemographics/AcquisitionDate") or "")
    if date is None:
        return None
    month, day, year = (int(g) for g in date.groups())
    return iso_stamp((year, month, day), compact_time(xml_safe.text(root, "TestDemographics/AcquisitionTime")))


def _lead_samples(lead, where: str) -> np.ndarray:
    lead_id = xml_safe.text(lead, "LeadID") or "?"
    where = f"{where} lead {lead_id}"
    size = integer(xml_safe.text(lead, "LeadSampleSize") or "2", "LeadSampleSize", where, 1, 4)
    if size not in (1, 2, 4):
        raise ECGReadError(f"{where}: LeadSampleSize {size} is not 1, 2 or 4 bytes")
    unit = xml_safe.text(lead, "LeadAmplitudeUnits") or "MICROVOLTS"
    factor = to_mv_factor(unit)
    if factor is None:
        raise ECGReadError(f"{where}: LeadAmplitudeUnits is {unit!r}, not a voltage; accepted: MICROVOLTS, "
                           f"MILLIVOLTS, VOLTS")
    per_bit = number(xml_safe.text(lead, "LeadAmplitudeUnitsPerBit") or "1", "LeadAmplitudeUnitsPerBit", where)
    if per_bit <= 0:
        raise ECGReadError(f"{where}: LeadAmplitudeUnitsPerBit is {per_bit:g}; it must be positive "
                           f"(typically 4.88 microvolts per bit)")
    raw = b64decode(xml_safe.text(lead, "WaveFormData"), where)
    if len(raw) % size:
        raise ECGReadError(f"{where}: the waveform data are {len(raw)} bytes, not a whole number of "
                           f"{size}-byte samples; the file is damaged")
    samples = np.frombuffer(raw, dtype=f"<i{size}").astype(np.float64)
    declared = xml_safe.text(lead, "LeadSampleCountTotal")
    if declared is not None:
        n = integer(declared, "LeadSampleCountTotal", where, 1, MAX_SAMPLES_PER_LEAD)
        if samples.size < n:
            raise ECGReadError(f"{where} is truncated: LeadSampleCountTotal is {n} but the data hold "
                               f"{samples.size} samples")
        samples = samples[:n]
    return samples * per_bit * factor


def derive_limb_leads(signals: list[np.ndarray], names: list[str], meta: dict[str, str]) -> None:
    """Add III, aVR, aVL, aVF from I and II (Einthoven, Goldberger) when the file stores only the
    independent leads, as GE MUSE does. In place; noted in ``meta['derived_leads']``."""
    std = [standard_lead(n) for n in names]
    if "I" not in std or "II" not in std:
        return
    i, ii = signals[std.index("I")], signals[std.index("II")]
    n = min(len(i), len(ii))
    i, ii = i[:n], ii[:n]
    derived = {"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2}
    added = [lead for lead in derived if lead not in std]
    for lead in added:
        signals.append(derived[lead])
        names.append(lead)
    if added:
        meta["derived_leads"] = " ".join(added) + " (from I and II: III=II-I, aVR=-(I+II)/2, " \
                                                  "aVL=I-II/2, aVF=II-I/2)"
