"""Symmetric InfoNCE (CLIP) loss between ECG and text embeddings of the same batch.

Pair i (ECG i, report i) is the positive; every other report in the batch is a negative for ECG i and vice
versa. Machine-written reports repeat a lot ("sinus rhythm. normal ecg" is a large share of PTB-XL), so a
batch often holds the same text twice; with plain targets the model is then pushed to tell identical texts
apart, which it cannot. Pass `text_ids` (equal id = identical text, e.g. from `text_group_ids`) to treat all
pairs with an identical text as positives: the target of row i is spread uniformly over the columns whose
text equals text i. With all ids distinct this is exactly the plain loss. Default off.
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
    logit_scale: the multiplier 1/temperature (i.e. `METSModel.scale()`, already exponentiated).
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
