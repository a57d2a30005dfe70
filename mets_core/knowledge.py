"""What a typed prompt stands for, and how far to trust its score.

Three questions a clinician's prompt raises, answered here from data (never from the ECG):

1. *What does it mean?* `Knowledge.expand(phrase)`: a phrase that names a known class ("conduction
   disturbance", PTB-XL's diagnostic classes and common groupings, knowledge.json "classes"), a vocabulary
   statement ("left bundle branch block", mets_core/statements.json) or one of their synonyms,
   abbreviations and SNOMED CT names (knowledge.json "synonyms") is scored as the ensemble of its member
   statements' phrasings; any other phrase goes through the prompt templates as typed.
   A frozen sentence model places umbrella terms badly ("conduction disturbance" is far from "left bundle
   branch block" in its space), which is why the expansion exists.
2. *Does the model know it?* `Knowledge.known(phrase)`: an expanded phrase is known; a free phrase is known
   when its nearest known phrasing (cosine in the frozen text model's space) reaches the threshold the export
   set between on-topic and off-topic calibration phrases. "banana" is not known.
3. *How good is the model at it?* `Knowledge.validation_auc(target)`: the AUC measured on the validation
   ECGs when the weights were exported (weights/knowledge.json), for statements and classes with enough
   positives and negatives (`is_validated`); None = not validated. `Knowledge.stood_out(target)`: what the crown
   meant on those ECGs, the share of those with the statement and of those without it on which it stood out.

And one the model cannot answer: *"no atrial fibrillation"*. `negation(phrase)` recognises a negated phrase and
the finding it names; the ranking scores the finding, says so (`negation_words`) and never ranks or crowns it.

The percentile (where an ECG's similarity falls among reference ECGs, `percentile`) and whether a phrase *stands
out* (`stands_out`) are decided here; the reference embeddings are in the weights folder (reference.safetensors,
read by pipeline.load_reference).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .prompts import l2_normalise

TABLES_PATH = Path(__file__).with_name("knowledge.json")
STATEMENTS_PATH = Path(__file__).with_name("statements.json")   # the statement vocabulary (the trainer reads it too)
WEIGHTS_KNOWLEDGE_FILE = "knowledge.json"      # in a weights folder: validation AUCs, known threshold
REFERENCE_FILE = "reference.safetensors"       # in a weights folder: reference ECG embeddings
KNOWN_PHRASINGS_FILE = "known_phrasings.safetensors"   # raw embeddings of the known phrasings (a cache)
STANDS_OUT_PERCENTILE = 90.0                   # a known prompt "stands out" for an ECG at or above this
# Percentiles compare an ECG with reference ECGs of the model's 10-s window. A shorter ECG is centred in that
# window with zeros either side, and its similarities shift against the reference: on the validation windows cut
# to their middle seconds (benchmarks/short_ecg.py) the AUCs hold, but more phrases stand out per ECG and fewer
# of them are right (PTB-XL statements at 10 / 9 / 7.5 / 5 / 2.5 s: 2.65 / 3.03 / 4.02 / 4.60 / 2.53 standing out
# per ECG, 33 / 31 / 25 / 19 / 11 % of them present, against 13 % of all pairs). Below this an ECG gets no
# percentiles, so nothing is called a match (`too_short_words`).
MIN_REFERENCE_S = 9.0
MIN_VALIDATION_POSITIVES = 10                  # fewer positive validation windows or patients: no AUC shown
MIN_VALIDATION_NEGATIVES = 10                  # nor with fewer negatives (CPSC 2021's "no atrial fibrillation":
                                               # AUC 0.98 from 77 positives and 5 negatives)
AUC_VALIDATED = 0.80                           # validation AUC at or above: "validated"
AUC_FAIR = 0.70                                # at or above: "fair"; below: "weak" (CLI, dashboard, card)
SUPERCLASS_NAMES = ("normal ECG", "myocardial infarction", "ST/T change", "conduction disturbance", "hypertrophy")


def normalise_phrase(text: str) -> str:
    """Lower case, every run of non-alphanumerics one space: 'ST/T-change.' -> 'st t change'."""
    return re.sub(r"[^0-9a-z]+", " ", str(text).lower()).strip()


# Other ways of writing a statement's words, which the tables (knowledge.json synonyms, statements.json phrasings)
# need not list one by one: "AVB" for "AV block"; a degree in Roman numerals or numbered ("I degree AV block" and
# "III degree AV-block" are LUDB's own labels; "3rd degree AVB"); British spelling ("repolarisation", "ischaemic");
# and a plural ("T wave inversions"). Scored as free phrases, these got no validation AUC and another score than
# the statement they name. Tried only when the phrase as typed names nothing; never added to the known phrasings
# (the weights store those phrasings' embeddings).
_DEGREES = {"i": "first", "ii": "second", "iii": "third", "1st": "first", "2nd": "second", "3rd": "third"}
_DEGREE = re.compile(r"\b(iii|ii|i|1st|2nd|3rd) degree\b")
_SPELLING = ((re.compile(r"\bavb\b"), "av block"), (re.compile(r"ischaemi"), "ischemi"),
             (re.compile(r"isation\b"), "ization"))
PLURAL_MIN_LETTERS = 4       # "pvcs" is "pvc"; "sas" (3 letters) is not taken for "sa", sinus arrhythmia


def written_forms(key: str) -> list[str]:
    """The other ways of writing a normalised phrase (normalise_phrase) to look it up by, most like it first."""
    form = _DEGREE.sub(lambda m: f"{_DEGREES[m.group(1)]} degree", key)
    for pattern, words in _SPELLING:
        form = pattern.sub(words, form)
    forms = [form] if form != key else []
    for base in (key, form):
        head, _, last = base.rpartition(" ")
        if not last.isalpha():
            continue
        if last.endswith("s") and not last.endswith("ss") and len(last) >= PLURAL_MIN_LETTERS:
            forms.append(f"{head} {last[:-1]}".strip())
        elif not last.endswith("s") and len(last) >= PLURAL_MIN_LETTERS - 1:
            forms.append(f"{base}s")
    return list(dict.fromkeys(f for f in forms if f != key))


@dataclass(frozen=True)
class Expansion:
    """How a prompt is scored. target: a statement id or class name (None: the phrase as typed);
    name: its plain name; members: (statement id, its phrasings) whose ensemble is the prompt."""
    target: str | None
    name: str | None
    members: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        """The member statements' names, for display ("scored as: ...")."""
        return tuple(m[1][0] for m in self.members)


