"""mets_core.measure against cardiologists' wave boundaries: prints the error table of docs/measurements.md.

    METS_DATA_DIR=../shared/data .venv/bin/python benchmarks/measure_validation.py [--ludb-only] [--worst N]
        [--ludb-rate 100] [--trend] [--ectopy] [--annotators] [--ptbxl [--folds 1-8|9]] [--rhythm]
        [--polarity] [--no-beat]

- LUDB (all 200 records, 10 s, 12 leads, 500 Hz): every P, QRS and T wave is annotated in every lead.
  References: *global* (per beat the earliest onset and the latest offset over the 12 leads' annotations, as
  a 12-lead machine defines global intervals); *trimmed global* (the second earliest / second latest, so
  that one lead's outlying mark does not decide: in record 29 lead II's T end is 462 ms after R, the other
  11 leads' 330-352 ms); and lead II alone.
- QTDB (2 leads, 250 Hz, 15 min): cardiologist boundaries (.q1c) on ~30 beats per record, one set for both
  leads. T waves are mostly marked by their peak and end only ('t' ')'), which counts as a T end. One 10 s
  window per record starting 1 s before the first annotated beat is measured; the reference is the median
  over the annotated beats inside it. Leads named ECG1/ECG2 (no standard lead) are measured under stand-in
  names II and V5: the delineation uses no lead name.
- Halves: the delineation parameters (mets_core/delineate.py) were chosen on the *tuning* half (even LUDB
  records, every other QTDB record in name order); the *held-out* half was not looked at while choosing.
Heart rate: against the annotated beats of the window (LUDB: lead II's QRS marks; QTDB: the beat
annotations .atr, where the record has them), beats counted over their span; windows more than 5 and 10
bpm off, median and 95th percentile absolute error. Per interval: median and 95th percentile absolute
error (ms), median signed error (bias), records not measured, and for QRS the share of windows called
>= 120 ms while the manual value is < 110 ms (a false "wide QRS"). Also: LUDB's trimmed tables again
without the records whose diagnoses name pacing (the QRS tail), and the long-QTc warning (QTc >= 500 ms,
"check the T end") against the windows more than 40 ms off. --worst N lists the N worst windows per
interval (PR, QRS, QT) with the signed error of each boundary (P onset, QRS onset and offset, T end).
--trend: instead, the whole-record beat finder (``heart_rate_trend``) on the MIT-BIH records (30 min, 2
leads, 360 Hz) against their beat annotations (a beat within 150 ms of an annotated one is found), with its
time per record, beside a floor measured in the same run: one lead's neurokit2 detector (what the trend used
before), its beats scored the same way.
--ectopy: instead, the median beat's purity where beats of two shapes mix: MIT-BIH and QTDB records with
beat labels (.atr), a 10 s window every 30 s, beats grouped by shape (conducted, ventricular, fusion,
paced; ``SHAPE_CLASSES``). Per database: windows whose median beat is made of beats of two classes, windows
whose median beat is of another class than the record's own (bigeminy), and
the QRS / QT / PR of the mixed windows against the same record's one-class windows; beside it, in the
same run, the floor: measure() with every beat kept and none shifted (the median beat before the
dominant-shape rule). ~10 minutes.
--annotators: instead, QTDB's two cardiologists against each other (.q1c and .q2c; only 5 records have
both): per record, each one's median PR/QRS/QT over the beats both annotated, and the difference. A floor
for the tables: no method can agree with one annotator better than the annotators agree with each other.
--rhythm: instead, the PR reported or withheld by each database's stated rhythm (sinus, atrial fibrillation,
flutter): LUDB, PTB-XL folds 1-9, CinC 2017, MIT-BIH rhythm episodes; the AF or flutter windows given a PR.
--polarity: instead, the PR of LUDB's tuning half (even records) measured with the interval lead turned
upside down, against the same record upright: within 15 ms, further off, or lost (about 2 minutes).
--no-beat: instead, what the "no repeating beat" rule stops: 20 seeds of 12-lead white noise (it must stop
them), all 200 LUDB records and CinC 2017's first 150 records of each class (normal, AF, other, noisy).
--ptbxl: instead, the QRS duration against PTB-XL's cardiologists' statements, which imply a range without
marking any boundary: complete bundle-branch block (CLBBB, CRBBB) means QRS >= 120 ms; normal (NORM),
incomplete bundle-branch block (IRBBB, ILBBB) and left anterior fascicular block (LAFB) mean < 120 ms.
Statements count with likelihood >= 50 (``PTBXL_MIN_LIKELIHOOD``; the diagnostic statements carry 0-100).
Measured: the records in mV that METS_DATA_DIR's ptbxl/ holds (``records100/`` at 100 Hz and
``records500/`` at 500 Hz; not the band-passed, z-scored ``zscore100/``), of the standard patient-wise
folds 1-8 (to look at and tune) and 9 (validation) apart; fold 10 is never read. Per fold group and class:
records, QRS (median, interquartile range), share >= 120 ms, share not measured; "false wide": a narrow
class measured >= 120 ms (records also carrying a statement that allows a wide QRS, ``PTBXL_WIDE_ALLOWED``,
left out); "missed wide": CLBBB / CRBBB measured < 120 ms (and < 110 ms). Then the worst false wide records
of each group with each lead's own QRS limits (which leads set the global onset and offset). --folds 1-8 or
9 measures one group only.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mets_core import delineate  # noqa: E402
from mets_core.ecg import ECG, STANDARD_LEADS, ECGReadError  # noqa: E402
from mets_core.measure import LONG_QTC_MS, WIDE_QRS_MS, measure  # noqa: E402

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


def _waves(ann) -> list[tuple[str, int | None, int, int]]:
    """(kind, onset, peak, offset) of every wave X ')' of a wfdb annotation; onset None when the wave has no
    '(' before it (QTDB's cardiologists mark most T waves by their peak and end only: 't' ')')."""
    sym, at = ann.symbol, ann.sample
    return [(sym[i], int(at[i - 1]) if i > 0 and sym[i - 1] == "(" else None, int(at[i]), int(at[i + 1]))
            for i in range(len(sym) - 1) if sym[i + 1] == ")" and sym[i] not in "()"]


def _beats(waves) -> list[dict]:
    """Per QRS: its onset/offset/peak and the P onset before it and T end after it (when annotated)."""
    out = []
    for j, (kind, on, peak, off) in enumerate(waves):
        if kind in ("p", "t", "u") or on is None:
            continue
        beat = {"peak": peak, "qrs_on": on, "qrs_off": off, "p_on": None, "t_end": None}
        if j > 0 and waves[j - 1][0] == "p" and waves[j - 1][1] is not None:
            beat["p_on"] = waves[j - 1][1]
        if j + 1 < len(waves) and waves[j + 1][0] == "t":
            beat["t_end"] = waves[j + 1][3]
        out.append(beat)
    return out


def annotated_beats(ann) -> list[dict]:
    """Per annotated QRS of a wfdb wave annotation (LUDB's per-lead files, QTDB's .q1c / .q2c): its onset,
    peak and offset and the P onset before it and T end after it, when annotated (samples; None if not)."""
    return _beats(_waves(ann))


QTDB_LEAD_IN_S = 1.0            # a QTDB window starts this long before its first annotated QRS ...
QTDB_WINDOW_S = 10.0            # ... and is this long


