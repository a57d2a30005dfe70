"""A small, honest test checkpoint for the dashboard tests: a random-init METS (saved with
save_pretrained, so loading goes through the real from_pretrained path) plus a report index built with it.

Until the trained default weights land in weights/, the dashboard tests point $METS_WEIGHTS here. The
index's reports are LUDB's own diagnoses (source ids 'ludb/<record>', so thumbnails can be found in
$METS_DATA_DIR) when LUDB is available, else a fixed list of typical report sentences ('demo/<n>')."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from helpers import data_dir_or_none

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:          # the dashboard package is run from the repo, not installed
    sys.path.insert(0, str(REPO))

FALLBACK_REPORTS = [
    "sinus rhythm. normal ECG.",
    "sinus bradycardia. otherwise normal ECG.",
    "sinus tachycardia. non-specific ST-T changes.",
    "atrial fibrillation with rapid ventricular response.",
    "atrial flutter with 2:1 conduction.",
    "sinus rhythm. left ventricular hypertrophy with repolarisation abnormality.",
    "sinus rhythm. right bundle branch block.",
    "sinus rhythm. complete left bundle branch block.",
    "sinus rhythm. inferior myocardial infarction, age undetermined.",
    "sinus rhythm. anteroseptal myocardial infarction, probably old.",
    "sinus rhythm. first degree AV block.",
    "sinus rhythm with premature ventricular contractions.",
    "sinus rhythm. left anterior fascicular block.",
    "paced rhythm.",
    "sinus rhythm. ST depression in lateral leads, consider ischaemia.",
    "sinus arrhythmia. borderline ECG.",
]


def ludb_dir() -> Path | None:
    data = data_dir_or_none("ludb/data/1.hea")
    return data / "ludb" / "data" if data else None


def corpus(n_ludb: int = 24) -> tuple[list[str], list[str]]:
    ludb = ludb_dir()
    if ludb is None:
        return list(FALLBACK_REPORTS), [f"demo/{i}" for i in range(1, len(FALLBACK_REPORTS) + 1)]
    import wfdb
    reports, ids = [], []
    for i in range(1, n_ludb + 1):
        header = wfdb.rdheader(str(ludb / str(i)))
        lines = [c.strip() for c in header.comments if c.strip() and not c.strip().startswith("<")]
        reports.append(" ".join(lines) or "no diagnosis given")
        ids.append(f"ludb/{i}")
    return reports, ids


def make_test_weights(folder: Path, seed: int = 0) -> Path:
    """Write a random-init checkpoint + index/ into `folder` (created). Returns the folder."""
    from mets_core import METS, ReportIndex
    folder = Path(folder)
    model = METS.random_init(seed=seed)
    model.save_pretrained(folder, training={"note": "random init for dashboard tests: scores are meaningless"})
    model = METS.from_pretrained(folder)
    reports, ids = corpus()
    ReportIndex.build(model, reports, ids).save(folder / "index")
    (folder / "MODEL_CARD.md").write_text(
        "# Test checkpoint\n\nRandom initialisation, for tests only. Research use, not a medical device.\n",
        encoding="utf-8")
    return folder


def synthetic_csv(seconds: float = 10.0, fs: int = 250) -> bytes:
    """A 12-lead CSV with a time column (so it states its rate): the dashboard's synthetic demo ECG."""
    from dashboard.demo import DEMOS, make_demo
    ecg = make_demo(next(iter(DEMOS)))
    step = int(round(ecg.fs / fs))
    x = ecg.signal[:, : int(seconds * ecg.fs): step]
    t = np.arange(x.shape[1]) / fs
    lines = ["time," + ",".join(ecg.leads)]
    lines += [f"{t[k]:.4f}," + ",".join(f"{v:.4f}" for v in x[:, k]) for k in range(x.shape[1])]
    return ("\n".join(lines) + "\n").encode()
