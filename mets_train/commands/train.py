"""`mets train` and `mets evaluate`. Thin: parse arguments, call `train` / `evaluate_label_sets`.

Every option is declared here: `mets train --recipe ptbxl-mets --data-dir DIR` trains the PTB-XL recipe
(training/recipe.py), `mets evaluate --protocol NAME --data-dir DIR` runs an evaluation protocol
(ptbxl/protocols.py); without those options both commands work on a corpus folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .ptbxl import emit_json, print_error


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    from ..training.recipe import RECIPES
    p.add_argument("--config", help="training config (JSON); keys not given take the defaults of "
                                    "mets_train/training/config.py (shipped configs: mets_train/configs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last state")
    p.add_argument("--out", help="run folder (overrides the config's 'out')")
    p.add_argument("--corpus", help="corpus folder (overrides the config's 'corpus')")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (smoke runs)")
    p.add_argument("--recipe", metavar="NAME_OR_FILE",
                   help=f"train a published recipe ({', '.join(RECIPES)}) or a recipe JSON file; "
                        f"needs --data-dir; --config then holds overrides {{data:{{}}, training:{{}}}}")
    p.add_argument("--data-dir", help="with --recipe: the PTB-XL folder (or a folder holding ptbxl/)")
    p.add_argument("--epochs", type=int, help="with --recipe: override the recipe's epochs")


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    from ..ptbxl.protocols import PROTOCOLS
    p.add_argument("--model", help="METS checkpoint folder (default: the shipped weights/)")
    p.add_argument("--corpus", help="corpus folder to take the validation patients from; with --protocol: a copy "
                                    "of the model's pretraining corpus, to say which test records it trained on "
                                    "(default: the corpus its checkpoint names, when on this machine)")
    p.add_argument("--data-dir", help="databases folder: the corpus built from it is located (or built) in "
                                      "--corpus-out")
    p.add_argument("--corpus-out", default="corpus", help="where --data-dir's corpus lives or is built "
                                                          "(default: ./corpus; a corpus already there is used "
                                                          "as is)")
    p.add_argument("--random-init", action="store_true",
                   help="also evaluate a random-init model of the same architecture (the chance floor)")
    p.add_argument("--labels", help="label -> statement mapping (default mets_train/training/eval_labels.json)")
    p.add_argument("--split", default="val", choices=["val", "train"],
                   help="corpus split (default val; train is for debugging only, never a zero-shot result)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="write the results as JSON to FILE (or to stdout instead of the table when no FILE)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-init model")
    p.add_argument("--no-expand", action="store_true",
                   help="score every label phrase through the templates as typed (no knowledge expansion)")
    p.add_argument("--exclude-forms", nargs="+", choices=["mv", "zscore"],
                   help="leave windows of these signal forms out (zscore: judge on the mV ECGs only)")
    p.add_argument("--protocol", choices=PROTOCOLS,
                   help="mets: the paper's balanced 5x200 PTB-XL fold-10 sets; ptbxl-auc: fold-10 macro "
                        "AUC per level; mitbih: 5 beat classes x 100 (needs --data-dir)")
    p.add_argument("--prompts", choices=["paper", "ensemble"], default="paper",
                   help="with --protocol: the paper's single template (default) or the template ensemble")
    p.add_argument("--records", nargs="+", metavar="REC",
                   help="with --protocol mitbih: records to draw beats from (default: all with .atr, "
                        "paced 102 104 107 217 excluded)")
    p.add_argument("--sample-seed", type=int, default=0, help="with --protocol: sampling seed (default 0)")
    p.add_argument("--n-per-class", type=int, help="with --protocol mets/mitbih: ECGs or beats per class "
                                                   "(default: the paper's 200 / 100)")
    p.add_argument("--folds", type=int, nargs="+", metavar="FOLD",
                   help="with --protocol mets/ptbxl-auc: PTB-XL folds to test on instead of the test fold 10 "
                        "(e.g. 9, the validation fold; a model trained on a fold is no test of it)")


def train_command(args: argparse.Namespace) -> int:
    if args.recipe:
        return train_recipe_command(args)
    if args.data_dir or args.epochs is not None:
        print("mets train: --data-dir and --epochs go with --recipe (e.g. --recipe ptbxl-mets)", file=sys.stderr)
        return 2
    from ..training.config import ConfigError, load_config, make_config
    from ..training.loop import train
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
    from ..corpus.build import build_corpus
    print(f"building the corpus from {data_dir} into {folder} (once)...", file=sys.stderr)
    build_corpus(data_dir, folder)
    return folder


def load_models(args: argparse.Namespace) -> dict:
    """Column name -> METS model to evaluate."""
    from mets_core.pipeline import METS
    from mets_core.checkpoint import CheckpointError
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
    if args.protocol:
        return evaluate_protocol_command(args)
    if args.folds:
        print("mets evaluate: --folds goes with --protocol mets or ptbxl-auc (PTB-XL folds to test on)",
              file=sys.stderr)
        return 2
    from mets_core.checkpoint import CheckpointError

    from ..training.data import Corpus, CorpusError
    from ..training.evaluate import evaluate_label_sets, format_table, load_eval_labels
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


# ------------------------------------------------------------------------------ mets train --recipe

def train_recipe_command(args: argparse.Namespace) -> int:
    from ..ptbxl.dataset import PTBXLError, describe_forms
    from ..ptbxl.protocols import locate
    from ..training.config import ConfigError
    from ..training.recipe import RecipeError, train_recipe

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
            print_error("mets train", f"--config {args.config}: {err}")
            return 2
        overrides = {"data": extra.get("data", {}), "training": {**extra.get("training", {}), **training}}
    try:
        result = train_recipe(locate(args.data_dir, "ptbxl"), args.recipe, overrides, resume=args.resume)
    except (RecipeError, ConfigError, PTBXLError, ValueError, FileNotFoundError) as err:
        print_error("mets train", err)
        return 2
    print(f"trained {result['steps']} steps on {result['n_train']} PTB-XL ECGs (reports "
          f"{'translated' if result['translate'] else 'as in PTB-XL'}; signals read: "
          f"{describe_forms(result['forms_read'])}) -> {result['out']}/last")
    return 0


# ------------------------------------------------------------------------------ mets evaluate --protocol

def evaluate_protocol_command(args: argparse.Namespace) -> int:
    from mets_core.checkpoint import CheckpointError

    from ..ptbxl.dataset import PTBXLError
    from ..ptbxl.protocols import format_results, run_protocol

    if not args.data_dir:
        print(f"mets evaluate: --protocol {args.protocol} needs --data-dir DIR", file=sys.stderr)
        return 2
    try:
        models = load_models(args)
        results = {name: run_protocol(args.protocol, model, args.data_dir, seed=args.sample_seed,
                                      prompts=args.prompts, records=args.records, n_per_class=args.n_per_class,
                                      folds=args.folds, corpus=args.corpus)
                   for name, model in models.items()}
    except (CheckpointError, PTBXLError, FileNotFoundError, ValueError) as err:
        print_error("mets evaluate", err)
        return 2
    payload = {"protocol": args.protocol, "prompts": args.prompts, "sample_seed": args.sample_seed,
               "n_per_class": args.n_per_class, "folds": args.folds,
               "models": {name: (m.source or "random-init") for name, m in models.items()}, "results": results}
    emit_json(args, payload, format_results(args.protocol, results))
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
