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

from mets_core.text import TextModelError

from .ptbxl import add_json_option, emit_json, print_error


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
    from mets_core.commands.options import MODEL_HELP
    p.add_argument("--model", help=MODEL_HELP)          # METS.from_pretrained(None) honours $METS_WEIGHTS
    p.add_argument("--corpus", help="corpus folder to take the validation patients from; with --protocol: a copy "
                                    "of the model's pretraining corpus, to say which test records it trained on "
                                    "(default: the corpus its checkpoint names, when on this machine)")
    p.add_argument("--pretraining-corpus", metavar="DIR",
                   help="without --protocol: a copy of the model's pretraining corpus, to count the windows of "
                        "--corpus's split the model trained on (default: the corpus its checkpoint names, when on "
                        "this machine); a corpus built with other sources, records or seed splits patients "
                        "differently")
    p.add_argument("--data-dir", help="databases folder: the corpus built from it is located (or built) in "
                                      "--corpus-out")
    p.add_argument("--corpus-out", default="corpus", help="where --data-dir's corpus lives or is built "
                                                          "(default: ./corpus; a corpus already there is used "
                                                          "as is)")
    p.add_argument("--random-init", action="store_true",
                   help="also evaluate a random-init model of the same architecture (the chance floor)")
    p.add_argument("--labels", help="label -> statement mapping (default mets_train/training/eval_labels.json)")
    # default None, not "val": a --split typed beside --protocol is refused even when it says "val"
    p.add_argument("--split", choices=["val", "train"],
                   help="corpus split (default val; train is for debugging only, never a zero-shot result)")
    add_json_option(p, "write the results as JSON to FILE (or to stdout instead of the table when no FILE)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-init model")
    p.add_argument("--no-expand", action="store_true",
                   help="score every label phrase through the templates as typed (no knowledge expansion)")
    from ..corpus.format import WINDOW_FORMS
    p.add_argument("--exclude-forms", nargs="+", choices=WINDOW_FORMS,
                   help="leave windows of these signal forms out (zscore: judge on the mV ECGs only)")
    p.add_argument("--protocol", choices=PROTOCOLS,
                   help="mets: the paper's balanced 5x200 PTB-XL fold-10 sets; ptbxl-auc: fold-10 macro "
                        "AUC per level; mitbih: 5 beat classes x 100 (needs --data-dir)")
    p.add_argument("--prompts", choices=["paper", "ensemble"],
                   help="with --protocol: the paper's single template (default) or the template ensemble")
    p.add_argument("--records", nargs="+", metavar="REC",
                   help="with --protocol mitbih: records to draw beats from (default: all with .atr, "
                        "paced 102 104 107 217 excluded)")
    p.add_argument("--sample-seed", type=int, help="with --protocol mets/mitbih: sampling seed (default 0)")
    p.add_argument("--n-per-class", type=int, help="with --protocol mets/mitbih: ECGs or beats per class "
                                                   "(default: the paper's 200 / 100)")
    p.add_argument("--folds", type=ptbxl_fold, nargs="+", metavar="FOLD",
                   help=f"with --protocol mets/ptbxl-auc: the PTB-XL folds ({PTBXL_FOLDS[0]}-{PTBXL_FOLDS[-1]}) to "
                        f"test on. Without it: fold {TEST_FOLD}, PTB-XL's test fold; --folds 9 is the validation "
                        f"fold (a model that trained or chose its checkpoint on a fold is no test of it)")


PTBXL_FOLDS = tuple(range(1, 11))     # PTB-XL's strat_fold: 1-8 train, 9 validation, 10 test
TEST_FOLD = PTBXL_FOLDS[-1]
VALIDATION_FOLD = 9


def ptbxl_fold(text: str) -> int:
    """An argparse type: one of PTB-XL's folds."""
    try:
        fold = int(text)
    except ValueError:
        fold = None
    if fold not in PTBXL_FOLDS:
        raise argparse.ArgumentTypeError(f"{text}: PTB-XL's folds are {PTBXL_FOLDS[0]}-{PTBXL_FOLDS[-1]} "
                                         f"({VALIDATION_FOLD} validation, {TEST_FOLD} test)")
    return fold


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
    except TRAIN_ERRORS as err:
        print(f"mets train: {err}", file=sys.stderr)
        return 2
    print(finished_words(result) or f"trained {result['steps']} steps -> {result['out']}"
          + (f"; {best_words(result['best'])}" if result["best"] else "")
          + (f"; {result['no_best']}" if result.get("no_best") else ""))
    return 0