def qtdb_window(beats: list[dict], fs: float, qrs_on: int | None = None) -> tuple[int, int, list[dict]]:
    """(start, end, the annotated beats inside) of a QTDB window (samples): ``QTDB_WINDOW_S`` starting
    ``QTDB_LEAD_IN_S`` before the QRS onset `qrs_on` (default the first annotated beat's: the benchmark's one
    window per record). Inside: the beats whose QRS starts in the window and whose T end (QRS end, where no
    T end is annotated) comes before its end."""
    qrs_on = beats[0]["qrs_on"] if qrs_on is None else qrs_on
    start = max(0, qrs_on - int(QTDB_LEAD_IN_S * fs))
    end = start + int(QTDB_WINDOW_S * fs)
    return start, end, [b for b in beats if start <= b["qrs_on"] and (b["t_end"] or b["qrs_off"]) < end]


def reference_intervals(beats: list[dict], fs: float) -> dict:
    """Median intervals (ms) over the beats, the median boundaries relative to the annotated R peak (ms; to
    see which boundary an interval error comes from) and the heart rate (bpm) of consecutive beats."""
    def med(values):
        values = [v for v in values if v is not None]
        return float(np.median(values)) * 1000.0 / fs if values else None
    return {"hr": beat_rate([b["peak"] for b in beats], fs),
            "pr": med([b["qrs_on"] - b["p_on"] for b in beats if b["p_on"] is not None]),
            "qrs": med([b["qrs_off"] - b["qrs_on"] for b in beats]),
            "qt": med([b["t_end"] - b["qrs_on"] for b in beats if b["t_end"] is not None]),
            "p_on": med([b["p_on"] - b["peak"] for b in beats if b["p_on"] is not None]),
            "qrs_on": med([b["qrs_on"] - b["peak"] for b in beats]),
            "qrs_off": med([b["qrs_off"] - b["peak"] for b in beats]),
            "t_end": med([b["t_end"] - b["peak"] for b in beats if b["t_end"] is not None])}


def beat_rate(peaks, fs: float) -> float | None:
    """Heart rate (bpm) of consecutive annotated beats: beats counted over their span (the mean RR), which
    is the rate in an irregular rhythm too (the median RR of AF or bigeminy sits on one peak of the RR
    distribution)."""
    peaks = sorted(peaks)
    return 60.0 * fs * (len(peaks) - 1) / (peaks[-1] - peaks[0]) if len(peaks) >= 2 else None


def _envelope(same: list[dict], peak: int, trim: int) -> dict:
    """One beat's global boundaries from the leads' annotations of it: the earliest onsets and the latest
    offsets, or with trim=1 the second earliest/latest (one lead's outlying mark does not decide)."""
    def pick(values, latest):
        values = sorted(v for v in values if v is not None)
        if not values:
            return None
        k = min(trim, len(values) - 1) if len(values) >= 3 else 0
        return values[-1 - k] if latest else values[k]
    return {"peak": peak, "qrs_on": pick([x["qrs_on"] for x in same], False),
            "qrs_off": pick([x["qrs_off"] for x in same], True),
            "p_on": pick([x["p_on"] for x in same], False), "t_end": pick([x["t_end"] for x in same], True)}


def ludb_annotated_beats(folder: Path, record: int, fs: float) -> tuple[list[dict], list[dict], list[dict]]:
    """Per lead II QRS of one LUDB record, its boundaries (samples): lead II's own, the global envelope over
    the 12 leads and the trimmed global envelope (``_envelope``)."""
    import wfdb
    per_lead = {ld: annotated_beats(wfdb.rdann(str(folder / str(record)), ld)) for ld in LUDB_LEADS}
    lead2 = per_lead["ii"]
    tol = int(0.06 * fs)
    same = [[x for ld in LUDB_LEADS for x in per_lead[ld] if abs(x["peak"] - b["peak"]) <= tol] for b in lead2]
    return (lead2, [_envelope(s, b["peak"], 0) for s, b in zip(same, lead2)],
            [_envelope(s, b["peak"], 1) for s, b in zip(same, lead2)])


def ludb_ecg(folder: Path, record: int, rate: int | None = None):
    """(the wfdb record, the LUDB record as an ECG), resampled to `rate` Hz when given."""
    from fractions import Fraction

    import wfdb
    from scipy.signal import resample_poly
    rec = wfdb.rdrecord(str(folder / str(record)))
    signal, fs = rec.p_signal.T, rec.fs
    if rate:
        ratio = Fraction(int(rate), int(rec.fs))
        signal, fs = resample_poly(signal, ratio.numerator, ratio.denominator, axis=1), float(rate)
    return rec, ECG.from_leads(signal, rec.sig_name, fs, name=f"ludb/{record}")


def ludb_rows(folder: Path, records, rate: int | None = None):
    """(record, Measurements, lead II reference, global reference, trimmed global reference) per LUDB
    record; with `rate`, the signals are resampled to that many Hz before measuring (PTB-XL ships 100 Hz)."""
    import wfdb
    rows = []
    for r in records:
        rec, ecg = ludb_ecg(folder, r, rate)
        refs = tuple(reference_intervals(beats, rec.fs) for beats in ludb_annotated_beats(folder, r, rec.fs))
        # the rate from every QRS mark of lead II: a few QRS waves lack their '(' (record 111, 7.84 s)
        ann = wfdb.rdann(str(folder / str(r)), "ii")
        hr = beat_rate([s for s, sym in zip(ann.sample, ann.symbol) if sym == "N"], rec.fs)
        t0 = time.perf_counter()
        m = measure(ecg)
        MEASURE_SECONDS.append(time.perf_counter() - t0)
        rows.append((r, m, *({**ref, "hr": hr} for ref in refs)))
    return rows


MEASURE_SECONDS: list[float] = []      # each LUDB window's measure() call, printed with the tables


def qtdb_rows(folder: Path, annotator: str = "q1c", names=None):
    """(record, Measurements, reference, reference, reference) per QTDB record with annotations of that
    annotator (one set of boundaries for both leads: the same reference in the three places); `names`: only
    these records."""
    import wfdb
    rows = []
    for hea in sorted(folder.glob("*.hea")):
        name = hea.stem
        if names is not None and name not in names:
            continue
        if not (folder / f"{name}.{annotator}").is_file():
            continue
        beats = annotated_beats(wfdb.rdann(str(folder / name), annotator))
        if len(beats) < 3:
            continue
        rec = wfdb.rdrecord(str(folder / name))
        fs = float(rec.fs)
        start, end, inside = qtdb_window(beats, fs)
        if len(inside) < 2:
            continue
        ecg = qtdb_ecg(rec, name)
        ref = reference_intervals(inside, fs)
        # the q1c beats are selected beats, not all of them: the rate comes from the record's beat
        # annotations (.atr), present for 73 of the 96 records
        ref["hr"] = _qtdb_rate(folder / name, start, end, fs)
        rows.append((name, measure(ecg, start_s=start / fs, seconds=QTDB_WINDOW_S), ref, ref, ref))
    return rows


