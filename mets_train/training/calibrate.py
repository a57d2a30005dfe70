"""What a weights folder needs besides the weights for honest scores (written by `mets export`):

  knowledge.json         per statement and class of mets_core/knowledge.json: the validation AUC of its
                         (expanded) prompt, positives and windows it was judged on; the known-phrase threshold
  reference.safetensors  the validation windows' ECG embeddings (float16) and lead counts: the reference
                         population for percentiles (ECGs the model was not trained on)

Each statement is judged on the validation windows of the databases that label it at all (a database that
never states "ST depression" cannot supply its negatives). Classes use their 'truth' ids (PTB-XL's
diagnostic class for the five superclasses).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from mets_core.knowledge import choose_threshold
from mets_core.prompts import l2_normalise
from .data import Corpus
from ..metrics import roc_auc
from .validate import embed_windows


def validation_windows(corpus: Corpus, exclude_forms=()) -> np.ndarray:
    idx = corpus.indices("val")
    if exclude_forms and corpus.forms is not None:
        idx = idx[~np.isin(corpus.forms[idx], list(exclude_forms))]
    return idx


def calibrate(mets, corpus: Corpus, exclude_forms=(), batch_size: int = 256) -> tuple[dict, dict, dict]:
    """(knowledge.json content, reference arrays, known-phrasing embeddings) for `mets` on the corpus's
    validation windows."""
    knowledge = mets.knowledge
    idx = validation_windows(corpus, exclude_forms)
    emb = l2_normalise(embed_windows(mets.model, corpus, idx, mets.preprocess_cfg, batch_size, torch.device("cpu"),
                                     False).numpy())
    n_leads = corpus.lead_mask[idx].sum(axis=1)

    # which statements each database labels at all (any split)
    labelled: dict[str, set] = {}
    for i in range(len(corpus)):
        labelled.setdefault(str(corpus.sources[i]), set()).update(corpus.statements[i])
    targets = knowledge.targets()
    names = [t if t in knowledge.classes else knowledge.statements[t]["canonical"] for t in targets]
    sims = emb @ mets.embed_prompts(names).T
    sources = corpus.sources[idx]
    validation = {}
    for j, target in enumerate(targets):
        truth = set(knowledge.truth(target))
        srcs = sorted(s for s, ids in labelled.items() if ids & truth)
        judged = np.isin(sources, srcs)
        y = np.array([bool(truth & set(corpus.statements[i])) for i in idx[judged]], dtype=bool)
        if not y.any():
            continue
        validation[target] = {"auc": roc_auc(y, sims[judged, j]), "n_positive": int(y.sum()),
                              "n_windows": int(judged.sum()), "sources": srcs}

    # the known-phrase threshold, between on-topic and off-topic calibration phrases
    enc = mets.text_encoder
    cal = knowledge.calibration
    on = knowledge.nearest_known(enc.encode(cal["ecg"]), enc.encode)
    off = knowledge.nearest_known(enc.encode(cal["not_ecg"]), enc.encode)
    threshold = choose_threshold(on, off)
    data = {
        "about": "Written by `mets export` (mets_train/training/calibrate.py) from the validation windows of the "
                 "training corpus; read by mets_core/knowledge.py.",
        "validation": validation,
        "known_threshold": threshold,
        "known_calibration": {"ecg_phrases_known": float((on >= threshold).mean()),
                              "other_phrases_unknown": float((off < threshold).mean()),
                              "n_ecg_phrases": len(on), "n_other_phrases": len(off)},
        "training_data": _training_data(corpus, exclude_forms),
        "reference": {"n_windows": int(len(idx)), "split": "val",
                      "by_source": dict(sorted(Counter(map(str, sources)).items())),
                      "twelve_lead": int((n_leads == 12).sum())},
    }
    data["known_phrasings"] = knowledge.known_phrasings()
    reference = {"embeddings": emb.astype(np.float16), "n_leads": n_leads.astype(np.int16)}
    return data, reference, {"embeddings": knowledge.known_embeddings(enc.encode).astype(np.float16)}


def _training_data(corpus: Corpus, exclude_forms=()) -> dict:
    """Windows per source, split, signal form and lead set (12-lead or fewer) of the corpus."""
    keep = ~np.isin(corpus.forms, list(exclude_forms)) if exclude_forms and corpus.forms is not None \
        else np.ones(len(corpus), dtype=bool)
    twelve = corpus.lead_mask.sum(axis=1) == 12
    out: dict = {}
    for i in np.flatnonzero(keep):
        row = out.setdefault(str(corpus.sources[i]), Counter())
        row[f"{corpus.split[i]} windows"] += 1
        row[f"{corpus.split[i]} {'12-lead' if twelve[i] else '<12 leads'}"] += 1
        row[f"form {corpus.forms[i]}"] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}
