"""CSV (and TSV / whitespace-separated text): a header row of lead names, an optional time or sample-index
column, mV or µV.

Units: a column may carry a unit suffix (``II (uV)``, ``V1_mV``, ``I [µV]``), a ``# units=uV`` comment, or a
units row under the header (PhysioNet's export); without any, the rule of ``channels.apply_inferred_units``
decides. Sampling rate: the ``fs=`` argument, a ``# fs=500`` comment, a time column (seconds, or ms when
the column is named so; h:mm:ss.mmm or ISO date-and-time stamps), or the file name (``rec_500hz.csv``);
sources that disagree are an error, and the rate is never guessed.

A device's export may open with 'key,value' lines before its table (Apple Watch's: ``Sample Rate,512 hertz``,
``Lead,Lead I``, ``Unit,µV``; see ``_table_start``): they give the rate, the units and a single column's lead
as the comments do, and are not kept in the metadata (the patient's name and date of birth are there).
"""
from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ecg import ECGReadError, UnnamedLeadsError, shown_lead_names, standard_lead
from .channels import Channels, apply_inferred_units, to_mv_factor
from .limits import (ACCEPTED_FORMATS, ACCEPTED_LEAD_NAMES, MAX_FS, MIN_FS, check_channels, check_fs, check_length,
                     override_names)

_TIME_NAMES = {"time", "t", "second", "seconds", "sec", "secs", "s", "timestamp", "elapsedtime", "zeit",
               "times", "ms", "msec", "millisecond", "milliseconds", "timems", "tms"}
_MS_TIME_NAMES = {"ms", "msec", "millisecond", "milliseconds", "timems", "tms"}
_INDEX_NAMES = {"sample", "samples", "index", "idx", "n", "#", "samplenumber", "sampleindex", "samplenr",
                "unnamed:0", ""}
_TIME_UNITS = {"s", "sec", "seconds", "ms", "msec", "hh:mm:ss.mmm", "hh:mm:ss", "mm:ss.mmm"}
_UNIT_SUFFIX = re.compile(r"^(?P<base>.*?)[\s_-]*(?:[(\[]\s*(?P<u1>[^)\]]*?)\s*[)\]]|_(?P<u2>mv|uv|µv|μv|ms))$",
                          re.I)
# the number whole: '1e3' or '62,5' read up to the 'e' or the comma was a rate of 1 or 62 Hz (see _stated_rate)
_FS_COMMENT = re.compile(r"\b(?:fs|sampling[\s_-]*(?:rate|frequency)|sample[\s_-]*rate)\s*[=:]?\s*"
                         r"(?P<fs>\d+(?:[.,]\d+)*(?:e[+-]?\d+)?)\s*(?P<khz>k(?:hz|ilohertz)\b)?", re.I)
_UNITS_COMMENT = re.compile(r"\bunits?\s*[=:]\s*(?P<u>[a-zµμ]+)", re.I)
_FS_FILENAME = re.compile(r"(?:^|[^a-z0-9])(?:fs[_-]?(?P<a>\d+(?:\.\d+)?)|(?P<b>\d+(?:\.\d+)?)[_-]?hz)"
                          r"(?:$|[^a-z0-9])", re.I)
# h:mm:ss.mmm (PhysioNet's exports), the fraction after a point or, in a European export, a comma
_TIME_STRING = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:[.,]\d*)?)$")
# an ISO 8601 date and time stamp on every row (phone and wearable exports: '2024-01-31T10:00:00.125', a
# space for the 'T', an optional zone, which is the same on every row and left aside)
_DATE_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}:\d{1,2}:\d{1,2}(?:[.,]\d*)?)"
                        r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$", re.I)
# a device's export opens with a few 'key,value' lines before its table (Apple Watch's: name, date of birth,
# 'Sample Rate,512 hertz', 'Lead,Lead I', 'Unit,µV'); the table is looked for among this many leading lines
MAX_PREAMBLE_LINES = 64
_LEAD_LINE = re.compile(r"^\s*lead\s*[=:]\s*(?P<lead>.+?)\s*$", re.I)
_MISSING_CELLS = {"", "nan", "na", "n/a", "-", "null"}

