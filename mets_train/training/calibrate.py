"""What a weights folder needs besides the weights for honest scores (written by `mets export`):

  knowledge.json         per statement and class of mets_core/knowledge.json: the validation AUC of its
                         (expanded) prompt, positives and windows it was judged on, and per kind of lead set
                         how often its prompt *stood out* (knowledge.stands_out) for the validation patients
                         with it and for those without it; the known-phrase threshold
  reference.safetensors  the validation windows' ECG embeddings (float16) and lead counts: the reference
                         population for percentiles (ECGs the model was not trained on)

Each statement is judged on the validation windows of the databases that label it at all (a database that
never states "ST depression" cannot supply its negatives). Classes use their 'truth' ids (PTB-XL's
diagnostic class for the five superclasses).

"Stood out" is the dashboard's own crown: a window's percentile among the validation windows of its kind of lead
set (the reference population an upload is judged against, `pipeline.same_kind_reference`), its own patient left
out, at or above knowledge.STANDS_OUT_PERCENTILE. An AUC says how well the scores separate; the shares say what
the crown itself means, per kind of lead set (a 12-lead upload is judged against 12-lead windows) and per patient
(the windows are 10-s stretches, and a few Holters hold most of some statements' windows): a top-10 % rule misses
many patients with a common finding, and marks some without a rare one.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from mets_core.knowledge import (FEWER_LEADS, MIN_VALIDATION_NEGATIVES, MIN_VALIDATION_POSITIVES, TWELVE_LEAD,
                                 choose_threshold, percentile, stands_out)
from mets_core.pipeline import same_kind_reference
from mets_core.prompts import l2_normalise
from .data import Corpus, CorpusError
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
    if len(idx) == 0:
        # without them the reference is empty (no percentile), no statement gets an AUC and the report index's
        # hub penalties are means of nothing (NaN), which leaves its search unordered
        left_out = f" once signal forms {', '.join(exclude_forms)} are left out (the run's exclude_forms)" \
            if exclude_forms else ""
        raise CorpusError(f"corpus {corpus.path} has no validation windows{left_out}: the export calibrates the model "
                          f"on them (validation AUCs, the reference ECGs of the percentiles, the report index's "
                          f"ranking). Give --corpus a corpus with validation patients the model did not train on "
                          f"(for a PTB-XL recipe run: train it with data.validation_folds [9] and pretrain_folds 1-8)")
    emb = l2_normalise(embed_windows(mets.model, corpus, idx, mets.preprocess_cfg, batch_size, torch.device("cpu"),
                                     False).numpy())
    n_leads = corpus.lead_mask[idx].sum(axis=1)
    validation = validation_rows(mets, corpus, idx, emb)
    sources = corpus.sources[idx]

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


def validation_rows(mets, corpus: Corpus, idx: np.ndarray, emb: np.ndarray) -> dict:
    """knowledge.json's "validation": per statement and class, from the validation windows `idx` of the corpus and
    their ECG embeddings `emb` (n, d; the reference population): its AUC, positives, windows judged, databases, and
    "stood_out": per kind of lead set, how often its prompt stood out for the validation patients with it and for
    those without it (`stood_out_shares`)."""
    knowledge = mets.knowledge
    n_leads = corpus.lead_mask[idx].sum(axis=1)
    patients = np.asarray(corpus.patients)[idx]
    # which statements each database labels at all (any split)
    labelled: dict[str, set] = {}
    for i in range(len(corpus)):
        labelled.setdefault(str(corpus.sources[i]), set()).update(corpus.statements[i])
    targets = knowledge.targets()
    names = [t if t in knowledge.classes else knowledge.statements[t]["canonical"] for t in targets]
    sims = np.asarray(emb, dtype=np.float32) @ mets.embed_prompts(names).T
    crowned = stood_out_matrix(sims, n_leads, patients)
    sources = corpus.sources[idx]
    validation = {}
    for j, target in enumerate(targets):
        truth = set(knowledge.truth(target))
        srcs = sorted(s for s, ids in labelled.items() if ids & truth)
        judged = np.isin(sources, srcs)
        y = np.array([bool(truth & set(corpus.statements[i])) for i in idx[judged]], dtype=bool)
        if not y.any():
            continue
        twelve = n_leads[judged] == 12
        kinds = {kind: stood_out_shares(crowned[judged, j][sel], y[sel], patients[judged][sel])
                 for kind, sel in ((TWELVE_LEAD, twelve), (FEWER_LEADS, ~twelve))}
        # the windows are 10-s stretches, many of one Holter: the AUC is shown as validated only with enough
        # patients with and without the statement (knowledge.is_validated)
        validation[target] = {"auc": roc_auc(y, sims[judged, j]), "n_positive": int(y.sum()),
                              "n_windows": int(judged.sum()), "sources": srcs,
                              "patients_positive": len(set(patients[judged][y])),
                              "patients_negative": len(set(patients[judged][~y])),
                              "stood_out": {kind: v for kind, v in kinds.items() if v is not None}}
    return validation


def stood_out_matrix(sims: np.ndarray, n_leads: np.ndarray, patients: np.ndarray) -> np.ndarray:
    """(n, m) similarities of the validation windows to m prompts -> (n, m) bool: whether each prompt stood out
    for each window, judged as an upload is (knowledge.percentile among the reference windows of its kind of lead
    set, `pipeline.same_kind_reference`), with the window's own patient left out of its reference (an upload's
    patient is never in it; a Holter's other windows, or the same recording in two databases, would be)."""
    patients = np.asarray(patients)
    out = np.zeros(sims.shape, dtype=bool)
    for i in range(len(sims)):
        others = same_kind_reference(n_leads, int(n_leads[i])) & (patients != patients[i])
        out[i] = [stands_out(p, known=True) for p in percentile(sims[i], sims[others])]
    return out


def stood_out_shares(crowned: np.ndarray, truth: np.ndarray, patients: np.ndarray) -> dict | None:
    """How often a prompt stood out (`crowned`, per window) for the patients with the statement (`truth`) and for
    those without it, each patient counted once (the share of their windows, averaged over patients: a 30-minute
    Holter's 60 windows are one patient, not 60 ECGs): {"with", "without", "patients_with", "patients_without"};
    None with fewer than MIN_VALIDATION_POSITIVES patients with it or MIN_VALIDATION_NEGATIVES without it."""
    patients = np.asarray(patients)

    def per_patient(sel: np.ndarray) -> tuple[float, int]:
        shares = [float(crowned[sel & (patients == p)].mean()) for p in np.unique(patients[sel])]
        return (float(np.mean(shares)) if shares else 0.0), len(shares)

    with_it, n_with = per_patient(truth)
    without_it, n_without = per_patient(~truth)
    if n_with < MIN_VALIDATION_POSITIVES or n_without < MIN_VALIDATION_NEGATIVES:
        return None
    return {"with": with_it, "without": without_it, "patients_with": n_with, "patients_without": n_without}


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
