"""dashboard.ranking: what the ranking headline and rows say, with and without the model's new fields."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.ranking import STANDS_OUT_PERCENTILE, build_view, reliability  # noqa: E402


@dataclass
class OldMatch:                    # the API before percentiles
    prompt: str
    similarity: float
    probability: float


@dataclass
class NewMatch(OldMatch):
    percentile: float | None = None
    known: bool = True
    validation_auc: float | None = None
    expansion: tuple = field(default_factory=tuple)
    statement: str | None = None


def test_unknown_phrases_are_listed_apart_and_never_ranked():
    view = build_view([NewMatch("asdfgh qwerty", 0.4, 0.5, percentile=99.0, known=False),
                       NewMatch("atrial fibrillation", 0.3, 0.3, percentile=95.0, validation_auc=0.95),
                       NewMatch("sinus rhythm", 0.2, 0.2, percentile=40.0, validation_auc=0.55)])
    assert [r.prompt for r in view.rows] == ["atrial fibrillation", "sinus rhythm"]
    assert [r.prompt for r in view.unknown] == ["asdfgh qwerty"]
    assert [r.prompt for r in view.standing_out] == ["atrial fibrillation"]
    assert "atrial fibrillation" in view.headline and "Stands out" in view.headline
    assert view.reading == "atrial fibrillation"


def test_no_confident_match_when_nothing_stands_out():
    view = build_view([NewMatch("ventricular bigeminy", 0.5, 0.7, percentile=60.0),
                       NewMatch("sinus rhythm", 0.1, 0.3, percentile=STANDS_OUT_PERCENTILE - 0.1)])
    assert not view.standing_out
    assert view.headline.startswith("No confident match")
    assert view.reading == "no confident match"              # a table cell crowns nothing either
    # ordered by percentile, not by the softmax
    assert [r.prompt for r in view.rows] == ["sinus rhythm", "ventricular bigeminy"]


def test_old_api_crowns_nothing_and_says_why():
    view = build_view([OldMatch("a", 0.1, 0.2), OldMatch("b", 0.3, 0.8)])
    assert [r.prompt for r in view.rows] == ["b", "a"] and not view.unknown
    assert not view.standing_out and not view.has_reference
    assert "no reference population" in view.headline
    assert view.reading.startswith("not judged")
    assert build_view([NewMatch("asdfgh", 0.1, 1.0, percentile=99.0, known=False)]).reading == \
        "no phrase known to the model"


def test_reliability_words():
    assert reliability(0.93)[1] == "validated: AUC 0.93"
    assert reliability(0.55)[:2] == ("weak", "weak: AUC 0.55")
    assert reliability(None)[1] == "not validated"
    assert reliability(0.75)[0] == "fair"


def test_expansion_is_kept():
    view = build_view([NewMatch("MI", 0.1, 1.0, percentile=50, expansion=("inferior myocardial infarction",
                                                                          "anterior myocardial infarction"))])
    assert view.rows[0].expansion == ("inferior myocardial infarction", "anterior myocardial infarction")


def test_percentiles_are_shown_with_their_english_ordinal():
    shown = {}
    for pct in (1.0, 2.2, 3.0, 11.0, 12.4, 13.0, 21.0, 62.0, 72.6, 99.6, 100.0):
        (row,) = build_view([NewMatch("sinus rhythm", 0.2, 1.0, percentile=pct, validation_auc=0.9)]).rows
        shown[pct] = "".join(row.percentile_rank)
    assert shown == {1.0: "1st", 2.2: "2nd", 3.0: "3rd", 11.0: "11th", 12.4: "12th", 13.0: "13th", 21.0: "21st",
                     62.0: "62nd", 72.6: "73rd", 99.6: "100th", 100.0: "100th"}
    (row,) = build_view([NewMatch("sinus rhythm", 0.2, 1.0, percentile=None)]).rows
    assert row.percentile_rank is None