def _weights_knowledge(path: Path) -> dict:
    """A weights folder's knowledge.json (what `mets export` wrote), refused in words when it is damaged."""
    from .checkpoint import CheckpointError
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is damaged (not valid JSON: {err}): re-export the weights "
                              f"(mets export), or copy this file again from where the weights came from") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is damaged (it holds a JSON {type(data).__name__}, not an object): re-export "
                              f"the weights (mets export), or copy this file again from where the weights came from")
    return data


class Knowledge:
    def __init__(self, tables: dict, statements: dict, weights_data: dict | None = None):
        self.classes: dict[str, dict] = tables.get("classes", {})
        self.calibration: dict = tables.get("calibration", {})
        self.statements = statements             # id -> {"canonical", "phrases", "label_only", ...}
        self.weights_data = weights_data or {}
        self._lookup: dict[str, str] = {}        # normalised phrase -> statement id or class name
        for sid, st in statements.items():
            if sid.startswith("class_"):         # label-only superclass truths: reached through classes
                continue
            for p in [st["canonical"], *st.get("phrases", [])]:
                self._lookup.setdefault(normalise_phrase(p), sid)
        for name in self.classes:                # a class name wins over a statement of the same words
            self._lookup[normalise_phrase(name)] = name
        for phrase, target in tables.get("synonyms", {}).items():
            if target not in statements and target not in self.classes:
                raise ValueError(f"knowledge.json: synonym {phrase!r} -> unknown target {target!r}")
            self._lookup[normalise_phrase(phrase)] = target
        self._known_emb: np.ndarray | None = None

    @classmethod
    def load(cls, weights_dir: str | Path | None = None) -> "Knowledge":
        tables = json.loads(TABLES_PATH.read_text(encoding="utf-8"))
        statements = json.loads(STATEMENTS_PATH.read_text(encoding="utf-8"))["statements"]
        data = None
        if weights_dir is not None and (Path(weights_dir) / WEIGHTS_KNOWLEDGE_FILE).is_file():
            data = _weights_knowledge(Path(weights_dir) / WEIGHTS_KNOWLEDGE_FILE)
            phrasings = Path(weights_dir) / KNOWN_PHRASINGS_FILE
            if phrasings.is_file():
                from safetensors.numpy import load_file
                try:
                    data["_known_embeddings"] = load_file(str(phrasings))["embeddings"]
                except Exception:  # noqa: BLE001 - an unreadable cache is recomputed, never trusted
                    pass
        return cls(tables, statements, data)

    # ------------------------------------------------------------------------------ expansion

    def phrasings(self, sid: str) -> tuple[str, ...]:
        st = self.statements[sid]
        return tuple(dict.fromkeys([st["canonical"], *st.get("phrases", [])]))

    def expand(self, phrase: str) -> Expansion:
        key = normalise_phrase(phrase)
        target = self._lookup.get(key)
        if target is None:                       # "1st degree AVB", "T wave inversions" (written_forms)
            target = next((self._lookup[f] for f in written_forms(key) if f in self._lookup), None)
        if target is None:
            return Expansion(None, None)
        if target in self.classes:
            members = self.classes[target]["members"]
            return Expansion(target, target, tuple((m, self.phrasings(m)) for m in members))
        return Expansion(target, self.statements[target]["canonical"], ((target, self.phrasings(target)),))

    def prompt_members(self, phrase: str) -> str | list[list[str]]:
        """What `prompts.build_prompt_embeddings` embeds for a typed phrase: its member statements' phrasings
        when it names a known statement or class, else the phrase itself (through the templates as typed)."""
        members = self.expand(phrase).members
        return [list(phrasings) for _, phrasings in members] if members else phrase

    def truth(self, target: str) -> list[str]:
        """Statement ids that make an ECG positive for a target (a class's 'truth', else its members)."""
        if target in self.classes:
            return list(self.classes[target].get("truth") or self.classes[target]["members"])
        return [target]

    def targets(self) -> list[str]:
        """Every statement id (not label-only superclass truths) and class name a prompt can map to."""
        return [s for s in self.statements if not s.startswith("class_")] + list(self.classes)

    # ------------------------------------------------------------------------------ known

    def known_phrasings(self) -> list[str]:
        return list(self._lookup)

    @property
    def known_threshold(self) -> float | None:
        return self.weights_data.get("known_threshold")

    def known_embeddings(self, encode) -> np.ndarray:
        """Unit raw embeddings of known_phrasings(): the copy stored with the weights when it was made from
        the same phrasings (saves encoding all of them, 411 with the shipped tables, at every start), else computed
        with `encode`."""
        if self._known_emb is None:
            stored = self.weights_data.get("_known_embeddings")
            if stored is not None and self.weights_data.get("known_phrasings") == self.known_phrasings():
                emb = np.asarray(stored, dtype=np.float32)
            else:
                emb = np.asarray(encode(self.known_phrasings()), dtype=np.float32)
            self._known_emb = l2_normalise(emb)
        return self._known_emb

    def nearest_known(self, raw: np.ndarray, encode) -> np.ndarray:
        """Cosine of each raw (frozen, unprojected) phrase embedding to its nearest known phrasing.
        `encode`: texts -> raw embeddings (the model's frozen text encoder)."""
        self.known_embeddings(encode)
        q = l2_normalise(np.asarray(raw, dtype=np.float32))
        return (q @ self._known_emb.T).max(axis=1)

    # ------------------------------------------------------------------------------ validation

    def validation_auc(self, target: str | None) -> float | None:
        if target is None:
            return None
        row = self.weights_data.get("validation", {}).get(target)
        return float(row["auc"]) if row and is_validated(row) else None

    def stood_out(self, target: str | None, twelve_lead: bool = True) -> "StoodOut | None":
        """How often the statement's prompt stood out for the validation patients with it and for those without
        it, on ECGs of the kind of lead set given (12-lead, or fewer leads: each is judged against its own kind);
        None where the weights recorded too few patients of that kind (or none: older weights). Unlike the AUC
        these read as the crown does: a common finding's prompt stands out for a minority of the patients with it
        (only one reference ECG in ten stands out), a rare one's for some of those without it."""
        if target is None:
            return None
        return StoodOut.of_row(self.weights_data.get("validation", {}).get(target),
                               TWELVE_LEAD if twelve_lead else FEWER_LEADS)

    def summary(self) -> dict | None:
        """What the weights' knowledge.json says, in brief (for `mets info`); None without one."""
        if not self.weights_data:
            return None
        validated = {t: r for t, r in self.weights_data.get("validation", {}).items() if is_validated(r)}
        superclasses = {t: validated[t]["auc"] for t in SUPERCLASS_NAMES if t in validated}
        statements = [r["auc"] for t, r in validated.items() if t in self.statements]
        return {"superclass_auc": superclasses,
                "superclass_macro_auc": float(np.mean(list(superclasses.values()))) if superclasses else None,
                "statements_validated": len(statements),
                "statement_macro_auc": float(np.mean(statements)) if statements else None,
                "weak": sorted(t for t, r in validated.items() if reliability_level(r["auc"]) == "weak"),
                "known_threshold": self.known_threshold,
                "reference": self.weights_data.get("reference"),
                "training_data": self.weights_data.get("training_data")}


