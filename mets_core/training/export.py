"""Turn a finished training run into a shippable model folder: weights + config + model card + report index.

    mets export --run runs/shipped --corpus corpus --out weights --card path/to/MODEL_CARD.md

The index holds every corpus window's generated report (the project's own text, no patient data) with a
source id `database:record@start_s`, so the dashboard's retrieval works without any data folder.
"""
from __future__ import annotations

import csv
from pathlib import Path

from ..index import ReportIndex
from ..mets import METS


def source_ids(corpus_dir: Path) -> tuple[list[str], list[str]]:
    """(reports, ids) of every corpus window, in corpus order."""
    with open(corpus_dir / "windows.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    reports = [r["report"] for r in rows]
    # `database/record:start_s` is the id form the dashboard resolves to a thumbnail of the hit's own ECG
    ids = [f"{r['source']}/{r['record']}:{float(r['start_s']):g}" for r in rows]
    return reports, ids


def export_model(run_dir: str | Path, corpus_dir: str | Path, out_dir: str | Path,
                 card: str | Path | None = None, checkpoint: str = "best") -> Path:
    run_dir, corpus_dir, out_dir = Path(run_dir), Path(corpus_dir), Path(out_dir)
    mets = METS.from_pretrained(run_dir / checkpoint)
    # the folder is replaced as a whole: keep the card it already ships unless a new one is given
    card = card or (out_dir / "MODEL_CARD.md" if (out_dir / "MODEL_CARD.md").is_file() else None)
    extra = {"MODEL_CARD.md": Path(card).read_text(encoding="utf-8")} if card else None
    mets.save_pretrained(out_dir, extra_files=extra)
    reports, ids = source_ids(corpus_dir)
    ReportIndex.build(mets, reports, ids, cache_dir=corpus_dir / "text_cache").save(out_dir / "index")
    return out_dir


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a training run as a model folder with its report index")
    p.add_argument("--run", required=True, help="training run folder (holds best/ and last/)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--corpus", required=True, help="the corpus the run trained on (reports for the index)")
    p.add_argument("--out", required=True, help="output model folder, e.g. weights")
    p.add_argument("--card", help="MODEL_CARD.md to ship inside the folder")
    p.set_defaults(func=lambda a: print(export_model(a.run, a.corpus, a.out, a.card, a.checkpoint)) or 0)
