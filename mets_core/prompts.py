"""Prompt templates, ensembles and preset prompt sets. The content lives in prompts.json (data, not code).

- `pretraining`: how a report is phrased for the text encoder in training and retrieval.
- `zero_shot[kind]`: the paper's single template per label kind (diagnostic / form / rhythm).
- `ensembles[kind]`: several templates; a prompt's embedding is the mean of the L2-normalised embeddings of
  its templated sentences (then normalised again), which is less sensitive to any one phrasing.
- `presets`: named lists of phrases (rhythm, conduction, ischemia/infarction by territory, ...) for the
  dashboard's one-click prompt sets.

A checkpoint carries its own `templates` (config.json) so a model trained with other phrasings keeps them.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

PROMPTS_FILE = Path(__file__).with_name("prompts.json")
KINDS = ("diagnostic", "form", "rhythm")


def _validate(d: dict) -> dict:
    if "{text}" not in d.get("pretraining", ""):
        raise ValueError("prompts: 'pretraining' must be a template containing {text}")
    for section in ("zero_shot", "ensembles"):
        for kind, tpl in d.get(section, {}).items():
            for t in [tpl] if isinstance(tpl, str) else tpl:
                if "{label}" not in t:
                    raise ValueError(f"prompts: template {t!r} in {section}/{kind} lacks {{label}}")
    if "diagnostic" not in d.get("ensembles", {}):
        raise ValueError("prompts: 'ensembles' needs at least the 'diagnostic' kind")
    return d


@lru_cache(maxsize=None)
def _load_default() -> str:
    return PROMPTS_FILE.read_text(encoding="utf-8")


def load_prompts(path: str | Path | None = None) -> dict:
    """The prompt data (a fresh dict each call, so callers may modify it)."""
    text = _load_default() if path is None else Path(path).read_text(encoding="utf-8")
    d = json.loads(text)
    d.pop("_comment", None)
    return _validate(d)


def default_templates() -> dict:
    """The part of the prompt data a checkpoint stores: pretraining, zero_shot, ensembles."""
    d = load_prompts()
    return {k: d[k] for k in ("pretraining", "zero_shot", "ensembles")}


PRESETS: dict[str, list[str]] = load_prompts()["presets"]


def clean_phrase(phrase: str) -> str:
    """Collapse whitespace and drop a trailing full stop (templates add their own punctuation)."""
    p = re.sub(r"\s+", " ", str(phrase)).strip().rstrip(".").strip()
    if not p:
        raise ValueError("a prompt must contain some text, e.g. 'atrial fibrillation'")
    return p


def apply_templates(phrase: str, kind: str = "diagnostic", templates: dict | None = None) -> list[str]:
    """The ensemble of sentences for one phrase. `str.replace`, not `str.format`, so braces in what a user
    types are kept literally."""
    templates = templates or default_templates()
    ens = templates["ensembles"]
    if kind not in ens:
        raise ValueError(f"unknown prompt kind {kind!r}; known: {sorted(ens)}")
    p = clean_phrase(phrase)
    return [t.replace("{label}", p) for t in ens[kind]]


def format_report(text: str, templates: dict | None = None) -> str:
    """A report as the text encoder saw it in pretraining ("The report of the ECG is that ...")."""
    templates = templates or default_templates()
    return templates["pretraining"].replace("{text}", str(text).strip())