ACCEPTED_CSV = (
    "a header row of lead names (" + ACCEPTED_LEAD_NAMES + "), optionally with a unit suffix such as "
    "'II (uV)' or 'V1_mV'; an optional time column (time, t, seconds, s in seconds; ms, time_ms, "
    "'time (ms)' in milliseconds; or h:mm:ss.mmm / date-and-time stamps) or sample index column (sample, index)")


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


def _column_key(base: str) -> str:
    """A header cell's name as the name sets above spell it ('Time_ms' -> 'timems')."""
    return re.sub(r"[\s._-]", "", base).lower()


def _classify(column: str) -> tuple[str, str | None, str]:
    """(role, unit, base name) of a CSV header cell; role is 'time', 'index', 'lead' or 'unknown'; unit is the
    one the cell declares, None when it declares none (a units row under the header may then give it)."""
    base, unit = _split_unit(column)
    key = _column_key(base)
    if key in _TIME_NAMES:
        return "time", unit, base
    if key in _INDEX_NAMES:
        return "index", unit, base
    if standard_lead(base) is not None:
        return "lead", unit, base
    return "unknown", unit, base


def _is_number(cell: str) -> bool:
    cell = _unquote(cell)
    if cell.lower() in _MISSING_CELLS or _TIME_STRING.match(cell) or _DATE_TIME.match(cell):
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return False


_TIME_BLOCK_ROWS = 100_000      # time cells laid out as one byte per character at a time (2.3 MB of ISO stamps)
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_MAX_FIELD_DIGITS = 15          # a field of more digits is left to the cell-by-cell reading (exact below 2**53)


def _parse_time(cells: list, where: str, first_row: int = 0) -> np.ndarray:
    """A time column's values (numbers in its unit, or h:mm:ss.mmm strings in seconds: PhysioNet exports; or
    ISO date-and-time stamps: seconds since 0001-01-01). A 24-hour Holter has ~20 M stamps: they are read a block
    at a time, all cells of one layout at once (``_clock_cells``); a block they do not fit is read cell by cell
    (``_time_cells``), which gives the same seconds and says which cell is wrong."""
    out = np.empty(len(cells))
    for a in range(0, len(cells), _TIME_BLOCK_ROWS):
        block = cells[a:a + _TIME_BLOCK_ROWS]
        seconds = _clock_cells(block)
        out[a:a + len(block)] = seconds if seconds is not None else _time_cells(block, where, first_row + a)
    return out


def _time_cells(cells: list, where: str, first_row: int) -> np.ndarray:
    """``_parse_time`` one cell at a time."""
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        if not isinstance(cell, str):
            out[i] = float(cell)
            continue
        cell = _unquote(cell)
        try:
            out[i] = _time_seconds(cell)
        except ValueError:
            raise ECGReadError(f"{where}: time value {cell!r} (data row {first_row + i + 1}) is not a number, "
                               f"h:mm:ss.mmm or a date and time such as 2024-01-31 10:00:00.125; correct it, or "
                               f"drop the time column and pass fs= (Hz); accepted: {ACCEPTED_CSV}") from None
    return out