# ------------------------------------------------------------------------------ negation
# A contrastive ECG-text model places "no atrial fibrillation" next to "atrial fibrillation": the frozen sentence
# model barely moves for "no", and the ECG side never learned what absence looks like. (The vocabulary's own
# "no atrial fibrillation" statement, trained on CPSC 2021's non-AF windows, does not separate AF from other
# ECGs either: on LUDB's 15 AF records it scored a median 73rd percentile, the same as on 60 other records.)
# So a negated phrase is scored as the finding it negates, said to be so, and never ranked or crowned.
#
# The cues (tried longest first, so that "no evidence of" wins over "no"). Each is a whole word (or words) at the
# start of the phrase, followed by a space: "notched P waves", "nodal rhythm", "non-specific ST changes",
# "nonspecific ...", "non-Q-wave infarction", "normal ECG", "negative T waves" (negative *for* is the cue) and
# "incomplete ..." are findings, not negations. "no (acute) change" is a negation too: the model cannot
# compare with an earlier ECG, and it would score "acute changes".
NEGATION_PREFIXES = ("no evidence of", "no evidence for", "no signs of", "no sign of", "negative for", "absence of",
                     "ruled out", "rule out", "free of", "without evidence of", "without evidence for",
                     "without signs of", "without", "absent", "not", "there is no", "there are no", "there was no",
                     "there were no", "there's no", "there\u2019s no", "no",
                     "kein hinweis auf", "keine hinweise auf", "kein anhalt für", "ohne hinweis auf",   # German
                     "keine", "keinen", "keiner", "keines", "kein", "ohne", "nicht")
# the same cues after the finding: "atrial fibrillation absent", "ST elevation ruled out", "AF not present"; a verb
# before them is not the finding's ("AF is absent" negates "AF", "ST elevation has been ruled out" "ST elevation")
NEGATION_SUFFIXES = ("ruled out", "excluded", "absent", "not present", "not seen", "not found", "not detected",
                     "not observed", "not identified", "not evident",
                     "ausgeschlossen", "nicht nachweisbar", "nicht vorhanden")                        # German
# a finding answered "no" as a structured report answers it: "Atrial fibrillation: no", "LBBB - none" (only after a
# colon, an equals sign or a dash: "T waves: negative" says the T waves are inverted, and is not among them)
NEGATION_ANSWERS = ("no", "none", "nein", "kein", "keine", "keines")
# "non" before a finding negates it ("non atrial fibrillation", CPSC 2021's label of every record without AF;
# "non-AF rhythm"), except in the findings named with it: "non-specific ST changes", "non-Q-wave infarction",
# "non-ST elevation MI", "non-STEMI", "non-sustained VT", "non-conducted P waves", "non-diagnostic", "non-paroxysmal",
# "non-ischaemic cardiomyopathy"
NON_FINDINGS = ("specific", "q", "st", "stemi", "sustained", "conducted", "diagnostic", "paroxysmal", "ischemic",
                "ischaemic", "infarct", "dipper", "compensatory", "respiratory")
# "no-" run into a finding negates it too ("no-AF"), except in the angiographer's "no-reflow" and "no-flow"
NO_HYPHEN_FINDINGS = ("reflow", "flow")


def _alternatives(cues) -> str:
    """Cues as a regex alternation, longest first: "no evidence of" must win over "no"."""
    return "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True))


_PREFIX = re.compile(r"^\s*(" + _alternatives(NEGATION_PREFIXES) + r")\s+(.*)$", re.IGNORECASE | re.DOTALL)
_NON = re.compile(r"^\s*(non)(?:\s+|\s*-\s*)(?!(?:" + "|".join(NON_FINDINGS) + r")(?![a-z]))(.*)$",
                  re.IGNORECASE | re.DOTALL)
_NO_HYPHEN = re.compile(r"^\s*(no)\s*-\s*(?!(?:" + "|".join(NO_HYPHEN_FINDINGS) + r")(?![a-z]))(.*)$",
                        re.IGNORECASE | re.DOTALL)
