"""The ceiling a frozen text encoder puts on METS zero-shot, measured on the text side alone.

METS never trains its language model: at zero-shot time an ECG embedding is compared with a label
prompt's embedding, and in pretraining the ECG embedding was pulled towards its report's embedding. If the
frozen encoder cannot tell, from the reports themselves, which ones are "myocardial infarction" reports,
no ECG encoder trained against those embeddings can. So: for each PTB-XL superclass, embed a label prompt
through the paper's template, rank all 21,837 reports by cosine similarity to it, and score that ranking
against the cardiologists' labels (ROC AUC). Reports pass through the pretraining template ("The report of
the ECG is that {text}") exactly as in training; the linear projections of METS are not involved (they can
re-weight but not add information).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..prompts import default_templates
from ..training.metrics import cosine, macro, roc_auc
from .dataset import PTBXL, SUPERCLASSES
from .translate import remove_boilerplate, translate_report

# One short English phrase per superclass (the PTB-XL paper's class names, lightly plainer).
SUPERCLASS_PHRASES = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}
REPORT_VARIANTS = ("original", "translated")


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


@dataclass
class TextCheckResult:
    text_model: str
    variant: str
    n_reports: int
    auc: dict[str, float | None]
    macro_auc: float | None
    prompts: dict[str, str]

    def to_dict(self) -> dict:
        return {"text_model": self.text_model, "reports": self.variant, "n_reports": self.n_reports,
                "auc": self.auc, "macro_auc": self.macro_auc, "prompts": self.prompts}


def text_side_auc(report_embeddings: np.ndarray, prompt_embeddings: np.ndarray, y: np.ndarray,
                  classes: list[str]) -> tuple[dict[str, float | None], float | None]:
    """Per-class ROC AUC of ranking reports by cosine similarity to each class's prompt; and the macro."""
    sim = cosine(report_embeddings, prompt_embeddings)            # (n_reports, n_classes)
    auc = {c: roc_auc(y[:, j], sim[:, j]) for j, c in enumerate(classes)}
    return auc, macro(auc.values())


def run_text_check(dataset: PTBXL, text_models: list[str | None], variants=REPORT_VARIANTS,
                   phrases: dict[str, str] | None = None, cache_dir: str | Path | None = None,
                   ids: list[int] | None = None) -> list[TextCheckResult]:
    """AUC table for every (text model, report variant). Raw report embeddings are cached on disk, so a
    second run only embeds the five prompts."""
    from ..text import TextEncoder

    phrases = dict(phrases or SUPERCLASS_PHRASES)
    classes = [c for c in SUPERCLASSES if c in phrases]
    ids = dataset.ids() if ids is None else ids
    _, y = dataset.label_matrix("superclass", ids, classes)
    templates = default_templates()
    prompt_template = templates["zero_shot"]["diagnostic"]
    prompts = {c: prompt_template.replace("{label}", phrases[c]) for c in classes}
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    reports = dataset.reports(ids)
    results = []
    for name in text_models:
        encoder = TextEncoder(name)
        prompt_emb = encoder.encode([prompts[c] for c in classes])
        for variant in variants:
            texts = [templates["pretraining"].replace("{text}", t) for t in report_variant(reports, variant)]
            report_emb = encoder.encode_cached(texts, cache_dir)
            auc, macro_auc = text_side_auc(report_emb, prompt_emb, y, classes)
            results.append(TextCheckResult(encoder.name, variant, len(ids), auc, macro_auc, prompts))
    return results


def format_table(results: list[TextCheckResult]) -> str:
    classes = list(results[0].auc) if results else []
    head = f"{'text model':40s} {'reports':11s} " + " ".join(f"{c:>6s}" for c in classes) + "  macro"
    lines = [head, "-" * len(head)]
    for r in results:
        cells = " ".join(f"{'-' if r.auc[c] is None else format(r.auc[c], '.3f'):>6s}" for c in classes)
        lines.append(f"{r.text_model[-40:]:40s} {r.variant:11s} {cells}  "
                     f"{'-' if r.macro_auc is None else format(r.macro_auc, '.3f')}")
    return "\n".join(lines)
