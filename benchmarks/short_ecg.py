"""How short may an ECG be before the model's percentiles and reliability cues stop holding?

    METS_DATA_DIR=/work/shared/data nice .venv/bin/python benchmarks/short_ecg.py --corpus runs/corpus

The model was trained and validated on 10-s windows; a shorter upload is centred in a 10-s window with zeros
either side (`preprocess.to_model_input`), as an absent lead is. A hostile-input review found a 1-s ECG ranked
with "validated: AUC 0.82" beside its prompts. Measured here on the corpus's validation windows (the windows the
validation AUCs and the reference percentiles come from): each window cut to its middle `d` seconds and embedded
through the product's own path (`METS.embed_ecg` on an `ECG`), for d in `--seconds`:
- macro AUC of the label sets `mets evaluate` scores (PTB-XL statements, superclasses, the open phrases), and
  the median over statements of each statement's AUC drop from 10 s;
- what "stands out" would claim: of the (ECG, statement) pairs at or above the stands-out percentile of the
  (10-s) reference ECGs, the share whose window carries the statement (precision), and how many such pairs
  there are per ECG (a padded ECG may crowd the top of the reference).
Beside them the random-init floor (`--random-init` seeds, as `mets evaluate --random-init` makes them).
The shortest duration whose scores stay near 10 s is the product's MIN_REFERENCE_S (mets_core.knowledge).

Result (4 Dec 2026, shipped weights, 2,965 validation windows; ~25 min on 2 busy cores): the AUCs hold as the ECG
is cut (PTB-XL statements macro 0.765 at 10 s, 0.757 at 9, 0.756 at 7.5, 0.741 at 5, 0.729 at 2.5; superclasses
0.842 -> 0.809; open phrases 0.898 -> 0.899; random-init seeds 0 / 1 / 2 0.44-0.56 at every length), but what
stands out does not: of the (ECG, statement) pairs at or above the 90th reference percentile,

    seconds                     10     9      8     7.5    6      5     2.5
    statements: standing out   2.65   3.03   3.57   4.02   4.82   4.60   2.53   per ECG
                present         .334   .307   .272   .250   .221   .188   .108   (all pairs .134)
    open phrases: present       .220   .205   .166   .152   .106   .081   .055   (all pairs .041)
    superclasses: present       .669   .656   .593   .579   .584   .599  (1.000 of 0.02 per ECG; all .248)

At 9 s the share right falls by 1/12 and the crowd grows by 1/7; by 7.5 s by a quarter and a half. Chosen: 9 s
(CinC 2017's shortest recordings are 9 s). Deterministic given the weights: no training seeds are involved.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mets_core.ecg import ECG  # noqa: E402
from mets_core.knowledge import STANDS_OUT_PERCENTILE, percentile  # noqa: E402
from mets_core.pipeline import METS  # noqa: E402
from mets_train.metrics import macro  # noqa: E402
from mets_train.training.data import Corpus, CorpusError  # noqa: E402
from mets_train.training.evaluate import evaluate_zero_shot, label_matrix, label_sets  # noqa: E402


FULL_S = 10.0          # the model's window: the AUCs every shorter cut is compared with


def cut_windows(corpus: Corpus, idx: np.ndarray, seconds: float) -> list[ECG]:
    """Each window's middle `seconds`, as the ECG a user would upload (the corpus's rate, its recorded leads)."""
    fs = corpus.fs
    n = min(corpus.signals.shape[2], int(round(seconds * fs)))
    a = (corpus.signals.shape[2] - n) // 2
    return [ECG(signal=np.asarray(corpus.signals[i, :, a:a + n], dtype=np.float32), fs=fs,
                lead_mask=corpus.lead_mask[i], name=f"window {i}") for i in idx]


def scores(mets: METS, corpus: Corpus, idx: np.ndarray, seconds: float, batch: int) -> dict:
    ecgs = cut_windows(corpus, idx, seconds)
    emb = np.concatenate([mets.embed_ecg(ecgs[s:s + batch], batch_size=batch) for s in range(0, len(ecgs), batch)])
    out = {}
    for name, (labels, mask) in label_sets(corpus, idx).items():
        result = evaluate_zero_shot(mets, corpus, labels, "val", windows=mask, ecg_embeddings=emb)
        out[name] = {"macro": result["macro_auc"], "per": {k: v["auc"] for k, v in result["labels"].items()}}
        if mets.reference is None:
            continue
        # what "stands out" would claim: percentiles against the reference ECGs of each window's lead-set kind
        prompts = [item["label"] for item in labels]
        pe = mets.embed_prompts(prompts)
        sims = emb[mask] @ pe.T
        pct = np.empty_like(sims)
        for row, ecg in enumerate(e for e, m in zip(ecgs, mask) if m):
            # METS.percentiles withholds them below MIN_REFERENCE_S: what they would be is measured here
            pct[row] = percentile(sims[row], mets.reference["embeddings"][mets.reference_for(ecg)] @ pe.T)
        y = label_matrix(corpus, idx[mask], labels)
        crowned = pct >= STANDS_OUT_PERCENTILE
        out[name]["precision"] = float(y[crowned].mean()) if crowned.any() else None
        out[name]["crowned_per_ecg"] = float(crowned.sum(axis=1).mean())
        out[name]["base_rate"] = float(y.mean())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--weights", type=Path, default=REPO / "weights")
    ap.add_argument("--seconds", type=float, nargs="+", default=[10.0, 9.0, 8.0, 7.5, 6.0, 5.0, 2.5],
                    help="durations to cut the windows to (10 s, the reference of the drops, is always scored first)")
    ap.add_argument("--random-init", type=int, nargs="*", default=[0, 1, 2], metavar="SEED")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)

    try:
        corpus = Corpus.open(args.corpus)
    except CorpusError as err:
        raise SystemExit(str(err)) from None
    idx = corpus.indices("val")
    mets = METS.from_pretrained(args.weights)
    floors = [METS.random_init({"model": mets.model.cfg.to_dict()}, seed=s) for s in args.random_init]
    print(f"{len(idx)} validation windows of {args.corpus}; shipped weights {args.weights}; stands out at or "
          f"above the {STANDS_OUT_PERCENTILE:g}th reference percentile")
    base = None
    # the drops are from the full 10-s window: it is scored first, whatever --seconds lists
    for seconds in [FULL_S] + [s for s in args.seconds if s != FULL_S]:
        got = scores(mets, corpus, idx, seconds, args.batch)
        base = base or got
        floor = [scores(f, corpus, idx, seconds, args.batch) for f in floors]
        for name, s in got.items():
            drops = [base[name]["per"][k] - v for k, v in s["per"].items()
                     if v is not None and base[name]["per"].get(k) is not None]
            prec = "" if s.get("precision") is None else \
                (f"  stands out: precision {s['precision']:.3f} (base rate {s['base_rate']:.3f}), "
                 f"{s['crowned_per_ecg']:.2f} per ECG")
            rand = " / ".join(f"{f[name]['macro']:.3f}" for f in floor if f[name]["macro"] is not None)
            drop = f"median drop {np.median(drops):+.3f}, worst {max(drops):+.3f}" if drops else "no per-label AUC"
            print(f"{seconds:5.2f} s  {name:<17} macro AUC {s['macro']:.3f} ({drop})  random-init {rand}{prec}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
