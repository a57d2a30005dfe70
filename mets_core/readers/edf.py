"""EDF, EDF+ (continuous, EDF+C) and BDF/BDF+ (24-bit) files, decoded by ``edfio``.

Sleep labs, Holters and research devices record ECG beside other signals (EEG, SpO2, respiration).
Signals whose label names a standard lead are read - directly (``I``, ``V1``, ``MLII``) or after an
``ECG``/``EKG`` prefix (``ECG II``, ``EKG V5``); a bare ``ECG``/``EKG`` is lead I, as in the project's alias
table. ``ECG1``, ``ECG 2``, ``EKG3`` number a Holter's channels, not leads (they are CM5, V1, a modified aVF,
... as the recorder was set up): they are ECG channels without a lead name, left out (and listed) as other
formats leave QTDB's ``ECG1``/``ECG2`` out; when no channel names a lead the file asks for ``lead_names``
(``UnnamedLeadsError``), one per ECG channel in order (those named as leads and those numbered). The ECG
channels' physical dimension must be a voltage (uV, mV, V), and their physical and digital minimum and
maximum must scale the samples (two different finite numbers each). The header fields edfio trusts (number
of signals, of data records, record duration, samples per record) are checked before it reads the file; a
file longer or shorter than its header declares is refused. Leads sampled at a
rate other than the most common one among the leads are left out and listed.

Discontinuous EDF+D/BDF+D files: edfio hands over the data records one after the other; each record's
start time is the time stamp opening the first annotation signal's part of that record (its first
"time-stamped annotation list", TAL: ``+12.5\x14\x14\x00``). The records are placed at those times and
the gaps between them are missing samples, filled under the one missing-sample rule
(``channels.fill_missing``); gaps larger than that rule allows, or a span beyond the sample caps, are
refused before anything of that size is allocated.

When the recording began (edfio's start date, from the EDF+ ``Startdate dd-MMM-yyyy`` subfield when there is
one, else the header's ``dd.mm.yy``; and its start time) is kept as ``metadata["recorded_at"]``
(``recorded.py``), except: an anonymised EDF+ date (``Startdate X``) or an unreadable one gives none, and so
does 1 January 1985, EDF's first possible date, which writers put there when they know no date and
anonymisers (edfio's ``anonymize``, EDFbrowser) put there in place of the real one - a placeholder that
nothing in the file tells apart from a real recording (EDF dates from 1992, so a real one is a conversion
of an older recording, rare). The time is dropped with such a date (an anonymiser may have kept it, but a
time that cannot be placed on a day is not worth a guess).
"""
from __future__ import annotations

import re
import warnings
from collections import Counter

import numpy as np

from ..ecg import ECGReadError, standard_lead
from .channels import Channels, to_mv_factor, with_caller_hints
from .limits import MAX_MISSING_FRACTION, MAX_TOTAL_SAMPLES, check_channels, check_length, counted
from .recorded import iso_stamp

_PREFIX = re.compile(r"^\s*(ecg|ekg)[\s._:-]*", re.I)
_TAL_ONSET = re.compile(rb"([+-]\d+(?:\.\d*)?)\x14\x14")     # the time stamp opening a record's first TAL


def lead_of(label: str) -> str | None:
    """The standard lead an EDF signal label stands for, or None ('ECG1': a channel number, no lead): the rule
    every reader follows (``standard_lead``: 'ECG II', 'EKG-V1', a lone 'ECG' of a one-lead device)."""
    return standard_lead(label.strip())


def is_ecg_channel(label: str) -> bool:
    """True if an EDF signal is an ECG channel: its label names a lead, or says ECG/EKG ('ECG1', a
    Holter's numbered channel)."""
    return lead_of(label) is not None or _PREFIX.match(label.strip()) is not None


