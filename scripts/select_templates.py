"""Choose the zero-shot prompt templates of a trained model by validation macro AUC (the checkpoint criterion).

    python scripts/select_templates.py --model runs/shipped/best --corpus corpus [--write]

Each candidate is a template ensemble (mets_core/prompts.json "ensembles" shape); the model's ECG embeddings
are computed once, only the prompt side changes. `--write` stores the winner in the model folder's config
(re-saved atomically with its new hash). Choosing among a handful of candidates on the validation split makes
that split's numbers slightly optimistic: MODEL_CARD.md says so.
"""
from __future__ import annotations

import argparse
import copy

from mets_core.mets import METS
from mets_core.training.data import Corpus
from mets_core.training.evaluate import evaluate_zero_shot

PAPER = "The ECG of {label}, a type of {kind}."
CANDIDATES = {
    "paper (METS) template only": [PAPER],
    "bare phrase only": ["{label}"],
    "pretraining template only": ["The report of the ECG is that {label}."],
    "ensemble of 4 (default)": ["{label}", "ECG showing {label}.", PAPER, "The report of the ECG is that {label}."],
    "ensemble: bare + pretraining": ["{label}", "The report of the ECG is that {label}."],
}


def with_ensemble(templates: dict, ensemble: list[str]) -> dict:
    t = copy.deepcopy(templates)
    t["ensembles"] = {kind: [s.replace("{kind}", kind) for s in ensemble] for kind in t["ensembles"]}
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--write", action="store_true", help="store the best ensemble in the model's config")
    a = ap.parse_args()
    mets = METS.from_pretrained(a.model)
    corpus = Corpus.open(a.corpus)
    base = mets.templates
    scores = {}
    print("| templates | val macro AUC | macro AUC (labels with >= 10 positives) | balanced top-1 |")
    print("|---|---|---|---|")
    for name, ensemble in CANDIDATES.items():
        mets.templates = with_ensemble(base, ensemble)
        r = evaluate_zero_shot(mets, corpus)
        scores[name] = r["macro_auc"]
        print(f"| {name} | {r['macro_auc']:.3f} | {r['macro_auc_min_positives']:.3f} | "
              f"{r['balanced_top1_accuracy']:.3f} |")
    best = max(scores, key=scores.get)
    print(f"best: {best}")
    if a.write:
        mets.templates = with_ensemble(base, CANDIDATES[best])
        mets.save_pretrained(a.model)
        print(f"wrote {best!r} into {a.model}/config.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
