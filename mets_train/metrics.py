"""Validation and evaluation metrics: ROC AUC, retrieval recall@k, top-1 accuracy. Plain numpy/scipy."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tie-averaged ranks). None when one class is absent."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro(values) -> float | None:
    """Mean of the defined values (None entries are labels without both classes)."""
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def retrieval_recall(similarity: np.ndarray, true_ids: np.ndarray, ks=(1, 5)) -> dict[str, float]:
    """ECG -> report retrieval. similarity (n_ecg, n_texts) over *distinct* report texts; true_ids (n_ecg,) is
    the column of each ECG's own report. A hit at k: the own report is among the k most similar columns
    (identical report texts are one column, so retrieving "the same text" counts as a hit)."""
    true_sim = similarity[np.arange(len(true_ids)), true_ids]
    # rank = how many other texts score at least as high as the true one: ties count against the model, so a
    # collapsed encoder (all similarities equal) scores 0, not 1
    rank = (similarity >= true_sim[:, None]).sum(axis=1) - 1
    return {f"R@{k}": float((rank < k).mean()) for k in ks}


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T