def _clock_layout(cell: str) -> list[tuple[int, int]] | None:
    """Where the digits of each field of a clock or date-and-time cell lie, as ``_time_seconds`` reads it:
    [(start, end) of year, month, day, hours, minutes, whole seconds, fraction], the date's and the hours' None
    when the cell has none; None when the cell is no such stamp (a number: left to the cell-by-cell reading)."""
    inner = _unquote(cell)
    if not inner.isascii() or not inner[:1].isdigit():
        return None
    at = cell.index(inner)                     # the quotes and spaces around it are the same in every cell
    stamp = _DATE_TIME.match(inner)
    date = [stamp.span(1), stamp.span(2), stamp.span(3)] if stamp else [None] * 3
    clock_at = stamp.start(4) if stamp else 0
    clock = _TIME_STRING.match(stamp.group(4) if stamp else inner)
    if clock is None:
        return None
    a, b = clock.span(3)                       # whole seconds, then the fraction after '.' or ','
    point = next((k for k in range(a, b) if not inner[clock_at + k].isdigit()), b)
    spans = date + [clock.span(1) if clock.group(1) is not None else None, clock.span(2), (a, point),
                    (min(point + 1, b), b)]
    return [None if span is None else (at + span[0] + (clock_at if i >= 3 else 0),
                                       at + span[1] + (clock_at if i >= 3 else 0)) for i, span in enumerate(spans)]


def _clock_cells(cells: list) -> np.ndarray | None:
    """Seconds of time cells that are clock or date-and-time stamps, read all at once: the cells of one length
    laid out as rows of bytes, each length's first cell read by ``_time_seconds``'s patterns and the others held
    to it (a digit where it has one, the same character elsewhere), their fields summed as whole numbers as
    ``_time_seconds`` sums them (the same seconds to the last bit). None when a cell does not fit (a number, an
    impossible date, another layout): those are read one by one."""
    try:
        lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
        raw = np.array(cells, dtype="S")       # ASCII, one byte per character
    except (TypeError, UnicodeEncodeError, ValueError):
        return None                            # a number among the cells, or characters beyond ASCII
    if not raw.size or raw.dtype.itemsize == 0:
        return None
    chars = raw.view(np.uint8).reshape(len(cells), raw.dtype.itemsize)
    out = np.empty(len(cells))
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        first = cells[rows[0]]
        spans = _clock_layout(first)
        if spans is None or any(s is not None and s[1] - s[0] > _MAX_FIELD_DIGITS for s in spans):
            return None
        template = np.frombuffer(first.encode("ascii"), dtype=np.uint8)
        digit = (template >= ord("0")) & (template <= ord("9"))
        block = chars[rows, :length]
        if not (block[:, ~digit] == template[~digit]).all() or ((block[:, digit] - ord("0")) > 9).any():
            return None

        def field(span):
            if span is None or span[0] == span[1]:
                return np.zeros(len(rows), dtype=np.int64)
            digits = block[:, span[0]:span[1]].astype(np.int64) - ord("0")
            return digits @ (10 ** np.arange(span[1] - span[0] - 1, -1, -1, dtype=np.int64))

        year, month, day, hours, minutes, whole, fraction = spans
        days = np.zeros(len(rows), dtype=np.int64)
        if year is not None:
            y, m, d = field(year), field(month), field(day)
            if (y < 1).any() or (m < 1).any() or (m > 12).any() or (d < 1).any():
                return None
            months = ((y - 1970) * 12 + m - 1).astype("datetime64[M]")
            first_day = months.astype("datetime64[D]").astype(np.int64)
            if (d > (months + 1).astype("datetime64[D]").astype(np.int64) - first_day).any():
                return None                    # 31 February: the one-by-one reading says which cell
            days = first_day + d - 1 + _EPOCH_ORDINAL         # date.toordinal(), as _time_seconds counts
        places = fraction[1] - fraction[0]
        if (whole[1] - whole[0]) + places > _MAX_FIELD_DIGITS:
            return None
        # the seconds field as float() reads 'SS.fff': its digits over a power of ten, rounded once
        seconds = (field(whole) * 10 ** places + field(fraction)) / 10.0 ** places
        out[rows] = (days * 86400 + field(hours) * 3600 + field(minutes) * 60).astype(np.float64) + seconds
    return out


