"""WFDB records (``.hea`` + ``.dat`` in any format wfdb reads; PhysioNet Challenge ``.hea`` + ``.mat``),
single- and multi-segment, always decoded by wfdb itself.

Uploaded bytes stay in memory: they are served to ``wfdb.rdrecord`` through the in-memory filesystem of
``wfdb_adapter``, never written to disk. Each header of an upload is checked (size, number of lines, the
numeric fields of its record line, each signal line's gain and baseline) and parsed once; what it declares
(rate, channels, signal files and their sizes, segments that are single-segment records other than itself)
is checked before wfdb decodes the samples, and the length limit applies to what is decoded: a record too long
to read whole reads a stretch at a time (``start_s``/``end_s``). A signal file named by the header but absent
is refused if it holds a standard lead, and skipped (``metadata["missing_signal_files"]``, its channels in
``metadata["dropped_leads"]``) if it holds only non-standard ones (PTB's ``.xyz`` Frank leads). Channels that
are not voltages (mmHg, respiration) are left out (``metadata["non_voltage_channels"]``), as DICOM's are. Null
segments (``~``) of multi-segment records are gaps of missing samples. When the record line gives no base
date, PTB-DB's header comment ``# ECG date: DD/MM/YYYY`` dates the recording (``metadata["recorded_at"]``).
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import PurePosixPath
from types import SimpleNamespace

import numpy as np

from ..ecg import ECGReadError, listed_name, standard_lead
from . import wfdb_adapter
from .channels import UNCALIBRATED, Channels, to_mv_factor
from .limits import (ACCEPTED_FORMATS, MAX_CHANNELS, MAX_HEADER_BYTES, MAX_SEGMENTS, brief, check_agrees,
                     check_channels, check_fs, check_length, counted, override_names, stretch_span)
from .recorded import iso_stamp
from .wfdb_adapter import UploadFileSystem

_RECORD_LINE_FIELDS = [re.compile(p) for p in (
    r"[^\s/]+(/\d+)?",                                     # record name [/number of segments]
    r"\d+",                                                # number of signals
    r"\d+(\.\d*)?(e\d+)?(/\d+(\.\d*)?)?(\(-?\d+(\.\d*)?\))?",  # fs [/counter fs [(base counter)]]
    r"\d+",                                                # number of samples
)]
# a signal line's third field, ADC gain [(baseline)] [/units], as wfdb parses it correctly (it reads other spellings,
# such as 'nan', '1E3' or a baseline with '+', into the wrong fields)
_GAIN_FIELD = re.compile(r"(?P<gain>[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)(\((?P<baseline>-?\d+)\))?(/\S*)?")
_INT64_MAX = int(np.iinfo(np.int64).max)
STRETCH_HINT = ("read a stretch of it at a time (a start and an end time: read_ecg's start_s and end_s, the mets "
                "command's --start and --end)")
HEADER_FORMAT = ("a WFDB header starts with a record line 'NAME N_SIGNALS FS N_SAMPLES' followed by one line "
                 "per signal")


class _Mounted:
    """The files of one upload served to wfdb while the ``with`` block runs; each header is checked and
    parsed at most once (``header``)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self._headers: dict[str, object] = {}

    def __enter__(self) -> "_Mounted":
        # headers decoded the way wfdb decodes local ones (ASCII, undecodable bytes dropped), without a base
        # date or time that cannot be (wfdb would refuse the whole record over it)
        headers = {k: _without_impossible_stamp(v.decode("ascii", errors="ignore")).encode("ascii")
                   for k, v in self.files.items() if k.lower().endswith(".hea")}
        self.root = UploadFileSystem.mount({**self.files, **headers})
        return self

    def __exit__(self, *exc) -> None:
        UploadFileSystem.unmount(self.root)

    def header(self, record: str):
        """wfdb's parse of ``record.hea`` (a Record or MultiRecord without its segments)."""
        if record not in self._headers:
            data = self.files[record + ".hea"]
            _check_header_size(record + ".hea", data)
            _check_header_fields(data, record)
            try:
                self._headers[record] = wfdb_adapter.rdheader(f"{self.root}/{record}")
            except Exception as e:  # wfdb raises bare Exception/IndexError/ValueError on bad headers
                raise ECGReadError(f"{record + '.hea'!r} is not a valid WFDB header ({brief(e)}); "
                                   f"{HEADER_FORMAT}") from None
        return self._headers[record]

    def segments(self, record: str, hdr) -> list:
        """The segment headers of a multi-segment record, None for a null segment ('~')."""
        out = []
        for seg in hdr.seg_name or []:
            if seg == "~":
                out.append(None)
            elif seg + ".hea" not in self.files:
                raise ECGReadError(f"record {record!r}: the header names the segment file {seg + '.hea'!r}, which "
                                   f"is missing; every file of the record is needed (in the same folder, the same "
                                   f"upload, or one .zip)")
            elif seg == record:
                raise ECGReadError(f"record {record!r}: the header names the record itself as one of its segments; "
                                   f"each segment of a multi-segment record is a record of its own (a header with "
                                   f"signal lines)")
            else:
                segment = self.header(seg)
                if not isinstance(segment, wfdb_adapter.wfdb().Record):
                    raise ECGReadError(f"record {record!r}: its segment {seg!r} is itself a multi-segment record; "
                                       f"each segment must be a single-segment record (a header with signal lines)")
                out.append(segment)
        return out

    def files_named(self, record: str) -> list[str]:
        """Names of the files a header refers to (signal files, segment headers)."""
        if not self.files.get(record + ".hea", b"").strip():
            return []           # an empty header names nothing; reading it says that it is empty
        hdr = self.header(record)
        names = list(dict.fromkeys(getattr(hdr, "file_name", None) or []))
        names += [seg + ".hea" for seg in getattr(hdr, "seg_name", None) or [] if seg and seg != "~"]
        return [n for n in names if n]


