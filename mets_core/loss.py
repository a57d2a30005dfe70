"""Symmetric InfoNCE (CLIP) loss between ECG and text embeddings of the same batch.

Pair i (ECG i, report i) is the positive; every other report in the batch is a negative for ECG i and vice
versa. Machine-written reports repeat a lot ("sinus rhythm. normal ecg" is a large share of PTB-XL), so a
batch often holds the same report twice. `text_ids` (equal id = same report, e.g. from `text_group_ids`)
makes all pairs sharing a report positives: the target of row i is spread uniformly over the columns with
the same id. Default off; with all ids distinct it is exactly the plain loss.

What it does and does not change (checked in tests/test_loss.py): when duplicate reports get *identical*
embeddings (a frozen, deterministic text encoder and one template), their logit columns are equal and
cross-entropy is linear in its target, so the soft-target loss equals the plain loss, value and gradient:
the plain loss does not push identical texts apart, it only has a floor of log(copies). Soft targets matter
when the same report is embedded differently within a batch (sampled templates, text augmentation,
dropout in a trainable text tower): the plain loss would then push the two versions apart.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
import torch.nn.functional as F


def text_group_ids(texts: Sequence[Hashable]) -> torch.Tensor:
    """Map each text to a group id (identical texts share an id): input for `clip_loss(text_ids=...)`."""
    first: dict = {}
    return torch.tensor([first.setdefault(t, len(first)) for t in texts], dtype=torch.long)


def clip_loss(ecg_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor | float,
              text_ids: torch.Tensor | Sequence[Hashable] | None = None) -> torch.Tensor:
    """Mean of the ECG->text and text->ECG cross-entropies over cosine logits.

    ecg_emb, text_emb: (n, d), paired by row, normalised here.
    logit_scale: the multiplier 1/temperature (i.e. `ECGTextModel.scale()`, already exponentiated).
    text_ids: optional (n,) ids; rows with equal ids are all positives of each other (soft targets).
    """
    if ecg_emb.shape != text_emb.shape or ecg_emb.ndim != 2:
        raise ValueError(f"ecg_emb and text_emb must both be (n, d), got {tuple(ecg_emb.shape)} and "
                         f"{tuple(text_emb.shape)}")
    e = F.normalize(ecg_emb, dim=-1)
    t = F.normalize(text_emb, dim=-1)
    logits = logit_scale * e @ t.T                      # (n, n): row = ECG, column = text
    n = logits.shape[0]
    if text_ids is None:
        target = torch.arange(n, device=logits.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    ids = text_ids if isinstance(text_ids, torch.Tensor) else text_group_ids(text_ids)
    ids = ids.to(logits.device)
    if ids.shape != (n,):
        raise ValueError(f"text_ids must have one id per pair ({n}), got shape {tuple(ids.shape)}")
    same = (ids[:, None] == ids[None, :]).to(logits.dtype)  # symmetric, so one target serves both ways
    target = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