def qtdb_ecg(rec, name: str) -> ECG:
    """The QTDB record (wfdb.Record) as an ECG; leads named ECG1/ECG2 (or two that map to one standard lead)
    under stand-in names II and V5. Delineation uses no lead name, only the order in which the
    beat-finding lead is chosen."""
    try:
        ecg = ECG.from_leads(rec.p_signal.T, rec.sig_name, float(rec.fs), name=f"qtdb/{name}")
        if int(np.sum(ecg.lead_mask)) < rec.n_sig:
            raise ECGReadError("a lead was not mapped")
    except ECGReadError:
        ecg = ECG.from_leads(rec.p_signal.T[:2], ["II", "V5"], float(rec.fs), name=f"qtdb/{name}")
    return ecg


BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")     # wfdb beat annotation codes (the rest mark rhythm, noise ...)


def _qtdb_rate(path: Path, start: int, end: int, fs: float) -> float | None:
    import wfdb
    if not path.with_suffix(".atr").is_file():
        return None
    ann = wfdb.rdann(str(path), "atr")
    return beat_rate([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS and start <= s < end], fs)


def rate_table(sets: dict) -> list[str]:
    """Heart rate against the annotated beats: windows off by more than 5 and 10 bpm, median and 95th
    percentile absolute error, bias; all windows and those the measurement calls irregular."""
    lines = ["| heart rate | n | not measured | > 5 bpm off | > 10 bpm off | median abs. error (bpm) | "
             "95th pct (bpm) | bias (bpm) |", "|---|---|---|---|---|---|---|---|"]
    for db, rows in sets.items():
        for part, keep in (("all", lambda m: True), ("irregular", lambda m: bool(m.rr_irregular))):
            pairs = [(row[1].heart_rate_bpm, row[3]["hr"]) for row in rows
                     if row[3]["hr"] is not None and keep(row[1])]
            err = np.array([value - ref for value, ref in pairs if value is not None])
            missing = sum(value is None for value, _ in pairs)
            if not len(err):
                continue
            e = np.abs(err)
            lines.append(f"| {db}, {part} | {len(pairs)} | {missing} | {int(np.sum(e > 5))} | {int(np.sum(e > 10))} "
                         f"| {np.median(e):.1f} | {np.percentile(e, 95):.1f} | {np.median(err):+.1f} |")
    return lines


INTERVALS = (("pr_ms", "pr"), ("qrs_ms", "qrs"), ("qt_ms", "qt"))


def _errors(rows, which: int, attr: str, key: str):
    """Signed errors (ms), number of references and of windows not measured, false wide QRS count."""
    err, missing, n, wide = [], 0, 0, 0
    for row in rows:
        m, ref = row[1], row[which]
        if ref is None or ref[key] is None:
            continue
        n += 1
        value = getattr(m, attr)
        if value is None:
            missing += 1
            continue
        err.append(value - ref[key])
        if key == "qrs" and value >= WIDE_QRS_MS and ref[key] < 110:
            wide += 1
    return np.asarray(err), n, missing, wide


def table(rows, which: int, title: str) -> list[str]:
    lines = [f"| {title} | n | not measured | median abs. error (ms) | 95th pct (ms) | bias (ms) | false wide QRS |",
             "|---|---|---|---|---|---|---|"]
    for attr, key in INTERVALS:
        err, n, missing, wide = _errors(rows, which, attr, key)
        if not len(err):
            lines.append(f"| {key.upper()} | {n} | {missing} | - | - | - | |")
            continue
        e = np.abs(err)
        measured = n - missing
        lines.append(f"| {key.upper()} | {n} | {missing} | {np.median(e):.1f} | {np.percentile(e, 95):.1f} | "
                     f"{np.median(err):+.1f} | " + (f"{wide}/{measured} ({wide / max(1, measured):.1%})"
                                                     if key == "qrs" else "") + " |")
    return lines


def long_qtc_table(sets: dict) -> list[str]:
    """measure()'s long-QTc warning (QTc Fridericia >= LONG_QTC_MS: "check the T end") against the reference
    QT: windows warned, and how many of them and of all windows are more than 40 ms off (the QT target)."""
    lines = ["| long-QTc warning | windows with a reference QT, measured | > 40 ms off | warned | warned and > 40 ms "
             "off |", "|---|---|---|---|---|"]
    total = np.zeros(4, int)
    for db, rows in sets.items():
        which = 4 if db == "LUDB" else 3              # LUDB's trimmed global reference; QTDB's q1c
        counts = np.zeros(4, int)
        for row in rows:
            m, ref = row[1], row[which]
            if m.qt_ms is None or ref["qt"] is None:
                continue
            off, warned = abs(m.qt_ms - ref["qt"]) > 40, _long_qtc_warned(m)
            counts += (1, off, warned, off and warned)
        total += counts
        lines.append(f"| {db} | " + " | ".join(str(c) for c in counts) + " |")
    lines.append("| both | " + " | ".join(str(c) for c in total) + " |")
    return lines


def _long_qtc_warned(m) -> bool:
    """Did measure() warn of a long QTc (the warning's own condition, not its words)?"""
    return m.qtc_fridericia_ms is not None and m.qtc_fridericia_ms >= LONG_QTC_MS


def _ludb_diagnoses(folder: Path) -> dict[int, str]:
    """Each LUDB record's header comments (the cardiologists' diagnoses), lower case."""
    return {int(hea.stem): hea.read_text().lower() for hea in folder.glob("*.hea") if hea.stem.isdigit()}


def ludb_paced(folder: Path) -> set[int]:
    """LUDB records whose cardiologists' diagnoses name ventricular or dual-chamber pacing."""
    return {r for r, text in _ludb_diagnoses(folder).items() if "pacing" in text}


def _complete_bbb(text: str, side: str = "(left|right)") -> bool:
    return re.search(rf"(?<!in)complete {side} bundle", text) is not None      # not "incomplete ..."


LUDB_GROUPS = {   # the QRS table by diagnosis: groups by the header's words (a record may be in two)
    "ventricular or dual-chamber pacing": lambda t: "pacing" in t,
    "complete LBBB (not paced)": lambda t: _complete_bbb(t, "left") and "pacing" not in t,
    "complete RBBB (not paced)": lambda t: _complete_bbb(t, "right") and "pacing" not in t,
    "LVH without complete BBB or pacing": lambda t: ("left ventricular hypertrophy" in t and not _complete_bbb(t)
                                                     and "pacing" not in t),
    "AF or flutter, not paced": lambda t: ("fibrillation" in t or "flutter" in t) and "pacing" not in t,
}


def ludb_qrs_by_diagnosis(rows, folder: Path) -> list[str]:
    """QRS error against the trimmed reference per diagnosis group (``LUDB_GROUPS``), and the records in none
    of them."""
    text = _ludb_diagnoses(folder)
    lines = ["| LUDB records, trimmed ref. | n | bias (ms) | 95th pct (ms) | > 20 ms off |", "|---|---|---|---|---|"]
    groups = {**LUDB_GROUPS, "none of these": lambda t: not any(f(t) for f in LUDB_GROUPS.values())}
    for name, fits in groups.items():
        err = np.array([m.qrs_ms - ref["qrs"] for r, m, _, _, ref in rows
                        if fits(text[r]) and m.qrs_ms is not None and ref["qrs"] is not None])
        if len(err):
            lines.append(f"| {name} | {len(err)} | {np.median(err):+.1f} | {np.percentile(np.abs(err), 95):.1f} | "
                         f"{int(np.sum(np.abs(err) > 20))} |")
    return lines


