"""Add per-patient validation figures to a weights folder's knowledge.json, without re-exporting:

    python scripts/stood_out.py --weights weights --corpus runs/corpus [--write]

The figures: how many validation patients each statement's AUC was judged on (knowledge.is_validated needs 10
with it and 10 without: the windows are 10-s stretches, many of one Holter), and what "stands out" meant for them:
per statement and class and per kind of lead set, the share of the validation patients with it and of those
without it for whom its prompt stood out. `mets export` writes them itself (mets_train/training/calibrate.py,
`validation_rows`); weights exported before that lack them. Their reference.safetensors holds the very validation
windows' embeddings (the population an upload is judged against), so the figures are computed from it here, with
the export's own function, and nothing else in the folder changes (a re-export on another machine differs in the
last bit of some float16 embeddings). Checks first that the corpus's validation windows are the reference's
(count, databases) and that the AUCs come out as stored; prints the figures; --write adds them to knowledge.json's
validation rows and changes nothing else.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from mets_core.knowledge import StoodOut, stood_out_cell
from mets_core.pipeline import METS
from mets_train.training.calibrate import validation_rows, validation_windows
from mets_train.training.data import Corpus

# float16 reference embeddings against the export's float32 ones: an AUC may move by this much, or by one swapped
# (positive, negative) pair where there are few (CPSC/LUDB's 6 acute infarctions: 1 / (6 x 57) = 0.0029)
AUC_TOLERANCE = 1e-3


def _auc_tolerance(row: dict) -> float:
    return max(AUC_TOLERANCE, 1.0 / max(1, row["n_positive"] * (row["n_windows"] - row["n_positive"])))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--corpus", required=True, help="the corpus the weights were exported with")
    ap.add_argument("--write", action="store_true", help="write the shares into the weights' knowledge.json")
    args = ap.parse_args()
    path = Path(args.weights) / "knowledge.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    mets = METS.from_pretrained(args.weights)
    corpus = Corpus.open(args.corpus)
    idx = validation_windows(corpus)
    by_source = dict(sorted(Counter(map(str, corpus.sources[idx])).items()))
    if len(idx) != len(mets.reference["embeddings"]) or by_source != stored["reference"]["by_source"]:
        raise SystemExit(f"the corpus's validation windows ({len(idx)}, {by_source}) are not the weights' reference "
                         f"({stored['reference']['n_windows']}, {stored['reference']['by_source']}): "
                         f"give the corpus these weights were exported with")
    rows = validation_rows(mets, corpus, idx, mets.reference["embeddings"])
    if set(rows) != set(stored["validation"]):
        raise SystemExit("the statements differ from the stored ones: re-export instead (mets export)")
    off = {t: abs(rows[t]["auc"] - r["auc"]) / _auc_tolerance(r) for t, r in stored["validation"].items()}
    worst = max(off, key=off.get)
    print(f"AUCs against those stored: largest difference {abs(rows[worst]['auc'] - stored['validation'][worst]['auc']):.2e}"
          f" ({worst}; {off[worst]:.2f} of its tolerance)")
    if off[worst] > 1.0:
        raise SystemExit("the AUCs differ from the stored ones: re-export instead (mets export)")
    for target, row in sorted(rows.items(), key=lambda kv: -kv[1]["n_positive"]):
        print(f"  {target:45s} AUC {row['auc']:.3f}  positive windows {row['n_positive']:4d}  stood out for "
              f"patients with / without: " + "; ".join(
                  f"{kind} {stood_out_cell(StoodOut.from_weights(shares, kind))}"
                  for kind, shares in row["stood_out"].items()))
    if args.write:
        for target, row in stored["validation"].items():
            for old in ("stood_out_with", "stood_out_without"):      # the first form of the shares (windows)
                row.pop(old, None)
            row["stood_out"] = rows[target]["stood_out"]
            row["patients_positive"] = rows[target]["patients_positive"]
            row["patients_negative"] = rows[target]["patients_negative"]
        path.write_text(json.dumps(stored, indent=1), encoding="utf-8")
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