def files_named(files: dict[str, bytes], header_name: str) -> list[str]:
    """Names of the files the header ``header_name`` refers to (to read a record's files from a folder)."""
    with _Mounted(files) as upload:
        return upload.files_named(header_name[: -len(".hea")])


def read(files: dict[str, bytes], name: str | None, lead_names: list[str] | None,
         fs_given: float | None, start_s: float = 0.0, end_s: float | None = None) -> tuple[str, Channels]:
    """(record name, its channels) of the one record in ``files`` (or the record ``name`` among several);
    only the samples from ``start_s`` to ``end_s`` (None: the end) are decoded."""
    headers = sorted(k for k in files if k.endswith(".hea"))
    with _Mounted(files) as upload:
        record = _choose_record(upload, headers, name)
        return record, _read_record(upload, record, lead_names, fs_given, start_s, end_s)


def _choose_record(upload: _Mounted, headers: list[str], name: str | None) -> str:
    records = [h[: -len(".hea")] for h in headers]
    if len(records) == 1:
        return records[0]
    # segment headers of a multi-segment record are not records of their own
    segments: set[str] = set()
    for r in records:
        segments.update(n[: -len(".hea")] for n in upload.files_named(r) if n.endswith(".hea"))
    top = [r for r in records if r not in segments]
    if len(top) == 1:
        return top[0]
    if name and (name in top or name.removesuffix(".hea") in top):
        return name.removesuffix(".hea")
    raise ECGReadError(f"the upload holds {len(top)} WFDB records ({', '.join(top[:10])}"
                       f"{', ...' if len(top) > 10 else ''}); upload one record, or pass its name as name=")