# what `mets train` says in one line instead of a traceback: a bad config, corpus, recipe or data folder (ValueErrors:
# ConfigError, CorpusError, RecipeError, PTBXLError), a missing file, a text model that cannot be loaded (the
# paper's ClinicalBERT without hub access)
TRAIN_ERRORS = (ValueError, FileNotFoundError, TextModelError)


def finished_words(result: dict) -> str | None:
    """What --resume of a run that had already finished did (nothing), and how to train it longer."""
    if not result.get("already_finished"):
        return None
    longer = ("it stopped early (no better validation score for 'patience' epochs): to train on, resume it with "
              "patience null in its config" if result.get("stopped_early") else
              "to train longer, resume it with a larger --epochs or --max-steps")
    return (f"{result['out']} had already finished ({result['steps']} steps): nothing more to train; its model is "
            f"{Path(result['out']) / 'last'}; {longer}")


def best_words(best: dict) -> str:
    """The kept checkpoint, as the model card says it: chosen by its selection score (the mean macro AUC of
    the label sets), rounded, at an epoch counted from 1 (the epoch lines and the card count so; the run's
    JSON files keep the loop's index, from 0)."""
    from ..training.loop import shown_epoch
    sets = ", ".join(f"{k} {v:.3f}" for k, v in (best.get("sets") or {}).items() if v is not None)
    if sets:
        chosen = f"selection score {best['score']:.3f} (the mean validation macro AUC of the label sets {sets})"
    elif best.get("loss") is not None and best["score"] == -best["loss"]:     # no label to score: the loss chose
        chosen = f"the lowest validation loss, {best['loss']:.3f}"
    else:
        chosen = f"selection score {best['score']:.3f} (validation macro AUC)"
    return f"best/ is epoch {shown_epoch(best['epoch'])}, {chosen}"


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
    except CheckpointError as err:
        hint = run_folder_hint(args.model)
        if hint:
            raise CheckpointError(hint) from err
        if args.model is not None or not args.random_init:
            raise
        cfg = {}            # no shipped weights yet: the floor alone, default architecture
    if args.random_init:
        cfg.pop("training", None)
        models["random-init"] = METS.random_init(cfg, seed=args.seed)
    return models


def run_folder_hint(model: str | None) -> str | None:
    """--model named a training run's folder (or its state/) instead of one of its checkpoints: which to give."""
    from ..training.export import CHECKPOINTS
    if model is None:
        return None
    folder = Path(model)
    run = folder.parent if folder.name == "state" else folder
    present = [c for c in CHECKPOINTS if (run / c / "model.safetensors").is_file()]
    if not present:
        return None
    what = "the resumable training state of a run" if run is not folder else "a training run's folder"
    return (f"--model {model} is {what}, not a model checkpoint: give one of its checkpoints, "
            + " or ".join(f"--model {run / c}" for c in present))


# `mets evaluate` options of the corpus evaluation that a protocol (its own records, labels and prompts) ignores
CORPUS_ONLY_OPTIONS = {"labels": "--labels", "no_expand": "--no-expand", "exclude_forms": "--exclude-forms",
                       "pretraining_corpus": "--pretraining-corpus", "split": "--split"}
# `mets evaluate` options of the protocols, and the protocols that read each (None: every protocol; the others
# ignore it). Their argparse defaults are None, so an option typed with its default value is still seen as given.
PROTOCOL_OPTIONS = {"folds": ("--folds", ("mets", "ptbxl-auc")), "records": ("--records", ("mitbih",)),
                    "n_per_class": ("--n-per-class", ("mets", "mitbih")),
                    "sample_seed": ("--sample-seed", ("mets", "mitbih")), "prompts": ("--prompts", None)}


