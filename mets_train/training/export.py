"""Turn a finished training run into a shippable model folder: weights + config + model card + report index
+ the calibration that makes scores readable (knowledge.json, reference.safetensors; see calibrate.py).

    mets export --run runs/shipped --corpus corpus --out weights --card path/to/MODEL_CARD.md [--data-dir DIR]

A run folder holds best/ (the best validation score; `mets train` on a corpus) and last/ (every run; a
recipe run keeps only last/): the export takes best/ when the run has one, else last/, unless --checkpoint
says which.

The index holds every corpus window's report with a source id `database/record:start_s`, and with
--data-dir also every PTB-XL report of ptbxl_database.csv (all 21,837, translated; no signal needed to embed a
report); identical texts are one entry with their count and databases. Reports are machine-generated
statements, no patient identifiers; the dashboard's retrieval works without any data folder.
"""
from __future__ import annotations

import csv
from pathlib import Path

from mets_core.checkpoint import CONFIG_FILE
from mets_core.index import INDEX_DIR, ReportIndex, format_source_id
from mets_core.pipeline import METS


def source_ids(corpus_dir: Path) -> tuple[list[str], list[str]]:
    """(reports, ids) of every corpus window, in corpus order."""
    with open(corpus_dir / "windows.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    reports = [r["report"] for r in rows]
    # `database/record:start_s` is the id form the dashboard resolves to a thumbnail of the hit's own ECG
    ids = [format_source_id(r["source"], r["record"], float(r["start_s"])) for r in rows]
    return reports, ids


# PTB-XL's report field holds 255 characters: 708 of its reports stop there, mid-word ("... this ma")
PTBXL_REPORT_FIELD = 255


def ptbxl_reports(data_dir: str | Path) -> tuple[list[str], list[str]]:
    """(translated reports, ids `ptbxl/<ecg_id>:0`) of every row of PTB-XL's ptbxl_database.csv under data_dir;
    a report that fills the whole field ends in "…", so that a reader sees it was cut off at the source."""
    from ..corpus.sources import find_source_folder
    from ..ptbxl.dataset import PTBXL
    from ..ptbxl.translate import translate_report

    folder = find_source_folder(Path(data_dir), "ptbxl")
    found = sorted(folder.rglob("ptbxl_database.csv")) if folder is not None else []
    if not found:
        raise FileNotFoundError(f"no PTB-XL ptbxl_database.csv under {data_dir} (expected {data_dir}/ptbxl/)")
    dataset = PTBXL(found[0].parent)
    ids = dataset.ids()
    reports = []
    for raw in dataset.reports(ids):
        text = translate_report(" ".join(str(raw).split()))
        cut = len(str(raw)) == PTBXL_REPORT_FIELD and text.strip()
        reports.append(text.rstrip(" .,;:") + "…" if cut else text)
    return reports, [format_source_id("ptbxl", str(i), 0) for i in ids]


CHECKPOINTS = ("best", "last")      # a run's checkpoint folders, in the order the export prefers them


class ExportError(ValueError):
    """The run folder or the checkpoint asked for is not there."""


def choose_checkpoint(run_dir: str | Path, checkpoint: str | None = None) -> str:
    """The checkpoint of `run_dir` to export: `checkpoint` when given, else best/ when the run has one, else last/.
    Raises ExportError saying what the run holds when that is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ExportError(f"--run {run_dir}: no such folder; give the folder of a training run (it holds "
                          f"{' and/or '.join(c + '/' for c in CHECKPOINTS)})")
    present = [c for c in CHECKPOINTS if (run_dir / c / CONFIG_FILE).is_file()]
    if checkpoint is not None and checkpoint not in present:
        others = f"it has {', '.join(c + '/' for c in present)} (use --checkpoint {present[0]})" if present else \
            "it holds no checkpoint yet (is the training still at its first epoch?)"
        raise ExportError(f"--run {run_dir} has no {checkpoint}/ checkpoint: {others}")
    if not present:
        raise ExportError(f"--run {run_dir} holds no checkpoint ({' or '.join(c + '/' for c in CHECKPOINTS)} with "
                          f"a {CONFIG_FILE}): is it a training run folder, and has it saved a checkpoint yet?")
    return checkpoint or present[0]


def export_model(run_dir: str | Path, corpus_dir: str | Path, out_dir: str | Path,
                 card: str | Path | None = None, checkpoint: str | None = None, data_dir: str | Path | None = None,
                 text_cache: str | Path | None = None) -> Path:
    """Export `checkpoint` of the run (None: best/ when present, else last/, as `choose_checkpoint` says)."""
    import json

    from safetensors.numpy import save as safetensors_bytes

    from .calibrate import calibrate
    from .data import Corpus

    run_dir, corpus_dir, out_dir = Path(run_dir), Path(corpus_dir), Path(out_dir)
    text_cache = Path(text_cache) if text_cache else corpus_dir / "text_cache"
    mets = METS.from_pretrained(run_dir / choose_checkpoint(run_dir, checkpoint))
    run_config = run_dir / CONFIG_FILE          # the run's resolved config, written by the training loop
    run_cfg = json.loads(run_config.read_text(encoding="utf-8")) if run_config.is_file() else {}
    corpus = Corpus.open(corpus_dir)
    knowledge, reference, known = calibrate(mets, corpus, run_cfg.get("exclude_forms") or ())
    # the folder is replaced as a whole: keep the card it already ships unless a new one is given
    card = card or (out_dir / "MODEL_CARD.md" if (out_dir / "MODEL_CARD.md").is_file() else None)
    extra = {"knowledge.json": json.dumps(knowledge, indent=1), "reference.safetensors": safetensors_bytes(reference),
             "known_phrasings.safetensors": safetensors_bytes(known)}
    if card:
        extra["MODEL_CARD.md"] = Path(card).read_text(encoding="utf-8")
    mets.save_pretrained(out_dir, extra_files=extra)     # sets mets.weights_sha256, which the index records
    mets.ship_prompt_cache(out_dir)     # known prompts then rank without loading the text model (fast CLI start)
    reports, ids = source_ids(corpus_dir)
    if data_dir is not None:
        more, more_ids = ptbxl_reports(data_dir)
        reports, ids = reports + more, ids + more_ids
    # the reference ECGs also rank down the reports near every ECG (ReportIndex.set_reference)
    index = ReportIndex.build(mets, reports, ids, cache_dir=text_cache).set_reference(reference["embeddings"])
    index.save(out_dir / INDEX_DIR)
    return out_dir


def export_command(args) -> int:
    """`mets export`: the run's chosen checkpoint exported, saying which; a missing run, checkpoint or corpus is
    one `mets: export: ...` line and exit code 2."""
    from mets_core.checkpoint import CheckpointError
    from mets_core.commands.errors import EXIT_SETUP_ERROR, error
    from mets_core.text import TextModelError

    from .data import CorpusError
    try:
        chosen = choose_checkpoint(args.run, args.checkpoint)
        out = export_model(args.run, args.corpus, args.out, args.card, chosen, args.data_dir, args.text_cache)
    except (ExportError, CheckpointError, CorpusError, OSError, ValueError, TextModelError) as err:
        error("export", err)
        return EXIT_SETUP_ERROR
    why = "" if args.checkpoint else (" (the run's best validation checkpoint)" if chosen == "best" else
                                      " (the run has no best/: its last checkpoint)")
    print(f"exported {Path(args.run) / chosen}{why} -> {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a training run as a model folder with its report index")
    p.add_argument("--run", required=True, help="training run folder (holds best/ and/or last/)")
    p.add_argument("--checkpoint", default=None, choices=CHECKPOINTS,
                   help="which checkpoint of the run (default: best/ when the run has one, else last/)")
    p.add_argument("--corpus", required=True, help="the corpus the run trained on (reports for the index)")
    p.add_argument("--out", required=True, help="output model folder, e.g. weights")
    p.add_argument("--card", help="MODEL_CARD.md to ship inside the folder")
    p.add_argument("--data-dir", help="data folder holding ptbxl/: every PTB-XL report joins the index")
    p.add_argument("--text-cache", help="folder caching the frozen text model's report embeddings "
                                        "(default <corpus>/text_cache)")
    p.set_defaults(func=export_command)
