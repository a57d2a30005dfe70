"""The ranking as a clinician should read it: no Streamlit here, only what is shown and in which words.

A model `Match` has `prompt`, `similarity`, `probability` (softmax among the ranked phrases; None for a phrase
that is not ranked) and, with weights that carry a reference population, `percentile` (where this ECG's
similarity falls among reference ECGs the model was not trained on), `known` (the phrase is close to something
the model learned), `validation_auc` (how well the model separated that statement on validation patients),
`expansion` (the statement phrases the prompt was scored as), `statement` and `negates` (a negated phrase, "no
atrial fibrillation": the finding it was scored as). Older weights lack the new fields: they are read with
getattr and the page says what it cannot tell instead of guessing.

Headline order: phrases that *stand out* (mets_core.knowledge.stands_out: known, not negated, percentile >=
STANDS_OUT_PERCENTILE), else "no confident match"; a phrase that scores there but whose knownness the weights
cannot tell is named as not judged (knowledge.not_judged). Rows are ordered by percentile (similarity where there
is none); softmax is a secondary "share among these, not a probability" number (mets_core.knowledge.SHARE_HEADER);
negated phrases (the model cannot read "no") and phrases the model does not know are listed apart, never ranked.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# one home for the "stands out" rule, the reliability levels, the percentile as shown, its ordinal and the words
# for a negated phrase: the engine's knowledge module
from mets_core.file_labels import label_phrase
from mets_core.knowledge import (AUC_FAIR, AUC_VALIDATED, MIN_VALIDATION_NEGATIVES, MIN_VALIDATION_POSITIVES,
                                 STANDS_OUT_PERCENTILE, StoodOut, checked_by_measurement, consistent, exclusive_groups,
                                 measurement_disagreements, negated_findings_standing_out, negation_words,
                                 not_judged, not_judged_words, not_told_apart_words, ordinal_suffix,
                                 rate_disagreements, reliability_label, reliability_level, rivals_to_score,
                                 rivals_words, shown_percentile, stands_out, stood_out_words, too_short_reading,
                                 too_short_words)


@dataclass(frozen=True)
class Row:
    prompt: str
    similarity: float
    probability: float | None      # None: not ranked (negated, not known), no share of the softmax
    percentile: float | None
    known: bool | None
    auc: float | None
    expansion: tuple[str, ...]
    statement: str | None
    negates: str | None = None     # a negated phrase: the finding its scores are of
    stood_out: StoodOut | None = None   # for validation patients with / without it (Knowledge.stood_out)

    @property
    def stands_out(self) -> bool:
        return stands_out(self.percentile, self.known, self.negates is not None)

    @property
    def not_judged(self) -> bool:
        """Scores where it would stand out, but these weights cannot tell whether the model knows it."""
        return not_judged(self.percentile, self.known, self.negates is not None)

    @property
    def negation_words(self) -> str:
        """For a negated phrase: what its score is of, in plain words (knowledge.negation_words); else ""."""
        if self.negates is None:
            return ""
        return negation_words(self.prompt, self.negates, self.percentile, self.known)

    @property
    def reliability(self) -> tuple[str, str, str]:
        """(level, words, explanation): level is "good" | "fair" | "weak" | "none"."""
        return reliability(self.auc, self.stood_out, self.statement or self.prompt)

    @property
    def percentile_rank(self) -> tuple[str, str] | None:
        """The percentile as shown, (number, its English ordinal ending): ("73", "rd"); None without one."""
        if self.percentile is None:
            return None
        n = shown_percentile(self.percentile)
        return str(n), ordinal_suffix(n)

    @property
    def percentile_words(self) -> str:
        if self.percentile is None:
            return "no reference"
        return f"higher than {shown_percentile(self.percentile)}% of reference ECGs"


# knowledge.reliability_level -> the level the page styles (the .rel-* classes of dashboard/styles.py) and
# the explanation it shows on hover
NOT_VALIDATED = (f"fewer than {MIN_VALIDATION_POSITIVES} validation patients with it or {MIN_VALIDATION_NEGATIVES} "
                 f"without it, or none")            # no AUC worth showing (knowledge.is_validated)
_RELIABILITY_SHOWN = {
    "validated": ("good", "On validation patients the model separated this statement well (AUC {auc:.2f}; 1.0 is "
                          "perfect, 0.5 is chance)."),
    "fair": ("fair", "On validation patients the model separated this statement moderately (AUC {auc:.2f}; 1.0 "
                     "is perfect, 0.5 is chance)."),
    "weak": ("weak", "On validation patients the model separated this statement poorly (AUC {auc:.2f}; 1.0 is "
                     "perfect, 0.5 is chance): do not rely on it."),
    "not validated": ("none", f"The model was not validated on this statement ({NOT_VALIDATED}): treat the score "
                              f"with extra caution."),
}
# each level's range in words, for the ranking's legend ("What the columns mean"), from the same thresholds
RELIABILITY_RANGES = {"validated": f"AUC {AUC_VALIDATED:.2f} or more",
                      "fair": f"AUC {AUC_FAIR:.2f} to {AUC_VALIDATED:.2f}",
                      "weak": f"AUC below {AUC_FAIR:.2f}, do not rely on it",
                      "not validated": NOT_VALIDATED}


def reliability_legend(icons: dict[str, str]) -> str:
    """The reliability levels in one sentence, each with its page icon (`icons`: level class -> mark)."""
    return "; ".join(f"{icons[shown[0]]} {level}: {RELIABILITY_RANGES[level]}"
                     for level, shown in _RELIABILITY_SHOWN.items()) + "."


def reliability(auc: float | None, stood_out: StoodOut | None = None, finding: str = "") -> tuple[str, str, str]:
    """(level, words, explanation) of a validation AUC: level "good" | "fair" | "weak" | "none" (the page's
    styles), words as the CLI says them (knowledge.reliability_label); the explanation ends with how often the
    phrase stood out for validation patients with `finding` and without it, when the weights recorded it."""
    level, why = _RELIABILITY_SHOWN[reliability_level(auc)]
    return level, reliability_label(auc), " ".join(filter(None, [why.format(auc=auc),
                                                                 stood_out_words(stood_out, finding)]))


def to_row(match) -> Row:
    def num(name):
        v = getattr(match, name, None)
        try:
            v = None if v is None else float(v)
        except (TypeError, ValueError):
            return None
        return None if v is None or v != v else v       # NaN (a reference of no ECGs) says nothing
    known = getattr(match, "known", None)
    expansion = getattr(match, "expansion", None) or ()
    negates = getattr(match, "negates", None)
    return Row(prompt=str(match.prompt), similarity=float(match.similarity), probability=num("probability"),
               percentile=num("percentile"), known=None if known is None else bool(known), auc=num("validation_auc"),
               expansion=tuple(str(e) for e in expansion), statement=getattr(match, "statement", None),
               negates=None if negates is None else str(negates), stood_out=_stood_out(match))


def _stood_out(match) -> StoodOut | None:
    """Match.stood_out; None from an older mets_core's Match."""
    value = getattr(match, "stood_out", None)
    return value if isinstance(value, StoodOut) else None


