"""The corpus statement vocabulary (statements.json) and the machine-style report generator.

A window's labels are a list of `Finding`s (statement id + optional territories, beat count, heart rate).
`Vocabulary.render` turns them into a PTB-XL-style English report ("sinus rhythm. 2 PVCs. left axis
deviation.") with a seeded choice among each statement's phrasings, and returns the window's ground-truth
statement ids (the findings, their umbrella ids and per-territory ids).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

# statements.json lives in the engine: prompts typed in the dashboard expand through the same vocabulary
from mets_core.knowledge import STATEMENTS_PATH

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Finding:
    """One statement about one window (or a whole record, before it is cut into windows)."""
    id: str
    territories: tuple[str, ...] = ()
    count: int | None = None        # beats of this kind inside the window
    rate: int | None = None         # heart rate, bpm, where the statement is about rate

    @classmethod
    def parse(cls, spec: str) -> "Finding":
        """'mi@inferior+lateral' -> Finding('mi', ('inferior', 'lateral'))."""
        sid, _, terr = spec.partition("@")
        return cls(sid.strip(), tuple(t for t in terr.split("+") if t) if terr else ())


@dataclass
class Statement:
    id: str
    category: str
    canonical: str
    phrases: list[str] = field(default_factory=list)
    counted_one: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    territorial: list[str] = field(default_factory=list)
    rate_phrases: list[str] = field(default_factory=list)
    implies: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    unsaid_with: list[str] = field(default_factory=list)  # with any of these in the window: a label, no sentence
    excludes: list[str] = field(default_factory=list)     # read by mets_core.knowledge; not used in reports
    rate_bpm: dict[str, float] | None = None                # {"below": 60} / {"above": 100}: a rate statement's
                                                             # bounds (knowledge.rate_bounds; the builder's rate_class)
    territory_ids: str | None = None
    label_only: bool = False


class VocabularyError(ValueError):
    """statements.json is inconsistent (unknown ids, bad placeholders, ...)."""


class Vocabulary:
    def __init__(self, data: dict):
        self.version = int(data.get("version", 1))
        self.categories: list[str] = list(data["categories"])
        self.territories: dict[str, dict] = dict(data["territories"])
        self.statements: dict[str, Statement] = {}
        for sid, d in data["statements"].items():
            self.statements[sid] = Statement(id=sid, **d)
        self._order = {sid: i for i, sid in enumerate(self.statements)}
        self._check()

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Vocabulary":
        return cls(json.loads(Path(path or STATEMENTS_PATH).read_text(encoding="utf-8")))

    # ------------------------------------------------------------------------------------ lookups
    @property
    def canonical(self) -> dict[str, str]:
        return {sid: s.canonical for sid, s in self.statements.items()}

    def category(self, sid: str) -> str:
        return self.statements[sid].category

    def sort_ids(self, ids) -> list[str]:
        return sorted(set(ids), key=self._order.__getitem__)

    def _check(self) -> None:
        problems = []
        for s in self.statements.values():
            if s.category not in self.categories:
                problems.append(f"{s.id}: unknown category {s.category!r}")
            for ref in s.implies + s.replaces + s.unsaid_with + s.excludes:
                if ref not in self.statements:
                    problems.append(f"{s.id}: refers to unknown statement {ref!r}")
            if not s.label_only and not s.phrases:
                problems.append(f"{s.id}: needs at least one phrase")
            for kind, allowed in (("phrases", set()), ("counted_one", set()), ("counted", {"n"}),
                                  ("territorial", {"territory"}), ("rate_phrases", {"rate"})):
                for p in getattr(s, kind):
                    used = set(_PLACEHOLDER.findall(p))
                    if used != allowed:
                        problems.append(f"{s.id}.{kind}: {p!r} must use exactly {sorted(allowed)} placeholders")
            if s.territory_ids:
                for t in self.territories:
                    tid = s.territory_ids.format(territory=t)
                    if tid not in self.statements:
                        problems.append(f"{s.id}: territory id {tid!r} is not a statement")
        if problems:
            raise VocabularyError("statements.json: " + "; ".join(problems))

    def check_finding(self, f: Finding) -> None:
        if f.id not in self.statements:
            raise VocabularyError(f"unknown statement id {f.id!r} (see mets_core/statements.json)")
        bad = [t for t in f.territories if t not in self.territories]
        if bad:
            raise VocabularyError(f"{f.id}: unknown territories {bad}; known: {sorted(self.territories)}")

    # ---------------------------------------------------------------------------------- resolving
    def _closure(self, ids) -> set[str]:
        out, todo = set(), list(ids)
        while todo:
            sid = todo.pop()
            if sid not in out:
                out.add(sid)
                todo.extend(self.statements[sid].implies)
        return out

    def resolve(self, findings: list[Finding]) -> tuple[list[Finding], list[str]]:
        """(findings to render, in report order; ground-truth statement ids, in vocabulary order)."""
        merged: dict[str, Finding] = {}
        for f in findings:
            self.check_finding(f)
            if f.id in merged:
                g = merged[f.id]
                terr = tuple(t for t in self.territories if t in set(g.territories) | set(f.territories))
                merged[f.id] = replace(g, territories=terr,
                                       count=g.count if g.count is not None else f.count,
                                       rate=g.rate if g.rate is not None else f.rate)
            else:
                merged[f.id] = replace(f, territories=tuple(t for t in self.territories if t in f.territories))
        replaced = {r for sid in merged for r in self.statements[sid].replaces}
        kept = {sid: f for sid, f in merged.items() if sid not in replaced}
        # an id implied by another kept finding is a label but not a sentence, unless it carries extra detail
        implied_by_others = set()
        for sid in kept:
            implied_by_others |= self._closure(self.statements[sid].implies)
        rendered = [f for sid, f in kept.items()
                    if not self.statements[sid].label_only
                    and not (sid in implied_by_others and not f.territories and f.count is None and f.rate is None)
                    and not any(other in kept for other in self.statements[sid].unsaid_with)]
        rendered.sort(key=lambda f: (self.categories.index(self.category(f.id)), self._order[f.id]))
        labels = self._closure(kept)
        for f in kept.values():
            pattern = self.statements[f.id].territory_ids
            if pattern:
                labels |= {pattern.format(territory=t) for t in f.territories}
        labels -= replaced
        return rendered, self.sort_ids(labels)

    # ---------------------------------------------------------------------------------- rendering
    def territory_text(self, territories: tuple[str, ...], rng: np.random.Generator) -> str:
        adj = [self.territories[t]["adjective"] for t in territories]
        if len(adj) == 1:
            return adj[0]
        if rng.random() < 0.5:   # compound, PTB style: "infero-postero-lateral"
            return "-".join([self.territories[t]["prefix"] for t in territories[:-1]] + [adj[-1]])
        return ", ".join(adj[:-1]) + " and " + adj[-1]

    def sentence(self, f: Finding, rng: np.random.Generator) -> str:
        s = self.statements[f.id]
        if f.count is not None and f.count > 0 and s.counted:
            if f.count == 1 and s.counted_one:
                return str(rng.choice(s.counted_one))
            return str(rng.choice(s.counted)).format(n=f.count)
        if f.territories and s.territorial:
            return str(rng.choice(s.territorial)).format(territory=self.territory_text(f.territories, rng))
        if f.rate is not None and s.rate_phrases and rng.random() < 0.5:
            return str(rng.choice(s.rate_phrases)).format(rate=f.rate)
        return str(rng.choice(s.phrases))

    def render(self, findings: list[Finding], rng: np.random.Generator) -> tuple[str, list[str]]:
        """(report text, ground-truth statement ids). Empty findings give ('', [])."""
        rendered, labels = self.resolve(findings)
        sentences = [self.sentence(f, rng) for f in rendered]
        return (". ".join(sentences) + "." if sentences else ""), labels
