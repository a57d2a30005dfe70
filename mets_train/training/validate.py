"""Validation of a model on the corpus's validation windows: contrastive loss, retrieval, zero-shot AUC.

Shared by the training loop (each epoch) and `mets evaluate`, so the numbers in metrics.jsonl and in the
evaluation table come from the same code.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch

from mets_core.loss import clip_loss
from mets_core.preprocess import PreprocessConfig
from mets_core.prompts import build_prompt_embeddings, ensemble
from .data import Corpus, eval_batches
from ..metrics import cosine, macro, retrieval_recall, roc_auc


def autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@torch.no_grad()
def embed_windows(model, corpus: Corpus, idx: np.ndarray, pre: PreprocessConfig, batch_size: int,
                  device: torch.device, bf16: bool) -> torch.Tensor:
    """(n, d) float32 ECG embeddings (not normalised) of corpus windows idx, in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for x, mask in eval_batches(corpus, idx, pre, batch_size):
        with autocast(device, bf16):
            out.append(model.encode_ecg(x.to(device), mask.to(device)).float())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, model.cfg.proj_dim)


@torch.no_grad()
def phrase_embeddings(model, encode_raw: Callable[[list[str]], np.ndarray], phrases: list[str], templates: dict,
                      kind: str = "diagnostic") -> np.ndarray:
    """(n, d) unit embeddings of phrases as typed, through the template ensemble of `kind`, in the model's
    current space. encode_raw: texts -> frozen raw embeddings (the TextEncoder, whose memory cache makes
    each epoch's call cheap)."""
    device = next(model.parameters()).device

    def encode(sentences: list[str]) -> np.ndarray:
        raw = torch.from_numpy(np.asarray(encode_raw(sentences), dtype=np.float32)).to(device)
        return model.project_text(raw).float().cpu().numpy()
    return build_prompt_embeddings(encode, phrases, ensemble(templates, kind))


def zero_shot_auc(ecg_emb: np.ndarray, prompt_emb: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Per-label AUC of cosine(ECG, prompt) against labels (n, n_labels) bool; None where a class is absent."""
    sims = cosine(ecg_emb, prompt_emb)
    return {name: roc_auc(labels[:, j], sims[:, j]) for j, name in enumerate(names)}


@torch.no_grad()
def validate(model, corpus: Corpus, val_idx: np.ndarray, text_raw: torch.Tensor, text_ids: np.ndarray,
             statement_ids: list[str], encode_raw: Callable[[list[str]], np.ndarray], templates: dict,
             pre: PreprocessConfig, batch_size: int, loss_batch_size: int, device: torch.device, bf16: bool,
             soft_targets: bool = True, label_sets: dict | None = None, scorer=None) -> dict:
    """Validation metrics on windows val_idx.

    text_raw (U, text_dim): frozen embeddings of every distinct (templated) report; text_ids (N,) the report
    of each corpus window. Each statement's prompt: its canonical phrase (corpus.statement_phrases) through
    the template ensemble of `templates`, its sentences encoded by encode_raw (the frozen text encoder).
    - loss: the training loss over consecutive batches of `loss_batch_size` in a fixed shuffled order;
    - R@1 / R@5: ECG -> its report among the distinct validation reports (identical text = hit);
    - auc/<statement>, macro_auc: zero-shot, score = cosine(ECG, statement prompt), labels = statement ids.
    """
    ecg = embed_windows(model, corpus, val_idx, pre, batch_size, device, bf16)
    vt, true_col = np.unique(text_ids[val_idx], return_inverse=True)
    text_emb = model.project_text(text_raw[torch.from_numpy(vt).to(text_raw.device)]).float()

    order = np.random.default_rng(0).permutation(len(val_idx))
    losses, weights = [], []
    for s in range(0, len(order) - 1, loss_batch_size):      # a batch of one has no negatives
        part = torch.from_numpy(order[s:s + loss_batch_size]).to(ecg.device)
        if len(part) < 2:
            continue
        tid = torch.from_numpy(true_col).to(ecg.device)[part]
        loss = clip_loss(ecg[part], text_emb[tid], model.scale().float(), tid if soft_targets else None)
        losses.append(float(loss))
        weights.append(len(part))
    out: dict = {"loss": float(np.average(losses, weights=weights)) if losses else None}

    e = ecg.cpu().numpy()
    out.update(retrieval_recall(cosine(e, text_emb.cpu().numpy()), true_col, ks=(1, 5)))
    out["n_windows"], out["n_reports"] = int(len(val_idx)), int(len(vt))

    labels = np.array([[sid in corpus.statements[i] for sid in statement_ids] for i in val_idx], dtype=bool)
    prompts = phrase_embeddings(model, encode_raw, [corpus.statement_phrases[s] for s in statement_ids], templates)
    aucs = zero_shot_auc(e, prompts, labels.reshape(len(val_idx), len(statement_ids)), statement_ids)
    out["auc"] = aucs
    out["macro_auc"] = macro(aucs.values())
    # the clinician label sets (evaluate.label_sets), each judged on its own windows: what selection uses
    out["sets"] = {}
    # (scorer: a METS around this model, so a phrase is embedded exactly as the product embeds it)
    for name, (labels, window_mask) in (label_sets or {}).items():
        y = np.array([[bool(set(item["statements"]) & set(corpus.statements[i])) for item in labels]
                      for i in val_idx[window_mask]], dtype=bool).reshape(int(window_mask.sum()), len(labels))
        set_aucs = zero_shot_auc(e[window_mask], scorer.embed_prompts([item["label"] for item in labels]), y,
                                 [item["label"] for item in labels])
        out["sets"][name] = {"macro_auc": macro(set_aucs.values()), "auc": set_aucs}
    set_macros = [v["macro_auc"] for v in out["sets"].values() if v["macro_auc"] is not None]
    out["select_score"] = float(np.mean(set_macros)) if set_macros else out["macro_auc"]
    return out