def misplaced_protocol_options(args: argparse.Namespace) -> str | None:
    """Why protocol options given to `mets evaluate` would be ignored (without --protocol, or with a protocol that
    does not read them), in the user's words with what to do; None when every one given is read."""
    given = [(flag, protocols) for name, (flag, protocols) in PROTOCOL_OPTIONS.items()
             if getattr(args, name, None) is not None
             and (args.protocol is None if protocols is None else args.protocol not in protocols)]
    if not given:
        return None
    goes = "; ".join(f"{flag} goes with --protocol" + (f" {' or '.join(protocols)}" if protocols else "")
                     for flag, protocols in given)
    them = "it" if len(given) == 1 else "them"
    if args.protocol:
        return f"{goes}: --protocol {args.protocol} does not read {them}; drop {them}"
    return f"{goes}: the corpus evaluation (no --protocol) does not read {them}; drop {them} or add --protocol"


def evaluate_command(args: argparse.Namespace) -> int:
    misplaced = misplaced_protocol_options(args)
    if misplaced:
        print(f"mets evaluate: {misplaced}", file=sys.stderr)
        return 2
    if args.protocol:
        given = [flag for name, flag in CORPUS_ONLY_OPTIONS.items() if getattr(args, name, None)]
        if given:
            # it would be ignored, and the result read as if it applied
            print(f"mets evaluate: {', '.join(given)} {'goes' if len(given) == 1 else 'go'} with the corpus "
                  f"evaluation (no --protocol); --protocol {args.protocol} scores its own records and labels: "
                  f"drop {'it' if len(given) == 1 else 'them'}", file=sys.stderr)
            return 2
        return evaluate_protocol_command(args)
    split = args.split or "val"
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
        by_model = {name: evaluate_label_sets(m, corpus, labels, split=split, expand=not args.no_expand,
                                              exclude_forms=args.exclude_forms or ())
                    for name, m in models.items()}
    except (CorpusError, CheckpointError, ValueError, FileNotFoundError, TextModelError) as err:
        print(f"mets evaluate: {err}", file=sys.stderr)
        return 2
    # one result per model; with PTB-XL in the corpus, its label sets sit beside the open-database one
    sets = list(next(iter(by_model.values())))
    results = {}
    for name, per_set in by_model.items():
        first = per_set[sets[0]]
        exposure = split_exposure(models[name], corpus, split, args.pretraining_corpus)
        results[name] = {**first, "label_set": sets[0],
                         "sets": {k: v for k, v in per_set.items()}, "pretraining": exposure}
        if exposure.get("warning"):
            print(f"mets evaluate: {name}: warning: {exposure['warning']}", file=sys.stderr)
    emit_json(args, results, "\n".join(f"== {set_name} ==\n" + format_table({name: by_model[name][set_name]
                                                                             for name in by_model})
                                       for set_name in sets))
    return 0