# A cue at the end of the phrase (trailing "." and "!" taken off first), after a separator. Searched for as a cue
# that ends the text, never as "anything, separators, cue": that form backtracked over every run of separators, and
# a pasted line of 16,000 ", " took 17 s (`mets rank` does not cut its prompts' length).
_SUFFIX = re.compile(r"(?<=[\s,:;-])(" + _alternatives(NEGATION_SUFFIXES) + r")\Z", re.IGNORECASE)
_ANSWER = re.compile(r"(?<=[\s:=-])(" + _alternatives(NEGATION_ANSWERS) + r")\Z", re.IGNORECASE)
_EDGES = " \t\n,;:.!-"        # punctuation around the finding: "no: AF." negates "AF"
# A cue after the finding that is itself negated is a report's hedge, not a negation: "MI not excluded", "ischaemia
# cannot be ruled out", "STEMI can't be excluded" say the finding may be there (scored as typed, never as "MI not").
_NEGATED_SUFFIX_CUE = re.compile(r"(?:\bnot|\bnever|n't|\bcannot)(?:\s+(?:be|been))?$", re.IGNORECASE)
# the words of the verb between a finding and the cue after it: "AF is absent", "ST elevation has been ruled out"
VERB_BEFORE_CUE = frozenset({"is", "are", "was", "were", "has", "have", "had", "been",
                             "ist", "sind", "wurde", "wurden"})


@dataclass(frozen=True)
class Negation:
    """A negated phrase: `cue` in lower case ("no", "without", "ruled out"), `finding` the words it negates (as
    typed, single-spaced)."""
    cue: str
    finding: str


def negation(phrase: str) -> Negation | None:
    """The negation cue and the finding of a negated phrase ("no atrial fibrillation" -> ("no", "atrial
    fibrillation")); None for any other phrase, or a cue with no finding after it ("no")."""
    text = str(phrase)
    for pattern in (_PREFIX, _NON, _NO_HYPHEN):
        found = pattern.match(text)
        if found:
            said = _said(found.group(1), found.group(2))
            if said:
                return said
    end = text.rstrip(" \t\n.!")
    found = _ANSWER.search(end)
    if found and end[:found.start()].rstrip()[-1:] in (":", "=", "-"):      # "AF: no", not "sinus rhythm no"
        return _said(found.group(1), end[:found.start()])
    found = _SUFFIX.search(end)
    if found:
        finding = " ".join(end[:found.start()].strip(_EDGES).split())
        if _NEGATED_SUFFIX_CUE.search(finding):
            return None                     # "MI not excluded": the finding is possible, not negated
        words = finding.split()
        while words and words[-1].lower() in VERB_BEFORE_CUE:
            words.pop()
        return _said(found.group(1), " ".join(words))
    return None


def _said(cue: str, finding: str) -> Negation | None:
    """A Negation of `cue` (lower case, single-spaced) and `finding` (without the punctuation around it,
    single-spaced); None when the finding has no letter or digit."""
    finding = " ".join(finding.strip(_EDGES).split())
    return Negation(" ".join(cue.lower().split()), finding) if any(ch.isalnum() for ch in finding) else None


def negation_words(prompt: str, finding: str, percentile: float | None, known: bool | None = None) -> str:
    """What a negated prompt's score is, in plain words (the CLI and the dashboard say it alike):
    '“no atrial fibrillation”: the model cannot read “no”; it scores the finding “atrial fibrillation” (47th
    percentile of reference ECGs). A low percentile is not evidence of absence.' At or above
    STANDS_OUT_PERCENTILE the finding would stand out if typed (`stands_out`), which is said instead ('... The
    finding itself stands out: this ECG resembles “atrial fibrillation”. Check the tracing.'); a finding whose
    knownness these weights cannot tell is said to be not judged (`not_judged`)."""
    found = negation(prompt)
    cue = found.cue if found else "no"
    said = f"“{prompt}”: the model cannot read “{cue}”; it scores the finding “{finding}”"
    if known is False:
        return said + ", which is not known to the model either."
    if percentile is None:
        return said + " (no reference percentile for this ECG). A low score is not evidence of absence."
    said += f" ({percentile_ordinal(percentile)} percentile of reference ECGs)."
    if stands_out(percentile, known):       # the finding itself would be crowned: say so, it is the news
        return said + f" The finding itself stands out: this ECG resembles “{finding}”. Check the tracing."
    if not_judged(percentile, known):
        return said + (f" That is where a phrase stands out, but these weights cannot tell whether the model knows "
                       f"“{finding}”, so it is not judged. Check the tracing.")
    return said + " A low percentile is not evidence of absence."


