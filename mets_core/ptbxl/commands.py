"""`mets ptbxl translate-report|text-check`, and the PTB-XL hooks of `mets train` / `mets evaluate`.

Hooks, not copies: `register` must run after mets_core.training.commands (COMMAND_MODULES order). It adds
`--recipe` (+ `--data-dir`, `--epochs`) to `mets train` and `--protocol` (+ `--prompts`, `--records`,
`--sample-seed`) to `mets evaluate`; without those options both commands behave exactly as before.
"""
from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path


def _error(prefix: str, err: BaseException | str) -> None:
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


def _emit_json(args, payload, table: str) -> None:
    """The `mets evaluate --json [FILE]` convention: bare --json prints JSON instead of the table."""
    text = json.dumps(_jsonable(payload), indent=1)
    if args.json == "-":
        print(text)
        return
    print(table)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
        print(f"wrote {args.json}")


def _ptbxl(data_dir: str):
    from .dataset import PTBXL
    from .protocols import locate
    return PTBXL(locate(data_dir, "ptbxl"))


# ------------------------------------------------------------------------------ translate-report

def cmd_translate_report(args) -> int:
    from .dataset import PTBXLError
    from .translate import measure_coverage, normalise_report

    try:
        dataset = _ptbxl(args.data_dir)
    except (PTBXLError, FileNotFoundError) as err:
        _error("mets ptbxl translate-report", err)
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
    _emit_json(args, payload, "\n".join(lines))
    return 0


# ------------------------------------------------------------------------------ text-check

def cmd_text_check(args) -> int:
    from ..text import TextModelError
    from .dataset import PTBXLError
    from .textcheck import format_table, run_text_check

    try:
        dataset = _ptbxl(args.data_dir)
    except (PTBXLError, FileNotFoundError) as err:
        _error("mets ptbxl text-check", err)
        return 2
    results, failures = [], {}
    for name in args.text_model or [None]:
        try:
            results += run_text_check(dataset, [name], variants=args.reports, cache_dir=args.cache_dir)
        except TextModelError as err:              # e.g. a hub id on an offline machine: say so, go on
            failures[str(name)] = str(err).splitlines()[0]
            _error("mets ptbxl text-check", err)
    if not results:
        return 2
    payload = {"results": [r.to_dict() for r in results], "unavailable": failures}
    _emit_json(args, payload, format_table(results))
    return 0


# ------------------------------------------------------------------------------ mets train --recipe

def cmd_train_recipe(args, fallback) -> int:
    if not args.recipe:
        if args.data_dir or args.epochs is not None:
            print("mets train: --data-dir and --epochs go with --recipe (e.g. --recipe ptbxl-mets)", file=sys.stderr)
            return 2
        return fallback(args)
    from ..training.config import ConfigError
    from .dataset import PTBXLError
    from .recipe import RecipeError, train_recipe

    if not args.data_dir:
        print("mets train: --recipe needs --data-dir DIR (a PTB-XL folder, or a folder holding ptbxl/)",
              file=sys.stderr)
        return 2
    training = {k: v for k, v in (("out", args.out), ("max_steps", args.max_steps), ("epochs", args.epochs),
                                  ("corpus", args.corpus)) if v is not None}
    overrides = {"training": training}
    if args.config:
        try:
            extra = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            _error("mets train", f"--config {args.config}: {err}")
            return 2
        overrides = {"data": extra.get("data", {}), "training": {**extra.get("training", {}), **training}}
    try:
        from .protocols import locate
        result = train_recipe(locate(args.data_dir, "ptbxl"), args.recipe, overrides, resume=args.resume)
    except (RecipeError, ConfigError, PTBXLError, ValueError, FileNotFoundError) as err:
        _error("mets train", err)
        return 2
    print(f"trained {result['steps']} steps on {result['n_train']} PTB-XL ECGs (reports "
          f"{'translated' if result['translate'] else 'as in PTB-XL'}) -> {result['out']}/last")
    return 0


# ------------------------------------------------------------------------------ mets evaluate --protocol

