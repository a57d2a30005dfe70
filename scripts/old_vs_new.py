"""Old vs new model on the same validation ECGs, none of which either model trained on.

    python scripts/old_vs_new.py --corpus runs/corpus --old-split old_split.json \
        --model NAME=DIR ... [--random-init] [--json out.json]

The open-database split changed when PTB-XL's folds began to fix its patients' side, so some validation
patients of the current corpus were training patients of the previous model. `--old-split` (patient -> side
of the corpus the old model trained on, recomputed with the old builder) keeps only validation windows whose
patient was on the validation side in both splits; PTB-XL fold 9 was never in the old model's training.
Prints the macro AUC of every label set for every model (knowledge expansion on, as the product scores).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> int:
    from mets_core.pipeline import METS
    from mets_train.training.data import Corpus
    from mets_train.training.evaluate import evaluate_label_sets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--old-split", required=True)
    ap.add_argument("--model", nargs="+", required=True, metavar="NAME=DIR")
    ap.add_argument("--random-init", action="store_true", help="add the random-init floor of the first model")
    ap.add_argument("--exclude-forms", nargs="+", default=(), help="e.g. zscore: judge on the mV ECGs only")
    ap.add_argument("--json")
    args = ap.parse_args()
    old = json.loads(Path(args.old_split).read_text())
    corpus = Corpus.open(args.corpus)
    val = corpus.split == "val"
    clean = np.array([s == "ptbxl" or old.get(p) == "val" for s, p in zip(corpus.sources, corpus.patients)])
    corpus.split = np.where(val & ~clean, "excluded", corpus.split)
    print(f"validation windows kept: {int((val & clean).sum())} of {int(val.sum())} "
          f"({int((val & ~clean).sum())} belong to patients the old model trained on)")
    models = {name: METS.from_pretrained(path) for name, path in (m.split("=", 1) for m in args.model)}
    if args.random_init:
        first = next(iter(models.values()))
        models["random-init"] = METS.random_init(first.config(), seed=0)
    results = {name: evaluate_label_sets(m, corpus, exclude_forms=args.exclude_forms) for name, m in models.items()}
    names = list(results)
    print("| label set | windows | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for s in results[names[0]]:
        cells = [results[n][s]["macro_auc"] for n in names]
        print(f"| {s} | {results[names[0]][s]['n_windows']} | " +
              " | ".join("n/a" if c is None else f"{c:.3f}" for c in cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