def _read_record(upload: _Mounted, record: str, lead_names: list[str] | None, fs_given: float | None,
                 start_s: float = 0.0, end_s: float | None = None) -> Channels:
    files = upload.files
    where = f"WFDB record {record!r}"
    if not files[record + ".hea"].strip():
        raise ECGReadError(f"{record + '.hea'!r} is empty (0 bytes); {HEADER_FORMAT}")
    hdr = upload.header(record)
    single = isinstance(hdr, wfdb_adapter.wfdb().Record)
    segments = None if single else upload.segments(record, hdr)
    signal_headers = [hdr] if single else [s for s in segments if s is not None]
    n_sig = int(hdr.n_sig or 0)
    fs = float(hdr.fs) if hdr.fs is not None else float("nan")
    check_fs(fs, f"the header of {where}")
    check_agrees(fs_given, fs, where)
    if hdr.sig_len is None and single:
        hdr.sig_len = _infer_sig_len(files, hdr, where)
    sig_len = int(hdr.sig_len or 0)
    declared = f"{where} (as declared in its header)"
    if sig_len < 2:
        check_length(sig_len, fs, declared)
    first, last = stretch_span(start_s, end_s, fs, sig_len, where)
    stretch = (first, last) != (0, sig_len)          # only that stretch decoded
    # wfdb cannot combine a fixed-layout record with null segments: it is read whole, then cut
    whole = not single and getattr(hdr, "layout", None) == "fixed" and any(s is None for s in segments)
    n_read = sig_len if whole or not stretch else last - first
    # a record too long to read whole can still be read a stretch at a time (wfdb decodes only what is asked)
    check_length(n_read, fs, declared if n_read == sig_len else
                 f"the stretch of {where} from {first / fs:g} s to {last / fs:g} s", hint=STRETCH_HINT)
    spf = max([max(s.samps_per_frame or [1]) for s in signal_headers] or [1])
    check_channels(n_sig, n_read * spf, where)
    for seg in signal_headers:
        if len(seg.file_name or []) != int(seg.n_sig or 0):
            raise ECGReadError(f"{where}: the header declares {counted(int(seg.n_sig or 0), 'signal')} but has "
                               f"{counted(len(seg.file_name or []), 'signal line')}; a WFDB header needs one line per "
                               f"signal after its record line")
    missing = set().union(*(_check_signal_files(files, seg, where) for seg in signal_headers))
    channels = list(range(n_sig))
    unread: list[str] = []              # the declared channels of a missing signal file, by name
    if missing:
        # A missing file that holds only non-standard channels (PTB's .xyz Frank leads) is skipped and
        # noted; one that holds a standard lead is an upload mistake and refused.
        if not single:
            _missing_signal_file(sorted(missing)[0], where)
        names = override_names([str(n or "") for n in (hdr.sig_name or [])], lead_names, n_sig, where)
        lost = [c for c in channels if hdr.file_name[c] in missing]
        needed = [hdr.file_name[c] for c in lost if standard_lead(names[c]) is not None]
        if needed or len(lost) == n_sig:
            _missing_signal_file((needed or sorted(missing))[0], where)
        channels = [c for c in channels if c not in lost]
        unread = [listed_name(names[c] or f"channel{c + 1}") for c in lost]     # one word each: the key is a list
    try:
        if whole:
            rec = _rdrecord_fixed_with_gaps(upload.root, hdr, n_sig)
            if stretch:
                rec.p_signal = rec.p_signal[first:last]
        else:
            span = {"sampfrom": first, "sampto": last} if stretch else {}
            rec = wfdb_adapter.wfdb().rdrecord(f"{upload.root}/{record}", m2s=True, channels=channels, **span)
    except Exception as e:
        raise ECGReadError(f"wfdb could not decode {where} ({brief(e)}); accepted: "
                           f"{ACCEPTED_FORMATS}") from None
    if rec.p_signal is None or rec.p_signal.ndim != 2 or rec.p_signal.shape[1] == 0:
        raise ECGReadError(f"{where} holds no signals")
    # a signal line without a description names no channel: it is called by its place, as the dashboard and
    # the command line then show it when they ask which lead it is
    names = [str(n) if n else f"channel{c + 1}"
             for c, n in zip(channels, rec.sig_name or [None] * rec.p_signal.shape[1])]
    # the channels read at WFDB's default gain, by the names the header gives them (lead_names may rename them)
    uncalibrated = [name if marked else None for name, marked in
                    zip(names, _uncalibrated_channels(files, record, hdr, signal_headers, channels, names))]
    if lead_names is not None:
        names = [override_names(names, lead_names, n_sig, where)[c] for c in channels]
    signals = rec.p_signal.T.astype(np.float64)
    units = [str(u or "mV") for u in (rec.units or ["mV"] * len(names))]
    # channels that are not voltages (blood pressure in mmHg, respiration) are left out, as DICOM's are
    voltage = [i for i, unit in enumerate(units) if to_mv_factor(unit) is not None]
    if not voltage:
        raise ECGReadError(f"{where}: no channel is a voltage (units {', '.join(map(repr, sorted(set(units))))}); "
                           f"an ECG's channels are in mV, uV or V")
    non_voltage = " ".join(f"{names[i]}({units[i]})" for i in range(len(units)) if i not in voltage)
    signals = signals[voltage] * np.array([to_mv_factor(units[i]) for i in voltage])[:, None]
    uncalibrated = [uncalibrated[i] for i in voltage if uncalibrated[i] is not None]
    names, units = [names[i] for i in voltage], [units[i] for i in voltage]
    fmts = sorted({str(f) for s in signal_headers for f in (s.fmt or [])})
    meta = {"source_format": "wfdb", "record_name": record, "wfdb_format": ",".join(fmts),
            "units": " ".join(str(u) for u in units) + _uncalibrated_words(uncalibrated, units),
            "comments": "\n".join(rec.comments or []),
            "files": " ".join(_files_used(record, hdr, signal_headers, files))}
    if missing:
        meta["missing_signal_files"] = " ".join(sorted(missing))
        # listed where every channel left out is (ECG.from_leads adds those it drops), so that the page's
        # "dropped leads" shows them as it does a record's Frank leads read and left out
        meta["dropped_leads"] = " ".join(unread)
    if non_voltage:
        meta["non_voltage_channels"] = non_voltage
    recorded = recorded_at(hdr)
    if recorded is not None:
        meta["recorded_at"] = recorded
    if stretch:
        meta["cropped_from_s"] = f"{first / fs:.3f}"
    return Channels(signals, names, fs, meta, where)