def worst(rows, which: int, key: str, count: int) -> list[str]:
    """The windows with the largest error of one interval, with the signed error of each boundary."""
    attr = dict((k, a) for a, k in INTERVALS)[key]
    scored = []
    for row in rows:
        m, ref = row[1], row[which]
        value = getattr(m, attr)
        if ref is None or ref[key] is None or value is None:
            continue
        parts = []
        for fid in ("p_on", "qrs_on", "qrs_off", "t_end"):
            if fid in m.fiducials_s and ref[fid] is not None:
                parts.append(f"{fid} {m.fiducials_s[fid] * 1000 - ref[fid]:+.0f}")
        amp = {ld: round(float(np.ptp(v)), 2) for ld, v in m.median_beats.items()}
        scored.append((abs(value - ref[key]), f"{row[0]}: {key} {value:.0f} vs {ref[key]:.0f} ms "
                       f"({value - ref[key]:+.0f}); " + ", ".join(parts) + f"; HR {m.heart_rate_bpm}; "
                       f"median-beat ranges (mV) {amp}"))
    return [text for _, text in sorted(scored, key=lambda t: -t[0])[:count]]


def matched_beats(found: np.ndarray, beats: np.ndarray, fs: float) -> tuple[int, int]:
    """(annotated beats with no found beat within 150 ms, found beats with no annotated beat within 150 ms)."""
    if not len(found) or not len(beats):
        return len(beats), len(found)
    tol = 0.15 * fs

    def far(a, b):
        b = np.sort(b)
        i = np.clip(np.searchsorted(b, a), 1, len(b) - 1)
        return int(np.sum(np.minimum(np.abs(b[i] - a), np.abs(b[i - 1] - a)) > tol))
    return far(beats, found), far(found, beats)


def trend_table(folder: Path) -> list[str]:
    """heart_rate_trend on every MIT-BIH record against its beat annotations, and the one-lead floor."""
    import time
    import warnings

    import neurokit2 as nk
    import wfdb

    from mets_core.measure import heart_rate_trend
    lines = ["| MIT-BIH record | annotated beats | missed | extra | time (s) | one lead: missed | extra | time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    total = np.zeros(7)
    for hea in sorted(folder.glob("*.hea")):
        rec, ann = wfdb.rdrecord(str(hea.with_suffix(""))), wfdb.rdann(str(hea.with_suffix("")), "atr")
        beats = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS])
        ecg = ECG.from_leads(rec.p_signal.T, rec.sig_name, rec.fs, name=f"mitdb/{hea.stem}")
        t0 = time.perf_counter()
        trend = heart_rate_trend(ecg)
        t_trend = time.perf_counter() - t0
        # the trend reports the beats that end an RR interval: its first beat is the one before beat_s[0]
        found = np.round(trend.beat_s * rec.fs).astype(int)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.ecg_clean(np.nan_to_num(rec.p_signal[:, 0]), sampling_rate=rec.fs)
            one = np.asarray(nk.ecg_peaks(cleaned, sampling_rate=rec.fs)[1]["ECG_R_Peaks"], dtype=int)
        t_one = time.perf_counter() - t0
        row = (len(beats), *matched_beats(found, beats[beats > (found[0] if len(found) else 0) - 0.15 * rec.fs],
                                     rec.fs), t_trend,
               *matched_beats(one[1:], beats[beats > (one[1] if len(one) > 1 else 0) - 0.15 * rec.fs], rec.fs), t_one)
        total += row
        lines.append(f"| {hea.stem} | {row[0]} | {row[1]} | {row[2]} | {row[3]:.2f} | {row[4]} | {row[5]} | "
                     f"{row[6]:.2f} |")
    lines.append(f"| all {len(lines) - 2} | {total[0]:.0f} | {total[1]:.0f} | {total[2]:.0f} | {total[3]:.1f} | "
                 f"{total[4]:.0f} | {total[5]:.0f} | {total[6]:.1f} |")
    lines.append(f"time ratio, trend / one lead: {total[3] / max(total[6], 1e-9):.1f}")
    return lines


# beat classes by QRS shape (wfdb beat codes): conducted from above (normal, bundle-branch block, atrial and
# junctional beats and escapes), ventricular (ectopic, escape), fusion, paced
SHAPE_CLASSES = {**dict.fromkeys("NLRejAaJSB", "conducted"), **dict.fromkeys("VEr", "ventricular"),
                 "F": "fusion", **dict.fromkeys("/f", "paced")}
ECTOPY_STEP_S = 30.0          # one 10 s window every this many seconds of each record


def ectopy_rows(folder: Path, step_s: float = ECTOPY_STEP_S) -> list[dict]:
    """measure() on 10 s windows (every `step_s`) of every record in `folder` with beat annotations (.atr):
    per window the annotated beats' shape classes, which of them went into the median beats (a beat found
    within 150 ms of an annotated one is that beat) and the measured PR, QRS and QT."""
    import wfdb
    rows = []
    for hea in sorted(folder.glob("*.hea")):
        if not hea.with_suffix(".atr").is_file():
            continue
        rec, ann = wfdb.rdrecord(str(hea.with_suffix(""))), wfdb.rdann(str(hea.with_suffix("")), "atr")
        fs = float(rec.fs)
        ecg = qtdb_ecg(rec, hea.stem) if folder.name == "qtdb" else ECG.from_leads(
            rec.p_signal.T, rec.sig_name, fs, name=f"{folder.name}/{hea.stem}")
        at = np.array([s for s, y in zip(ann.sample, ann.symbol) if y in SHAPE_CLASSES])
        kind = np.array([SHAPE_CLASSES[y] for y in ann.symbol if y in SHAPE_CLASSES])
        for start in np.arange(0.0, ecg.duration - 10.0, step_s):
            m = measure(ecg, start_s=float(start), seconds=10.0)
            inside = (at >= start * fs) & (at < (start + 10.0) * fs)
            used = np.round(np.asarray(m.median_beats_from_s) * fs).astype(int)
            near = [int(np.argmin(np.abs(at - u))) for u in used]
            rows.append({"record": hea.stem, "start": float(start), "kinds": list(kind[inside]),
                         "used": [str(kind[i]) for i, u in zip(near, used) if abs(at[i] - u) <= 0.15 * fs],
                         "pr": m.pr_ms, "qrs": m.qrs_ms, "qt": m.qt_ms})
    return rows


