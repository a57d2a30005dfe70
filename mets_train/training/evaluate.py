"""Zero-shot evaluation on the validation patients of a corpus (`mets evaluate`).

Each label is a plain phrase a clinician would type ("atrial fibrillation"), never a training sentence; it is
embedded the way the dashboard embeds a typed prompt (`METS.embed_prompts`: template ensemble). Which corpus
statements make a window positive for a label is data: eval_labels.json.

Per label: ROC AUC of cosine(ECG window, label prompt) over all validation windows, and top-1 accuracy over
the label set among the windows that carry exactly one of the labels (argmax of cosine over the labels).
A random-init model (same architecture, same text model) gives the chance floor.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from mets_core.knowledge import MIN_VALIDATION_POSITIVES

from .data import Corpus, CorpusError
from ..metrics import cosine, macro, roc_auc
from .validate import embed_windows

EVAL_LABELS_FILE = Path(__file__).with_name("eval_labels.json")
# An AUC over fewer positive windows than this is reported but flagged, and left out of the "reliable" macro
# (the same bar under which the product shows a statement as "not validated").
MIN_POSITIVES = MIN_VALIDATION_POSITIVES


def load_eval_labels(path: str | Path | None = None, key: str = "labels") -> list[dict]:
    """[{"label": phrase, "statements": [corpus statement ids]}, ...] from eval_labels.json (or `path`);
    `key` picks the list ("labels": the open-database phrases, "ptbxl_superclass")."""
    data = json.loads(Path(path or EVAL_LABELS_FILE).read_text(encoding="utf-8"))
    labels = (data.get(key) or []) if isinstance(data, dict) else data
    for item in labels:
        if not item.get("label") or not item.get("statements"):
            raise ValueError(f"eval label entries need a 'label' phrase and a non-empty 'statements' list: {item}")
    return labels


# The label sets a model is judged on, each on its own windows of the split:
#   open              eval_labels.json "labels" (15 clinician phrases) on the windows of the open databases
#   ptbxl_superclass  PTB-XL's 5 diagnostic superclasses on the PTB-XL windows
#   ptbxl_statements  every vocabulary statement with >= MIN_POSITIVES positive PTB-XL windows in the split,
#                     by its canonical phrase (superclass ids excluded), on the PTB-XL windows
LABEL_SETS = ("open", "ptbxl_superclass", "ptbxl_statements")


def label_sets(corpus: Corpus, idx: np.ndarray, labels: list[dict] | None = None) -> dict[str, tuple[list[dict], np.ndarray]]:
    """set name -> (labels, boolean mask over idx of the windows it is judged on); empty sets left out."""
    is_ptbxl = np.array([corpus.sources[i] == "ptbxl" for i in idx], dtype=bool) if len(idx) else np.zeros(0, bool)
    out = {}
    if (~is_ptbxl).any():
        out["open"] = (labels or load_eval_labels(), ~is_ptbxl)
    if is_ptbxl.any():
        out["ptbxl_superclass"] = (load_eval_labels(key="ptbxl_superclass"), is_ptbxl)
        phrases = corpus.statement_phrases
        counts: dict[str, int] = {}
        for i in idx[is_ptbxl]:
            for sid in corpus.statements[i]:
                counts[sid] = counts.get(sid, 0) + 1
        chosen = [sid for sid in phrases if counts.get(sid, 0) >= MIN_POSITIVES and not sid.startswith("class_")]
        if chosen:
            out["ptbxl_statements"] = ([{"label": phrases[sid], "statements": [sid]} for sid in chosen], is_ptbxl)
    return out


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def label_matrix(corpus: Corpus, idx: np.ndarray, labels: list[dict]) -> np.ndarray:
    """(len(idx), n_labels) bool: window i is positive for label j if it has any of the label's statements."""
    sets = [set(item["statements"]) for item in labels]
    return np.array([[bool(s.intersection(corpus.statements[i])) for s in sets] for i in idx],
                    dtype=bool).reshape(len(idx), len(labels))


def evaluate_zero_shot(mets, corpus: Corpus, labels: list[dict] | None = None, split: str = "val",
                       batch_size: int = 256, windows: np.ndarray | None = None,
                       ecg_embeddings: np.ndarray | None = None, expand: bool = True) -> dict:
    """Zero-shot numbers of a `METS` model on the corpus's `split` windows (see the module docstring).
    `windows`: a boolean mask over the split's windows to judge on (default all); `ecg_embeddings`: the
    split's window embeddings when already computed (evaluate_label_sets embeds once for every set);
    `expand`: score phrases that name a known statement or class as their members' ensemble (knowledge.py),
    as the dashboard does; False = every phrase through the templates as typed."""
    labels = labels or load_eval_labels()
    pre = mets.preprocess_cfg
    corpus.check_matches(pre, trained=True)
    idx = corpus.indices(split)
    if len(idx) == 0:
        raise CorpusError(f"corpus {corpus.path} has no {split!r} windows to evaluate on")
    if ecg_embeddings is None:
        ecg_embeddings = embed_windows(mets.model, corpus, idx, pre, batch_size, torch.device("cpu"), bf16=False).numpy()
    if windows is not None:
        idx, ecg_embeddings = idx[windows], ecg_embeddings[windows]
    vocab = corpus.statement_phrases
    unknown = sorted({s for item in labels for s in item["statements"] if vocab and s not in vocab})
    train_reports = {_plain(corpus.reports[i]) for i in corpus.indices("train")}
    phrases = [item["label"] for item in labels]

    sims = cosine(ecg_embeddings, mets.embed_prompts(phrases, expand=expand))
    y = label_matrix(corpus, idx, labels)
    single = y.sum(axis=1) == 1
    truth = y[single].argmax(axis=1)
    pred = sims[single].argmax(axis=1)

    per_label = {}
    for j, phrase in enumerate(phrases):
        in_j = truth == j
        per_label[phrase] = {
            "statements": labels[j]["statements"],
            "n_positive": int(y[:, j].sum()),
            "auc": roc_auc(y[:, j], sims[:, j]),
            "n_single": int(in_j.sum()),
            "top1_accuracy": float((pred[in_j] == j).mean()) if in_j.any() else None,
            "phrase_is_a_training_report": _plain(phrase) in train_reports,
        }
    return {
        "model": mets.source or "random-init",
        "weights_sha256": mets.weights_sha256,
        "corpus": str(corpus.path),
        "split": split,
        "n_windows": int(len(idx)),
        "n_patients": int(len(set(corpus.patients[idx]))),
        "labels": per_label,
        "macro_auc": macro(v["auc"] for v in per_label.values()),
        "macro_auc_min_positives": macro(v["auc"] for v in per_label.values() if v["n_positive"] >= MIN_POSITIVES),
        "min_positives": MIN_POSITIVES,
        "n_single_label_windows": int(single.sum()),
        "top1_accuracy": float((pred == truth).mean()) if single.any() else None,
        "balanced_top1_accuracy": macro(v["top1_accuracy"] for v in per_label.values()),
        "unknown_statements": unknown,
        "expanded": bool(expand),
    }