def read(data: bytes, filename: str, lead_names: list[str] | None = None,
         fs_given: float | None = None) -> Channels:
    import edfio
    bdf = data[:8] == b"\xffBIOSEMI"
    kind = "BDF" if bdf else "EDF"
    where = f"{kind} file {filename!r}"
    _check_fixed_header(data, kind, where)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            edf = edfio.read_bdf(data) if bdf else edfio.read_edf(data)
            signals = list(edf.signals)
    except Exception as e:      # edfio raises ValueError/IndexError/... on damaged headers
        text = str(e)
        raise ECGReadError(f"{where} could not be read: {type(e).__name__}: {text[:200]}; {ACCEPTED}") from None
    for w in caught:    # edfio reads a file whose length disagrees with its header, with a warning: refuse it
        m = re.search(r"indicates (-?\d+) data records, but file contains (\d+)", str(w.message))
        if m and int(m.group(2)) < int(m.group(1)):
            raise ECGReadError(f"{where} is truncated: its header declares {m.group(1)} data records but the "
                               f"file holds {m.group(2)}; upload the complete file")
        if m:
            raise ECGReadError(f"{where} holds more data records than its header declares ({m.group(2)}, where "
                               f"the header says {m.group(1)}); the header or the file is damaged: export the "
                               f"file again")
    if not signals:
        raise ECGReadError(f"{where} holds no signals")
    # the ECG channels, each under its lead (a numbered one, 'ECG1', under its own label: ECG.from_leads leaves
    # it out and lists it, or asks for lead_names when no channel names a lead)
    leads = [(s, lead_of(s.label) or s.label.strip()) for s in signals if is_ecg_channel(s.label)]
    if not leads:
        labels = ", ".join(repr(s.label.strip()) for s in signals[:12])
        raise ECGReadError(f"{where} has no ECG lead among its signals ({labels}); accepted labels name a "
                           f"standard lead: I, II, V1, 'ECG II', 'EKG V5', MLII, ECG (= lead I)")
    rates = Counter(float(s.sampling_frequency) for s, _ in leads)
    fs = rates.most_common(1)[0][0]
    other_rate = [f"{s.label.strip()}({s.sampling_frequency:g} Hz)" for s, _ in leads if s.sampling_frequency != fs]
    leads = [(s, std) for s, std in leads if s.sampling_frequency == fs]
    n = int(round(fs * edf.duration))
    if n * len(leads) > MAX_TOTAL_SAMPLES:
        raise ECGReadError(f"{where} holds {counted(len(leads), 'lead')} x {n:,} samples; at most {MAX_TOTAL_SAMPLES:,} samples "
                           f"in all are accepted")
    rows, names, units = [], [], []
    for s, std in leads:
        unit = s.physical_dimension.strip()
        factor = to_mv_factor(unit)
        if factor is None:
            raise ECGReadError(f"{where}: ECG signal {s.label.strip()!r} has physical dimension {unit!r}, not a "
                               f"voltage; accepted: uV, mV, V")
        _check_calibration(s, where)
        try:
            with warnings.catch_warnings():     # edfio's warnings quote its source path; the checks above say it
                warnings.simplefilter("ignore")
                rows.append(np.asarray(s.data, dtype=np.float64) * factor)
        except Exception as e:
            raise ECGReadError(f"{where}: the samples of {s.label.strip()!r} could not be read "
                               f"({type(e).__name__}); the file may be truncated") from None
        names.append(std)
        units.append(unit)
    meta = {"source_format": kind.lower(), "units": " ".join(sorted(set(units))) + " (declared)",
            "edf_labels": " ".join(f"{std}={s.label.strip()!r}" for s, std in leads)}
    skipped = [s.label.strip() for s in signals if not is_ecg_channel(s.label)]
    if skipped:
        meta["non_ecg_signals"] = " ".join(skipped[:32])
    if other_rate:
        meta["leads_at_other_rates"] = " ".join(other_rate)
    recorded = _recorded_at(edf)
    if recorded is not None:
        meta["recorded_at"] = recorded
    if edf.reserved.strip().upper().endswith("+D"):
        rows = _place_records(rows, _record_onsets(data, edf, bdf, where), fs, float(edf.data_record_duration),
                              meta, where)
    length = min(len(r) for r in rows)
    return with_caller_hints(Channels(np.stack([r[:length] for r in rows]), names, fs, meta, repr(filename)),
                             lead_names, fs_given)


ACCEPTED = "accepted: EDF, EDF+C, EDF+D, BDF, BDF+C, BDF+D"