def ectopy_table(rows: list[dict], db: str) -> list[str]:
    """How pure the median beat is in windows holding beats of two shapes, and how far their QRS / QT / PR
    are from the same record's windows of one shape. A median beat made of annotated beats of two or more
    classes blends two shapes: its *minority share* is the share of its beats outside its most frequent
    class. The reference of a record's interval is the median over its windows whose beats are all of the
    record's most frequent class (the same method on clean beats of the same patient and leads); it is
    compared with the windows whose median beat is mostly of that class."""
    from collections import Counter
    by_record: dict[str, list[dict]] = {}
    for r in rows:
        by_record.setdefault(r["record"], []).append(r)
    ref = {}
    for rec, part in by_record.items():
        main = Counter(k for r in part for k in r["kinds"]).most_common(1)[0][0]
        clean = [r for r in part if r["kinds"] and set(r["kinds"]) == {main}]
        ref[rec] = {key: (float(np.median(v)) if len(v := [r[key] for r in clean if r[key] is not None]) >= 3
                          else None) for key in ("pr", "qrs", "qt")} | {"main": main}
    mixed = [r for r in rows if len(set(r["kinds"])) >= 2]
    minority = np.array([1.0 - Counter(r["used"]).most_common(1)[0][1] / len(r["used"]) if r["used"] else 0.0
                         for r in mixed])
    lines = [f"{db}: {len(rows)} windows of 10 s ({len(by_record)} records), {len(mixed)} holding beats of two "
             f"or more shape classes",
             f"  median beat blending two classes: {int(np.sum(minority > 0))} windows; minority >= 25 % of its "
             f"beats: {int(np.sum(minority >= 0.25))}; mean minority share {minority.mean():.1%}"
             if len(mixed) else "  no window with two shape classes"]
    # the median beat made of another class than the record's own while the window has beats of that class
    # (bigeminy: ventricular beats as many as the conducted ones)
    other = [r for r in mixed if r["used"] and Counter(r["used"]).most_common(1)[0][0] != ref[r["record"]]["main"]
             and r["kinds"].count(ref[r["record"]]["main"]) >= 2]
    if mixed:
        lines.append(f"  median beat made of another class than the record's own (which the window holds): "
                     f"{len(other)} windows" + (f" ({', '.join(sorted({r['record'] for r in other}))})" if other else ""))
    for key in ("qrs", "qt", "pr"):
        usable = [r for r in mixed if r["used"] and Counter(r["used"]).most_common(1)[0][0] == ref[r["record"]]["main"]
                  and ref[r["record"]][key] is not None]
        err = np.array([r[key] - ref[r["record"]][key] for r in usable if r[key] is not None])
        if not len(err):
            continue
        e = np.abs(err)
        lines.append(f"  {key.upper()} against the record's one-shape windows: {len(err)} of {len(usable)} windows "
                     f"measured; median abs. error {np.median(e):.1f} ms, 95th pct {np.percentile(e, 95):.1f} ms, "
                     f"> 20 ms off {int(np.sum(e > 20))}, > 40 ms off {int(np.sum(e > 40))}")
    return lines


