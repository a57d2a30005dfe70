"""The corpus folder format: the one definition that every corpus writer (`corpus.build`, the PTB-XL recipe
`training.recipe`, `training.synthetic`) writes through and `training.data.Corpus` reads.

  signals.npy   float16 (N, 12, T), memory-mappable (np.lib.format), at the corpus rate fs, T = fs * window_s;
                mV, band-pass filtered, NOT normalised (training normalises per batch); absent leads are zeros
  lead_mask.npy bool (N, 12), True where the lead was recorded (standard lead order)
  windows.csv   one row per window, columns in WINDOW_COLUMNS order: REQUIRED_COLUMNS always, the others when
                the writer has them (`mets corpus build` writes them all)
  corpus.json   fs, window_s, statements (id -> canonical phrase), and what the writer adds (counts, options)
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

SIGNALS_FILE = "signals.npy"
LEAD_MASK_FILE = "lead_mask.npy"
WINDOWS_FILE = "windows.csv"
META_FILE = "corpus.json"
REQUIRED_FILES = (SIGNALS_FILE, LEAD_MASK_FILE, WINDOWS_FILE, META_FILE)
N_LEADS = 12
SIGNAL_DTYPE = np.float16

# report: the text the model is trained on by default (a database's own report, translated to English, or
# the generated one); report_original: the database's report as written (else the generated one);
# report_statements: the report generated from the statement ids. statements: ";"-joined statement ids (the
# window's multi-label ground truth). form: "mv" or "zscore" (band-passed and z-scored per lead by a third
# party: no absolute amplitude; absent = "mv").
WINDOW_COLUMNS = ("idx", "source", "record", "patient", "start_s", "split", "report", "statements", "n_leads",
                  "report_original", "report_statements", "form")
REQUIRED_COLUMNS = ("idx", "patient", "split", "report", "statements")
REPORT_COLUMNS = ("report", "report_original", "report_statements")
SPLITS = ("train", "val")
WINDOW_FORMS = ("mv", "zscore")       # the form column's values


class CorpusFormatError(ValueError):
    """What a writer is about to write does not follow the corpus format."""


def new_signals(folder: str | Path, n_windows: int, n_samples: int, name: str = SIGNALS_FILE) -> np.memmap:
    """A writable float16 (n_windows, 12, n_samples) memmap at folder/name (flush, then drop it when done)."""
    return np.lib.format.open_memmap(Path(folder) / name, mode="w+", dtype=SIGNAL_DTYPE,
                                     shape=(n_windows, N_LEADS, n_samples))


def write_lead_mask(folder: str | Path, lead_mask: np.ndarray) -> None:
    mask = np.asarray(lead_mask)
    if mask.ndim != 2 or mask.shape[1] != N_LEADS:
        raise CorpusFormatError(f"lead_mask must be (N, {N_LEADS}), got {mask.shape}")
    np.save(Path(folder) / LEAD_MASK_FILE, mask.astype(bool))


def write_windows(folder: str | Path, rows: list[dict]) -> list[str]:
    """windows.csv from one dict per window (idx 0..N-1 in order); returns the columns written."""
    if not rows:
        raise CorpusFormatError("a corpus needs at least one window")
    keys = set(rows[0])
    unknown = sorted(keys - set(WINDOW_COLUMNS))
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    if unknown or missing:
        raise CorpusFormatError(f"windows.csv rows: unknown columns {unknown}, missing {missing}; "
                                f"the format's columns: {list(WINDOW_COLUMNS)}")
    if [int(r["idx"]) for r in rows] != list(range(len(rows))):
        raise CorpusFormatError("windows.csv rows: idx must be 0..N-1 in order")
    bad = sorted({r["split"] for r in rows} - set(SPLITS))
    if bad:
        raise CorpusFormatError(f"windows.csv rows: split must be one of {SPLITS}, found {bad}")
    columns = [c for c in WINDOW_COLUMNS if c in keys]
    with open(Path(folder) / WINDOWS_FILE, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return columns


def write_meta(folder: str | Path, meta: dict) -> None:
    """corpus.json; fs, window_s and statements are what a reader relies on."""
    missing = [k for k in ("fs", "window_s", "statements") if k not in meta]
    if missing:
        raise CorpusFormatError(f"corpus.json needs {missing}")
    (Path(folder) / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def missing_files(folder: str | Path) -> list[str]:
    return [n for n in REQUIRED_FILES if not (Path(folder) / n).is_file()]
