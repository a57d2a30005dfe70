"""mets_core.measure against cardiologists' wave boundaries: prints the error table of docs/measurements.md.

    METS_DATA_DIR=../shared/data .venv/bin/python benchmarks/measure_validation.py [--ludb-only]

- LUDB (all 200 records, 10 s, 12 leads, 500 Hz): every P, QRS and T wave is annotated in every lead.
  Two references: lead II alone (what a one-lead delineator sees), and global (per beat the earliest onset
  and the latest offset over the 12 leads' annotations, as a 12-lead machine defines global intervals).
  Thresholds in measure.py were chosen on records 1, 8, 15, ... (i % 7 == 1); both groups are printed.
- QTDB (2 leads, 250 Hz, 15 min): cardiologist boundaries (.q1c) on ~30 beats per record. One 10 s window
  per record starting 1 s before the first annotated beat is measured; the reference is the median over
  the annotated beats inside it.
Per interval: median and 95th percentile absolute error (ms), records not measured, and for QRS the share
of windows called >= 120 ms while the manual value is < 110 ms (a false "wide QRS").
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mets_core.ecg import ECG, ECGReadError  # noqa: E402
from mets_core.measure import measure  # noqa: E402

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


def _waves(ann) -> list[tuple[str, int, int, int]]:
    """(kind, onset, peak, offset) of every fully bracketed wave '(' X ')' of a wfdb annotation."""
    sym, at = ann.symbol, ann.sample
    return [(sym[i], int(at[i - 1]), int(at[i]), int(at[i + 1])) for i in range(1, len(sym) - 1)
            if sym[i - 1] == "(" and sym[i + 1] == ")" and sym[i] not in "()"]


def _beats(waves) -> list[dict]:
    """Per QRS: its onset/offset/peak and the P onset before it and T end after it (when annotated)."""
    out = []
    for j, (kind, on, peak, off) in enumerate(waves):
        if kind in ("p", "t", "u"):
            continue
        beat = {"peak": peak, "qrs_on": on, "qrs_off": off, "p_on": None, "t_end": None}
        if j > 0 and waves[j - 1][0] == "p":
            beat["p_on"] = waves[j - 1][1]
        if j + 1 < len(waves) and waves[j + 1][0] == "t":
            beat["t_end"] = waves[j + 1][3]
        out.append(beat)
    return out


def _reference(beats: list[dict], fs: float) -> dict:
    def med(values):
        values = [v for v in values if v is not None]
        return float(np.median(values)) * 1000.0 / fs if values else None
    return {"pr": med([b["qrs_on"] - b["p_on"] for b in beats if b["p_on"] is not None]),
            "qrs": med([b["qrs_off"] - b["qrs_on"] for b in beats]),
            "qt": med([b["t_end"] - b["qrs_on"] for b in beats if b["t_end"] is not None])}


def ludb_rows(folder: Path, records):
    import wfdb
    rows = []
    for r in records:
        rec = wfdb.rdrecord(str(folder / str(r)))
        ecg = ECG.from_leads(rec.p_signal.T, rec.sig_name, rec.fs, name=f"ludb/{r}")
        per_lead = {ld: _beats(_waves(wfdb.rdann(str(folder / str(r)), ld))) for ld in LUDB_LEADS}
        lead2 = per_lead["ii"]
        global_beats = []
        tol = int(0.06 * rec.fs)
        for b in lead2:
            same = [x for ld in LUDB_LEADS for x in per_lead[ld] if abs(x["peak"] - b["peak"]) <= tol]
            p_ons = [x["p_on"] for x in same if x["p_on"] is not None]
            t_ends = [x["t_end"] for x in same if x["t_end"] is not None]
            global_beats.append({"peak": b["peak"], "qrs_on": min(x["qrs_on"] for x in same),
                                 "qrs_off": max(x["qrs_off"] for x in same),
                                 "p_on": min(p_ons) if p_ons else None, "t_end": max(t_ends) if t_ends else None})
        rows.append((r, measure(ecg), _reference(lead2, rec.fs), _reference(global_beats, rec.fs)))
    return rows


def qtdb_rows(folder: Path):
    import wfdb
    rows = []
    for hea in sorted(folder.glob("*.hea")):
        name = hea.stem
        if not (folder / f"{name}.q1c").is_file():
            continue
        ann = wfdb.rdann(str(folder / name), "q1c")
        beats = _beats(_waves(ann))
        if len(beats) < 3:
            continue
        rec = wfdb.rdrecord(str(folder / name))
        fs = float(rec.fs)
        start = max(0, beats[0]["qrs_on"] - int(1.0 * fs))
        end = start + int(10 * fs)
        inside = [b for b in beats if start <= b["qrs_on"] and (b["t_end"] or b["qrs_off"]) < end]
        if len(inside) < 2:
            continue
        try:
            ecg = ECG.from_leads(rec.p_signal.T, rec.sig_name, fs, name=f"qtdb/{name}")
        except ECGReadError:         # leads named ECG1/ECG2: no standard lead to put them in; skipped
            continue
        rows.append((name, measure(ecg, start_s=start / fs, seconds=10.0), _reference(inside, fs), None))
    return rows


def table(rows, which: int, title: str) -> list[str]:
    lines = [f"| {title} | n | not measured | median abs. error (ms) | 95th pct (ms) | bias (ms) | false wide QRS |",
             "|---|---|---|---|---|---|---|"]
    for attr, key in (("pr_ms", "pr"), ("qrs_ms", "qrs"), ("qt_ms", "qt")):
        err, missing, n = [], 0, 0
        wide = 0
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
            if key == "qrs" and value >= 120 and ref[key] < 110:
                wide += 1
        e = np.abs(err)
        measured = n - missing
        lines.append(f"| {key.upper()} | {n} | {missing} | {np.median(e):.1f} | {np.percentile(e, 95):.1f} | "
                     f"{np.median(err):+.1f} | " + (f"{wide}/{measured} ({wide / max(1, measured):.1%})"
                                                     if key == "qrs" else "") + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ludb-only", action="store_true")
    args = parser.parse_args()
    data = os.environ.get("METS_DATA_DIR")
    if not data:
        sys.exit("set METS_DATA_DIR to a folder with ludb/data (and qtdb/)")
    ludb = Path(data) / "ludb" / "data"
    rows = ludb_rows(ludb, range(1, 201))
    held = [r for r in rows if r[0] % 7 != 1]
    tuned = [r for r in rows if r[0] % 7 == 1]
    out = []
    out += table(held, 3, f"LUDB held-out ({len(held)}), global ref.") + [""]
    out += table(held, 2, f"LUDB held-out ({len(held)}), lead II ref.") + [""]
    out += table(tuned, 3, f"LUDB tuning ({len(tuned)}), global ref.") + [""]
    if not args.ludb_only and (Path(data) / "qtdb").is_dir():
        q = qtdb_rows(Path(data) / "qtdb")
        out += table(q, 2, f"QTDB ({len(q)} windows)") + [""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
