"""HL7 v3 annotated ECG (``<AnnotatedECG>``, the FDA's aECG format for clinical trials).

Layout: ``component/series`` (``code`` RHYTHM; representative beats live in ``derivedSeries``), each with
``component/sequenceSet/component/sequence`` elements. One sequence is time: ``code`` TIME_ABSOLUTE or
TIME_RELATIVE with ``value/increment`` (``value``, ``unit`` s or ms) giving the sampling interval. The
others are leads: ``code`` MDC_ECG_LEAD_I ... MDC_ECG_LEAD_V6 (ISO/IEEE 11073 names) with a value of type
SLIST_PQ: ``origin`` and ``scale`` (``value``, ``unit`` uV or mV) and ``digits`` (whitespace-separated
integers); each sample is origin + scale x digit. Several sequence sets (e.g. one per 10 s) are read as
consecutive pieces of one recording only when they are sampled alike; otherwise the first is read.
When the recording began is the AnnotatedECG's ``effectiveTime/low`` (HL7 TS ``YYYYMMDDHHMMSS.fff+ZZZZ``,
possibly shorter), kept as ``metadata["recorded_at"]`` (``recorded.py``).
"""
from __future__ import annotations

import numpy as np

from ..ecg import ECGReadError
from . import xml_safe
from .channels import Channels, to_mv_factor, with_caller_hints
from .limits import MAX_TOTAL_SAMPLES
from .recorded import compact, iso_stamp
from .xml_safe import number, stack

LEAD_PREFIX = "MDC_ECG_LEAD_"


def read(data: bytes, filename: str, lead_names: list[str] | None = None,
         fs_given: float | None = None) -> Channels:
    where = f"HL7 aECG file {filename!r}"
    root = xml_safe.parse(data, where, "AnnotatedECG")
    series = root.findall("component/series")
    if not series:
        raise ECGReadError(f"{where} has no component/series; an aECG holds its waveforms in series")
    rhythm = next((s for s in series if (s.find("code") is not None and
                                         (s.find("code").get("code") or "").upper() == "RHYTHM")), series[0])
    sets = rhythm.findall("component/sequenceSet")
    if not sets:
        raise ECGReadError(f"{where}: the series holds no sequenceSet (no waveform)")
    pieces = [_read_set(s, f"{where} sequenceSet {i + 1}") for i, s in enumerate(sets)]
    fs, names, rows = pieces[0]
    used = 1
    for p_fs, p_names, p_rows in pieces[1:]:     # consecutive pieces of the same leads at the same rate
        if abs(p_fs - fs) > 1e-6 * fs or p_names != names:
            break
        rows = [np.concatenate([a, b]) for a, b in zip(rows, p_rows)]
        used += 1
    code = rhythm.find("code")
    meta = {"source_format": "hl7-aecg", "units": "declared per lead (origin and scale units)",
            "aecg_series": (code.get("code") if code is not None else None) or "first series",
            "aecg_sequence_sets": f"{used} of {len(sets)} read"}
    low = root.find("effectiveTime/low")
    date, time, offset = compact(low.get("value") if low is not None else None)
    recorded = iso_stamp(date, time, offset) if date is not None else None
    if recorded is not None:
        meta["recorded_at"] = recorded
    return with_caller_hints(Channels(stack(rows), names, fs, meta, repr(filename)),
                             lead_names, fs_given)


def _read_set(sequence_set, where: str) -> tuple[float, list[str], list[np.ndarray]]:
    fs = None
    names, rows = [], []
    total = 0
    for seq in sequence_set.findall("component/sequence"):
        code_el = seq.find("code")
        code = (code_el.get("code") if code_el is not None else "") or ""
        value = seq.find("value")
        if value is None:
            continue
        if code.upper().startswith("TIME_"):
            fs = _rate(value, where)
            continue
        if not code.upper().startswith(LEAD_PREFIX):
            continue                       # other sequences (e.g. respiration) are not ECG leads
        lead = code[len(LEAD_PREFIX):]
        samples = _lead_values(value, f"{where} lead {lead}", MAX_TOTAL_SAMPLES - total)
        total += samples.size
        names.append(lead)
        rows.append(samples)
    if fs is None:
        raise ECGReadError(f"{where} has no time sequence (TIME_ABSOLUTE or TIME_RELATIVE with an increment), "
                           f"so its sampling rate is unknown")
    if not rows:
        raise ECGReadError(f"{where} holds no lead sequence (codes {LEAD_PREFIX}I ... {LEAD_PREFIX}V6)")
    return fs, names, rows


def _rate(value, where: str) -> float:
    inc = value.find("increment")
    if inc is None:
        raise ECGReadError(f"{where}: the time sequence has no <increment> (sampling interval)")
    step = number(inc.get("value"), "the time increment", where)
    unit = (inc.get("unit") or "s").strip().lower()
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6}.get(unit)
    if scale is None:
        raise ECGReadError(f"{where}: time increment unit {unit!r} is not a time unit; accepted: s, ms")
    if step <= 0:
        raise ECGReadError(f"{where}: the time increment is {step:g} {unit}; it must be positive")
    return 1.0 / (step * scale)


def _lead_values(value, where: str, budget: int) -> np.ndarray:
    digits_el = value.find("digits")
    if digits_el is None or not (digits_el.text or "").strip():
        raise ECGReadError(f"{where} has no <digits> (no samples)")
    tokens = digits_el.text.split()
    if len(tokens) > budget:
        raise ECGReadError(f"{where}: the file holds more than {MAX_TOTAL_SAMPLES:,} samples in all; too large")
    try:
        digits = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise ECGReadError(f"{where}: <digits> holds {bad[:20]!r}, which is not a number") from None
    origin, origin_factor = _quantity(value.find("origin"), "origin", where, default=0.0)
    scale, scale_factor = _quantity(value.find("scale"), "scale", where, default=None)
    return origin * origin_factor + digits * (scale * scale_factor)


def _quantity(el, what: str, where: str, default: float | None) -> tuple[float, float]:
    """(value, factor to mV) of an origin/scale element."""
    if el is None:
        if default is None:
            raise ECGReadError(f"{where} has no <{what}>; each lead needs origin and scale with a voltage unit")
        return default, 1.0
    amount = number(el.get("value"), what, where)
    unit = el.get("unit") or ""
    factor = to_mv_factor(unit)
    if factor is None:
        raise ECGReadError(f"{where}: the {what} unit is {unit!r}, not a voltage; accepted: uV, mV, V")
    return amount, factor


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False