def split_exposure(model, corpus, split: str, pretraining_corpus: str | None) -> dict:
    """Did `model` train on the windows of `corpus`'s `split`? Its records are looked up in the model's
    pretraining corpus (`pretraining_corpus`, else the one its checkpoint names: protocols.pretraining_exposure,
    the protocols' rule). The weights themselves keep no list of their validation records, only counts per
    database (knowledge.json training_data). {"windows", "trained_on" (None: not known), "by_source",
    "warning"}: the warning says how many windows it trained on, or that this cannot be told and why."""
    import csv
    from collections import Counter

    from mets_core.index import record_key
    from ..ptbxl.protocols import UNTRAINED, pretraining_exposure
    with open(corpus.path / "windows.csv", newline="", encoding="utf-8") as fh:
        rows = [(r["source"], r["record"]) for r in csv.DictReader(fh) if r.get("split") == split]
    windows = Counter(rows)
    out: dict = {"split": split, "windows": len(rows), "trained_on": 0, "by_source": {}}
    unknown: dict[str, dict] = {}
    for source in sorted({src for src, _ in windows}):
        records = sorted({rec for src, rec in windows if src == source})
        e = pretraining_exposure(model, source, records, pretraining_corpus)
        if e.get("why") == UNTRAINED:
            return {**out, "why": UNTRAINED}
        n = sum(c for (src, _), c in windows.items() if src == source)
        if e["status"] == "unknown":
            unknown[source] = {"windows": n, "model_validated_on": (e.get("training_windows") or {}).get("val")}
            out["why"] = e["why"]
            continue
        trained = set(e.get("train") or ())
        k = sum(c for (src, rec), c in windows.items() if src == source and record_key(rec) in trained)
        out["by_source"][source] = {"windows": n, "trained_on": k}
        out["trained_on"] += k
        out["corpus"] = e.get("corpus", out.get("corpus"))
    if unknown:
        out["trained_on"] = None
        out["unknown"] = unknown
        theirs = ", ".join(f"{s} {u['model_validated_on']}" for s, u in unknown.items()
                           if u["model_validated_on"] is not None)
        ours = ", ".join(f"{s} {u['windows']}" for s, u in unknown.items())
        out["warning"] = (f"which of these {len(rows)} {split} windows the model trained on is not known "
                          f"({out['why']}). A corpus built with other sources, records or seed puts other patients "
                          f"in validation, so some may be windows it trained on and their AUCs flattering"
                          + (f" (its validation held {theirs} windows; this {split} split holds {ours})" if theirs
                             else "")
                          + ". Pass --pretraining-corpus DIR (a copy of its pretraining corpus) to count them, or "
                            "evaluate on that corpus")
    elif out["trained_on"]:
        per = ", ".join(f"{s} {v['trained_on']}" for s, v in out["by_source"].items() if v["trained_on"])
        out["warning"] = (f"the model trained on {out['trained_on']} of these {len(rows)} {split} windows ({per}; "
                          f"its pretraining corpus: {out.get('corpus')}): this corpus splits patients otherwise, so "
                          f"these AUCs are not zero-shot validation numbers. Evaluate on the model's own corpus "
                          f"(--corpus {out.get('corpus')}) or leave those records out")
    return out


# ------------------------------------------------------------------------------ mets train --recipe

def train_recipe_command(args: argparse.Namespace) -> int:
    from ..ptbxl.dataset import describe_forms
    from ..ptbxl.protocols import locate
    from ..training.recipe import train_recipe

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
        if not isinstance(extra, dict):
            print_error("mets train", f"--config {args.config}: with --recipe it holds the recipe's overrides, a JSON "
                                      f"object {{\"data\": {{...}}, \"training\": {{...}}}}")
            return 2
        # every section of the file goes to load_recipe, which refuses what it does not know (a training setting
        # put at the top level was silently dropped here)
        given = extra.get("training") or {}
        # a "training" that is not an object goes to load_recipe as it is, which says so (merging it crashed)
        overrides = {**extra, "training": {**given, **training} if isinstance(given, dict) else given}
    try:
        result = train_recipe(locate(args.data_dir, "ptbxl"), args.recipe, overrides, resume=args.resume)
    except TRAIN_ERRORS as err:
        print_error("mets train", err)
        return 2
    finished = finished_words(result)
    if finished:
        print(finished)
        return 0
    print(f"trained {result['steps']} steps on {result['n_train']} PTB-XL ECGs (reports "
          f"{'translated' if result['translate'] else 'as in PTB-XL'}; signals read: "
          f"{describe_forms(result['forms_read'])}) -> {result['out']}/last"
          + (f"; {result['no_best']}" if result.get("no_best") else ""))
    return 0


# ------------------------------------------------------------------------------ mets evaluate --protocol