@dataclass
class RankingView:
    rows: list[Row]            # known (or unknown-to-tell) phrases, best first
    unknown: list[Row]         # phrases the model does not know: listed apart
    has_reference: bool        # the weights give percentiles
    negated: list[Row] = field(default_factory=list)   # "no atrial fibrillation": listed apart, never ranked
    too_short_s: float | None = None   # the ECG's length when under knowledge.MIN_REFERENCE_S: no percentiles
    # the statements one ECG rarely shows with a phrase that stands out (knowledge.exclusive_rivals), not typed,
    # scored on the same ECG by their canonical names (build_view's `score`): never ranked, only said of
    rivals: list[Row] = field(default_factory=list)

    @property
    def sharing(self) -> int:
        """How many rows share the softmax (have a share): under two, a share compares with nothing (one phrase's
        is 100% whatever the ECG shows)."""
        return sum(r.probability is not None for r in self.rows)

    @property
    def standing_out(self) -> list[Row]:
        return [r for r in self.rows if r.stands_out]

    @property
    def negated_findings_standing_out(self) -> list[Row]:
        """Negated phrases whose finding scores where a typed finding would stand out ("without ST elevation"
        at the 93rd percentile of ST elevation): never crowned, but the headline must not read as all clear
        (knowledge.negated_findings_standing_out)."""
        high = dict(negated_findings_standing_out(
            [(r.prompt, r.negates, r.statement, r.percentile, r.known) for r in self.negated],
            [(r.prompt, r.statement) for r in self.standing_out]))
        return [r for r in self.negated if r.prompt in high]

    @property
    def not_told_apart(self) -> list[list[str]]:
        """Groups of phrases that stand out though one ECG rarely shows more than one of them (left and right
        bundle branch block; knowledge.exclusive_groups): the model does not tell them apart on this ECG."""
        return exclusive_groups([(r.prompt, r.statement) for r in self.standing_out])

    @property
    def unscored_rivals(self) -> list[str]:
        """The canonical names of the statements one ECG rarely shows with a phrase that stands out ("paced
        rhythm": left and right bundle branch block) that no typed phrase was scored as
        (knowledge.rivals_to_score): build_view scores them."""
        return rivals_to_score([r.statement for r in self.standing_out],
                               {r.statement for r in self.rows + self.negated + self.unknown})

    @property
    def needs_measurement(self) -> bool:
        """Whether a phrase stands out that a measurement of the same stretch can contradict (a rate statement, a
        sinus rhythm: knowledge.checked_by_measurement): measure only then."""
        return any(checked_by_measurement(r.statement) for r in self.standing_out)

    def measurement_disagreements(self, measured) -> list[str]:
        """What the measurements of the same stretch (a measure.Measurements, or None) say against the phrases
        that stand out, one sentence each: a rate statement outside the measured rate ("sinus tachycardia" at 94
        bpm), a sinus rhythm in an irregular rhythm without P waves (knowledge.measurement_disagreements)."""
        return measurement_disagreements([(r.prompt, r.statement) for r in self.standing_out], measured)

    def rate_disagreements(self, heart_rate_bpm: float | None) -> list[str]:
        """The rate part of `measurement_disagreements`, from a heart rate alone (knowledge.rate_disagreements;
        scripts/rate_checks.py counts these)."""
        return rate_disagreements([(r.prompt, r.statement) for r in self.standing_out], heart_rate_bpm)

    def _not_judged_news(self) -> str:
        words = not_judged_words([r.prompt for r in self.rows if r.not_judged])
        return " " + words if words else ""

    def _not_told_apart_news(self) -> str:
        """Typed phrases the model does not tell apart (`not_told_apart`), then untyped statements it does not
        tell apart from a phrase that stands out (`rivals`, knowledge.rivals_words)."""
        rivals = rivals_words([(r.prompt, r.statement) for r in self.standing_out],
                              [(v.statement, v.percentile, v.known) for v in self.rivals])
        return "".join(" " + words for words in
                       [*(not_told_apart_words(group) for group in self.not_told_apart), *rivals])

    def _negated_news(self) -> str:
        high = self.negated_findings_standing_out
        if not high:
            return ""
        said = ", ".join(f"“{r.negates}” (you typed “{r.prompt}”)" for r in high)
        return (f" But the finding{'s' * (len(high) > 1)} {said} score{'s' * (len(high) == 1)} higher than "
                f"{STANDS_OUT_PERCENTILE:.0f}% of the reference ECGs: this ECG resembles "
                f"{'them' if len(high) > 1 else 'it'}.")

    @property
    def headline(self) -> str:
        if not self.rows:
            if self.negated:
                return ("No phrase is ranked: the model cannot read “no” or “not”, so negated phrases are listed "
                        "apart" + (", and the others are not known to the model." if self.unknown else ".")
                        + self._negated_news())
            return "None of these phrases is known to the model."
        if self.too_short_s is not None:
            return too_short_words(self.too_short_s) + self._negated_news()
        if not self.has_reference:
            return ("These weights carry no reference population, so nothing can be called a confident "
                    "match: the scores below only compare these phrases with each other.")
        out = self.standing_out
        if not out:
            if any(r.not_judged for r in self.rows):     # "no ranked phrase scores higher" would be untrue
                return "No confident match." + self._not_judged_news() + self._negated_news()
            return (f"No confident match: no ranked phrase scores higher than {STANDS_OUT_PERCENTILE:.0f}% of the "
                    f"reference ECGs." + self._negated_news())
        # the others counted, not "…" (which ended the sentence in "…."): how many more stand out is news
        names = ", ".join(f"“{r.prompt}”" for r in out[:3]) + (f" and {len(out) - 3} more" if len(out) > 3 else "")
        return (f"Stands out from the reference ECGs: {names}." + self._not_told_apart_news()
                + self._not_judged_news() + self._negated_news())

    @property
    def reading(self) -> str:
        """The headline in a few words, for a table cell: the phrases that stand out, or why none is named."""
        if not self.rows:
            return "no phrase ranked (negated phrases are not read)" if self.negated else \
                "no phrase known to the model"
        if self.too_short_s is not None:
            return too_short_reading(self.too_short_s)
        if not self.has_reference:
            return "not judged (weights without reference ECGs)"
        return "; ".join(r.prompt for r in self.standing_out) or "no confident match"


