"""`mets train` and `mets evaluate`. Thin: parse arguments, call `train` / `evaluate_zero_shot`.

Other command modules may extend these sub-commands (e.g. a recipe or protocol option): use
`add_train_arguments` / `add_evaluate_arguments` and call `train_command` / `evaluate_command`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="training config (JSON); keys not given take the defaults of "
                                    "mets_core/training/config.py")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last state")
    p.add_argument("--out", help="run folder (overrides the config's 'out')")
    p.add_argument("--corpus", help="corpus folder (overrides the config's 'corpus')")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (smoke runs)")


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="METS checkpoint folder (default: the shipped weights/)")
    p.add_argument("--corpus", help="corpus folder to take the validation patients from")
    p.add_argument("--data-dir", help="databases folder: the corpus built from it is located (or built) in "
                                      "--corpus-out")
    p.add_argument("--corpus-out", default="corpus", help="where --data-dir's corpus lives or is built "
                                                          "(default: ./corpus; a corpus already there is used "
                                                          "as is)")
    p.add_argument("--random-init", action="store_true",
                   help="also evaluate a random-init model of the same architecture (the chance floor)")
    p.add_argument("--labels", help="label -> statement mapping (default mets_core/training/eval_labels.json)")
    p.add_argument("--split", default="val", choices=["val", "train"],
                   help="corpus split (default val; train is for debugging only, never a zero-shot result)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="write the results as JSON to FILE (or to stdout instead of the table when no FILE)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-init model")
    p.add_argument("--no-expand", action="store_true",
                   help="score every label phrase through the templates as typed (no knowledge expansion)")
    p.add_argument("--exclude-forms", nargs="+", choices=["mv", "zscore"],
                   help="leave windows of these signal forms out (zscore: judge on the mV ECGs only)")


def train_command(args: argparse.Namespace) -> int:
    from .config import ConfigError, DEFAULTS, load_config, make_config
    from .loop import train
    overrides = {k: v for k, v in (("out", args.out), ("corpus", args.corpus), ("max_steps", args.max_steps))
                 if v is not None}
    try:
        cfg = load_config(args.config, overrides) if args.config else make_config(overrides)
    except ConfigError as err:
        print(f"mets train: {err}", file=sys.stderr)
        return 2
    try:
        result = train(cfg, resume=args.resume)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        print(f"mets train: {err}", file=sys.stderr)
        return 2
    best = result["best"]
    print(f"trained {result['steps']} steps -> {result['out']}"
          + (f"; best validation macro AUC {best['macro_auc']} at epoch {best['epoch']}" if best else ""))
    return 0


def locate_corpus(data_dir: str, corpus_dir: str) -> Path:
    """The corpus built from `data_dir`: `corpus_dir` if it already holds one, else build it there."""
    folder = Path(corpus_dir)
    if (folder / "corpus.json").is_file():
        return folder
    from ..corpus.build import build_corpus   # the corpus builder (issue 3, item 1)
    print(f"building the corpus from {data_dir} into {folder} (once)...", file=sys.stderr)
    build_corpus(data_dir, folder)
    return folder


def load_models(args: argparse.Namespace) -> dict:
    """Column name -> METS model to evaluate."""
    from ..mets import METS
    from ..checkpoint import CheckpointError
    models = {}
    try:
        trained = METS.from_pretrained(args.model)
        models["model"] = trained
        cfg = trained.config()
    except CheckpointError:
        if args.model is not None or not args.random_init:
            raise
        cfg = {}            # no shipped weights yet: the floor alone, default architecture
    if args.random_init:
        cfg.pop("training", None)
        models["random-init"] = METS.random_init(cfg, seed=args.seed)
    return models


def evaluate_command(args: argparse.Namespace) -> int:
    from ..checkpoint import CheckpointError
    from .data import Corpus, CorpusError
    from .evaluate import evaluate_label_sets, format_table, load_eval_labels
    try:
        if args.corpus:
            corpus_dir = Path(args.corpus)
        elif args.data_dir:
            corpus_dir = locate_corpus(args.data_dir, args.corpus_out)
        else:
            print("mets evaluate: give --corpus DIR (a built corpus) or --data-dir DIR (the databases)",
                  file=sys.stderr)
            return 2
        corpus = Corpus.open(corpus_dir)
        labels = load_eval_labels(args.labels)
        models = load_models(args)
        by_model = {name: evaluate_label_sets(m, corpus, labels, split=args.split, expand=not args.no_expand,
                                              exclude_forms=args.exclude_forms or ())
                    for name, m in models.items()}
    except (CorpusError, CheckpointError, ValueError, FileNotFoundError) as err:
        print(f"mets evaluate: {err}", file=sys.stderr)
        return 2
    # one result per model; with PTB-XL in the corpus, its label sets sit beside the open-database one
    sets = list(next(iter(by_model.values())))
    results = {}
    for name, per_set in by_model.items():
        first = per_set[sets[0]]
        results[name] = {**first, "label_set": sets[0],
                         "sets": {k: v for k, v in per_set.items()}}
    if args.json == "-":
        print(json.dumps(results, indent=1))
        return 0
    for set_name in sets:
        print(f"== {set_name} ==")
        print(format_table({name: by_model[name][set_name] for name in by_model}))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="contrastive pretraining on a corpus (DDP under torchrun)",
                              description="Train METS on a corpus folder. Under `torchrun --nproc_per_node N` the "
                                          "same command trains with DistributedDataParallel.")
    add_train_arguments(p)
    p.set_defaults(func=train_command)
    p = subparsers.add_parser("evaluate", help="zero-shot evaluation on a corpus's validation patients")
    add_evaluate_arguments(p)
    p.set_defaults(func=evaluate_command)