def _time_seconds(cell: str) -> float:
    """One time cell in seconds: a number, h:mm:ss.mmm, or an ISO date and time (seconds since 0001-01-01, so
    that a recording running past midnight keeps counting)."""
    stamp = _DATE_TIME.match(cell)
    days = 0
    if stamp:
        days = _dt.date(int(stamp.group(1)), int(stamp.group(2)), int(stamp.group(3))).toordinal()
        cell = stamp.group(4)
    m = _TIME_STRING.match(cell)
    if not m:
        return float(cell)
    return days * 86400 + int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3).replace(",", "."))


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
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# a comment line ('#' or '%' first) anywhere in the data: at the start of the text or after a line break
_COMMENT_LINE = re.compile(rb"(?<![^\r\n])[ \t]*[#%][^\r\n]*")
# Excel's first line naming the separator ("sep=;"), which it writes for a ';'-separated export
_EXCEL_SEP = re.compile(r'^\s*"?sep=(?P<d>.)"?\s*$', re.I)
_READ_CHUNK_ROWS = 1_000_000          # rows parsed at a time: only one chunk's cells are held by the parser
_NOT_VALID_CSV = ("is not valid CSV: an unclosed quote (\") or an over-long line{near}; close or remove the "
                  "quote (or split the line) and save the file again; expected " + ACCEPTED_CSV)


# every upper/lower-case spelling of the missing-sample cells: the bulk parser compares cells exactly
_MISSING_SPELLINGS = sorted({"".join(cased) for token in _MISSING_CELLS
                             for cased in itertools.product(*[(ch.lower(), ch.upper()) for ch in token])})


def _text_encoding(data: bytes) -> str | None:
    """The encoding of a text file: 'utf-16' (with its BOM: Excel's "Unicode text"), 'utf-8' (a UTF-8 BOM is
    skipped by the caller), else 'latin-1'; None for binary content (a NUL byte near the start)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if b"\x00" in data[:4096]:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:                          # in slices: no second copy of a large file is made to check it
        for at in range(0, len(data), 1 << 20):
            decoder.decode(data[at:at + (1 << 20)], final=at + (1 << 20) >= len(data))
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def as_text(data: bytes) -> str | None:
    """The bytes as text (UTF-16 with its BOM, UTF-8, else Latin-1), or None for binary content (a NUL byte)."""
    encoding = _text_encoding(data)
    if encoding is None:
        return None
    return data.decode("utf-8-sig" if encoding == "utf-8" else encoding,
                       errors="replace" if encoding == "utf-16" else "strict")


def _split_row(line: str, delimiter: str | None, where: str, near: str = "") -> list[str]:
    """One line's cells: csv rules with `delimiter`, or whitespace-separated when it is None."""
    if delimiter is None:
        return line.split()
    try:
        row = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error:
        raise ECGReadError(f"{where} {_NOT_VALID_CSV.format(near=near)}") from None
    if delimiter != ",":       # ';'- or tab-separated: a European export's decimal comma ("-0,2103") is a point
        row = [_DECIMAL_COMMA.sub(r"\1.\2", c) for c in row]
    return row


@dataclass
class _Table:
    """A CSV's text split where the data starts: its comments, delimiter, first rows and the data bytes."""
    data: bytes                   # UTF-8 or Latin-1 text
    encoding: str
    comments: list[tuple[str, int]]   # (text without '#', where its line starts)
    delimiter: str | None         # None: whitespace-separated
    head: list[list[str]]         # the cells of the first (at most two) rows that are not comments
    head_ends: list[int]          # where each of those rows ends in `data` (the next line starts there)
    head_starts: list[int]        # where each starts
    preamble: list[str]           # the 'key: value' lines before the table (``_table_start``)


def _guess_delimiter(line: str) -> str | None:
    """The separator of a line: the most frequent of ',', ';' and tab; None (whitespace) when it has none."""
    delimiter = max([",", ";", "\t"], key=line.count)
    return delimiter if line.count(delimiter) else None


def _is_units_row(cells: list[str]) -> bool:
    """A row of units under the header (PhysioNet's export: 'seconds','mV','mV')."""
    return (all(not _unquote(c) or _is_voltage_or_time_unit(_unquote(c)) for c in cells)
            and not all(_is_number(c) for c in cells))


