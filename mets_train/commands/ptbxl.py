"""`mets ptbxl translate-report|text-check` (the PTB-XL recipe and protocols are options of `mets train` /
`mets evaluate`: commands/train.py), and the output helpers those commands share."""
from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path


def print_error(prefix: str, err: BaseException | str) -> None:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    print(f"{prefix}: {msg}", file=sys.stderr)


def _jsonable(value):
    """NaN -> null, recursively (json.dumps would write the invalid token NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def json_out_file(text: str) -> str:
    """An argparse type: the FILE of --json FILE, checked before the command runs (an evaluation can take
    minutes, and its results were lost to a traceback when the file could not be written at the end)."""
    import argparse

    from mets_core.commands.output import out_file_problem
    problem = out_file_problem(text, "results.json")
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def add_json_option(parser, help: str) -> None:
    """--json [FILE]: JSON to FILE, or on stdout instead of the table when no FILE (`emit_json`)."""
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE", type=json_out_file, help=help)


def emit_json(args, payload, table: str) -> None:
    """The `mets evaluate --json [FILE]` convention: bare --json prints JSON instead of the table."""
    text = json.dumps(_jsonable(payload), indent=1)
    if args.json == "-":
        print(text)
        return
    print(table)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
        print(f"wrote {args.json}")


def _open_ptbxl(data_dir: str, command: str):
    """PTB-XL under `data_dir`, or None after one stderr line (in `command`'s name) saying why not."""
    from ..ptbxl.dataset import PTBXL, PTBXLError
    from ..ptbxl.protocols import locate
    try:
        return PTBXL(locate(data_dir, "ptbxl"))
    except (PTBXLError, FileNotFoundError) as err:
        print_error(command, err)
        return None


# ------------------------------------------------------------------------------ translate-report

def cmd_translate_report(args) -> int:
    from ..ptbxl.translate import measure_coverage, normalise_report

    dataset = _open_ptbxl(args.data_dir, "mets ptbxl translate-report")
    if dataset is None:
        return 2
    reports = dataset.reports()
    coverage, languages, translations = measure_coverage(reports)
    foreign = [i for i, lang in enumerate(languages) if lang != "en"]
    rng = random.Random(args.seed)
    pairs = [{"ecg_id": int(dataset.ids()[i]), "language": languages[i], "report": normalise_report(reports[i]),
              "english": translations[i]} for i in sorted(rng.sample(foreign, min(args.examples, len(foreign))))]
    payload = {**coverage.to_dict(), "examples": pairs, "seed": args.seed}
    lines = [f"{coverage.n_reports} reports: " + ", ".join(f"{k} {v}" for k, v in coverage.n_by_language.items()),
             f"German/Swedish reports with no untranslated token left: {coverage.n_fully_translated} of "
             f"{coverage.n_translated} = {coverage.coverage:.2%}",
             "most frequent untranslated tokens: " + ", ".join(f"{w} ({n})" for w, n in coverage.top_untranslated[:15]),
             "", f"{len(pairs)} random pairs (seed {args.seed}):"]
    for p in pairs:
        lines += [f"  [{p['ecg_id']}, {p['language']}] {p['report']}", f"      -> {p['english']}"]
    emit_json(args, payload, "\n".join(lines))
    return 0


# ------------------------------------------------------------------------------ text-check

def cmd_text_check(args) -> int:
    from mets_core.text import TextModelError
    from ..ptbxl.textcheck import format_table, run_text_check

    dataset = _open_ptbxl(args.data_dir, "mets ptbxl text-check")
    if dataset is None:
        return 2
    results, failures = [], {}
    for name in args.text_model or [None]:
        try:
            results += run_text_check(dataset, [name], variants=args.reports, cache_dir=args.cache_dir)
        except TextModelError as err:              # e.g. a hub id on an offline machine: say so, go on
            failures[str(name)] = str(err).splitlines()[0]
            print_error("mets ptbxl text-check", err)
    if not results:
        return 2
    payload = {"results": [r.to_dict() for r in results], "unavailable": failures}
    emit_json(args, payload, format_table(results))
    return 0


# ------------------------------------------------------------------------------ registration

def register(subparsers) -> None:
    from ..ptbxl.textcheck import REPORT_VARIANTS

    from .corpus import choose_one

    p = subparsers.add_parser("ptbxl", help="PTB-XL tools: report translation, text-side check")
    sub = p.add_subparsers(dest="ptbxl_command", metavar="COMMAND")
    p.set_defaults(func=lambda args: choose_one("mets ptbxl", sub))
    t = sub.add_parser("translate-report", help="translate the German/Swedish reports and measure coverage",
                       description="Translate every report with the curated glossaries; print the share of "
                                   "German/Swedish reports left with no untranslated token, and random pairs.")
    t.add_argument("--data-dir", required=True, help="PTB-XL folder (or a folder holding ptbxl/)")
    t.add_argument("--examples", type=int, default=20, help="random before/after pairs to show (default 20)")
    t.add_argument("--seed", type=int, default=0, help="seed of the random pairs (default 0)")
    add_json_option(t, "JSON to FILE (or stdout)")
    t.set_defaults(func=cmd_translate_report)

    c = sub.add_parser("text-check", help="text-encoder-only superclass AUC over all reports",
                       description="Rank all reports by similarity to each superclass prompt with the frozen "
                                   "text encoder alone; ROC AUC against the cardiologists' labels.")
    c.add_argument("--data-dir", required=True, help="PTB-XL folder (or a folder holding ptbxl/)")
    c.add_argument("--text-model", action="append", metavar="ID_OR_DIR",
                   help="text encoder(s) to compare (repeatable; default the offline all-MiniLM-L6-v2)")
    c.add_argument("--reports", nargs="+", default=list(REPORT_VARIANTS), choices=["original", "translated", "cleaned"],
                   help="report variants (default: original cleaned translated)")
    c.add_argument("--cache-dir", help="embedding cache (default $METS_CACHE/text or ~/.cache/mets/text)")
    add_json_option(c, "JSON to FILE (or stdout)")
    c.set_defaults(func=cmd_text_check)