def cmd_evaluate_protocol(args, fallback) -> int:
    if not args.protocol:
        return fallback(args)
    from ..checkpoint import CheckpointError
    from ..training.commands import load_models
    from .dataset import PTBXLError
    from .protocols import format_results, run_protocol

    if not args.data_dir:
        print(f"mets evaluate: --protocol {args.protocol} needs --data-dir DIR", file=sys.stderr)
        return 2
    try:
        models = load_models(args)
        results = {name: run_protocol(args.protocol, model, args.data_dir, seed=args.sample_seed,
                                      prompts=args.prompts, records=args.records, n_per_class=args.n_per_class)
                   for name, model in models.items()}
    except (CheckpointError, PTBXLError, FileNotFoundError, ValueError) as err:
        _error("mets evaluate", err)
        return 2
    payload = {"protocol": args.protocol, "prompts": args.prompts, "sample_seed": args.sample_seed,
               "n_per_class": args.n_per_class,
               "models": {name: (m.source or "random-init") for name, m in models.items()}, "results": results}
    _emit_json(args, payload, format_results(args.protocol, results))
    return 0


# ------------------------------------------------------------------------------ registration

def register(subparsers) -> None:
    from .protocols import PROTOCOLS
    from .recipe import RECIPES
    from .textcheck import REPORT_VARIANTS

    p = subparsers.add_parser("ptbxl", help="PTB-XL tools: report translation, text-side check")
    sub = p.add_subparsers(dest="ptbxl_command", required=True)
    t = sub.add_parser("translate-report", help="translate the German/Swedish reports and measure coverage",
                       description="Translate every report with the curated glossaries; print the share of "
                                   "German/Swedish reports left with no untranslated token, and random pairs.")
    t.add_argument("--data-dir", required=True, help="PTB-XL folder (or a folder holding ptbxl/)")
    t.add_argument("--examples", type=int, default=20, help="random before/after pairs to show (default 20)")
    t.add_argument("--seed", type=int, default=0, help="seed of the random pairs (default 0)")
    t.add_argument("--json", nargs="?", const="-", metavar="FILE", help="JSON to FILE (or stdout)")
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
    c.add_argument("--json", nargs="?", const="-", metavar="FILE", help="JSON to FILE (or stdout)")
    c.set_defaults(func=cmd_text_check)

    train = subparsers.choices.get("train")
    evaluate = subparsers.choices.get("evaluate")
    if train is None or evaluate is None:
        raise RuntimeError("mets_core.ptbxl.commands must be listed after mets_core.training.commands "
                           "in COMMAND_MODULES")
    train.add_argument("--recipe", metavar="NAME_OR_FILE",
                       help=f"train a published recipe ({', '.join(RECIPES)}) or a recipe JSON file; "
                            f"needs --data-dir; --config then holds overrides {{data:{{}}, training:{{}}}}")
    train.add_argument("--data-dir", help="with --recipe: the PTB-XL folder (or a folder holding ptbxl/)")
    train.add_argument("--epochs", type=int, help="with --recipe: override the recipe's epochs")
    train_fallback = train.get_default("func")
    train.set_defaults(func=lambda a: cmd_train_recipe(a, train_fallback))

    evaluate.add_argument("--protocol", choices=PROTOCOLS,
                          help="mets: the paper's balanced 5x200 PTB-XL fold-10 sets; ptbxl-auc: fold-10 macro "
                               "AUC per level; mitbih: 5 beat classes x 100 (needs --data-dir)")
    evaluate.add_argument("--prompts", choices=["paper", "ensemble"], default="paper",
                          help="with --protocol: the paper's single template (default) or the template ensemble")
    evaluate.add_argument("--records", nargs="+", metavar="REC",
                          help="with --protocol mitbih: records to draw beats from (default: all with .atr, "
                               "paced 102 104 107 217 excluded)")
    evaluate.add_argument("--sample-seed", type=int, default=0, help="with --protocol: sampling seed (default 0)")
    evaluate.add_argument("--n-per-class", type=int, help="with --protocol mets/mitbih: ECGs or beats per class "
                                                          "(default: the paper's 200 / 100)")
    evaluate_fallback = evaluate.get_default("func")
    evaluate.set_defaults(func=lambda a: cmd_evaluate_protocol(a, evaluate_fallback))
