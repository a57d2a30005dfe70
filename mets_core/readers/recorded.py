"""When a recording began, as every reader keeps it: ``metadata["recorded_at"]``, an ISO 8601 string.

"1987-07-22T13:40:59" (date and time), "1987-07-22T13:40:59+02:00" (with the file's UTC offset),
"1987-07-22" (a date alone) or "13:40:59" (a time alone, as WFDB allows); no key when the file gives no
usable date. Whole seconds: fractions are dropped. ``datetime.fromisoformat`` reads every form (the
dashboard's Compare page orders two ECGs by it).

A module of its own rather than a part of ``channels.py`` or ``limits.py``: those hold the rules that turn
channels into an ``ECG`` and the size limits; this is the one rule for a file's date and time, shared by
every format module (each parses its own field layout into numbers, then calls ``iso_stamp``).

A date that cannot be (month 13, day 32, year 0, letters) gives None, never an exception: a bad date must
not make a readable ECG unreadable. A date can identify a patient: it is kept in the ECG's metadata, in
memory, and never logged or put into an error message.
"""
from __future__ import annotations

import datetime as _dt
import re

Date = tuple[int, int, int]          # year, month, day
Time = tuple[int, int, int]          # hour, minute, second

FIRST_YEAR = 1900       # no ECG was recorded before (Einthoven, 1901): an earlier year is a placeholder or damage

_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{0,6}(?:\.\d{0,6})?)([+-]\d{4})?")
_COMPACT_TIME = re.compile(r"(\d{2})(?:(\d{2})(\d{2})?)?(?:\.\d{0,6})?")


def iso_stamp(date: Date | None, time: Time | None = None, offset_minutes: int | None = None) -> str | None:
    """ISO 8601 of a date (year, month, day) and an optional time of day (hour, minute, second), or of a time
    alone; ``offset_minutes``: the file's UTC offset (minutes east), kept only with a date and a time and
    only when it is one (under 24 hours). None when there is no date and no time, or the date is impossible
    (or before FIRST_YEAR); an impossible time beside a possible date is dropped, the date kept."""
    day = _date(date) if date is not None else None
    if date is not None and day is None:
        return None
    clock = _time(time) if time is not None else None
    if day is None:
        return clock.isoformat() if clock is not None else None
    if clock is None:
        return day.isoformat()
    stamp = _dt.datetime.combine(day, clock)
    if offset_minutes is not None and abs(offset_minutes) < 24 * 60:
        stamp = stamp.replace(tzinfo=_dt.timezone(_dt.timedelta(minutes=offset_minutes)))
    return stamp.isoformat()


def compact(text: str | None) -> tuple[Date | None, Time | None, int | None]:
    """(date, time, UTC offset in minutes) of the compact form DICOM (DT, DA) and HL7 (TS) write:
    ``YYYYMMDD[HH[MM[SS[.FFFFFF]]]][+-HHMM]``; (None, None, None) for anything else (a year or a month alone
    is no date). Only the form is checked here; ``iso_stamp`` checks that the values can be."""
    m = _COMPACT.fullmatch((text or "").strip())
    if m is None:
        return None, None, None
    date = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    time = compact_time(m.group(4)) if m.group(4) else None
    return date, time, _offset(m.group(5)) if time is not None else None


def compact_time(text: str | None) -> Time | None:
    """(hour, minute, second) of DICOM's TM (``HH[MM[SS[.FFFFFF]]]``) or of ``HH:MM[:SS]`` (GE MUSE, Philips,
    DICOM's older TM); missing minutes and seconds are 0; None for anything else."""
    m = _COMPACT_TIME.fullmatch((text or "").strip().replace(":", ""))
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)


def _offset(text: str | None) -> int | None:
    """Minutes east of UTC of ``+HHMM``/``-HHMM``, or None (absent, or minutes past 59)."""
    if not text or int(text[3:]) > 59:
        return None
    minutes = 60 * int(text[1:3]) + int(text[3:])
    return -minutes if text[0] == "-" else minutes


def _date(date: Date) -> _dt.date | None:
    try:
        day = _dt.date(*(int(x) for x in date))
    except (TypeError, ValueError, OverflowError):
        return None
    return day if day.year >= FIRST_YEAR else None


def _time(time: Time) -> _dt.time | None:
    try:
        return _dt.time(*(int(x) for x in time))
    except (TypeError, ValueError, OverflowError):
        return None
