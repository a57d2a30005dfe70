"""Prompts: named template sets, preset prompt sets, and the one function that embeds prompts.

The content lives in prompts.json (data, not code), the one home of every prompt phrasing:
- `template_sets[name]`: `pretraining` (how a report is phrased for the text encoder in training and
  retrieval, with {text}), `zero_shot` (the METS paper's single template, with {label} and {kind}) and
  `ensemble` (several templates; a prompt's embedding is the mean of the L2-normalised embeddings of its
  templated sentences, normalised again, which is less sensitive to any one phrasing);
- `default_set`: the set a new model is trained with;
- `presets`: named lists of phrases (rhythm, conduction, ischemia/infarction by territory, ...) for the
  dashboard's one-click prompt sets.

A resolved set ("templates", the shape `METS.templates` returns) spells {kind} out per label kind:
{"pretraining": str, "zero_shot": {kind: str}, "ensembles": {kind: [str, ...]}}.

A checkpoint names its set (config.json "template_set"); an older checkpoint that carries the literal
templates is mapped to the set they equal, or kept as they are under the name CUSTOM (`templates_from_config`).

`build_prompt_embeddings(encode, prompts, templates)` (open_clip's build_zero_shot_classifier, templates as
an argument) is the one place prompt embeddings are averaged: the model (METS.embed_prompts, with the
knowledge expansion), validation, the evaluation protocols and template selection all call it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

PROMPTS_FILE = Path(__file__).with_name("prompts.json")
KINDS = ("diagnostic", "form", "rhythm")
CUSTOM = "custom"          # the name of templates that equal no named set (an older checkpoint's own)


def _validate(d: dict) -> dict:
    sets = d.get("template_sets")
    if not isinstance(sets, dict) or not sets:
        raise ValueError("prompts: 'template_sets' must name at least one template set")
    if d.get("default_set") not in sets:
        raise ValueError(f"prompts: 'default_set' {d.get('default_set')!r} is not one of {sorted(sets)}")
    if CUSTOM in sets:
        raise ValueError(f"prompts: {CUSTOM!r} is reserved for templates that equal no named set")
    for name, s in sets.items():
        if "{text}" not in s.get("pretraining", ""):
            raise ValueError(f"prompts: template set {name!r}: 'pretraining' must be a template containing {{text}}")
        ensemble = s.get("ensemble")
        if not isinstance(ensemble, list) or not ensemble:
            raise ValueError(f"prompts: template set {name!r}: 'ensemble' must be a non-empty list of templates")
        for t in [s.get("zero_shot", ""), *ensemble]:
            if "{label}" not in t:
                raise ValueError(f"prompts: template {t!r} in template set {name!r} lacks {{label}}")
    return d


@lru_cache(maxsize=None)
def _load_default() -> str:
    return PROMPTS_FILE.read_text(encoding="utf-8")


def load_prompts(path: str | Path | None = None) -> dict:
    """The prompt data file (a fresh dict each call, so callers may modify it)."""
    text = _load_default() if path is None else Path(path).read_text(encoding="utf-8")
    d = json.loads(text)
    d.pop("_comment", None)
    return _validate(d)


def template_set_names() -> list[str]:
    """The named template sets, the default first."""
    d = load_prompts()
    return [d["default_set"], *(n for n in d["template_sets"] if n != d["default_set"])]


def default_template_set() -> str:
    return load_prompts()["default_set"]


def load_template_set(name: str | None = None) -> dict:
    """A named set (None = the default) resolved per label kind (the shape `METS.templates` returns)."""
    d = load_prompts()
    name = d["default_set"] if name is None else name
    if name not in d["template_sets"]:
        raise ValueError(f"unknown template set {name!r}; known: {', '.join(template_set_names())} "
                         f"(mets_core/prompts.json 'template_sets')")
    s = d["template_sets"][name]
    return {"pretraining": s["pretraining"],
            "zero_shot": {k: s["zero_shot"].replace("{kind}", k) for k in KINDS},
            "ensembles": {k: [t.replace("{kind}", k) for t in s["ensemble"]] for k in KINDS}}


def default_templates() -> dict:
    """The default template set, resolved."""
    return load_template_set(None)


def template_set_name(templates: dict) -> str:
    """The named set these resolved templates equal, else CUSTOM."""
    return next((n for n in template_set_names() if load_template_set(n) == templates), CUSTOM)


def check_templates(templates: dict, where: str) -> dict:
    """`templates` if they hold a pretraining template (with {text}) and, per label kind (at least
    "diagnostic"), a non-empty ensemble of templates (each with {label}); else a ValueError saying so, prefixed
    with `where` (a checkpoint's config, METS.templates). The one rule for templates however they arrive."""
    try:
        ensembles = templates["ensembles"]
        ok = "{text}" in templates["pretraining"] and "diagnostic" in ensembles and all(
            ens and all("{label}" in t for t in ens) for ens in ensembles.values())
    except (KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise ValueError(f"{where}: 'templates' must hold 'pretraining' (with {{text}}) and 'ensembles' per label "
                         f"kind (at least one template each, with {{label}}; at least 'diagnostic'); or name a "
                         f"set with 'template_set'")
    return templates


def templates_from_config(config: dict, where: str = "config") -> tuple[str, dict]:
    """A checkpoint config -> (set name, resolved templates). "template_set" names a set of prompts.json;
    an older config's literal "templates" map to the set they equal, else they are kept as CUSTOM; neither:
    the default set."""
    name = config.get("template_set")
    if name is not None:
        if name == CUSTOM:
            return CUSTOM, check_templates(config.get("templates"), where)
        try:
            return name, load_template_set(name)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    literal = config.get("templates")
    if literal is None:
        return default_template_set(), default_templates()
    literal = check_templates(literal, where)
    return template_set_name(literal), literal


def templates_to_config(templates: dict) -> dict:
    """What a checkpoint config stores: the set's name, or (templates of no named set) the templates."""
    name = template_set_name(templates)
    return {"template_set": name} if name != CUSTOM else {"template_set": CUSTOM, "templates": templates}


PRESETS: dict[str, list[str]] = load_prompts()["presets"]


def prompt_lines(text: str) -> list[str]:
    """The prompts written in a text, one per line, by the one rule the CLI's --prompts-file and the dashboard's
    phrase box share: '#' starts a comment anywhere on a line ("sinus rhythm  # baseline" is the prompt "sinus
    rhythm"), whitespace is collapsed, and lines left empty are dropped."""
    lines = (" ".join(line.split("#", 1)[0].split()) for line in (text or "").splitlines())
    return [p for p in lines if p]


REPEATS_NAMED = 3          # the repeats a warning names, the rest counted: a pasted list may repeat dozens
REPEAT_CHARS_NAMED = 40    # ... each named by at most this many characters and "…" (a long line typed twice)
REPEAT_REASON = "case, spacing and a final full stop do not change what is scored"     # why a repeat is one


@dataclass(frozen=True)
class KeptPrompts:
    """What ``distinct_prompts`` kept of the lines given, and what it did to the rest."""
    prompts: list[str]             # in the order given
    skipped: list[str]             # lines without words ("...")
    shortened: int                 # prompts cut to the caller's max_chars (among those kept)
    offered: int                   # distinct prompts before the caller's max_prompts
    max_prompts: int | None = None
    max_chars: int | None = None
    repeats: tuple[str, ...] = ()  # lines dropped as repeats of a prompt kept ("Sinus rhythm." after "sinus rhythm")

    @property
    def warnings(self) -> list[str]:
        said = [f"the line {p!r} has no words and was skipped" for p in self.skipped]
        if self.repeats:
            n, forms = len(self.repeats), list(dict.fromkeys(self.repeats))     # each form typed named once
            more = len(forms) - REPEATS_NAMED
            named = ", ".join(repr(f if len(f) <= REPEAT_CHARS_NAMED else f[:REPEAT_CHARS_NAMED] + "…")
                              for f in forms[:REPEATS_NAMED]) + (f" and {more} more" if more > 0 else "")
            said.append(("a repeated prompt was" if n == 1 else f"{n} repeated prompts were")
                        + f" dropped ({named}): {REPEAT_REASON}")
        if self.shortened:
            said.append(f"a prompt longer than {self.max_chars} characters was shortened" if self.shortened == 1
                        else f"{self.shortened} prompts longer than {self.max_chars} characters were shortened")
        if self.max_prompts is not None and self.offered > self.max_prompts:
            said.append(f"only the first {self.max_prompts} of {self.offered} prompts are ranked")
        return said


def distinct_prompts(lines: Sequence[str], max_prompts: int | None = None,
                     max_chars: int | None = None) -> KeptPrompts:
    """The prompts of `lines` (e.g. ``prompt_lines``) as the dashboard's phrase box, its phrase-set files and
    ``mets rank`` all keep them: a repeat of what is embedded (``clean_phrase``) is dropped whatever its case (the
    text model is uncased: "Sinus rhythm." scores as "sinus rhythm", and so does "sinus  rhythm"), a line without
    words ("...") is skipped, and, where the caller caps them (the dashboard), a prompt is shortened to `max_chars`
    and only the first `max_prompts` are kept; the result's ``warnings`` say each."""
    prompts, seen, skipped, repeats, shortened = [], set(), [], [], 0
    for p in lines:
        try:
            embedded = clean_phrase(p).lower()
        except ValueError:          # a line of only full stops: nothing to embed
            skipped.append(p)
            continue
        if embedded in seen:
            repeats.append(p)
            continue
        if max_chars is not None and len(p) > max_chars:
            whole, p = p, p[:max_chars]
            try:
                embedded = clean_phrase(p).lower()
            except ValueError:      # cut to punctuation alone
                skipped.append(p)
                continue
            if embedded in seen:
                repeats.append(whole)
                continue
            shortened += max_prompts is None or len(prompts) < max_prompts      # counted among those kept only
        seen.add(embedded)
        prompts.append(p)
    kept = prompts if max_prompts is None else prompts[:max_prompts]
    return KeptPrompts(kept, skipped, shortened, len(prompts), max_prompts, max_chars, tuple(repeats))


def clean_phrase(phrase: str) -> str:
    """Collapse whitespace and drop a trailing full stop (templates add their own punctuation)."""
    p = re.sub(r"\s+", " ", str(phrase)).strip().rstrip(".").strip()
    if not p:
        raise ValueError("a prompt must contain some text, e.g. 'atrial fibrillation'")
    return p


def ensemble(templates: dict, kind: str = "diagnostic") -> list[str]:
    """The template ensemble of one label kind."""
    ens = templates["ensembles"]
    if kind not in ens:
        raise ValueError(f"unknown prompt kind {kind!r}; known: {sorted(ens)}")
    return list(ens[kind])


def fill(template: str, phrase: str) -> str:
    """One templated sentence. `str.replace`, not `str.format`, so braces in what a user types are kept
    literally."""
    return template.replace("{label}", clean_phrase(phrase))


def format_report(text: str, templates: dict | str | None = None) -> str:
    """A report as the text encoder saw it in pretraining ("The report of the ECG is that ...").
    `templates`: resolved templates, a template set's name, or None (the default set)."""
    if not isinstance(templates, dict):
        templates = load_template_set(templates)
    return templates["pretraining"].replace("{text}", str(text).strip())


def l2_normalise(z: np.ndarray) -> np.ndarray:
    """Each vector along the last axis scaled to length 1, as every embedding in the shared space is (prompt
    embeddings here, reference ECGs, known phrasings, the trainer's calibration); a zero vector stays zero."""
    return z / np.linalg.norm(z, axis=-1, keepdims=True).clip(min=1e-12)


Prompt = str | Sequence[Sequence[str]]


def build_prompt_embeddings(encode: Callable[[list[str]], np.ndarray], prompts: Sequence[Prompt],
                            templates: Sequence[str]) -> np.ndarray:
    """Prompts -> float32 (len(prompts), d) unit rows, open_clip's build_zero_shot_classifier for METS.

    encode: sentences -> (n, d) embeddings in the joint space (normalised here, so it need not);
    prompts: each a phrase, or a knowledge expansion: a list of member statements, each a list of phrasings;
    templates: the template strings ({label}), e.g. `ensemble(model.templates, "rhythm")` or
    [templates["zero_shot"][kind]] for the paper's single template.
    A phrasing is the unit mean of its unit templated sentences, a member the unit mean of its phrasings,
    a prompt the unit mean of its members (a plain phrase: one member of one phrasing). One encode call."""
    templates = list(templates)
    if not templates:
        raise ValueError("build_prompt_embeddings needs at least one template, e.g. ['{label}']")
    groups = [[[p]] if isinstance(p, str) else [list(member) for member in p] for p in prompts]
    if any(not g or not all(g) for g in groups):
        raise ValueError("build_prompt_embeddings: a prompt's members must each hold at least one phrasing")
    flat = [ph for g in groups for member in g for ph in member]
    if not flat:
        return np.empty((0, 0), dtype=np.float32)      # the caller knows its embedding width
    z = l2_normalise(np.asarray(encode([fill(t, ph) for ph in flat for t in templates]), dtype=np.float32))
    z = l2_normalise(z.reshape(len(flat), len(templates), -1).mean(axis=1))      # one vector per phrasing
    out, at = [], 0
    for g in groups:
        members = []
        for member in g:
            members.append(l2_normalise(z[at:at + len(member)].mean(axis=0)))
            at += len(member)
        out.append(l2_normalise(np.mean(members, axis=0)))
    return np.stack(out).astype(np.float32)