def _table_start(lines: list[str], delimiter: str | None, where: str) -> int:
    """Which of the first lines opens the table (its header, or its first row of numbers); the lines before it
    are a device's 'key,value' preamble. It is the first line that is a row of numbers, or that is followed by
    one with as many cells (a units row may lie between): a header. A first line naming a lead or a time
    column is the header whatever follows (a ragged first row is then refused as such); without any such
    line the first is the header, as it always was."""
    def cells(i: int, d: str | None) -> list[str]:
        return _split_row(lines[i], d, where)

    for i in range(min(len(lines), MAX_PREAMBLE_LINES + 1)):
        d = delimiter if delimiter is not None else _guess_delimiter(lines[i])
        row = cells(i, d)
        if all(_is_number(c) for c in row):
            return i
        if i == 0 and any(_classify(c)[0] in ("lead", "time") for c in row if _unquote(c)):
            return 0
        below = [cells(j, d) for j in range(i + 1, min(i + 3, len(lines)))]
        below = below[:next((k for k, r in enumerate(below) if len(r) != len(row)), len(below))]
        if below and all(_is_number(c) for c in below[0]):
            return i
        if len(below) == 2 and _is_units_row(below[0]) and all(_is_number(c) for c in below[1]):
            return i
    return 0


def _preamble_text(line: str) -> str:
    """A preamble line as 'key: value' (so that 'Sample Rate,512 hertz' reads as the '# fs' comments do)."""
    d = _guess_delimiter(line)
    if d is None:
        return line.strip()
    key, *rest = next(csv.reader([line], delimiter=d, skipinitialspace=True), [""])
    return f"{key.strip()}: {', '.join(c.strip() for c in rest)}"


def _split_head(data: bytes, encoding: str, where: str) -> _Table:
    """Leading comments, Excel's 'sep=' line, a device's preamble lines and the first two rows of the table,
    read without reading the rest."""
    pos = 3 if data.startswith(codecs.BOM_UTF8) else 0
    comments: list[tuple[str, int]] = []
    lines: list[tuple[str, int, int]] = []
    delimiter: str | None = None
    explicit = False
    first = True
    while pos < len(data) and len(lines) < MAX_PREAMBLE_LINES + 3:
        found = _LINE_BREAK.search(data, pos)
        end, after = (found.start(), found.end()) if found else (len(data), len(data))
        line = data[pos:end].decode(encoding)
        if line.strip():
            sep = _EXCEL_SEP.match(line) if first else None
            first = False
            if sep:
                delimiter, explicit = sep.group("d"), True
            elif line.lstrip().startswith(("#", "%")):
                comments.append((line.lstrip()[1:].strip(), pos))
            else:
                lines.append((line, pos, after))
        pos = after
    if not lines:
        raise ECGReadError(f"{where} holds no data rows; expected {ACCEPTED_CSV}")
    start = _table_start([line for line, _, _ in lines], delimiter if explicit else None, where)
    preamble = [_preamble_text(line) for line, _, _ in lines[:start]]
    lines = lines[start:start + 2]
    if not explicit:
        delimiter = _guess_delimiter(lines[0][0])        # None: whitespace-separated, or a single column
    head = [_split_row(line, delimiter, where) for line, _, _ in lines]
    return _Table(data, encoding, comments, delimiter, head, [b for _, _, b in lines], [a for _, a, _ in lines],
                  preamble)