def build_view(matches, typed: list[str] | None = None, too_short_s: float | None = None,
               score=None) -> RankingView:
    """The view of `matches` (mets_core's ranking); `typed`: the phrases in the order they were typed, the
    order the negated phrases and those not known to the model are listed in (the ranking's order means
    nothing for them); `too_short_s`: the ECG's length when it is too short for the model's reference
    percentiles (`short_length`), so that the headline says why nothing is judged; `score`: phrases -> their
    matches on the same ECG (`lambda phrases: model.rank(ecg, phrases)`), to score the statements one ECG rarely
    shows with a phrase that stands out (RankingView.unscored_rivals; "paced rhythm" and the bundle branch
    blocks), so that the headline says when they stand out too though nobody typed them."""
    rows = [to_row(m) for m in matches]
    place = {p: k for k, p in enumerate(typed or [])}
    as_typed = lambda r: place.get(r.prompt, len(place))    # noqa: E731
    negated = sorted((r for r in rows if r.negates is not None), key=as_typed)
    unknown = sorted((r for r in rows if r.known is False and r.negates is None), key=as_typed)
    ranked = [r for r in rows if r.known is not False and r.negates is None]
    has_reference = any(r.percentile is not None for r in rows)
    if has_reference:
        ranked.sort(key=lambda r: (-(r.percentile if r.percentile is not None else -1.0), -r.similarity))
    else:
        ranked.sort(key=lambda r: -r.similarity)
    view = RankingView(ranked, unknown, has_reference, negated, too_short_s)
    if score is not None and view.unscored_rivals:
        view.rivals = [to_row(m) for m in score(view.unscored_rivals)]
    return view


