"""Measurements as every page shows them (the reader, the comparison, the batch table, the PDF report): which
values, in what order, and rounded to whole units as ECG machines print them. No Streamlit here."""
from __future__ import annotations

import math
import re

from .plotting import hms

# (label, Measurements attribute, unit, the key of the note that says why it is not given)
FIELDS = (("Heart rate", "heart_rate_bpm", "bpm", "rate"), ("RR", "rr_ms", "ms", "rate"),
          ("PR", "pr_ms", "ms", "pr"), ("QRS", "qrs_ms", "ms", "qrs"), ("QT", "qt_ms", "ms", "qt"),
          ("QTc Bazett", "qtc_ms", "ms", "qtc"), ("QTc Fridericia", "qtc_fridericia_ms", "ms", "qtc"),
          ("QTc Framingham", "qtc_framingham_ms", "ms", "qtc"), ("Frontal axis", "axis_deg", "°", "axis"))


def shown_value(m, attribute: str) -> int | None:
    """One measurement of `m` rounded to a whole bpm, ms or degree; None when it is not given."""
    value = getattr(m, attribute, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(round(value))


def shown_text(m, attribute: str, unit: str) -> str | None:
    """"412 ms", "-3°"; None when not given."""
    value = shown_value(m, attribute)
    return None if value is None else f"{value}{unit}" if unit == "°" else f"{value} {unit}"


def missing_words(m, note_key: str) -> str:
    """What stands in place of a value not given: "not applicable" (the rhythm has none: no PR in atrial
    fibrillation) or "not measurable" (the signal does not allow it); `m.notes[note_key]` says why."""
    note = (getattr(m, "notes", None) or {}).get(note_key) or ""
    return "not applicable" if "not applicable" in note else "not measurable"


def not_given(m, attributes=None) -> list[tuple[str, str]]:
    """(label, note key) of each of ``FIELDS`` (those of `attributes`, when given) that `m` gives no value for:
    the one list the pages word their reasons from (Batch's CSV per measurement, Compare per reason)."""
    return [(label, note) for label, attr, _, note in FIELDS
            if (attributes is None or attr in attributes) and shown_value(m, attr) is None]


def why_missing(m, note_key: str) -> str:
    """`m.notes[note_key]` for the line under "not applicable": without its own closing words ("...: PR not
    applicable"), which the box says already."""
    note = (getattr(m, "notes", None) or {}).get(note_key) or ""
    return re.sub(r":\s*\w+ not applicable$", "", note)


def column_name(attribute: str) -> str:
    """A table column's name for one of ``FIELDS``: "QRS (ms)"."""
    label, _, unit, _ = next(f for f in FIELDS if f[1] == attribute)
    return f"{label} ({unit})"


def measured_span(m, duration_s: float) -> str:
    """Which stretch of the recording `m` describes: "whole ECG", or e.g. "0:00:00–0:01:00 of 0:30:05.6"."""
    if m.seconds_analysed >= duration_s - 0.5:
        return "whole ECG"
    return f"{hms(m.start_s)}–{hms(m.start_s + m.seconds_analysed)} of {hms(duration_s)}"