DEFAULT_ADC_GAIN = 200.0     # ADC units per physical unit that WFDB (and wfdb) read an uncalibrated signal at


def _uncalibrated_lines(header: bytes) -> set[int]:
    """The signal lines (0 for the first) of a single-segment header whose ADC gain is 0 or not given: WFDB's
    mark of a signal whose amplitude is uncalibrated, which wfdb reads at DEFAULT_ADC_GAIN without a word (its
    parse of the header says 200 for them as for a calibrated one: the header's own text tells them apart)."""
    lines = [ln.strip() for ln in header.decode("ascii", errors="ignore").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines or "/" in lines[0].split()[0]:
        return set()                # a multi-segment header: its segments' headers say it
    out = set()
    for number, line in enumerate(lines[1:]):
        fields = line.split()
        gain = _GAIN_FIELD.fullmatch(fields[2]) if len(fields) >= 3 else None
        if len(fields) < 3 or (gain is not None and float(gain.group("gain")) == 0):
            out.add(number)
    return out


def _uncalibrated_channels(files: dict[str, bytes], record: str, hdr, signal_headers, channels: list[int],
                           names: list[str]) -> list[bool]:
    """For each channel read (`channels`, named `names` by the file), whether its header marks it uncalibrated
    (``_uncalibrated_lines``); a multi-segment record's channel is, when a segment's header marks it so."""
    if signal_headers == [hdr]:
        marked = _uncalibrated_lines(files[record + ".hea"])
        return [c in marked for c in channels]
    marked_names = set()
    for seg in signal_headers:
        lines = _uncalibrated_lines(files.get(f"{seg.record_name}.hea", b""))
        marked_names.update(str(n) for i, n in enumerate(seg.sig_name or []) if i in lines)
    return [name in marked_names for name in names]


def _uncalibrated_words(uncalibrated: list[str], units: list[str]) -> str:
    """What metadata["units"] adds for channels read at WFDB's default gain: marked "(inferred: ...)", so that
    the page and the report say the amplitudes are not known to be mV (``channels.amplitude_basis``)."""
    if not uncalibrated:
        return ""
    unit = " or ".join(dict.fromkeys(units))
    which = ", ".join(uncalibrated)
    return (f" (inferred: the header marks {which} {UNCALIBRATED}, with an ADC gain of 0 or none, so they are read "
            f"at WFDB's default of {DEFAULT_ADC_GAIN:g} units per {unit}: their true size is not known)")


def recorded_at(hdr) -> str | None:
    """When the recording began, as its header's record line gives it (WFDB's optional base time and base
    date, ``00961_lr 12 100 1000 13:40:59 22/07/1987``), in ISO 8601: "1987-07-22T13:40:59", or the time alone
    ("13:40:59": WFDB gives no date without a time); without a base date, the date of a header comment
    ``ECG date: 17/10/1990`` (PTB-DB's, day/month/year: "1990-10-17", with the base time if any); None when the
    header gives none. (Kept in the ECG's metadata, in memory, like the header's comments: a date can identify
    a patient, so it is never logged.) Whole seconds, as every reader keeps it (``recorded.iso_stamp``)."""
    date, time = getattr(hdr, "base_date", None), getattr(hdr, "base_time", None)
    day = (date.year, date.month, date.day) if date is not None else _comment_date(getattr(hdr, "comments", None) or [])
    if time is None and day is None:
        return None
    return iso_stamp(day, (time.hour, time.minute, time.second) if time is not None else None)


# PTB-DB's headers date the ECG in a comment, day first: in its headers here the first number runs to 31,
# the second never past 12 (17/10/1990). "n/a", another layout or a date that cannot be (31/02) is no date
_ECG_DATE_COMMENT = re.compile(r"\s*ECG date:\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", re.IGNORECASE)


def _comment_date(comments: list[str]) -> tuple[int, int, int] | None:
    """(year, month, day) of the first ``ECG date: DD/MM/YYYY`` comment, or None (none, or a date that cannot
    be: a base time beside it is then kept alone)."""
    for line in comments:
        m = _ECG_DATE_COMMENT.fullmatch(str(line))
        if m:
            date = int(m.group(3)), int(m.group(2)), int(m.group(1))
            return date if iso_stamp(date) is not None else None
    return None


def _without_impossible_stamp(header: str) -> str:
    """The header with its record line's base time and base date removed where they cannot be (a date
    32/13/1987, a time 25:61:00, a two-digit year): wfdb refuses the whole header over them, and its error
    quotes the date, which can identify a patient. A bad time takes the date with it (WFDB gives no date
    without a time); a good time stays. The formats are wfdb's (``wfdb_strptime``: SS, MM:SS or HH:MM:SS, an
    optional fraction; the date DD/MM/YYYY)."""
    lines = header.split("\n")
    at = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if at is None:
        return header
    fields = lines[at].split()
    if len(fields) < 5:          # name, signals, rate, length: no base time
        return header
    keep = fields[:4]
    if _stamp_parses(fields[4], {0: "%S", 1: "%M:%S", 2: "%H:%M:%S"}.get(fields[4].count(":"))):
        keep.append(fields[4])
        if len(fields) > 5 and _stamp_parses(fields[5], "%d/%m/%Y"):
            keep.append(fields[5])
    if keep == fields[:6]:
        return header
    lines[at] = " ".join(keep + fields[6:])
    return "\n".join(lines)


def _stamp_parses(text: str, fmt: str | None) -> bool:
    if fmt is None:
        return False
    try:
        _dt.datetime.strptime(text, fmt + (".%f" if "." in text and fmt != "%d/%m/%Y" else ""))
    except ValueError:
        return False
    return True


def _check_header_size(filename: str, header: bytes) -> None:
    """wfdb parses signal lines slowly (about 0.2 ms each): a header of a million lines would hold a
    server thread for minutes, so its size and number of lines are checked first."""
    if len(header) > MAX_HEADER_BYTES:
        raise ECGReadError(f"{filename!r} is {len(header) / 2**20:.1f} MB; a WFDB header is a short text file "
                           f"(at most {MAX_HEADER_BYTES // 2**20} MB is accepted)")
    lines = [ln for ln in header.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#")]
    segmented = bool(lines) and re.match(rb"^\s*[^\s/]+/\d+", lines[0]) is not None
    limit = MAX_SEGMENTS if segmented else MAX_CHANNELS
    if len(lines) - 1 > limit:
        raise ECGReadError(f"{filename!r} has {len(lines) - 1} {'segment' if segmented else 'signal'} lines; at "
                           f"most {limit} {'segments' if segmented else 'channels'} are accepted")


def _check_header_fields(header: bytes, record: str) -> None:
    """wfdb fills fields it cannot parse with defaults (e.g. 250 Hz), reads '1e3' Hz as 1 Hz, and shifts a
    signal line's fields when its gain is 'nan'; a garbled header must not silently become a valid record,
    so the record line's numeric fields (the rate a plain, finite number) and each signal line's gain
    (finite) and baseline (an integer wfdb can hold) are checked first."""
    lines = [ln.strip() for ln in header.decode("ascii", errors="ignore").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    line = lines[0] if lines else ""
    fields = line.split()
    bad = [f for f, pattern in zip(fields, _RECORD_LINE_FIELDS) if not pattern.fullmatch(f)]
    if len(fields) < 2 or bad:
        raise ECGReadError(f"{record + '.hea'!r} is not a valid WFDB header: its record line {line[:80]!r} "
                           f"{'has the malformed field ' + repr(bad[0]) if bad else 'is incomplete'}; "
                           f"{HEADER_FORMAT}")
    if len(fields) > 2:
        rate = re.match(r"[\d.]+(e\d+)?", fields[2]).group(0)
        if "e" in rate:
            raise ECGReadError(f"{record + '.hea'!r} gives its sampling rate as {rate!r}, with an exponent, which "
                               f"WFDB readers take as {rate.split('e')[0]} Hz; write the rate as a plain number "
                               f"(e.g. {float(rate):.0f})")
        check_fs(float(rate), f"the header of WFDB record {record!r}")
    if "/" in fields[0]:
        return                      # a multi-segment header: segment lines, checked when each segment is read
    for number, signal_line in enumerate(lines[1:], start=1):
        signal_fields = signal_line.split()
        if len(signal_fields) < 3:
            continue                # file and format only: wfdb's default gain (200) and baseline (0)
        gain = _GAIN_FIELD.fullmatch(signal_fields[2])
        problem = None
        if gain is None:
            problem = "is not a number"
        elif not np.isfinite(float(gain.group("gain"))):
            problem = "is not a finite number"
        elif gain.group("baseline") is not None and abs(int(gain.group("baseline"))) > _INT64_MAX:
            problem = "has a baseline beyond any sample value"
        if problem:
            raise ECGReadError(f"{record + '.hea'!r} is not a valid WFDB header: the gain field "
                               f"{signal_fields[2][:40]!r} of signal line {number} {problem}; a signal line gives "
                               f"its gain as GAIN[(BASELINE)][/UNITS], e.g. 200(0)/mV: ADC units per physical "
                               f"unit, a finite number, and the baseline a whole number of ADC units")


def _rdrecord_fixed_with_gaps(root: str, hdr, n_sig: int):
    """A fixed-layout multi-segment record with null segments ('~'), which wfdb cannot combine: the
    segments one after the other, each null segment a gap of missing samples (NaN) of its length, so the
    one missing-sample rule (``channels.fill_missing``) applies."""
    parts, first = [], None
    for seg_name, seg_len in zip(hdr.seg_name, hdr.seg_len):
        if seg_name == "~":
            parts.append(np.full((int(seg_len), n_sig), np.nan))
            continue
        seg = wfdb_adapter.wfdb().rdrecord(f"{root}/{seg_name}")
        if seg.p_signal is None or seg.p_signal.shape[1] != n_sig:
            raise ValueError(f"segment {seg_name!r} does not hold the record's {n_sig} signals")
        first = first or seg
        parts.append(seg.p_signal[: int(seg_len)])
    if first is None:
        raise ValueError("every segment is a null segment ('~'): the record holds no samples")
    return SimpleNamespace(p_signal=np.concatenate(parts), sig_name=first.sig_name, units=first.units,
                           comments=list(hdr.comments or []))


def _files_used(record: str, hdr, signal_headers, files: dict[str, bytes]) -> list[str]:
    used = {record + ".hea"}
    used.update(s + ".hea" for s in (getattr(hdr, "seg_name", None) or []) if s + ".hea" in files)
    used.update(f for seg in signal_headers for f in (seg.file_name or []) if f in files)
    return sorted(used)


def _infer_sig_len(files: dict[str, bytes], hdr, where: str) -> int:
    """Length of a record whose header omits it, from its first signal file's size (as wfdb does)."""
    if not hdr.file_name or not hdr.fmt:
        raise ECGReadError(f"{where}: the header has no signal lines (and no number of samples); a WFDB header "
                           f"needs one line per signal after its record line")
    fname, fmt = hdr.file_name[0], str(hdr.fmt[0])
    if fname not in files:
        _missing_signal_file(fname, where)
    spf = sum(s or 1 for f, s in zip(hdr.file_name, hdr.samps_per_frame) if f == fname)
    size = wfdb_adapter.bytes_per_sample(fmt)
    if not size or spf <= 0:      # FLAC (508/516/524) has no fixed size
        raise ECGReadError(f"{where}: the header gives no length and format {fmt} has no fixed sample size; "
                           f"add the number of samples to the record line")
    data_bytes = len(files[fname]) - int(hdr.byte_offset[0] or 0)
    return int(data_bytes / (size * spf))


def _missing_signal_file(fname: str, where: str) -> None:
    raise ECGReadError(f"{where}: the header names the signal file {fname!r}, which is missing; the .hea needs "
                       f"its signal file(s) beside it (in the same folder, the same upload, or one .zip)")


def _check_signal_files(files: dict[str, bytes], hdr, where: str) -> set[str]:
    """The signal files a header names that are missing; those present must have a known format and hold
    every declared sample."""
    sig_len = int(hdr.sig_len or 0)
    missing = set()
    by_file: dict[str, list[int]] = {}
    for i, fname in enumerate(hdr.file_name or []):
        by_file.setdefault(fname, []).append(i)
    for fname, chans in by_file.items():
        if fname == "~":
            continue    # WFDB's "no file": the signal lines of a layout header, or a null signal
        if fname != PurePosixPath(fname).name or fname in ("", ".", ".."):
            raise ECGReadError(f"{where}: the header names the signal file {fname!r}; only plain file names "
                               f"in the same folder as the header are accepted")
        if fname.lower().endswith(".hea"):
            example = PurePosixPath(fname).stem + ".dat"
            raise ECGReadError(f"{where}: the header names {fname!r} as a signal file, but that is a header; a "
                               f"signal line names the record's signal file (e.g. {example!r})")
        if fname not in files:
            missing.add(fname)
            continue
        fmt = str(hdr.fmt[chans[0]])
        if fmt not in wfdb_adapter.signal_formats():
            raise ECGReadError(f"{where}: signal format {fmt!r} is not a WFDB format; accepted: "
                               f"{', '.join(wfdb_adapter.signal_formats())}")
        if wfdb_adapter.is_compressed(fmt):
            continue   # FLAC: size is not fixed; wfdb checks the stream itself
        spf = sum(int(hdr.samps_per_frame[c] or 1) for c in chans)
        needed = int(hdr.byte_offset[chans[0]] or 0) + wfdb_adapter.required_bytes(fmt, sig_len * spf)
        have = len(files[fname])
        if have < needed:
            raise ECGReadError(f"{where}: signal file {fname!r} is truncated: the header declares {sig_len} "
                               f"samples of {len(chans)} channel(s) in format {fmt} ({needed} bytes) but the "
                               f"file has {have} bytes; the complete file is needed")
    return missing
