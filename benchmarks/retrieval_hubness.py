"""Similar reports: do a few "hub" reports crowd the lists, and does ranking them down help?

    METS_DATA_DIR=/work/shared/data nice .venv/bin/python benchmarks/retrieval_hubness.py --corpus runs/corpus

A review of `mets retrieve` (stop 29) found one report ("acute myocardial infarction, infero-lateral wall.", a
PTB-DB window) in 15 of 50 real ECGs' top 10. Such hubs are a known trait of nearest-neighbour search in
embedding spaces. Cross-domain similarity local scaling (CSLS; Lample et al. 2018) ranks a report r for an ECG
q by 2 cos(q, r) - m(r), where m(r) is r's mean cosine to its K nearest ECGs of a reference set: a report near
every ECG is ranked down. The shipped weights carry such a set (reference.safetensors: the corpus's validation
windows), so this needs no training.

Measured here on the corpus's validation windows as queries (their embeddings are reference.safetensors, in
corpus order), with cross-fitting: the validation patients are split in two halves, m(r) comes from one half's
windows and the other half's windows are the queries, and back. Scored on the index entries whose first ECG is
a corpus window (the statements of that window are its labels; PTB-XL table reports without a signal here have
none), hits from the query's own record left out, one hit per record and per wording (as the product shows):
- relevance: mean Jaccard overlap of the query's and the hit's statements over the top 10, and the share of
  queries whose top 5 holds a hit with the query's rhythm statement (where it has one);
- crowding: how often the most frequent report appears in a top 10, and how many reports appear at all.
Each score is over all the queries of both halves together (pooled), each half's beside it.
Floors beside them: the same scores for hits drawn at random from the scored entries, and for random-init
models of the shipped architecture (`--random-init` seeds, as `mets evaluate --random-init` makes them).

Result (5 Dec 2026, stop 34: shipped weights, the index of 11,803 reports, scores pooled over both halves' queries;
~5 min with the floors): CSLS with K = 10 (mets_core.index.HUB_NEIGHBOURS). All 2,965 queries: the query's rhythm
in the top 5 0.776 -> 0.844 (better in both halves: 0.794 -> 0.825, 0.763 -> 0.857; random hits 0.578), Jaccard@10
0.431 -> 0.427 (halves 0.436 / 0.427 -> 0.432 / 0.423), reports shown in any top 10 1,240 -> 1,760; K = 50 0.833
and 0.426. The 372 twelve-lead queries: rhythm 0.732 -> 0.774 (random 0.807: most are sinus), Jaccard 0.300 ->
0.300, reports shown 468 -> 709; on the whole index the most frequent report reached 22 % of their top 10s, now
13 %, and 695 -> 1,170 reports are shown. The random-init floor (seeds 0, 1, 2): Jaccard@10 0.105 / 0.050 / 0.065
with cosine, 0.103 / 0.050 / 0.064 with CSLS; rhythm in top 5 0.714 / 0.215 / 0.438 and 0.685 / 0.233 / 0.437;
one report in (nearly) every top 10 (27-93 reports shown in all). On the 12-lead queries its rhythm score is
0.85-0.88 for seeds 0 and 2 (the same sinus report for everyone): that column says nothing there. (Until stop 34
the scores over all queries were the plain mean of the two halves' and "reports shown" the mean of the halves'
counts: 0.779 -> 0.841, 976 -> 1,302 there.)
`METS_DATA_DIR=DATA .venv/bin/python benchmarks/retrieval_hubness.py --corpus CORPUS` (CORPUS: the corpus the
weights were exported from).
"""
from __future__ import annotations

import argparse
import csv
import sys
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mets_core.index import (HUB_NEIGHBOURS, INDEX_DIR, ReportIndex, first_distinct,  # noqa: E402
                             format_source_id, hub_penalty, record_of, wording_of)
from mets_train.corpus.vocabulary import Vocabulary  # noqa: E402


def window_id(row: dict) -> str:
    """The index's source id of a corpus window (windows.csv row)."""
    return format_source_id(row["source"], row["record"], float(row["start_s"]))


