"""The ceiling a frozen text encoder puts on METS zero-shot, measured on the text side alone.

METS never trains its language model: at zero-shot time an ECG embedding is compared with a label
prompt's embedding, and in pretraining the ECG embedding was pulled towards its report's embedding. If the
frozen encoder cannot tell, from the reports themselves, which ones are "myocardial infarction" reports,
no ECG encoder trained against those embeddings can. So: for each PTB-XL superclass, embed a label prompt
through the paper's template, rank all 21,837 reports by cosine similarity to it, and score that ranking
against the cardiologists' labels (ROC AUC). Reports pass through the pretraining template ("The report of
the ECG is that {text}") exactly as in training; the linear projections of METS are not involved (they can
re-weight but not add information).

Scored three ways of prompting (the paper's template, the bare phrase, the class's SCP statements) and two
ways of scoring (raw cosine, and METS's prediction rule: cosine / 0.07 -> softmax over the five classes). A
supervised linear probe on the same frozen embeddings (folds 1-8 -> fold 10) shows how much label
information the embeddings hold at all; it is labelled as such and is not a zero-shot number.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mets_core.prompts import format_report, load_template_set
from ..metrics import cosine, macro, roc_auc
from .dataset import PTBXL, SUPERCLASSES, TEST_FOLDS, TRAIN_FOLDS
from .translate import remove_boilerplate, translate_report

# One short English phrase per superclass (the PTB-XL paper's class names, lightly plainer).
SUPERCLASS_PHRASES = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}
REPORT_VARIANTS = ("original", "cleaned", "translated")


def default_cache_dir() -> Path:
    """Embeddings of fixed corpora live outside the repository: $METS_CACHE or ~/.cache/mets."""
    return Path(os.environ.get("METS_CACHE") or Path.home() / ".cache" / "mets") / "text"


def report_variant(reports: list[str], variant: str) -> list[str]:
    """"original": the report as PTB-XL has it (what the paper trained on); "translated": German/Swedish
    statements in English, boilerplate (cart program version, "unbestätigter bericht", "edit: <codes>")
    removed."""
    if variant == "original":
        return [" ".join(str(r).split()) for r in reports]
    if variant == "translated":
        cache: dict[str, str] = {}
        for r in dict.fromkeys(reports):
            cache[r] = translate_report(r)
        return [cache[r] for r in reports]
    if variant == "cleaned":
        return [remove_boilerplate(r) for r in reports]
    raise ValueError(f"unknown report variant {variant!r}; known: original, translated, cleaned")


PROMPT_STYLES = ("paper", "phrase", "statements")
SCORINGS = ("cosine", "softmax")
ZERO_SHOT_TAU = 0.07          # METS's initial temperature: cosine -> softmax over the class prompts


@dataclass
class TextCheckResult:
    text_model: str
    variant: str
    prompts: str                  # paper | phrase | statements | "-" for the probe
    scoring: str                  # cosine | softmax | linear probe
    n_reports: int
    auc: dict[str, float | None]
    macro_auc: float | None

    def to_dict(self) -> dict:
        return {"text_model": self.text_model, "reports": self.variant, "prompts": self.prompts,
                "scoring": self.scoring, "n_reports": self.n_reports, "auc": self.auc, "macro_auc": self.macro_auc}


def class_prompts(dataset: PTBXL, style: str, phrases: dict[str, str] | None = None,
                  classes=SUPERCLASSES) -> dict[str, list[str]]:
    """The prompt sentence(s) of each superclass.
    paper: the class phrase through the METS template ("The ECG of myocardial infarction, a type of
    diagnostic."); phrase: the bare phrase; statements: every diagnostic statement of the class
    (scp_statements.csv descriptions, e.g. CD -> "complete left bundle branch block", ...) through the
    template -- a class description taken from the label taxonomy, never from the reports."""
    phrases = dict(phrases or SUPERCLASS_PHRASES)
    template = load_template_set(None)["zero_shot"]["diagnostic"]
    if style == "paper":
        return {c: [template.replace("{label}", phrases[c])] for c in classes}
    if style == "phrase":
        return {c: [phrases[c]] for c in classes}
    if style == "statements":
        members = {c: sorted(st.description for st in dataset.statements.values()
                             if st.diagnostic and st.diagnostic_class == c) for c in classes}
        return {c: [template.replace("{label}", m) for m in members[c]] for c in classes}
    raise ValueError(f"unknown prompt style {style!r}; known: {', '.join(PROMPT_STYLES)}")


def class_scores(report_embeddings: np.ndarray, prompt_embeddings: list[np.ndarray], scoring: str) -> np.ndarray:
    """(n_reports, n_classes): per class the best cosine similarity over its prompts; "softmax" turns each
    report's row into METS's zero-shot probabilities (cosine / 0.07, softmax over the classes)."""
    sim = np.stack([cosine(report_embeddings, p).max(axis=1) for p in prompt_embeddings], axis=1)
    if scoring == "cosine":
        return sim
    if scoring == "softmax":
        z = sim / ZERO_SHOT_TAU
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    raise ValueError(f"unknown scoring {scoring!r}; known: {', '.join(SCORINGS)}")


def text_side_auc(scores: np.ndarray, y: np.ndarray, classes: list[str]) -> tuple[dict[str, float | None], float | None]:
    """Per-class ROC AUC of ranking the reports by their class score; and the macro average."""
    auc = {c: roc_auc(y[:, j], scores[:, j]) for j, c in enumerate(classes)}
    return auc, macro(auc.values())


def linear_probe_auc(embeddings: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                     l2: float = 1e-3, seed: int = 0) -> np.ndarray:
    """Scores (n_test, k) of one-vs-rest logistic regressions on standardised frozen embeddings (LBFGS).
    SUPERVISED: says how much of the labels a linear read-out of the frozen embeddings can expose -- what
    METS's trained projection could at best re-weight towards -- and is never a zero-shot number."""
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(np.asarray(embeddings, dtype=np.float32))
    mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
    x = (x - mu) / sd
    target = torch.from_numpy(y[train].astype(np.float32))
    w = torch.zeros(x.shape[1], y.shape[1], requires_grad=True)
    b = torch.zeros(y.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x[train] @ w + b, target) + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (x[test] @ w + b).numpy()


def run_text_check(dataset: PTBXL, text_models: list[str | None], variants=REPORT_VARIANTS,
                   prompt_styles=PROMPT_STYLES, scorings=SCORINGS, probe: bool = True,
                   phrases: dict[str, str] | None = None, cache_dir: str | Path | None = None,
                   ids: list[int] | None = None) -> list[TextCheckResult]:
    """AUC table for every (text model, report variant, prompt style, scoring), plus the supervised probe
    (folds 1-8 -> fold 10). Raw report embeddings are cached on disk: a second run embeds only prompts."""
    from mets_core.text import TextEncoder

    classes = list(SUPERCLASSES)
    ids = dataset.ids() if ids is None else ids
    _, y = dataset.label_matrix("superclass", ids, classes)
    folds = dataset.records.loc[ids, "strat_fold"].to_numpy()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    reports = dataset.reports(ids)
    results = []
    for name in text_models:
        encoder = TextEncoder(name)
        prompts = {style: class_prompts(dataset, style, phrases, classes) for style in prompt_styles}
        prompt_emb = {style: [encoder.encode(p[c]) for c in classes] for style, p in prompts.items()}
        for variant in variants:
            texts = [format_report(t) for t in report_variant(reports, variant)]
            report_emb = encoder.encode_cached(texts, cache_dir)
            for style in prompt_styles:
                for scoring in scorings:
                    auc, macro_auc = text_side_auc(class_scores(report_emb, prompt_emb[style], scoring), y, classes)
                    results.append(TextCheckResult(encoder.name, variant, style, scoring, len(ids), auc, macro_auc))
            train, test = np.flatnonzero(np.isin(folds, TRAIN_FOLDS)), np.flatnonzero(np.isin(folds, TEST_FOLDS))
            if probe and len(train) and len(test):
                scores = linear_probe_auc(report_emb, y, train, test)
                auc, macro_auc = text_side_auc(scores, y[test], classes)
                results.append(TextCheckResult(encoder.name, variant, "-", "linear probe", len(test), auc, macro_auc))
    return results


def format_table(results: list[TextCheckResult]) -> str:
    classes = list(results[0].auc) if results else []
    head = (f"{'text model':24s} {'reports':10s} {'prompts':10s} {'scoring':12s} {'n':>6s} "
            + " ".join(f"{c:>6s}" for c in classes) + "  macro")
    lines = [head, "-" * len(head)]
    for r in results:
        cells = " ".join(f"{'-' if r.auc[c] is None else format(r.auc[c], '.3f'):>6s}" for c in classes)
        lines.append(f"{r.text_model.split('/')[-1][:24]:24s} {r.variant:10s} {r.prompts:10s} {r.scoring:12s} "
                     f"{r.n_reports:6d} {cells}  {'-' if r.macro_auc is None else format(r.macro_auc, '.3f')}")
    return "\n".join(lines)