def _check_fixed_header(data: bytes, kind: str, where: str) -> None:
    """The header fields edfio relies on without checking them (it fails on them with IndexError,
    ZeroDivisionError, UnboundLocalError, ...): the number of signals, whose descriptions must fit in the file,
    the number of data records, the duration of a data record, and each signal's samples per data record."""
    if len(data) < 256:
        raise ECGReadError(f"{where} is {len(data)} bytes, shorter than the 256-byte header every {kind} file "
                           f"opens with; the file is truncated: upload the complete file")

    def field(offset: int, width: int) -> str:
        return data[offset:offset + width].decode("latin-1").strip()

    signals_text = field(252, 4)
    if not signals_text.isdigit() or int(signals_text) < 1:
        raise ECGReadError(f"{where}: its header gives the number of signals as {signals_text!r}; it must be a "
                           f"whole number of at least 1 ({ACCEPTED})")
    n_signals = int(signals_text)
    header_bytes = 256 * (n_signals + 1)
    if len(data) < header_bytes:
        raise ECGReadError(f"{where}: its header declares {n_signals} signals, whose descriptions take "
                           f"{header_bytes:,} bytes, but the file holds {len(data):,}; the file is truncated or its "
                           f"header damaged: upload the complete file")
    records_text = field(236, 8)
    if not (records_text.isdigit() or records_text == "-1"):
        raise ECGReadError(f"{where}: its header gives the number of data records as {records_text!r}; it must be "
                           f"a whole number (or -1: unknown) ({ACCEPTED})")
    duration_text = field(244, 8)
    try:
        duration = float(duration_text)
    except ValueError:
        duration = float("nan")
    if not (np.isfinite(duration) and duration > 0):
        raise ECGReadError(f"{where}: its header gives the duration of a data record as {duration_text!r} s; it "
                           f"must be a number of seconds above 0 ({ACCEPTED})")
    base = 256 + 216 * n_signals           # each signal's samples per data record, 8 characters
    for i in range(n_signals):
        text = field(base + 8 * i, 8)
        if not text.isdigit():
            label = field(256 + 16 * i, 16)
            raise ECGReadError(f"{where}: its header gives signal {label!r} {text!r} samples per data record; it "
                               f"must be a whole number ({ACCEPTED})")


def _check_calibration(signal, where: str) -> None:
    """A signal's samples are scaled to its physical dimension by its physical and digital minimum and maximum;
    equal or unreadable ones leave the scale unknown (edfio would hand over the raw counts)."""
    label = signal.label.strip()
    try:
        physical = (float(signal.physical_min), float(signal.physical_max))
        digital = (int(signal.digital_min), int(signal.digital_max))
    except (TypeError, ValueError):
        physical, digital = (np.nan, np.nan), (0, 0)
    if not np.isfinite(physical).all() or physical[0] == physical[1] or digital[0] == digital[1]:
        raise ECGReadError(f"{where}: ECG signal {label!r} has physical minimum/maximum {physical[0]:g}/"
                           f"{physical[1]:g} and digital minimum/maximum {digital[0]}/{digital[1]}, so its "
                           f"samples cannot be scaled to {signal.physical_dimension.strip() or 'a voltage'}; each "
                           f"pair must be two different finite numbers: the header is damaged, export the file again")


PLACEHOLDER_DATE = (1985, 1, 1)      # EDF's "01.01.85": no date known, or an anonymised one


