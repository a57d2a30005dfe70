"""CSV (and TSV / whitespace-separated text): a header row of lead names, an optional time or sample-index
column, mV or µV.

Units: a column may carry a unit suffix (``II (uV)``, ``V1_mV``, ``I [µV]``), a ``# units=uV`` comment, or a
units row under the header (PhysioNet's export); without any, the rule of ``channels.apply_inferred_units``
decides. Sampling rate: the ``fs=`` argument, a ``# fs=500`` comment, a time column (seconds, or ms when
the column is named so), or the file name (``rec_500hz.csv``); sources that disagree are an error, and the
rate is never guessed.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..ecg import ECGReadError, UnnamedLeadsError, standard_lead
from .channels import Channels, apply_inferred_units, to_mv_factor
from .limits import (ACCEPTED_FORMATS, ACCEPTED_LEAD_NAMES, MAX_FS, MIN_FS, brief, check_channels, check_fs,
                     override_names)

_TIME_NAMES = {"time", "t", "second", "seconds", "sec", "secs", "s", "timestamp", "elapsedtime",
               "times", "ms", "msec", "millisecond", "milliseconds", "timems", "tms"}
_MS_TIME_NAMES = {"ms", "msec", "millisecond", "milliseconds", "timems", "tms"}
_INDEX_NAMES = {"sample", "samples", "index", "idx", "n", "#", "samplenumber", "sampleindex", "samplenr",
                "unnamed:0", ""}
_TIME_UNITS = {"s", "sec", "seconds", "ms", "msec", "hh:mm:ss.mmm", "hh:mm:ss", "mm:ss.mmm"}
_UNIT_SUFFIX = re.compile(r"^(?P<base>.*?)[\s_-]*(?:[(\[]\s*(?P<u1>[^)\]]*?)\s*[)\]]|_(?P<u2>mv|uv|µv|μv|ms))$",
                          re.I)
_FS_COMMENT = re.compile(r"\b(?:fs|sampling[\s_-]*(?:rate|frequency)|sample[\s_-]*rate)\s*[=:]?\s*"
                         r"(?P<fs>\d+(?:\.\d+)?)", re.I)
_UNITS_COMMENT = re.compile(r"\bunits?\s*[=:]\s*(?P<u>[a-zµμ]+)", re.I)
_FS_FILENAME = re.compile(r"(?:^|[^a-z0-9])(?:fs[_-]?(?P<a>\d+(?:\.\d+)?)|(?P<b>\d+(?:\.\d+)?)[_-]?hz)"
                          r"(?:$|[^a-z0-9])", re.I)
_TIME_STRING = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")
_MISSING_CELLS = {"", "nan", "na", "n/a", "-", "null"}

ACCEPTED_CSV = (
    "a header row of lead names (" + ACCEPTED_LEAD_NAMES + "), optionally with a unit suffix such as "
    "'II (uV)' or 'V1_mV'; an optional time column (time, t, seconds, s in seconds; ms, time_ms, "
    "'time (ms)' in milliseconds) or sample index column (sample, index)")


def _unquote(cell: str) -> str:
    return cell.strip().strip("'\"").strip()


def _is_voltage_or_time_unit(unit: str) -> bool:
    return to_mv_factor(unit) is not None or unit.lower() in _TIME_UNITS


def _split_unit(column: str) -> tuple[str, str | None]:
    """'II (uV)' -> ('II', 'uV'); 'V1_mV' -> ('V1', 'mV'); 'aVR' -> ('aVR', None)."""
    column = _unquote(column)
    m = _UNIT_SUFFIX.match(column)
    if m:
        unit = (m.group("u1") or m.group("u2") or "").strip()
        if unit and _is_voltage_or_time_unit(unit):
            return m.group("base").strip(), unit
    return column, None


def _classify(column: str) -> tuple[str, str | None, str]:
    """(role, unit, base name) of a CSV header cell; role is 'time', 'index', 'lead' or 'unknown'."""
    base, unit = _split_unit(column)
    key = re.sub(r"[\s._-]", "", base).lower()
    if key in _TIME_NAMES:
        return "time", unit or ("ms" if key in _MS_TIME_NAMES else "s"), base
    if key in _INDEX_NAMES:
        return "index", unit, base
    if standard_lead(base) is not None:
        return "lead", unit, base
    return "unknown", unit, base


def _is_number(cell: str) -> bool:
    cell = _unquote(cell)
    if cell.lower() in _MISSING_CELLS or _TIME_STRING.match(cell):
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _parse_time(cells: list[str], unit: str | None, where: str) -> np.ndarray:
    """Seconds from a time column: numbers (s, or ms) or h:mm:ss.mmm strings (PhysioNet exports)."""
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        cell = _unquote(cell)
        m = _TIME_STRING.match(cell)
        try:
            out[i] = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else float(cell)
        except ValueError:
            raise ECGReadError(f"{where}: time value {cell!r} (data row {i + 1}) is neither a number nor "
                               f"h:mm:ss.mmm; accepted: {ACCEPTED_CSV}") from None
    scale = 1e-3 if (unit or "").lower() in ("ms", "msec") else 1.0
    return out * scale


def _fs_from_time(t: np.ndarray, where: str) -> float:
    if not np.isfinite(t).all():
        raise ECGReadError(f"{where}: the time column must hold a finite time in every row")
    if np.any(np.diff(t) <= 0):
        raise ECGReadError(f"{where}: the time column must increase from row to row")
    fs = (t.size - 1) / (t[-1] - t[0])
    if abs(fs - round(fs)) <= 1e-3 * fs:
        fs = float(round(fs))
    if np.max(np.abs(t - (t[0] + np.arange(t.size) / fs))) > 0.5 / fs:
        raise ECGReadError(f"{where}: the time column is not evenly spaced (sampling must be uniform); "
                           f"resample the recording, or drop the time column and pass fs=")
    return fs


_DECIMAL_COMMA = re.compile(r"^\s*([+-]?\d+),(\d+(?:[eE][+-]?\d+)?)\s*$")


def _csv_rows(text: str, where: str) -> tuple[list[str], list[list[str]]]:
    """Comment lines (without '#') and the cells of the other non-empty lines."""
    lines = text.splitlines()
    comments = [ln.lstrip()[1:].strip() for ln in lines if ln.lstrip().startswith(("#", "%"))]
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    if not body:
        raise ECGReadError(f"{where} holds no data rows; expected {ACCEPTED_CSV}")
    delimiter = max([",", ";", "\t"], key=lambda d: body[0].count(d))
    if body[0].count(delimiter) == 0:
        return comments, [ln.split() for ln in body]       # whitespace-separated, or a single column
    try:
        rows = list(csv.reader(body, delimiter=delimiter, skipinitialspace=True))
    except csv.Error as e:
        raise ECGReadError(f"{where} is not valid CSV ({brief(e)}); expected {ACCEPTED_CSV}") from None
    if delimiter != ",":       # ';'- or tab-separated: a European export's decimal comma ("-0,2103") is a point
        rows = [[_DECIMAL_COMMA.sub(r"\1.\2", c) for c in row] for row in rows]
    return comments, rows


def _csv_rate(fs: float | None, comments: list[str], time: np.ndarray | None, filename: str, where: str) -> float:
    """The sampling rate from every source the CSV offers; sources that disagree are an error."""
    sources: dict[str, float] = {}
    if fs is not None:
        sources["the fs argument"] = fs
    fs_comment = next((m for c in comments if (m := _FS_COMMENT.search(c))), None)
    if fs_comment:
        sources["the '# fs=' comment"] = float(fs_comment.group("fs"))
    if time is not None:
        sources["the time column"] = _fs_from_time(time, where)
    from_name = _FS_FILENAME.search(Path(filename).stem)
    if from_name and not sources:
        sources["the file name"] = float(from_name.group("a") or from_name.group("b"))
    if not sources:
        raise ECGReadError(f"{where}: the sampling rate is unknown; add a time column (seconds, or ms if named "
                           f"'ms'/'time_ms'), a comment line '# fs=500', or pass fs=500 to read_ecg")
    (first, rate), *others = sources.items()
    for src, other in others:
        if abs(other - rate) > 0.01 * rate:
            raise ECGReadError(f"{where}: {first} says {rate:g} Hz but {src} says {other:g} Hz; make them agree")
    if first == "the time column" and rate < MIN_FS <= rate * 1000 <= MAX_FS:
        raise ECGReadError(f"{where}: the time column gives {rate:g} Hz if it is in seconds, outside the "
                           f"accepted {MIN_FS:g} Hz to {MAX_FS:g} Hz; if it is in milliseconds, name it "
                           f"'time_ms' or 'ms'")
    check_fs(rate, f"{where} ({first})")
    return rate


def read(data: bytes, filename: str, lead_names: list[str] | None = None, fs: float | None = None) -> Channels:
    where = f"CSV file {filename!r}"
    text = as_text(data)
    if text is None:
        raise ECGReadError(f"{filename!r} is not a text CSV file (binary content); accepted: {ACCEPTED_FORMATS}")
    comments, rows = _csv_rows(text, where)
    header = None if all(_is_number(c) for c in rows[0]) else rows[0]
    data_rows = rows[1:] if header is not None else rows
    units_row = None
    if header is not None and data_rows and all(
            not _unquote(c) or _is_voltage_or_time_unit(_unquote(c)) for c in data_rows[0]) and \
            not all(_is_number(c) for c in data_rows[0]):
        units_row, data_rows = [_unquote(c) for c in data_rows[0]], data_rows[1:]   # PhysioNet export style
    if header is None and lead_names is None:
        raise ECGReadError(f"{where} has no header row of lead names; add one (e.g. 'time,I,II,V1') or pass "
                           f"lead_names=[...]; accepted: {ACCEPTED_CSV}")
    n_cols = len(header) if header is not None else len(rows[0])
    roles = [_classify(c) for c in header] if header is not None else [("lead", None, "")] * n_cols
    if units_row is not None:
        roles = [(role, unit or (units_row[i] if i < len(units_row) and units_row[i] else None), base)
                 for i, (role, unit, base) in enumerate(roles)]
    signal_cols = [i for i, r in enumerate(roles) if r[0] in ("lead", "unknown")]
    if lead_names is not None:
        names = override_names([], lead_names, len(signal_cols), where + " (its signal columns)")
        roles = [("lead", roles[i][1], names[signal_cols.index(i)]) if i in signal_cols else roles[i]
                 for i in range(n_cols)]
    unknown = [_unquote(header[i]) for i, r in enumerate(roles) if r[0] == "unknown"]
    if unknown:
        message = (f"{where} has column(s) that are not ECG leads: {', '.join(map(repr, unknown))}; "
                   f"accepted: {ACCEPTED_CSV}; or pass lead_names=[...] to name the signal columns")
        if len(unknown) == len(signal_cols):     # no column is a lead: the caller can say which lead each is
            raise UnnamedLeadsError(message, unknown)
        raise ECGReadError(message)
    time_cols = [i for i, r in enumerate(roles) if r[0] == "time"]
    if len(time_cols) > 1:
        raise ECGReadError(f"{where} has {len(time_cols)} time columns; give at most one")
    if not signal_cols:
        raise ECGReadError(f"{where} has no lead columns; accepted: {ACCEPTED_CSV}")
    if len(data_rows) < 2:
        raise ECGReadError(f"{where} holds {'a single sample' if data_rows else 'no samples'}; an ECG needs "
                           f"at least 2 samples")
    check_channels(len(signal_cols), len(data_rows), where)
    values = np.empty((len(signal_cols), len(data_rows)))
    for r, row in enumerate(data_rows):
        if len(row) != n_cols:
            raise ECGReadError(f"{where}: data row {r + 1} has {len(row)} cells but the header has {n_cols}; "
                               f"every row needs one cell per column")
        for j, c in enumerate(signal_cols):
            cell = row[c].strip()
            try:
                values[j, r] = np.nan if cell.lower() in _MISSING_CELLS else float(cell)
            except ValueError:
                comma = " (with a decimal point, e.g. -0.21; a decimal comma is read when the columns are separated " \
                        "by ';' or tabs)" if _DECIMAL_COMMA.match(cell) else ""
                raise ECGReadError(f"{where}: data row {r + 1} holds {cell!r}, which is not a number; lead "
                                   f"columns must hold numbers{comma} (empty or NaN for a missing sample)") from None
    time = None
    if time_cols:
        time = _parse_time([row[time_cols[0]] for row in data_rows], roles[time_cols[0]][1], where)
    rate = _csv_rate(fs, comments, time, filename, where)
    meta = {"source_format": "csv", "comments": "\n".join(comments), "record_name": Path(filename).stem,
            "files": filename}
    comment_unit = next((m.group("u") for c in comments if (m := _UNITS_COMMENT.search(c))), None)
    col_units = [roles[c][1] or comment_unit for c in signal_cols]
    if any(u is not None for u in col_units):
        for j, unit in enumerate(col_units):
            factor = to_mv_factor(unit or "mV")
            if factor is None:
                raise ECGReadError(f"{where}: unknown unit {unit!r} for a lead column; accepted: mV, uV (µV), V")
            values[j] *= factor
        meta["units"] = " ".join(u or "mV" for u in col_units) + " (declared)"
    else:
        values = apply_inferred_units(values, meta)
    return Channels(values, [roles[c][2] for c in signal_cols], rate, meta, where)


def as_text(data: bytes) -> str | None:
    """The bytes as text (UTF-8, else Latin-1), or None for binary content (a NUL byte)."""
    if b"\x00" in data[:4096]:
        return None
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None
