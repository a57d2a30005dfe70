"""Choose the zero-shot template set of a trained model by validation macro AUC (the checkpoint criterion).

    python scripts/select_templates.py --model runs/shipped/best --corpus corpus [--write]

The candidates are the named template sets of mets_core/prompts.json ("template_sets"; add one there to
compare it); the model's ECG embeddings are computed once, only the prompt side changes. `--write` names the
winner in the model folder's config (re-saved atomically with its new hash). Choosing among a handful of
candidates on the validation split makes that split's numbers slightly optimistic: MODEL_CARD.md says so.
"""
from __future__ import annotations

import argparse

from mets_core.pipeline import METS
from mets_core.prompts import load_prompts, template_set_names
from mets_train.training.data import Corpus
from mets_train.training.evaluate import evaluate_zero_shot


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--write", action="store_true", help="name the best template set in the model's config")
    a = ap.parse_args()
    mets = METS.from_pretrained(a.model)
    corpus = Corpus.open(a.corpus)
    described = load_prompts()["template_sets"]
    scores = {}
    print("| template set | templates | val macro AUC | macro AUC (labels with >= 10 positives) | balanced top-1 |")
    print("|---|---|---|---|---|")
    for name in template_set_names():
        mets.template_set = name
        r = evaluate_zero_shot(mets, corpus)
        scores[name] = r["macro_auc"]
        print(f"| {name} | {described[name]['description']} | {r['macro_auc']:.3f} | "
              f"{r['macro_auc_min_positives']:.3f} | {r['balanced_top1_accuracy']:.3f} |")
    best = max(scores, key=scores.get)
    print(f"best: {best}")
    if a.write:
        mets.template_set = best
        mets.save_pretrained(a.model)
        print(f"wrote template_set {best!r} into {a.model}/config.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