def load(corpus: Path, weights: Path):
    from safetensors.numpy import load_file
    with open(corpus / "windows.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    val = [r for r in rows if r["split"] == "val"]
    reference = load_file(str(weights / "reference.safetensors"))["embeddings"].astype(np.float32)
    if len(val) != len(reference):
        raise SystemExit(f"{len(val)} validation windows in {corpus} but {len(reference)} reference ECGs in "
                         f"{weights}: give the corpus the weights were exported from")
    labels = {window_id(r): frozenset(s for s in r["statements"].split(";") if s) for r in rows}
    patients = {window_id(r): r["patient"] for r in rows}
    index = ReportIndex.load(weights / INDEX_DIR)
    return val, reference, labels, patients, index


def split_patients(val: list[dict]) -> np.ndarray:
    """0/1 per validation window, by a hash of its patient (both halves hold every database)."""
    return np.array([zlib.crc32(r["patient"].encode()) % 2 for r in val])


def top_hits(scores: np.ndarray, entry_ids: list[str], wordings: list[str], same_patient: np.ndarray,
             k: int, own: str | None = None) -> list[int]:
    """The product's hits (one per record and per wording, mets_core.index.first_distinct), leaving out the
    query patient's own reports (and its own record's, `own`)."""
    order = [i for i in np.argsort(-scores, kind="stable")
             if not same_patient[i] and record_of(entry_ids[i]) != own]
    return first_distinct(order, entry_ids, wordings, k)


def evaluate(queries, q_rows, q_labels, entry_ids, entry_patients, entry_labels, wordings, scores_of, rhythm_ids,
             k=10):
    """The tallies of one set of queries (``pooled`` turns one or more of them into the scores)."""
    jacc, rhythm_hit, rhythm_n, counts = [], 0, 0, np.zeros(len(entry_ids), dtype=int)
    for qi in range(len(queries)):
        hits = top_hits(scores_of(qi), entry_ids, wordings, entry_patients == q_rows[qi]["patient"], k)
        counts[hits] += 1
        ql = q_labels[qi]
        jacc.append(np.mean([len(ql & entry_labels[h]) / max(1, len(ql | entry_labels[h])) for h in hits]))
        q_rhythm = ql & rhythm_ids
        if q_rhythm:
            rhythm_n += 1
            rhythm_hit += any(entry_labels[h] & q_rhythm for h in hits[:5])
    return {"queries": len(queries), "jaccard sum": float(np.sum(jacc)), "rhythm hits": rhythm_hit,
            "rhythm queries": rhythm_n, "counts": counts}


def pooled(parts: list[dict]) -> dict:
    """The scores of the queries of all `parts` (``evaluate``'s tallies) together: mean Jaccard@10 over every
    query, the share of rhythm queries with their rhythm in the top 5, the most frequent report's share of all
    top 10s, and how many reports appear in any top 10 (not means of the parts' own scores, which weigh a small
    part as much as a large one and count a report shown in both parts twice)."""
    queries = sum(p["queries"] for p in parts)
    counts = np.sum([p["counts"] for p in parts], axis=0)
    rhythm_n = sum(p["rhythm queries"] for p in parts)
    return {"jaccard@10": sum(p["jaccard sum"] for p in parts) / max(1, queries),
            "rhythm in top 5": sum(p["rhythm hits"] for p in parts) / max(1, rhythm_n), "rhythm queries": rhythm_n,
            "top share": float(counts.max() / max(1, queries)), "reports shown": int((counts > 0).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="runs/corpus", help="the corpus the weights were exported from")
    parser.add_argument("--weights", default=str(REPO / "weights"))
    parser.add_argument("--k", type=int, nargs="+", default=[10, 50], help="CSLS neighbourhood sizes to try")
    parser.add_argument("--random-init", type=int, nargs="*", default=[0, 1, 2], metavar="SEED",
                        help="also score random-init models of these seeds (the floor; none: skip)")
    args = parser.parse_args()
    for what, path in (("corpus", Path(args.corpus) / "windows.csv"),
                       ("weights", Path(args.weights) / "reference.safetensors")):
        if not path.is_file():
            raise SystemExit(f"no {path}: give --{what} (the corpus the weights were exported from, and weights "
                             f"with reference ECGs)")
    val, reference, labels, patients, index = load(Path(args.corpus), Path(args.weights))
    vocab = Vocabulary.load()
    rhythm_ids = frozenset(s for s, st in vocab.statements.items() if st.category == "rhythm")

    keep = [i for i, sid in enumerate(index.source_ids) if sid in labels]
    entries = index.embeddings[keep]
    entry_ids = [index.source_ids[i] for i in keep]
    entry_labels = [labels[s] for s in entry_ids]
    entry_patients = np.array([patients[s] for s in entry_ids])
    wordings = [wording_of(index.reports[i]) for i in keep]
    half = split_patients(val)
    q_labels_all = [labels[window_id(r)] for r in val]
    print(f"{len(val)} validation windows as queries (halves {int((half == 0).sum())} / {int((half == 1).sum())}); "
          f"{len(keep)} of {len(index)} index reports scored (their first ECG is a corpus window)")

    # crowding on the whole index as shipped (labels not needed): the product's top 10 of every query
    all_ids, all_wordings = list(index.source_ids), [wording_of(r) for r in index.reports]
    twelve_lead = np.array([r["source"] in TWELVE_LEAD for r in val])
    for group, chosen in (("all validation windows", np.ones(len(val), dtype=bool)),
                          ("12-lead windows", twelve_lead)):
        print(f"\nwhole index, {group}: the 3 most frequent reports' shares of top 10s; reports shown")
        crowding(index, reference, val, half, chosen, all_ids, all_wordings, args.k)

    floors = [random_init_embeddings(Path(args.corpus), Path(args.weights), seed, [index.reports[i] for i in keep])
              for seed in args.random_init]
    for group, chosen in (("all validation windows", np.ones(len(val), dtype=bool)),
                          ("12-lead windows (PTB-XL, LUDB, PTB-DB)", twelve_lead)):
        print(f"\n{group}: {int(chosen.sum())} queries")
        report(val, reference, half, chosen, entries, entry_ids, entry_patients, entry_labels, wordings, q_labels_all,
               rhythm_ids, args.k)
        for seed, (queries, texts) in zip(args.random_init, floors):
            print(f"random-init model, seed {seed} (the same rankings, rows without a header):")
            report(val, queries, half, chosen, texts, entry_ids, entry_patients, entry_labels, wordings,
                   q_labels_all, rhythm_ids, [HUB_NEIGHBOURS], floor=False)


def random_init_embeddings(corpus_dir: Path, weights: Path, seed: int, reports: list[str]):
    """(validation windows, reports) embedded by a random-init model of the shipped architecture, as
    `mets evaluate --random-init` makes it; the frozen text model's outputs come from the corpus's text cache."""
    import torch

    from mets_core.pipeline import METS
    from mets_train.training.calibrate import validation_windows
    from mets_train.training.data import Corpus
    from mets_train.training.validate import embed_windows
    cfg = METS.from_pretrained(weights).config()
    cfg.pop("training", None)
    model = METS.random_init(cfg, seed=seed)
    corpus = Corpus.open(corpus_dir)
    ecgs = embed_windows(model.model, corpus, validation_windows(corpus), model.preprocess_cfg, 256,
                         torch.device("cpu"), False).numpy()
    ecgs /= np.linalg.norm(ecgs, axis=1, keepdims=True).clip(min=1e-12)
    return ecgs, model.embed_report(reports, cache_dir=corpus_dir / "text_cache")


def crowding(index, reference, val, half, chosen, all_ids, all_wordings, ks) -> None:
    for name, how in [("cosine", None)] + [(f"CSLS, K = {k}", k) for k in ks]:
        counts = np.zeros(len(all_ids), dtype=int)
        for h in (0, 1):
            q = np.flatnonzero((half == h) & chosen)
            sims = reference[q] @ index.embeddings.T
            m = 0.0 if how is None else hub_penalty(index.embeddings, reference[half != h], how)
            for qi, row in zip(range(len(q)), (val[i] for i in q)):
                counts[top_hits(2 * sims[qi] - m, all_ids, all_wordings, np.zeros(len(all_ids), bool), 10,
                                own=record_of(window_id(row)))] += 1
        tops = np.argsort(-counts)[:3]
        print(f"  {name}: " + "; ".join(f"{counts[t] / chosen.sum():.2f} {index.reports[t][:50]!r}" for t in tops)
              + f"; {(counts > 0).sum()} reports shown")


TWELVE_LEAD = ("ptbxl", "ludb", "ptbdb")


def report(val, reference, half, chosen, entries, entry_ids, entry_patients, entry_labels, wordings, q_labels_all,
           rhythm_ids, ks, floor: bool = True) -> None:
    """The table for one model: `reference` its validation-window embeddings, `entries` its report embeddings;
    `floor`: with the random-hits row and the table's header."""
    rng = np.random.default_rng(0)
    results = {}
    methods = [("cosine", None)] + [(f"CSLS, K = {k}", k) for k in ks] + ([("random hits", "random")] if floor else [])
    for name, how in methods:
        parts = []
        for h in (0, 1):
            q = np.flatnonzero((half == h) & chosen)
            queries = reference[q]
            sims = queries @ entries.T
            if how == "random":
                scores_of = lambda qi: rng.random(len(entry_ids))                  # noqa: E731
            elif how is None:
                scores_of = lambda qi, s=sims: s[qi]                               # noqa: E731
            else:
                m = hub_penalty(entries, reference[half != h], how)
                scores_of = lambda qi, s=sims, m=m: 2 * s[qi] - m                  # noqa: E731
            parts.append(evaluate(queries, [val[i] for i in q], [q_labels_all[i] for i in q], entry_ids,
                                  entry_patients, entry_labels, wordings, scores_of, rhythm_ids))
        results[name] = {**pooled(parts), "per half": [pooled([part]) for part in parts]}
    if floor:
        print("| ranking | Jaccard@10 | rhythm in top 5 | most frequent report's share of top 10s | reports shown |")
        print("|---|---|---|---|---|")
    for name, r in results.items():
        a, b = r["per half"]
        print(f"| {name} | {r['jaccard@10']:.3f} ({a['jaccard@10']:.3f} / {b['jaccard@10']:.3f}) | "
              f"{r['rhythm in top 5']:.3f} ({a['rhythm in top 5']:.3f} / {b['rhythm in top 5']:.3f}) | "
              f"{r['top share']:.3f} | {r['reports shown']:.0f} |")


if __name__ == "__main__":
    main()