def short_length(model, ecg) -> float | None:
    """`ecg`'s length when `model` (a METS, or None) judges ECGs against reference ECGs but this one is too short
    for them (METS.too_short_for_reference), else None: build_view's `too_short_s`."""
    return ecg.duration if model is not None and model.too_short_for_reference(ecg) else None


# words before a ranked phrase that leave it the same statement: "normal sinus rhythm" is "sinus rhythm",
# "paroxysmal atrial fibrillation" is "atrial fibrillation" ("incomplete ..." or "non ..." are not)
SAME_STATEMENT_QUALIFIERS = ("normal", "paroxysmal", "persistent", "permanent")


def label_row(view: RankingView | None, label_text: str) -> Row | None:
    """The ranked row of one of the file's labels (as the phrase "Rank the file's own labels" ranks,
    file_labels.label_phrase: "Rhythm: Sinus bradycardia" by its value, "STEMI: septal" whole), when the label
    is also a phrase ranked against reference ECGs, or that phrase with a qualifier that leaves it the same
    statement (SAME_STATEMENT_QUALIFIERS); else None."""
    if view is None:
        return None
    text = " ".join(label_phrase(label_text).lower().split())
    for r in view.rows:
        prompt = " ".join(r.prompt.lower().split())
        if r.percentile_rank is not None and (text == prompt or any(
                text == f"{q} {prompt}" for q in SAME_STATEMENT_QUALIFIERS)):
            return r
    return None


def disagreement(view: RankingView | None, label_texts: list[str]) -> str:
    """When the model singles out none of the file's labels (`label_texts`: for a page of a long recording,
    the rhythms the file marks for that page) that were ranked, nor a phrase that means one of them (or that one
    of them means: "sinus bradycardia" for the label "sinus rhythm"), but another phrase: a sentence saying so,
    in plain words; else "" (a clinician should know the two differ)."""
    matched = [row for row in (label_row(view, text) for text in label_texts) if row is not None]
    crowned = view.standing_out if view is not None else []
    others = [r.prompt for r in crowned]
    # a label agrees when it stands out, or a phrase that stands out means it too, or the other way round
    # (knowledge.consistent: "sinus bradycardia" is a "sinus rhythm")
    if not matched or not others or any(r.stands_out or any(consistent(r.statement, c.statement) for c in crowned)
                                        for r in matched):
        return ""
    said = ", ".join(f"“{r.prompt}” ({''.join(r.percentile_rank)} pct)" for r in dict.fromkeys(matched))
    crowned = ", ".join(f"“{p}”" for p in others)
    return (f"The model and the file disagree: {said} not singled out, while {crowned} "
            f"{'stands' if len(others) == 1 else 'stand'} out. Check the tracing.")