@lru_cache(maxsize=1)
def _vocabulary() -> dict:
    """statements.json, read once (the statements and the sections about them)."""
    return json.loads(STATEMENTS_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def rate_bounds() -> dict[str, tuple[float | None, float | None]]:
    """The heart rate each rate statement means, by canonical name: {"sinus tachycardia": (100, None)} is above
    100 bpm, {"bradycardia": (None, 60)} below 60 (statements.json "rate_bpm", on the rate rounded to whole bpm;
    the corpus builder labels windows by the same bounds)."""
    statements = _vocabulary()["statements"]
    return {s["canonical"]: (s["rate_bpm"].get("above"), s["rate_bpm"].get("below"))
            for s in statements.values() if s.get("rate_bpm")}


@lru_cache(maxsize=1)
def needs_p_waves() -> frozenset[str]:
    """The canonical names of the statements that mean a sinus rhythm, which has a P wave before every QRS
    (statements.json "needs_p_waves": sinus rhythm, sinus bradycardia, sinus tachycardia, sinus arrhythmia)."""
    data = _vocabulary()
    unknown = [sid for sid in data.get("needs_p_waves", []) if sid not in data["statements"]]
    if unknown:
        raise ValueError(f"statements.json: needs_p_waves names unknown statements {unknown}")
    return frozenset(data["statements"][sid]["canonical"] for sid in data.get("needs_p_waves", []))


def checked_by_measurement(statement: str | None) -> bool:
    """Whether a measurement can contradict the statement (by canonical name) when it stands out: a rate
    statement (`rate_bounds`) or one that means a sinus rhythm (`needs_p_waves`). Measure only then."""
    return bool(statement) and (statement in rate_bounds() or statement in needs_p_waves())


# A measured heart rate within this many bpm of a rate statement's bound does not contradict it: the bound is a
# convention (60 and 100 bpm), the measurement has its own error (a few bpm against the reference annotations,
# docs/measurements.md), and a clinician would not call "sinus bradycardia" at 60 bpm (59.6 measured: PTB-DB
# patient233 s0459) or "sinus tachycardia" at 99 bpm wrong. Warned from 63 and up for "below 60", 97 and down
# for "above 100" (whole bpm, as the rate is said).
RATE_MARGIN_BPM = 2


def _listed(items: list[str]) -> str:
    """a; a and b; a, b and c: the one way a sentence here lists things."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _names(prompts: list[str]) -> tuple[str, bool]:
    """“a”, “a” and “b”, “a”, “b” and “c”; and whether it is one."""
    return _listed([f"“{p}”" for p in prompts]), len(prompts) == 1


def rate_disagreements(standing_out: list[tuple[str, str | None]], heart_rate_bpm: float | None) -> list[str]:
    """For the phrases that stand out, as (prompt, the canonical statement it maps to), those of a rate
    statement whose meaning the measured heart rate clearly contradicts (by more than RATE_MARGIN_BPM), in one
    sentence per meaning ("above 100 bpm"); [] when none does or the rate is unknown. The model has no notion of
    a number: "sinus tachycardia" stood out at 94 bpm (MIT-BIH 208; a review)."""
    if heart_rate_bpm is None or not math.isfinite(heart_rate_bpm):
        return []
    rate, wrong = int(round(heart_rate_bpm)), {}
    for prompt, statement in standing_out:
        above, below = rate_bounds().get(statement or "", (None, None))
        if above is not None and rate < above - RATE_MARGIN_BPM:
            wrong.setdefault(f"above {above:g} bpm", []).append(prompt)
        elif below is not None and rate > below + RATE_MARGIN_BPM:
            wrong.setdefault(f"below {below:g} bpm", []).append(prompt)
    out = []
    for meaning, prompts in wrong.items():
        names, one = _names(prompts)
        out.append(f"{names} (a rate {meaning}) stand{'s' if one else ''} out, but the measured heart rate is "
                   f"{rate} bpm: a similarity is not a measurement of the rate. Check the rate on the tracing.")
    return out


def rhythm_disagreements(standing_out: list[tuple[str, str | None]], af_like: bool | None) -> list[str]:
    """For the phrases that stand out, as (prompt, canonical statement), those that mean a sinus rhythm
    (`needs_p_waves`) while the measurement finds an irregular rhythm without consistent P waves (`af_like`:
    atrial fibrillation's picture, the measurements' "PR not applicable"; not its other reasons for no PR, P
    waves before too few beats or at varying distances, which a sinus rhythm with ectopic beats can show), in
    one sentence; [] otherwise, or when not judged. "sinus tachycardia" stood out (95th percentile, validated) on
    a CPSC 2021 page of atrial fibrillation at 148 bpm (a review)."""
    if af_like is not True:
        return []
    sinus = [prompt for prompt, statement in standing_out if statement in needs_p_waves()]
    if not sinus:
        return []
    names, one = _names(sinus)
    return [f"{names} stand{'s' if one else ''} out, but the measurements find an irregular rhythm without "
            f"consistent P waves (as in atrial fibrillation): a similarity is not a rhythm analysis. Check the "
            f"rhythm on the tracing."]


def measurement_disagreements(standing_out: list[tuple[str, str | None]], measured) -> list[str]:
    """What a measurement of the same stretch says against the phrases that stand out, as (prompt, canonical
    statement): `rate_disagreements`, then `rhythm_disagreements`. `measured`: a measure.Measurements (its
    heart_rate_bpm and af_like are read), or None (nothing is said)."""
    if measured is None:
        return []
    return (rate_disagreements(standing_out, getattr(measured, "heart_rate_bpm", None))
            + rhythm_disagreements(standing_out, getattr(measured, "af_like", None)))


@lru_cache(maxsize=1)
def _exclusive_names() -> frozenset[frozenset[str]]:
    statements = _vocabulary()["statements"]
    return frozenset(frozenset((s["canonical"], statements[other]["canonical"]))
                     for s in statements.values() for other in s.get("excludes", ()))


def exclusive_rivals(statement: str | None) -> list[str]:
    """The canonical names of the statements one ECG rarely shows with `statement` (statements.json "excludes",
    either way round), in the vocabulary's order: "paced rhythm" -> left and right bundle branch block."""
    if not statement:
        return []
    pairs = _exclusive_names()
    return [s["canonical"] for s in _vocabulary()["statements"].values()
            if frozenset((statement, s["canonical"])) in pairs and s["canonical"] != statement]


@lru_cache(maxsize=1)
def _implied() -> dict[str, frozenset[str]]:
    """canonical name -> the canonical names it implies, itself included: its "implies" and "replaces" (a sinus
    bradycardia is a sinus rhythm, and a bradycardia), followed on."""
    statements = _vocabulary()["statements"]
    direct = {sid: [*s.get("implies", ()), *s.get("replaces", ())] for sid, s in statements.items()}
    out = {}
    for sid in statements:
        seen, todo = {sid}, list(direct[sid])
        while todo:
            other = todo.pop()
            if other not in seen:
                seen.add(other)
                todo += direct[other]
        out[statements[sid]["canonical"]] = frozenset(statements[o]["canonical"] for o in seen)
    return out


def implies(statement: str | None, other: str | None) -> bool:
    """Whether a finding of `statement` is one of `other` too (canonical names; statements.json "implies" and
    "replaces", followed on): "sinus bradycardia" implies "sinus rhythm" and "bradycardia"; a statement implies
    itself. False for a name that is not a statement (a class, a free phrase) unless the two are the same."""
    if not statement or not other:
        return False
    return statement == other or other in _implied().get(statement, ())


def consistent(statement: str | None, other: str | None) -> bool:
    """Whether two statements can both describe one finding: one implies the other ("sinus bradycardia" and
    "sinus rhythm", either way round)."""
    return implies(statement, other) or implies(other, statement)


def exclusive_groups(crowned: list[tuple[str, str | None]]) -> list[list[str]]:
    """Among the phrases that stand out, as (prompt, statement) with the statement's canonical name
    (Match.statement), best first: the groups of prompts whose statements one ECG rarely shows together
    (statements.json "excludes": left and right bundle branch block, a paced rhythm and either, atrial
    fibrillation and a sinus rhythm, ...), each group best first. When the model singles out several of one
    group, it does not tell them apart here; `not_told_apart_words` says so, on the dashboard and in the CLI."""
    first = {}
    for prompt, statement in crowned:
        if statement:
            first.setdefault(statement, prompt)
    order, pairs, groups = list(first), _exclusive_names(), []     # statements, best first
    for name in order:          # a statement joins (and merges) the groups holding one it excludes
        joined = [g for g in groups if any(frozenset((name, other)) in pairs for other in g)]
        groups = [g for g in groups if g not in joined] + [sorted(sum(joined, [name]), key=order.index)]
    groups.sort(key=lambda g: order.index(g[0]))
    return [[first[n] for n in g] for g in groups if len(g) > 1]


def not_told_apart_words(group: list[str]) -> str:
    """The sentence for one group of `exclusive_groups`."""
    quoted = [f"“{p}”" for p in group]
    if len(quoted) == 2:
        return (f"{quoted[0]} and {quoted[1]} both stand out, but one ECG rarely shows both: the model does not "
                f"tell them apart here. Check the tracing.")
    return (f"{_listed(quoted)} all stand out, but one ECG rarely shows more than one of "
            f"them: the model does not tell them apart here. Check the tracing.")


def rivals_to_score(crowned: list[str | None], scored: set[str | None]) -> list[str]:
    """The canonical names of the statements one ECG rarely shows with a crowned statement (`exclusive_rivals`;
    `crowned`: the statements of the phrases that stand out, best first) that no phrase was scored as (`scored`:
    the typed phrases' statements): score them on the same ECG for `rivals_words`."""
    return list(dict.fromkeys(name for statement in crowned for name in exclusive_rivals(statement)
                              if name not in scored))


def rivals_words(crowned: list[tuple[str, str | None]],
                 rivals: list[tuple[str, float | None, bool | None]]) -> list[str]:
    """For each phrase that stands out, as (prompt, statement), best first: when statements one ECG rarely shows
    with it (`exclusive_rivals`), scored on the same ECG though not typed (`rivals`: (canonical name, percentile,
    known), from `rivals_to_score`), stand out too (`stands_out`), one sentence naming them, each rival once:
    '“paced rhythm” stands out, but so do left bundle branch block (93rd) and right bundle branch block (98th),
    which the model does not tell apart from it: look for pacing spikes and the QRS shape on the tracing.'
    (statements.json "told_apart_by" says what to look for; without it: 'check the tracing.'). The dashboard's
    headline says it beside `not_told_apart_words`."""
    high = [(name, pct) for name, pct, known in rivals if stands_out(pct, known)]
    out, said = [], set()
    for prompt, statement in crowned:
        names = exclusive_rivals(statement)
        these = [(name, pct) for name, pct in high if name in names and name not in said]
        if not these:
            continue
        said.update(name for name, _ in these)
        listed = [f"{name} ({percentile_ordinal(pct)})" for name, pct in these]
        look = _told_apart_by(statement, [name for name, _ in these])
        out.append(f"“{prompt}” stands out, but so {'does' if len(listed) == 1 else 'do'} "
                   f"{_listed(listed)}, which the "
                   f"model does not tell apart from it: "
                   + (f"look for {look} on the tracing." if look else "check the tracing."))
    return out


def _told_apart_by(statement: str, rivals: list[str]) -> str | None:
    """What tells `statement` from its rivals on a tracing (statements.json "told_apart_by", by statement id):
    the statement's own words, else the first rival's; None when neither has any."""
    by_id = _vocabulary().get("told_apart_by", {})
    by_name = {s["canonical"]: by_id[sid] for sid, s in _vocabulary()["statements"].items() if sid in by_id}
    return next((by_name[n] for n in [statement, *rivals] if n in by_name), None)


def negated_findings_standing_out(negated: list[tuple[str, str, str | None, float | None, bool | None]],
                                  crowned: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """Negated phrases, as (prompt, finding, the finding's statement, its percentile, known), whose finding would
    stand out if typed (`stands_out`) and is not itself among the crowned (prompt, statement): (prompt, finding)
    of each. Never crowned, but the headline must not read as all clear (the dashboard and the CLI say it)."""
    said = {statement or prompt.lower() for prompt, statement in crowned}
    return [(prompt, finding) for prompt, finding, statement, pct, known in negated
            if stands_out(pct, known) and (statement or finding.lower()) not in said]


def ordinal_suffix(n: int) -> str:
    """'st', 'nd', 'rd' or 'th': 1st, 2nd, 3rd, 11th, 12th, 13th, 21st, 73rd, 100th."""
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def shown_percentile(percentile: float, digits: int = 0):
    """A percentile as it is shown: a whole number 0-100 (the CLI, the dashboard, the report and the ordinal), or
    with `digits` decimals (Compare's and Batch's tables: a float). One below STANDS_OUT_PERCENTILE is never
    rounded up to it: 89.6 read "90th pct, higher than 90% of reference ECGs" on a row not crowned, under "no
    ranked phrase scores higher than 90%" (and 89.96 read "90.0" in Compare's table)."""
    value = max(0.0, min(100.0, float(percentile)))
    if digits:
        step = 10.0 ** -digits
        below = math.ceil(STANDS_OUT_PERCENTILE / step) * step - step
        return round(min(round(value, digits), below) if value < STANDS_OUT_PERCENTILE else value, digits)
    shown = int(round(value))
    return min(shown, math.ceil(STANDS_OUT_PERCENTILE) - 1) if value < STANDS_OUT_PERCENTILE else shown


def percentile_ordinal(percentile: float) -> str:
    """A percentile as an English ordinal, as shown: 72.6 -> '73rd', 90 -> '90th'."""
    n = shown_percentile(percentile)
    return f"{n}{ordinal_suffix(n)}"


# ------------------------------------------------------------------------------ standing out
# The one rule for a phrase that "stands out" (the crown of the headline, on the dashboard, in `mets rank`, its
# --out column and Match.stands_out). `known` is None when the weights carry reference ECGs but no known-phrase
# threshold, so whether the model learned anything near a free phrase cannot be told. Such a phrase is not
# crowned: "stands out" tells a clinician that the model recognises the phrase and this ECG resembles it more
# than most reference ECGs, and for a phrase the model may never have learned ("banana") the percentile of a
# meaningless similarity would be presented as a finding. It is still ranked with its percentile shown, and the
# headline says it was not judged (`not_judged`, `not_judged_words`) rather than reading as all clear. The
# shipped weights always carry a threshold; a phrase that names a known statement or class is known regardless.

def stands_out(percentile: float | None, known: bool | None, negated: bool = False) -> bool:
    """Whether a phrase stands out: known to the model (True, not None), not negated (the model cannot read "no"),
    and at or above STANDS_OUT_PERCENTILE of the reference ECGs."""
    return bool(known) and not negated and _at_or_above_stands_out(percentile)


def not_judged(percentile: float | None, known: bool | None, negated: bool = False) -> bool:
    """Whether a phrase scores where it would stand out but is not crowned only because these weights cannot tell
    whether the model knows it (known None)."""
    return known is None and not negated and _at_or_above_stands_out(percentile)


def _at_or_above_stands_out(percentile: float | None) -> bool:
    return percentile is not None and percentile >= STANDS_OUT_PERCENTILE


def not_judged_words(prompts: list[str]) -> str:
    """The sentence for the phrases of `not_judged` (the dashboard's headline and `mets rank` say it); "" for
    none."""
    if not prompts:
        return ""
    quoted = ", ".join(f"“{p}”" for p in prompts)
    one = len(prompts) == 1
    return (f"{quoted} score{'s' if one else ''} at or above the {percentile_ordinal(STANDS_OUT_PERCENTILE)} "
            f"percentile of the reference ECGs, but these weights cannot tell whether the model knows "
            f"{'it' if one else 'them'} (they carry no known-phrase threshold), so {'it is' if one else 'they are'} "
            f"not called a match.")


def too_short(duration_s: float) -> bool:
    """Whether an ECG is too short for the reference percentiles (MIN_REFERENCE_S)."""
    return duration_s < MIN_REFERENCE_S


def _length_shown(duration_s: float) -> str:
    """A length under MIN_REFERENCE_S as said: rounded down to 0.1 s, so 8.96 s never reads as "9.0 s"."""
    return f"{math.floor(duration_s * 10) / 10:.1f} s"


def too_short_words(duration_s: float) -> str:
    """Why an ECG shorter than MIN_REFERENCE_S gets no percentiles (the dashboard's headline and `mets rank`)."""
    return (f"This ECG is {_length_shown(duration_s)} long. The model's reference percentiles come from 10-s ECGs "
            f"and do not hold for one shorter than {MIN_REFERENCE_S:g} s (cut short, validation ECGs get more "
            f"phrases standing out and fewer of them right), so no phrase is called a match: the scores below "
            f"only compare these phrases with each other, and the reliability cues are those measured on 10-s "
            f"ECGs.")


def too_short_reading(duration_s: float) -> str:
    """The same in a few words, for a table cell (the Batch page's reading, `mets rank --out`'s stands_out)."""
    return f"not judged: an ECG of {_length_shown(duration_s)} is too short for percentiles (they need " \
           f"{MIN_REFERENCE_S:g} s)"


def is_validated(row: dict) -> bool:
    """Whether a validation row (knowledge.json: auc, n_positive, n_windows, and patients_positive /
    patients_negative where the export counted them) has an AUC worth showing: enough positive and enough negative
    windows and, where counted, as many patients (an AUC over a handful of either is noise, and the windows are
    10-s stretches: paced rhythm's 122 positive windows are 5 patients)."""
    n_positive = row.get("n_positive", 0)
    n_negative = row.get("n_windows", 0) - n_positive
    enough_patients = row.get("patients_positive", MIN_VALIDATION_POSITIVES) >= MIN_VALIDATION_POSITIVES \
        and row.get("patients_negative", MIN_VALIDATION_NEGATIVES) >= MIN_VALIDATION_NEGATIVES
    return row.get("auc") is not None and n_positive >= MIN_VALIDATION_POSITIVES \
        and n_negative >= MIN_VALIDATION_NEGATIVES and enough_patients


# The softmax column's header, on the dashboard and in `mets rank`: each phrase's share among the phrases ranked
# reads as a probability ("myocardial infarction 42%" beside a crowned atrial fibrillation at 1%) unless its
# header says otherwise. Short words: it sits over a narrow column.
SHARE_HEADER = "share among these, not a probability"
# a ranking of one phrase: its share is 100% whatever the ECG shows, so none is shown (the dashboard, `mets rank`)
ONE_SHARE_SHOWN = "no comparison"
ONE_SHARE_WORDS = ("only one phrase is ranked, so its share would be 100% whatever the ECG shows: there is no other "
                   "phrase to compare it with. Rank two or more phrases to see their shares")


def reliability_level(auc: float | None) -> str:
    """How far to trust a validation AUC: "validated" (at or above AUC_VALIDATED), "fair" (at or above AUC_FAIR),
    "weak", or "not validated" (no AUC, or NaN)."""
    if auc is None or auc != auc:
        return "not validated"
    return "validated" if auc >= AUC_VALIDATED else "fair" if auc >= AUC_FAIR else "weak"


def reliability_label(auc: float | None) -> str:
    """The model's validation AUC for what a prompt maps to, in words: "validated: AUC 0.91", "fair: ...",
    "weak: ...", or "not validated"."""
    level = reliability_level(auc)
    return level if level == "not validated" else f"{level}: AUC {auc:.2f}"


# the kinds of lead set knowledge.json's "stood_out" shares are kept for (calibrate.stood_out_shares), by name
TWELVE_LEAD = "12-lead"
FEWER_LEADS = "fewer leads"


@dataclass(frozen=True)
class StoodOut:
    """Knowledge.stood_out: the share of the validation patients with a statement, and of those without it, for
    whom its prompt stood out (each patient's windows averaged: one patient counts once), how many patients each
    share is of, and the kind of lead set (TWELVE_LEAD or FEWER_LEADS)."""
    with_it: float
    without_it: float
    patients_with: int
    patients_without: int
    kind: str

    @classmethod
    def from_weights(cls, shares: dict, kind: str) -> "StoodOut":
        """From knowledge.json's "stood_out" entry of one kind of lead set (calibrate.stood_out_shares)."""
        return cls(float(shares["with"]), float(shares["without"]), int(shares["patients_with"]),
                   int(shares["patients_without"]), kind)

    @classmethod
    def of_row(cls, row: dict | None, kind: str) -> "StoodOut | None":
        """A knowledge.json validation row's shares for `kind` (TWELVE_LEAD or FEWER_LEADS); None without them."""
        shares = ((row or {}).get("stood_out") or {}).get(kind)
        return cls.from_weights(shares, kind) if shares else None

    @property
    def validation_ecgs(self) -> str:
        """The validation ECGs these shares are of, in words: '12-lead validation ECGs', 'validation ECGs with
        fewer leads' ("fewer leads" names the set, it does not qualify ECGs as "12-lead" does)."""
        return f"{self.kind} validation ECGs" if self.kind == TWELVE_LEAD else f"validation ECGs with {self.kind}"


def _share_words(share: float) -> str:
    """0.36 -> '36%'; never a false 'never' or 'always': 'under 1%' and 'over 99%' where the rounding would say so."""
    if 0 < share < 0.005:
        return "under 1%"
    if 0.995 <= share < 1:
        return "over 99%"
    return f"{100 * share:.0f}%"


# `mets rank`'s column for Knowledge.stood_out: the validation patients with the finding, then those without it
STOOD_OUT_HEADER = "stood out for validation patients: with / without"
ONE_IN = round(100 / (100 - STANDS_OUT_PERCENTILE))     # "one reference ECG in ten" stands out for any phrase


def stood_out_cell(stood_out: "StoodOut | None") -> str:
    """Knowledge.stood_out for a table cell: '62% of 13 / 7% of 1240'; '-' without it."""
    if stood_out is None:
        return "-"
    return (f"{_share_words(stood_out.with_it)} of {stood_out.patients_with} / "
            f"{_share_words(stood_out.without_it)} of {stood_out.patients_without}")


def stood_out_brief(stood_out: "StoodOut | None") -> str:
    """Knowledge.stood_out in one short line (the printed report's ranking column): 'validation: stood out for 62% of
    13 with it, 9% of 322 without' (patients); "" without it."""
    if stood_out is None:
        return ""
    return (f"validation: stood out for {_share_words(stood_out.with_it)} of {stood_out.patients_with:,} with it, "
            f"{_share_words(stood_out.without_it)} of {stood_out.patients_without:,} without")


def stood_out_words(stood_out: "StoodOut | None", finding: str) -> str:
    """Knowledge.stood_out in a sentence: 'On 12-lead validation ECGs it stood out for 62% of 13 patients with sinus
    bradycardia and for 7% of 1,240 patients without it.' ('On validation ECGs with fewer leads ...' for a recording
    of fewer leads); "" without it (older weights, too few patients)."""
    if stood_out is None:
        return ""
    return (f"On {stood_out.validation_ecgs} it stood out for {_share_words(stood_out.with_it)} of "
            f"{stood_out.patients_with:,} patients with {finding} and for {_share_words(stood_out.without_it)} of "
            f"{stood_out.patients_without:,} patients without it.")


# How many of the statements a prompt was scored as are named beside it ("scored as: ..."), on the dashboard and
# in `mets rank`; the rest are counted ("+5 more"). Six names every member of most classes.
SCORED_AS_SHOWN = 6


def scored_as_words(prompt: str, expansion: list[str] | tuple[str, ...]) -> str:
    """The statements a prompt was scored as, for display: 'left bundle branch block; ...; +5 more'; "" when
    it was scored as typed (no expansion, or only the prompt itself)."""
    if not [e for e in expansion if e.lower() != prompt.lower()]:
        return ""
    more = len(expansion) - SCORED_AS_SHOWN
    return "; ".join(expansion[:SCORED_AS_SHOWN]) + (f" +{more} more" if more > 0 else "")


def percentile(similarities: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """similarities (m,) of one ECG to m prompts; reference (n_ref, m) of reference ECGs to the same prompts
    -> (m,) percentiles 0-100 (share of reference ECGs below, ties counted half)."""
    below = (reference < similarities[None, :]).mean(axis=0)
    ties = (reference == similarities[None, :]).mean(axis=0)
    return 100.0 * (below + 0.5 * ties)


def choose_threshold(on_topic: np.ndarray, off_topic: np.ndarray) -> float:
    """The cut between two score samples with the best balanced accuracy (midpoint between neighbours)."""
    values = np.unique(np.concatenate([on_topic, off_topic]))
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    acc = [((on_topic >= c).mean() + (off_topic < c).mean()) / 2 for c in cuts]
    return float(cuts[int(np.argmax(acc))])