def _first_ragged_row(data: bytes, start: int, encoding: str, delimiter: str | None, n_cols: int,
                      where: str) -> tuple[int, int] | None:
    """(data row, its number of cells) of the first row without one cell per column, read a line at a time
    (only for a file the bulk parser found uneven); None if every row has `n_cols` cells."""
    stream = io.BytesIO(data)
    stream.seek(start)
    lines = (ln for ln in io.TextIOWrapper(stream, encoding=encoding, newline=None)
             if ln.strip() and not ln.lstrip().startswith(("#", "%")))
    if delimiter is None:
        rows = (ln.split() for ln in lines)
    else:
        rows = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    number = 0
    try:
        for number, row in enumerate(rows, 1):
            if len(row) != n_cols:
                if any("\n" in cell or "\r" in cell for cell in row):     # a quote opened and never closed
                    raise ECGReadError(f"{where} {_NOT_VALID_CSV.format(near=f' (data row {number})')}")
                return number, len(row)
    except csv.Error:
        raise ECGReadError(f"{where} {_NOT_VALID_CSV.format(near=f' (after data row {number})')}") from None
    return None


def _refuse_ragged(data: bytes, start: int, table: _Table, n_cols: int, where: str) -> None:
    ragged = _first_ragged_row(data, start, table.encoding, table.delimiter, n_cols, where)
    if ragged is not None:
        row, cells = ragged
        raise ECGReadError(f"{where}: data row {row} has {cells} cells but the header has {n_cols}; "
                           f"every row needs one cell per column")


def _cell_float(cell, delimiter: str | None) -> float:
    """A cell the bulk parser could not read, by the rules it uses: a number with a decimal point (or a
    decimal comma in a ';'- or tab-separated file), inf, or a missing-sample word; no digit separators."""
    if isinstance(cell, bool):                     # the parser's reading of 'True'/'False': no number
        raise ValueError(cell)
    if not isinstance(cell, str):
        return float(cell)                         # a number, or NaN for an empty cell
    cell = cell.strip()
    if delimiter not in (",", None):
        cell = _DECIMAL_COMMA.sub(r"\1.\2", cell)
    if cell.lower() in _MISSING_CELLS:
        return np.nan
    if "_" in cell:                                # Python reads "1_000" as 1000; a recorder never writes it
        raise ValueError(cell)
    return float(cell)


def _column(values, first_row: int, delimiter: str | None, where: str) -> np.ndarray:
    """One lead column of a parsed chunk as float64; the first cell that is not a number is refused."""
    if values.dtype.kind in "fiu":
        return values.to_numpy(dtype=np.float64)
    out = np.empty(len(values))
    for i, cell in enumerate(values.tolist()):
        try:
            out[i] = _cell_float(cell, delimiter)
        except (TypeError, ValueError):
            cell = str(cell).strip()
            comma = " (with a decimal point, e.g. -0.21; a decimal comma is read when the columns are separated " \
                    "by ';' or tabs)" if _DECIMAL_COMMA.match(cell) else ""
            raise ECGReadError(f"{where}: data row {first_row + i + 1} holds {cell!r}, which is not a number; lead "
                               f"columns must hold numbers{comma} (empty or NaN for a missing sample)") from None
    return out


def _count_lines(data: bytes, start: int) -> int:
    """Lines from `start` on (an upper bound of the rows: blank and comment lines count too), counted
    without decoding or splitting the text."""
    breaks = data.count(b"\n", start) + data.count(b"\r", start) - data.count(b"\r\n", start)
    return breaks + (1 if len(data) > start and not data.endswith((b"\n", b"\r")) else 0)