def _recorded_at(edf) -> str | None:
    """edfio's start date and time in ISO 8601, or None: anonymised (``Startdate X``), unreadable, impossible,
    or the placeholder 1 January 1985. edfio warns with both dates when the EDF+ and the legacy date differ:
    silenced, as a date is never logged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            date = edf.startdate
        except Exception:          # AnonymizedDateError ('Startdate X'), or a damaged or impossible date
            return None
        try:
            time = edf.starttime
        except Exception:          # a damaged time field: the date alone
            time = None
    if (date.year, date.month, date.day) == PLACEHOLDER_DATE:
        return None
    return iso_stamp((date.year, date.month, date.day),
                     (time.hour, time.minute, time.second) if time is not None else None)


def _record_onsets(data: bytes, edf, bdf: bool, where: str) -> np.ndarray:
    """The start (s) of each data record of an EDF+D/BDF+D file, from the time stamp opening the first
    annotation signal's bytes of each record. The record layout comes from the header's fixed fields
    (edfio has checked them): header size, number of signals, their labels and samples per record."""
    kind = "BDF" if bdf else "EDF"
    try:
        n_signals, header_bytes = int(data[252:256]), int(data[184:192])
        labels = [data[256 + 16 * i:272 + 16 * i].decode("latin-1").strip() for i in range(n_signals)]
        base = 256 + 216 * n_signals
        per_record = [int(data[base + 8 * i:base + 8 * i + 8]) for i in range(n_signals)]
    except ValueError:
        raise ECGReadError(f"{where}: its header's signal fields are not numbers") from None
    annotation = f"{kind} Annotations"
    if annotation not in labels:
        raise ECGReadError(f"{where} is marked discontinuous ({kind}+D) but has no {annotation!r} signal giving "
                           f"the start time of each data record; accepted: {kind}+D files as the EDF+ "
                           f"specification defines them, or continuous files")
    width = 3 if bdf else 2
    k = labels.index(annotation)
    offset, size, record = header_bytes + width * sum(per_record[:k]), width * per_record[k], width * sum(per_record)
    onsets = np.empty(edf.num_data_records)
    for r in range(edf.num_data_records):
        start = offset + r * record
        match = _TAL_ONSET.match(data, start, start + size)
        if match is None:
            raise ECGReadError(f"{where}: data record {r + 1} does not start with its time stamp ({kind}+D "
                               f"files give each record's start time in its first annotation)")
        onsets[r] = float(match.group(1))
    return onsets


def _place_records(rows: list[np.ndarray], onsets: np.ndarray, fs: float, record_s: float,
                   meta: dict[str, str], where: str) -> list[np.ndarray]:
    """Each lead's data records placed at their start times, the gaps between them NaN (missing samples)."""
    n_records = len(onsets)
    per_record = int(round(fs * record_s))
    if n_records == 0 or per_record <= 0 or any(len(r) != n_records * per_record for r in rows):
        raise ECGReadError(f"{where}: its data records do not hold {fs:g} Hz x {record_s:g} s of samples each")
    offsets = (onsets - onsets[0]) * fs
    span = float(offsets[-1]) + per_record
    if not np.isfinite(span):
        raise ECGReadError(f"{where}: the start times of its data records are not finite numbers")
    check_length(int(round(min(span, 2.0 ** 62))), fs, f"{where} (from its first to its last data record)")
    positions = np.round(offsets).astype(np.int64)
    steps = np.diff(positions)
    if (steps < per_record).any():
        r = int(np.flatnonzero(steps < per_record)[0]) + 1
        raise ECGReadError(f"{where}: data record {r + 1} starts at {onsets[r]:g} s, before the record ahead of "
                           f"it ends ({onsets[r - 1] + record_s:g} s); the records overlap or are out of order")
    span = int(positions[-1]) + per_record
    check_channels(len(rows), span, where)
    missing = span - n_records * per_record
    if missing > MAX_MISSING_FRACTION * span:
        raise ECGReadError(f"{where} has gaps between its data records of {missing / fs:g} s in all, "
                           f"{missing / span:.0%} of the {span / fs:g} s it spans; gaps up to "
                           f"{MAX_MISSING_FRACTION:.0%} are interpolated: export each continuous part as its own "
                           f"file (EDF+C)")
    breaks = np.flatnonzero(steps != per_record) + 1
    runs = list(zip([0, *breaks.tolist()], [*breaks.tolist(), n_records]))
    placed = []
    for row in rows:
        out = np.full(span, np.nan)
        for a, b in runs:
            out[positions[a]:positions[a] + (b - a) * per_record] = row[a * per_record:b * per_record]
        placed.append(out)
    if missing:
        gaps = len(runs) - 1
        meta["edf_gaps"] = f"{gaps} gap{'s' if gaps > 1 else ''} between data records, {missing / fs:g} s in all (EDF+D)"
    return placed