def evaluate_label_sets(mets, corpus: Corpus, labels: list[dict] | None = None, split: str = "val",
                        batch_size: int = 256, expand: bool = True, exclude_forms=()) -> dict[str, dict]:
    """evaluate_zero_shot for every label set of LABEL_SETS present in the corpus (each on its own
    windows), embedding the split's windows once. `exclude_forms`: signal forms left out (["zscore"]: the
    mV windows only, to compare an mV model and a z-score model on the same ECGs)."""
    idx = corpus.indices(split)
    keep = ~np.isin(corpus.forms[idx], list(exclude_forms)) if exclude_forms and corpus.forms is not None \
        else np.ones(len(idx), dtype=bool)
    if len(idx) == 0:
        raise CorpusError(f"corpus {corpus.path} has no {split!r} windows to evaluate on")
    if not keep.any():
        forms = sorted(set(corpus.forms[idx]))
        raise CorpusError(f"every {split!r} window of corpus {corpus.path} is of a signal form left out "
                          f"({', '.join(forms)}; --exclude-forms {' '.join(exclude_forms)}): nothing to evaluate on; "
                          f"leave out fewer forms")
    corpus.check_matches(mets.preprocess_cfg, trained=True)
    emb = embed_windows(mets.model, corpus, idx, mets.preprocess_cfg, batch_size, torch.device("cpu"), bf16=False).numpy()
    out = {}
    for name, (set_labels, mask) in label_sets(corpus, idx[keep], labels).items():
        windows = np.zeros(len(idx), dtype=bool)
        windows[np.flatnonzero(keep)[mask]] = True
        out[name] = evaluate_zero_shot(mets, corpus, set_labels, split, batch_size, windows=windows,
                                       ecg_embeddings=emb, expand=expand)
    return out


def format_table(results: dict[str, dict]) -> str:
    """Side-by-side table of one or more evaluate_zero_shot results (column name -> result)."""
    names = list(results)
    first = results[names[0]]
    label_w = max(len(p) for p in first["labels"]) + 4

    def num(v):
        return "   n/a" if v is None else f"{v:6.3f}"

    head = f"{'label':<{label_w}}{'n_pos':>7}{'n_1lab':>7}" + "".join(f"  {n[:16]:>16} AUC  top-1" for n in names)
    lines = [head, "-" * len(head)]
    for phrase, row in first["labels"].items():
        cells = "".join(f"  {'':>12}{num(results[n]['labels'][phrase]['auc'])} {num(results[n]['labels'][phrase]['top1_accuracy'])}"
                        for n in names)
        flag = " *" if row["n_positive"] < first["min_positives"] else ""
        lines.append(f"{phrase + flag:<{label_w}}{row['n_positive']:>7}{row['n_single']:>7}{cells}")
    lines.append("-" * len(head))
    lines.append(f"{'macro AUC / balanced top-1':<{label_w + 14}}" + "".join(
        f"  {'':>12}{num(results[n]['macro_auc'])} {num(results[n]['balanced_top1_accuracy'])}" for n in names))
    lines.append(f"{'macro AUC, labels with >= %d positives' % first['min_positives']:<{label_w + 14}}" + "".join(
        f"  {'':>12}{num(results[n]['macro_auc_min_positives'])}       " for n in names))
    lines.append(f"{'top-1 accuracy (n=%d single-label windows)' % first['n_single_label_windows']:<{label_w + 14}}" + "".join(
        f"  {'':>19}{num(results[n]['top1_accuracy'])}" for n in names))
    lines.append(f"{first['split']} split: {first['n_windows']} windows of {first['n_patients']} patients; "
                 f"{first['n_single_label_windows']} carry exactly one label. Scores are cosine similarities.")
    if any(r["n_positive"] < first["min_positives"] for r in first["labels"].values()):
        lines.append(f"* fewer than {first['min_positives']} positive windows: that AUC is too noisy to compare")
    if not any(r["n_positive"] >= first["min_positives"] for r in first["labels"].values()):
        lines.append(f"warning: no label has {first['min_positives']} positive windows among these n="
                     f"{first['n_windows']}: every score above means little")
    if first["unknown_statements"]:
        lines.append(f"warning: statement ids not in the corpus vocabulary: {', '.join(first['unknown_statements'])}")
    return "\n".join(lines)