def _parse_data(table: _Table, start: int, n_cols: int, signal_cols: list[int], time_col: int | None,
                time_unit: str | None, n_max: int, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(leads x samples float64, time in s or None) of the rows from `start` on, parsed in bulk a chunk at a
    time into an array sized once (`n_max` rows at most)."""
    import pandas as pd

    data, delimiter = table.data, table.delimiter
    may_comment = data.find(b"#", start) >= 0 or data.find(b"%", start) >= 0      # memchr-fast, no copy
    if may_comment and _COMMENT_LINE.search(data, start):       # comment lines among the data rows
        table.comments += [(m.group().decode(table.encoding).lstrip()[1:].strip(), m.start())
                           for m in _COMMENT_LINE.finditer(data, start)]
        data, start = _COMMENT_LINE.sub(b"", data[start:]), 0
    first_line = _LINE_BREAK.split(data[start:start + 4096], 1)[0].decode(table.encoding, "replace")
    decimal = "," if delimiter in (";", "\t") and any(
        _DECIMAL_COMMA.match(_unquote(c)) for c in first_line.split(delimiter)) else "."
    last = n_cols - 1
    used = sorted({*signal_cols, *([time_col] if time_col is not None else []), last})
    stream = io.BytesIO(data)
    stream.seek(start)
    values = np.empty((len(signal_cols), n_max))
    times = [] if time_col is not None else None
    short_rows = False
    n_rows = 0
    try:
        chunks = pd.read_csv(
            stream, sep=r"\s+" if delimiter is None else delimiter, header=None, names=list(range(n_cols)),
            usecols=used, skipinitialspace=True, keep_default_na=False,
            na_values={c: _MISSING_SPELLINGS for c in signal_cols}, decimal=decimal, quotechar='"',
            encoding=table.encoding, skip_blank_lines=True, chunksize=_READ_CHUNK_ROWS, engine="c")
        for chunk in chunks:
            k = len(chunk)
            if n_rows + k > n_max:              # cannot happen: every row is a line
                raise ECGReadError(f"{where}: more rows than lines; {_NOT_VALID_CSV.format(near='')}")
            for j, c in enumerate(signal_cols):
                values[j, n_rows:n_rows + k] = _column(chunk[c], n_rows, delimiter, where)
            if times is not None:
                times.append(_parse_time(chunk[time_col].tolist(), where, n_rows)
                             if chunk[time_col].dtype.kind not in "fiu" else chunk[time_col].to_numpy(np.float64))
            short_rows = short_rows or bool(chunk[last].isna().any())
            n_rows += k
    except pd.errors.ParserError:          # a row with more cells than the header, or an unclosed quote
        _refuse_ragged(data, start, table, n_cols, where)
        raise ECGReadError(f"{where} {_NOT_VALID_CSV.format(near='')}") from None
    except pd.errors.EmptyDataError:
        n_rows = 0
    # the parser pads a row with fewer cells than the header: the count of separators (or, without one,
    # a missing last cell) says when there may be one, and a second reading finds it
    if delimiter is not None:
        short_rows = data.count(delimiter.encode(), start) != (n_cols - 1) * n_rows
    if short_rows:
        _refuse_ragged(data, start, table, n_cols, where)
    time = None
    if times is not None:
        time = np.concatenate(times) if times else np.empty(0)
        if (time_unit or "").lower() in ("ms", "msec"):
            time = time * 1e-3
    return values[:, :n_rows], time


def _stated_rate(found: re.Match, source: str, where: str) -> float:
    """The rate (Hz) a comment or a line above the table states: a plain number ('500', '62.5', '1e3'), in kHz
    when it says so; one with a comma ('62,5' or '1,000': a decimal comma or a thousands separator) is not
    guessed."""
    text = found.group("fs")
    if "," in text or text.count(".") > 1:
        raise ECGReadError(f"{where}: {source} gives the sampling rate as {text!r}, which reads as more than one "
                           f"number (a decimal comma, or digits grouped in thousands); write it as a plain number "
                           f"of Hz with a decimal point, e.g. fs=500 or fs=62.5")
    return float(text) * (1000.0 if found.group("khz") else 1.0)


def _csv_rate(fs: float | None, comments: list[str], preamble: list[str], time: np.ndarray | None, filename: str,
              where: str) -> float:
    """The sampling rate from every source the CSV offers; sources that disagree are an error."""
    sources: dict[str, float] = {}
    if fs is not None:
        sources["the fs argument"] = fs
    fs_comment = next((m for c in comments if (m := _FS_COMMENT.search(c))), None)
    if fs_comment:
        sources["the '# fs=' comment"] = _stated_rate(fs_comment, "the '# fs=' comment", where)
    fs_line = next((m for c in preamble if (m := _FS_COMMENT.search(c))), None)
    if fs_line:
        said = f"the line {fs_line.string!r} above the table"
        sources[said] = _stated_rate(fs_line, said, where)
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
    encoding = _text_encoding(data)
    if encoding is None:
        raise ECGReadError(f"{filename!r} is not a text CSV file (binary content); if it is a table of numbers, "
                           f"save it as CSV in UTF-8 (Excel: 'CSV UTF-8'); accepted: {ACCEPTED_FORMATS}")
    try:
        if encoding == "utf-16":              # Excel's "Unicode text": read as the UTF-8 it would be
            data, encoding = data.decode("utf-16", errors="replace").encode("utf-8"), "utf-8"
        return _read_table(data, encoding, filename, lead_names, fs, where)
    except MemoryError:
        raise ECGReadError(f"{where} is too large to read in the memory this computer has free; cut the "
                           f"recording into shorter files (or downsample it) and read them one at a time") from None


def _read_table(data: bytes, encoding: str, filename: str, lead_names: list[str] | None, fs: float | None,
                where: str) -> Channels:
    table = _split_head(data, encoding, where)
    rows = table.head
    header = None if all(_is_number(c) for c in rows[0]) else rows[0]
    data_rows = rows[1:] if header is not None else rows
    units_row = None
    if header is not None and data_rows and _is_units_row(data_rows[0]):
        units_row = [_unquote(c) for c in data_rows[0]]                   # PhysioNet export style
    # the data rows start after the header and the units row
    start = table.head_starts[0] if header is None else table.head_ends[1 if units_row is not None else 0]
    table.comments = [c for c in table.comments if c[1] < start]
    # the opening lines say what the comments do (rate, units, a single column's lead) but are not kept: a
    # device writes the patient's name and date of birth there
    stated = [c for c, _ in table.comments] + table.preamble
    if header is None and lead_names is None and len(rows[0]) == 1:
        said = next((m.group("lead") for c in stated if (m := _LEAD_LINE.match(c))), None)
        lead_names = [said] if said and standard_lead(said) is not None else None
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
        message = (f"{where} has column(s) that are not ECG leads: {shown_lead_names(unknown)}; "
                   f"accepted: {ACCEPTED_CSV}; or pass lead_names=[...] to name the signal columns")
        if len(unknown) == len(signal_cols):     # no column is a lead: the caller can say which lead each is
            raise UnnamedLeadsError(message, unknown)
        raise ECGReadError(message)
    time_cols = [i for i, r in enumerate(roles) if r[0] == "time"]
    if len(time_cols) > 1:
        raise ECGReadError(f"{where} has {len(time_cols)} time columns; give at most one")
    if not signal_cols:
        raise ECGReadError(f"{where} has no lead columns; accepted: {ACCEPTED_CSV}")
    # the limits, from the number of lines, before any row is parsed
    n_lines = _count_lines(table.data, start)
    if n_lines >= 2:
        check_channels(len(signal_cols), n_lines, where)
        check_length(n_lines, None, where)
    time_col = time_cols[0] if time_cols else None
    time_unit = None
    if time_col is not None:         # declared (in the header cell or the units row), else by the column's name
        _, declared, base = roles[time_col]
        time_unit = declared or ("ms" if _column_key(base) in _MS_TIME_NAMES else "s")
    values, time = _parse_data(table, start, n_cols, signal_cols, time_col, time_unit, n_lines, where)
    comments = [c for c, _ in table.comments]
    if values.shape[1] < 2:
        raise ECGReadError(f"{where} holds {'a single sample' if values.shape[1] else 'no samples'}; an ECG needs "
                           f"at least 2 samples")
    rate = _csv_rate(fs, comments, table.preamble, time, filename, where)
    meta = {"source_format": "csv", "comments": "\n".join(comments), "record_name": Path(filename).stem,
            "files": filename}
    comment_unit = next((m.group("u") for c in comments + table.preamble if (m := _UNITS_COMMENT.search(c))), None)
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