def annotator_table(folder: Path) -> list[str]:
    """QTDB's .q1c against .q2c on the beats both cardiologists annotated (same R within 60 ms)."""
    import wfdb
    out = ["QTDB: cardiologist 1 (.q1c) against cardiologist 2 (.q2c), beats both annotated; ms, median "
           "over those beats",
           "| record | beats | QRS 1 | QRS 2 | QRS diff. | QT 1 | QT 2 | QT diff. | PR 1 | PR 2 | PR diff. |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "-" if v is None else f"{v:.0f}"   # noqa: E731
    diff = lambda a, b: "-" if a is None or b is None else f"{a - b:+.0f}"   # noqa: E731
    for q2c in sorted(folder.glob("*.q2c")):
        name = q2c.stem
        fs = float(wfdb.rdheader(str(folder / name)).fs)
        first = annotated_beats(wfdb.rdann(str(folder / name), "q1c"))
        second = annotated_beats(wfdb.rdann(str(folder / name), "q2c"))
        tol = int(0.06 * fs)
        pairs = [(a, b) for a in first for b in second if abs(a["peak"] - b["peak"]) <= tol]
        if not pairs:
            continue
        r1, r2 = reference_intervals([a for a, _ in pairs], fs), reference_intervals([b for _, b in pairs], fs)
        out.append(f"| {name} | {len(pairs)} | " + " | ".join(
            f"{fmt(r1[k])} | {fmt(r2[k])} | {diff(r1[k], r2[k])}" for k in ("qrs", "qt", "pr")) + " |")
    return out


PTBXL_WIDE = ("CLBBB", "CRBBB")                    # complete bundle-branch block: QRS >= 120 ms by definition
PTBXL_NARROW = ("NORM", "IRBBB", "ILBBB", "LAFB")   # normal, incomplete block, anterior hemiblock: < 120 ms
PTBXL_WIDE_ALLOWED = PTBXL_WIDE + ("IVCD", "WPW", "PACE")   # with one of these a narrow class is no promise
PTBXL_MIN_LIKELIHOOD = 50.0
PTBXL_GROUPS = {"1-8": (1, 2, 3, 4, 5, 6, 7, 8), "9": (9,)}   # fold 10 (the test fold) is never read


def ptbxl_rows(folder: Path, folds, ids=None) -> list[dict]:
    """measure() on the PTB-XL records in mV under `folder` (records100/ at 100 Hz, records500/ at 500 Hz)
    of the given folds (only `ids` when given): per record its id, fold, rate, the statements with
    likelihood >= ``PTBXL_MIN_LIKELIHOOD``, the Measurements and each lead's own QRS limits (ms from R)."""
    from mets_train.ptbxl.dataset import PTBXL
    if any(f not in PTBXL_GROUPS["1-8"] + PTBXL_GROUPS["9"] for f in folds):
        raise ValueError("only folds 1-9: fold 10 is the held-back test fold")
    rows = []
    for rate in (100, 500):
        # one dataset per rate: PTBXL picks its signal folder (records100/ or records500/) when it is made
        # (a copy with another sampling_rate read the 100 Hz records twice, doubling every count)
        table = PTBXL(folder, rate)
        for ecg_id in table.available_ids(tuple(folds)):
            if ids is not None and ecg_id not in ids:
                continue
            m = measure(table.read(ecg_id))
            codes = {c for c, p in table.records.at[ecg_id, "scp"].items() if p >= PTBXL_MIN_LIKELIHOOD}
            rows.append({"id": ecg_id, "fold": int(table.records.at[ecg_id, "strat_fold"]), "fs": rate,
                         "codes": codes, "m": m, "leads": _lead_limits_ms(m),
                         "long_qt": "LNGQT" in table.records.at[ecg_id, "scp"]})
    return rows


def _lead_limits_ms(m) -> dict[str, tuple[float | None, float | None, float]]:
    """Each lead's own QRS (onset, offset) in ms from R and its QRS peak-to-peak (mV, within the global
    limits), on measure()'s median beats of the leads it delineates on (acceptable quality)."""
    if not m.median_beats or "qrs_on" not in m.fiducials_s:
        return {}
    used = [ld for ld in m.median_beats if m.lead_quality.get(ld) != "Unacceptable"] or [m.interval_lead]
    beats = {ld: np.asarray(m.median_beats[ld]) for ld in used if ld in m.median_beats}
    fs, r = m.median_fs, int(round(m.median_r_s * m.median_fs))
    a, b = (int(r + m.fiducials_s[k] * fs) for k in ("qrs_on", "qrs_off"))
    ms = lambda i: None if i is None else round((i - r) / fs * 1000.0, 1)     # noqa: E731
    return {ld: (ms(on), ms(off), round(float(np.ptp(beats[ld][a:b + 1])), 2))
            for ld, (on, off) in delineate.lead_qrs_limits(beats, r, fs).items()}


def _expected(codes: set) -> str | None:
    """"wide", "narrow" (a narrow class and nothing that allows a wide QRS) or None."""
    if codes & set(PTBXL_WIDE):
        return "wide"
    if codes & set(PTBXL_NARROW) and not codes & set(PTBXL_WIDE_ALLOWED):
        return "narrow"
    return None


def ptbxl_table(rows: list[dict], group: str) -> list[str]:
    """Per class and the two headline rows: records, QRS median (IQR), share >= 120 ms, not measured."""
    folds = f"{'folds' if '-' in group else 'fold'} {group}"
    lines = [f"| PTB-XL {folds} | n | QRS median (IQR), ms | >= 120 ms | < 110 ms | not measured |",
             "|---|---|---|---|---|---|"]

    def line(name, chosen):
        qrs = np.array([r["m"].qrs_ms for r in chosen if r["m"].qrs_ms is not None])
        n, missing = len(chosen), len(chosen) - len(qrs)
        if not n:
            return f"| {name} | 0 | - | - | - | - |"
        if not len(qrs):
            return f"| {name} | {n} | - | - | - | {missing} |"
        q1, q2, q3 = np.percentile(qrs, [25, 50, 75])
        share = lambda k: f"{k}/{len(qrs)} ({k / len(qrs):.1%})"     # noqa: E731
        return (f"| {name} | {n} | {q2:.0f} ({q1:.0f}-{q3:.0f}) | {share(int(np.sum(qrs >= WIDE_QRS_MS)))} | "
                f"{share(int(np.sum(qrs < 110)))} | {missing} |")
    for code in PTBXL_NARROW:
        lines.append(line(f"{code} (without {'/'.join(PTBXL_WIDE_ALLOWED)})",
                          [r for r in rows if code in r["codes"] and _expected(r["codes"]) == "narrow"]))
    for code in PTBXL_WIDE:
        lines.append(line(code, [r for r in rows if code in r["codes"]]))
    for kind, name in (("narrow", "**expected < 120 ms** (false wide: >= 120 ms)"),
                       ("wide", "**expected >= 120 ms** (missed wide: < 120 ms)")):
        lines.append(line(name, [r for r in rows if _expected(r["codes"]) == kind]))
    return lines


def ptbxl_false_wide(rows: list[dict], count: int) -> list[str]:
    """The records expected narrow and measured widest (>= 120 ms), with each lead's own QRS limits (ms
    from R; * the two earliest onsets and the two latest offsets, which set the global limits with 12 leads)
    and its QRS peak-to-peak (mV)."""
    wide = sorted((r for r in rows if _expected(r["codes"]) == "narrow" and (r["m"].qrs_ms or 0) >= WIDE_QRS_MS),
                  key=lambda r: -r["m"].qrs_ms)
    out = []
    for r in wide[:count]:
        m, leads = r["m"], r["leads"]
        first = sorted((v[0], ld) for ld, v in leads.items() if v[0] is not None)[:2]
        last = sorted(((v[1], ld) for ld, v in leads.items() if v[1] is not None), reverse=True)[:2]
        marks = {ld for _, ld in first} | {ld for _, ld in last}
        per_lead = ", ".join(f"{ld}{'*' if ld in marks else ''} {on}/{off} ({amp})"
                             for ld, (on, off, amp) in leads.items())
        out.append(f"{r['id']} (fold {r['fold']}, {r['fs']} Hz, {'+'.join(sorted(r['codes']))}): "
                   f"QRS {m.qrs_ms:.0f} ms, onset {1000 * m.fiducials_s['qrs_on']:+.0f}, "
                   f"offset {1000 * m.fiducials_s['qrs_off']:+.0f} ms from R; earliest onsets "
                   f"{', '.join(ld for _, ld in first)}, latest offsets {', '.join(ld for _, ld in last)}; "
                   f"leads: {per_lead}")
    return out


def ptbxl_report(rows: list[dict], worst_count: int) -> list[str]:
    """The table of each fold group in `rows` and its worst false wide records."""
    out = [f"PTB-XL: statements with likelihood >= {PTBXL_MIN_LIKELIHOOD:.0f}; records in mV "
           f"({sum(r['fs'] == 100 for r in rows)} at 100 Hz, {sum(r['fs'] == 500 for r in rows)} at 500 Hz)", ""]
    for group, folds in PTBXL_GROUPS.items():
        part = [r for r in rows if r["fold"] in folds]
        if part:
            out += ptbxl_table(part, group) + [""]
            out += [f"{'folds' if '-' in group else 'fold'} {group}: worst false wide QRS (lead onset/offset ms "
                    "from R, QRS peak-to-peak mV)"]
            out += ptbxl_false_wide(part, worst_count) + [""]
    warned = [r for r in rows if _long_qtc_warned(r["m"])]
    labelled = [r for r in rows if r["long_qt"]]
    out.append(f"long-QTc warning (QTc Fridericia >= {LONG_QTC_MS:.0f} ms): {len(warned)} of {len(rows)} records; "
               f"of the "
               f"{len(labelled)} labelled long QT (LNGQT, any likelihood) {sum(r in warned for r in labelled)} "
               f"warned (their QTc Fridericia: "
               f"{', '.join(str(r['m'].qtc_fridericia_ms) for r in labelled)})")
    return out


RHYTHM_GROUPS = ("sinus", "atrial fibrillation", "atrial flutter")


def _ludb_rhythm(text: str) -> str | None:
    """LUDB's rhythm diagnosis (the header's "Rhythm:" line) as one of RHYTHM_GROUPS, or None (other)."""
    line = next((ln for ln in text.splitlines() if "rhythm:" in ln), "")
    for group in ("atrial fibrillation", "atrial flutter"):
        if group in line:
            return group
    return "sinus" if "sinus" in line else None


def rhythm_rows(data: Path) -> list[tuple[str, str, str, object]]:
    """(database, rhythm group, window name, Measurements) for windows whose rhythm the database states:
    LUDB (header diagnoses, 10 s), PTB-XL folds 1-9 in mV (SR, AFIB, AFLT statements of any likelihood: rhythm
    statements carry none; fold 10 is never read), CinC 2017 (N, A; measure()'s first 60 s), MIT-BIH (10 s
    every 60 s lying wholly inside one (N, (AFIB or (AFL rhythm annotation) and CPSC 2021 (the same, every
    20 s: its records are 0.7-9 min long; its "(N" is "not atrial fibrillation")."""
    import csv

    import wfdb
    rows = []
    folder = data / "ludb" / "data"
    for r, text in sorted(_ludb_diagnoses(folder).items()):
        group = _ludb_rhythm(text)
        if group:
            rows.append(("LUDB", group, str(r), measure(ludb_ecg(folder, r)[1])))
    from mets_train.ptbxl.dataset import PTBXL
    table = PTBXL(data / "ptbxl", 100)
    for ecg_id in table.available_ids(PTBXL_GROUPS["1-8"] + PTBXL_GROUPS["9"]):
        codes = table.records.at[ecg_id, "scp"]
        group = next((g for c, g in (("AFLT", "atrial flutter"), ("AFIB", "atrial fibrillation"), ("SR", "sinus"))
                      if c in codes), None)
        if group:
            rows.append(("PTB-XL", group, str(ecg_id), measure(table.read(ecg_id))))
    cinc = data / "cinc2017"
    labels = {}
    for ref in cinc.rglob("REFERENCE*.csv"):
        labels.update({row[0]: row[1] for row in csv.reader(ref.read_text().splitlines()) if len(row) >= 2})
    headers = {hea.stem: hea for hea in cinc.rglob("*.hea")}
    for name, label in sorted(labels.items()):
        hea = headers.get(name)
        if hea is not None and label in ("N", "A"):
            rec = wfdb.rdrecord(str(hea.with_suffix("")))
            ecg = ECG.from_leads(rec.p_signal.T[:1], ["I"], float(rec.fs))
            rows.append(("CinC 2017", "sinus" if label == "N" else "atrial fibrillation", name, measure(ecg)))
    rows += episode_windows("MIT-BIH", data / "mitdb", every_s=60.0)
    rows += episode_windows("CPSC 2021", data / "cpsc2021", every_s=20.0)
    return rows


RHYTHM_EPISODES = {"(N": "sinus", "(AFIB": "atrial fibrillation", "(AFL": "atrial flutter"}


def episode_windows(db: str, folder: Path, every_s: float) -> list[tuple[str, str, str, object]]:
    """Rows as ``rhythm_rows``' of 10 s windows starting at whole multiples of `every_s` that lie wholly inside
    one rhythm episode of the records' `.atr` (MIT-BIH, CPSC 2021: a "+" annotation whose note, "(N", "(AFIB"
    or "(AFL", holds until the next). A CPSC 2021 record without rhythm annotations is its header's "non
    atrial fibrillation" throughout: "(N" from start to end, as the database's own scoring reads it."""
    import wfdb
    rows = []
    for hea in sorted(folder.glob("*.hea")):
        rec, ann = wfdb.rdrecord(str(hea.with_suffix(""))), wfdb.rdann(str(hea.with_suffix("")), "atr")
        fs, n = float(rec.fs), rec.sig_len
        changes = [(int(at), note.strip("\x00")) for at, sym, note in zip(ann.sample, ann.symbol, ann.aux_note)
                   if sym == "+"]
        if not changes and any("non atrial fibrillation" in c.lower() for c in rec.comments):
            changes = [(0, "(N")]
        ecg = None
        for k, (start, note) in enumerate(changes):
            end = changes[k + 1][0] if k + 1 < len(changes) else n
            if note not in RHYTHM_EPISODES:
                continue
            ecg = ecg or ECG.from_leads(rec.p_signal.T, rec.sig_name, fs, name=f"{folder.name}/{hea.stem}")
            step = int(every_s * fs)
            t = int(np.ceil(start / step)) * step
            while t + 10 * fs <= end:
                rows.append((db, RHYTHM_EPISODES[note], f"{hea.stem}@{t / fs:.0f}s", measure(ecg, t / fs, 10.0)))
                t += step
    return rows


def rhythm_table(rows) -> list[str]:
    """Per database and stated rhythm: windows, PR reported, called irregular, and the AF / flutter windows
    that got a PR (the issue: no PR in atrial fibrillation or flutter)."""
    lines = ["| database | stated rhythm | windows | PR reported | called irregular |", "|---|---|---|---|---|"]
    for db in dict.fromkeys(r[0] for r in rows):
        for group in RHYTHM_GROUPS:
            part = [m for d, g, _, m in rows if d == db and g == group]
            if part:
                pr = sum(m.pr_ms is not None for m in part)
                irr = sum(bool(m.rr_irregular) for m in part)
                lines.append(f"| {db} | {group} | {len(part)} | {pr} ({pr / len(part):.0%}) | "
                             f"{irr} ({irr / len(part):.0%}) |")
    wrong = [f"{d} {name} ({g}): PR {m.pr_ms:.0f} ms, {m.heart_rate_bpm} bpm, "
             f"{'irregular' if m.rr_irregular else 'regular'} (RR CV {m.rr_cv})"
             for d, g, name, m in rows if g != "sinus" and m.pr_ms is not None]
    return lines + ["", "AF or flutter windows with a PR:"] + (wrong or ["none"])


PR_AGREES_MS = 15.0       # an inverted lead's PR counts as the upright one's within about a P onset's scatter


def lead_inverted(ecg: ECG, lead: str) -> ECG:
    """`ecg` with `lead` multiplied by -1 (a lead wired or stored upside down), the other leads as they are."""
    names = [ld for ld, recorded in zip(STANDARD_LEADS, ecg.lead_mask) if recorded]
    signal = np.array(ecg.signal, dtype=float)[np.asarray(ecg.lead_mask, dtype=bool)]
    signal[names.index(lead)] *= -1.0
    return ECG.from_leads(signal, names, ecg.fs, name=ecg.name)


def polarity_table(folder: Path) -> list[str]:
    """The PR on the tuning half of LUDB (even records) with the interval lead turned upside down, against the
    same record upright (docs/measurements.md, review 34: neurokit2's DWT finds upright P waves only)."""
    agree, differ, lost, compared = 0, [], [], 0
    for r in range(2, 201, 2):
        ecg = ludb_ecg(folder, r)[1]
        upright = measure(ecg)
        if upright.pr_ms is None or upright.interval_lead is None:
            continue
        compared += 1
        inverted = measure(lead_inverted(ecg, upright.interval_lead))
        if inverted.pr_ms is None:
            lost.append(str(r))
        elif abs(inverted.pr_ms - upright.pr_ms) <= PR_AGREES_MS:
            agree += 1
        else:
            differ.append(f"{r} ({inverted.pr_ms:.0f} vs {upright.pr_ms:.0f} ms)")
    return [f"LUDB tuning half, interval lead inverted: {compared} records with an upright PR",
            f"  PR within {PR_AGREES_MS:.0f} ms of the upright one: {agree} of {compared}",
            f"  PR further off: {len(differ)}" + (f": {', '.join(differ)}" if differ else ""),
            f"  no PR when inverted: {len(lost)}" + (f": {', '.join(lost)}" if lost else "")]


NO_BEAT_SEEDS = 20          # white-noise recordings (12 leads, 0.5 mV, 500 Hz, 10 s), one per seed
NO_BEAT_CINC = 150          # CinC 2017 records per class (normal, AF, other rhythm, noisy), first by name


def _no_beat(m) -> bool:
    return m.heart_rate_bpm is None and "no repeating beat" in m.notes.get("rate", "")


def no_beat_table(data: Path) -> list[str]:
    """What the 'no repeating beat' rule (measure.NO_BEAT_SQI) stops: white noise, which must be stopped,
    and real recordings (all 200 LUDB records; CinC 2017's first records of each class), which must not be,
    except where the database itself calls the recording noisy."""
    import csv

    import wfdb
    rng_rows = []
    for seed in range(NO_BEAT_SEEDS):
        noise = np.random.default_rng(seed).normal(0.0, 0.5, (12, 5000))
        rng_rows.append(measure(ECG.from_leads(noise, list(STANDARD_LEADS), 500.0)))
    out = [f"white noise, {NO_BEAT_SEEDS} seeds: 'no repeating beat' {sum(map(_no_beat, rng_rows))}, "
           f"a rate given {sum(m.heart_rate_bpm is not None for m in rng_rows)}, "
           f"a QRS given {sum(m.qrs_ms is not None for m in rng_rows)}"]
    folder = data / "ludb" / "data"
    stopped = [str(r) for r in range(1, 201) if _no_beat(measure(ludb_ecg(folder, r)[1]))]
    out.append(f"LUDB, 200 records: stopped {len(stopped)}" + (f" ({', '.join(stopped)})" if stopped else ""))
    cinc = data / "cinc2017"
    labels = {}
    for ref in cinc.rglob("REFERENCE*.csv"):
        labels.update({row[0]: row[1] for row in csv.reader(ref.read_text().splitlines()) if len(row) >= 2})
    headers = {hea.stem: hea for hea in cinc.rglob("*.hea")}
    for label, words in (("N", "normal"), ("A", "AF"), ("O", "other rhythm"), ("~", "noisy")):
        names = [n for n, lab in sorted(labels.items()) if lab == label and n in headers][:NO_BEAT_CINC]
        stopped = []
        for name in names:
            rec = wfdb.rdrecord(str(headers[name].with_suffix("")))
            if _no_beat(measure(ECG.from_leads(rec.p_signal.T[:1], ["I"], float(rec.fs)))):
                stopped.append(name)
        out.append(f"CinC 2017 {words}, {len(names)} records: stopped {len(stopped)}"
                   + (f" ({', '.join(stopped)})" if stopped else ""))
    return out


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; one of the "instead" modes at most, --folds only with --ptbxl."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ludb-only", action="store_true")
    parser.add_argument("--worst", type=int, default=0, help="print the N worst windows per interval")
    parser.add_argument("--ludb-rate", type=int, default=None,
                        help="resample LUDB to this rate (Hz) before measuring, e.g. 100 as in PTB-XL")
    modes = parser.add_mutually_exclusive_group()     # each of these measures something else instead
    modes.add_argument("--trend", action="store_true",
                        help="score the whole-record beat finder on MIT-BIH instead (see the module docstring)")
    modes.add_argument("--ectopy", action="store_true",
                        help="the median beat's purity where beats of two shapes mix (MIT-BIH, QTDB beat labels)")
    modes.add_argument("--annotators", action="store_true",
                        help="QTDB's two cardiologists against each other instead (see the module docstring)")
    modes.add_argument("--ptbxl", action="store_true",
                        help="the QRS against PTB-XL's statements instead (see the module docstring)")
    modes.add_argument("--rhythm", action="store_true",
                        help="PR reported or withheld by the databases' stated rhythm instead (AF, flutter, sinus)")
    modes.add_argument("--polarity", action="store_true",
                        help="the PR of LUDB's tuning half with the interval lead inverted, against upright")
    modes.add_argument("--no-beat", action="store_true",
                        help="what the 'no repeating beat' rule stops: white noise, LUDB, CinC 2017 by class")
    parser.add_argument("--folds", choices=sorted(PTBXL_GROUPS), default=None,
                        help="with --ptbxl: only folds 1-8 or only fold 9 (default both)")
    args = parser.parse_args(argv)
    if args.folds and not args.ptbxl:
        parser.error("--folds chooses PTB-XL folds: give it with --ptbxl")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    data = os.environ.get("METS_DATA_DIR")
    if not data:
        sys.exit("set METS_DATA_DIR to a folder with ludb/data (and qtdb/, mitdb/)")
    if args.trend:
        print("\n".join(trend_table(Path(data) / "mitdb")))
        return
    if args.ectopy:
        from mets_core import measure as measuring
        default = (measuring.SHAPE_MIN_SIMILARITY, measuring.SHAPE_MAX_SHIFT_S)
        for db in ("mitdb", "qtdb"):
            # the floor, in the same run: every beat similar enough, none shifted (the median beat as before)
            for label, setting in (("dominant shape (the default)", default),
                                   ("every beat's shape kept, none shifted (before)", (-np.inf, 0.0))):
                measuring.SHAPE_MIN_SIMILARITY, measuring.SHAPE_MAX_SHIFT_S = setting
                print("\n".join(ectopy_table(ectopy_rows(Path(data) / db), f"{db}, {label}")), flush=True)
        measuring.SHAPE_MIN_SIMILARITY, measuring.SHAPE_MAX_SHIFT_S = default
        return
    if args.annotators:
        print("\n".join(annotator_table(Path(data) / "qtdb")))
        return
    if args.rhythm:
        print("\n".join(rhythm_table(rhythm_rows(Path(data)))))
        return
    if args.polarity:
        print("\n".join(polarity_table(Path(data) / "ludb" / "data")))
        return
    if args.no_beat:
        print("\n".join(no_beat_table(Path(data))))
        return
    if args.ptbxl:
        folds = PTBXL_GROUPS[args.folds] if args.folds else PTBXL_GROUPS["1-8"] + PTBXL_GROUPS["9"]
        print("\n".join(ptbxl_report(ptbxl_rows(Path(data) / "ptbxl", folds), args.worst or 10)))
        return
    ludb = ludb_rows(Path(data) / "ludb" / "data", range(1, 201), args.ludb_rate)
    sets = {"LUDB": ludb}
    if not args.ludb_only and (Path(data) / "qtdb").is_dir():
        sets["QTDB"] = qtdb_rows(Path(data) / "qtdb")
    out = rate_table(sets) + [""]
    for db, rows in sets.items():
        # tuning half: even LUDB records; every other QTDB record in name order
        tuning = [r for i, r in enumerate(rows) if (r[0] if db == "LUDB" else i) % 2 == 0]
        held = [r for i, r in enumerate(rows) if (r[0] if db == "LUDB" else i) % 2 == 1]
        ref = "global ref." if db == "LUDB" else "q1c ref."
        for name, part in (("held-out half", held), ("tuning half", tuning), ("all", rows)):
            out += table(part, 3, f"{db} {name} ({len(part)}), {ref}") + [""]
        if db == "LUDB":
            out += table(held, 4, f"LUDB held-out half ({len(held)}), trimmed global ref.") + [""]
            out += table(tuning, 4, f"LUDB tuning half ({len(tuning)}), trimmed global ref.") + [""]
            out += table(rows, 4, f"LUDB all ({len(rows)}), trimmed global ref.") + [""]
            out += table(rows, 2, f"LUDB all ({len(rows)}), lead II ref.") + [""]
            # the QRS tail is paced beats (docs/measurements.md, stop 22): the same tables without them
            paced = ludb_paced(Path(data) / "ludb" / "data")
            out += ludb_qrs_by_diagnosis(rows, Path(data) / "ludb" / "data") + [""]
            for name, part in (("held-out half", held), ("tuning half", tuning), ("all", rows)):
                unpaced = [r for r in part if r[0] not in paced]
                out += table(unpaced, 4, f"LUDB {name} without the {len(part) - len(unpaced)} paced records "
                             f"({len(unpaced)}), trimmed global ref.") + [""]
        for key in ("pr", "qrs", "qt") if args.worst else ():
            out += [f"{db}: worst {key.upper()} windows"] + worst(rows, 3, key, args.worst) + [""]
    out += long_qtc_table(sets) + [""]
    out.append(f"measure(): median {1000 * np.median(MEASURE_SECONDS):.0f} ms per LUDB window "
               f"({len(MEASURE_SECONDS)} windows of 10 s, 12 leads, {args.ludb_rate or 500} Hz; this machine now)")
    print("\n".join(out))


if __name__ == "__main__":
    main()