def evaluate_protocol_command(args: argparse.Namespace) -> int:
    from mets_core.checkpoint import CheckpointError

    from ..ptbxl.dataset import PTBXLError
    from ..ptbxl.protocols import DEFAULT_PROMPTS, DEFAULT_SAMPLE_SEED, HeldBackTestFold, format_results, run_protocol

    if not args.data_dir:
        print(f"mets evaluate: --protocol {args.protocol} needs --data-dir DIR", file=sys.stderr)
        return 2
    prompts = args.prompts or DEFAULT_PROMPTS
    sample_seed = DEFAULT_SAMPLE_SEED if args.sample_seed is None else args.sample_seed
    try:
        models = load_models(args)
        results = {name: run_protocol(args.protocol, model, args.data_dir, seed=sample_seed,
                                      prompts=prompts, records=args.records, n_per_class=args.n_per_class,
                                      folds=args.folds, corpus=args.corpus)
                   for name, model in models.items()}
    except HeldBackTestFold as err:         # nothing read: said as "nothing scored" is, with what to do
        print_error("mets evaluate", held_back_words(args, err))
        return 1
    except (CheckpointError, PTBXLError, FileNotFoundError, ValueError, TextModelError) as err:
        print_error("mets evaluate", err)
        return 2
    nothing = nothing_scored(args, results)
    if nothing:
        print_error("mets evaluate", nothing)
        return 1
    payload = {"protocol": args.protocol, "prompts": prompts, "sample_seed": sample_seed,
               "n_per_class": args.n_per_class, "folds": args.folds,
               "models": {name: (m.source or "random-init") for name, m in models.items()}, "results": results}
    emit_json(args, payload, format_results(args.protocol, results))
    return 0


# fewer ECGs (or beats) than this in every task of a protocol: nothing was scored (an accuracy of 1 ECG is no number)
MIN_SCORED = 2


def held_back_words(args: argparse.Namespace, err) -> str:
    """The test fold of --data-dir is held back or incomplete (protocols.HeldBackTestFold): in command-line words."""
    return (f"only {err.present} of the {err.total} ECGs of fold {TEST_FOLD} (PTB-XL's test fold) have a signal in "
            f"{args.data_dir}: a held-back or incomplete copy, so none was read and nothing can be scored; pass "
            f"--folds {VALIDATION_FOLD} (the validation fold) to evaluate on what is here, or complete the copy "
            f"(`mets download ptbxl --to DIR` continues an interrupted download)")


def nothing_scored(args: argparse.Namespace, results: dict) -> str | None:
    """Why the protocol scored nothing (every task with fewer than MIN_SCORED ECGs, every AUC undefined), in the
    user's words with what to do; None when something was scored."""
    def scored(result: dict) -> bool:
        if args.protocol == "ptbxl-auc":
            return any(isinstance(v, dict) and v.get("n_classes_scored") for v in result.values())
        if args.protocol == "mitbih":                     # one task: its counts at the top
            return result.get("n_evaluated", 0) >= MIN_SCORED
        return any(isinstance(v, dict) and v.get("n_evaluated", 0) >= MIN_SCORED for v in result.values())

    if any(scored(r) for r in results.values()):
        return None
    found = sorted({i for r in results.values() for v in r.values() if isinstance(v, dict)
                    for i in v.get("evaluated_ids") or []} | {i for r in results.values()
                                                              for i in r.get("evaluated_ids") or []})
    if args.protocol == "mitbih":
        return (f"no beats to score in the MIT-BIH records of {args.data_dir} (records: "
                f"{' '.join(args.records) if args.records else 'all with .atr'}); check --records and --data-dir")
    folds = args.folds or [TEST_FOLD]
    named = ", ".join(map(str, folds))
    had = (f"only {len(found)} ECG{'s' * (len(found) != 1)} of fold{'s' * (len(folds) > 1)} {named} "
           f"({', '.join(map(str, found))}), too few to score") if found else f"no fold-{named} signals"
    hint = (f"pass --folds {VALIDATION_FOLD} (the validation fold) to evaluate on what is here" if TEST_FOLD in folds
            else "pass other --folds, or point --data-dir at a PTB-XL copy holding them")
    return f"{had} in {args.data_dir}: nothing can be scored; {hint}"


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="contrastive pretraining on a corpus (DDP under torchrun)",
                              description="Train METS on a corpus folder. Under `torchrun --nproc_per_node N` the "
                                          "same command trains with DistributedDataParallel.")
    add_train_arguments(p)
    p.set_defaults(func=train_command)
    p = subparsers.add_parser("evaluate", help="zero-shot evaluation on a corpus's validation patients")
    add_evaluate_arguments(p)
    p.set_defaults(func=evaluate_command)
