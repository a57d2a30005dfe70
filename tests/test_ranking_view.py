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


def test_two_findings_one_ecg_rarely_shows_together_are_said_not_told_apart():
    def view(lbbb_pct, rbbb_pct):
        return build_view([NewMatch("LBBB", 0.5, 0.5, percentile=lbbb_pct, statement="left bundle branch block"),
                           NewMatch("complete RBBB", 0.4, 0.3, percentile=rbbb_pct,
                                    statement="right bundle branch block"),
                           NewMatch("conduction disturbance", 0.4, 0.2, percentile=97.0,
                                    statement="conduction disturbance")])
    both = view(98.0, 97.0).headline
    assert ("“LBBB” and “complete RBBB” both stand out, but one ECG rarely shows both: the model does not tell them "
            "apart here.") in both
    assert "tell them apart" not in view(98.0, 60.0).headline      # only one of them stands out
    sinus_and_af = build_view([NewMatch("atrial fibrillation", 0.5, 0.5, percentile=95.0,
                                        statement="atrial fibrillation"),
                               NewMatch("sinus rhythm", 0.4, 0.5, percentile=93.0, statement="sinus rhythm")])
    assert "“atrial fibrillation” and “sinus rhythm” both stand out" in sinus_and_af.headline
    # three of one group (LUDB 23, a complete RBBB: LBBB, paced rhythm and RBBB at the 92nd-94th percentile):
    # one sentence for the group, not one per pair
    three = build_view([NewMatch("LBBB", 0.5, 0.4, percentile=94.0, statement="left bundle branch block"),
                        NewMatch("paced rhythm", 0.3, 0.3, percentile=93.0, statement="paced rhythm"),
                        NewMatch("RBBB", 0.4, 0.3, percentile=92.0, statement="right bundle branch block"),
                        NewMatch("sinus rhythm", 0.1, 0.0, percentile=27.0, statement="sinus rhythm")]).headline
    assert three.count("tell them apart") == 1, three
    assert ("“LBBB”, “paced rhythm” and “RBBB” all stand out, but one ECG rarely shows more than one of them: "
            "the model does not tell them apart here. Check the tracing.") in three


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


def _file_labels_beside(percentiles: dict[str, float], page: tuple[float, float] | None = None) -> str:
    """The "What the file says" panel of an ECG whose file says atrial fibrillation and sinus rhythm (SNOMED
    CT), beside a ranking with these percentiles; its HTML. `page`: the 60 s recording's page on screen, its
    annotation file marking atrial fibrillation for 0-30 s and ventricular trigeminy for 30-60 s."""
    from streamlit.testing.v1 import AppTest

    def script():
        import sys
        from dataclasses import dataclass, field

        import numpy as np
        import streamlit as st

        sys.path.insert(0, st.session_state["repo"])
        from dashboard.panels.header import file_labels_panel
        from dashboard.ranking import build_view
        from dashboard.session import Record
        from mets_core.ecg import ECG
        from mets_core.readers.beat_labels import Beats

        @dataclass
        class Match:
            prompt: str
            similarity: float
            probability: float
            percentile: float | None = None
            known: bool = True
            validation_auc: float | None = 0.9
            expansion: tuple = field(default_factory=tuple)
            statement: str | None = None

        ecg = ECG.from_leads(np.zeros((1, 6000)), ["II"], 100.0, metadata={"comments": "Dx: 164889003,426783006"})
        beats = Beats(np.array([100]), ("N",), "rec.atr", rhythms=((0, "(AFIB"), (3000, "(T")))
        view = build_view([Match(p, 0.1, 0.1, percentile=v) for p, v in st.session_state["percentiles"].items()])
        file_labels_panel(Record("k", ecg, "upload", "test", beats=beats), rank_these=lambda phrases: None,
                          view=view, page=st.session_state["page"])

    at = AppTest.from_function(script)
    at.session_state["repo"] = str(Path(__file__).resolve().parent.parent)
    at.session_state["percentiles"] = percentiles
    at.session_state["page"] = page
    at.run()
    assert not at.exception, at.exception
    return " ".join(m.value for m in at.markdown)


def test_the_files_labels_carry_the_models_percentile_and_a_disagreement_is_said():
    """MIT-BIH 201's page marked atrial fibrillation by its file, without P waves, had "sinus arrhythmia" and
    "sinus rhythm" standing out and atrial fibrillation at the 66th percentile, and nothing on the page said
    that the model and the file disagree."""
    html = _file_labels_beside({"atrial fibrillation": 66.0, "sinus rhythm": 40.0, "sinus arrhythmia": 99.5})
    assert "atrial fibrillation" in html and "model: 66th pct" in html and "model: 40th pct" in html
    assert "The model and the file disagree" in html and "“sinus arrhythmia” stands out" in html
    agree = _file_labels_beside({"atrial fibrillation": 99.0, "sinus rhythm": 40.0, "sinus arrhythmia": 97.0})
    assert "model: 99th pct, stands out" in agree and "disagree" not in agree     # one of the file's stands out
    quiet = _file_labels_beside({"atrial fibrillation": 66.0, "ventricular bigeminy": 50.0})
    assert "model: 66th pct" in quiet and "disagree" not in quiet                 # nothing crowned instead


def test_a_file_label_matches_its_phrase_with_a_qualifier_that_keeps_the_statement():
    """MIT-BIH's "normal sinus rhythm" is the phrase "sinus rhythm"; CPSC's "persistent atrial fibrillation" is
    "atrial fibrillation"; "incomplete right bundle branch block" and "non atrial fibrillation" are not."""
    from dashboard.ranking import disagreement, label_row
    view = build_view([NewMatch(p, 0.1, 0.1, percentile=v, validation_auc=0.9) for p, v in
                       (("sinus rhythm", 97.0), ("atrial fibrillation", 40.0), ("right bundle branch block", 50.0),
                        ("sinus tachycardia", 99.0))])
    assert label_row(view, "normal sinus rhythm").prompt == "sinus rhythm"
    assert label_row(view, "Rhythm: Normal  sinus rhythm").prompt == "sinus rhythm"
    assert label_row(view, "persistent atrial fibrillation").prompt == "atrial fibrillation"
    assert label_row(view, "incomplete right bundle branch block") is None
    assert label_row(view, "non atrial fibrillation") is None
    assert disagreement(view, ["normal sinus rhythm"]) == ""                     # it stands out: they agree
    said = disagreement(view, ["paroxysmal atrial fibrillation"])
    assert said.startswith("The model and the file disagree: “atrial fibrillation” (40th pct) not singled out")


def test_on_a_page_of_a_long_recording_the_ranking_is_held_against_the_rhythm_the_file_marks_there():
    """MIT-BIH 201 at 0:12:00, marked ventricular trigeminy by its file: the page said the model and the file
    disagree because atrial fibrillation (marked elsewhere in the recording) was not singled out."""
    percentiles = {"atrial fibrillation": 40.0, "sinus bradycardia": 98.0}
    assert "disagree" not in _file_labels_beside(percentiles, page=(40.0, 50.0))      # trigeminy there
    assert "The model and the file disagree" in _file_labels_beside(percentiles, page=(10.0, 20.0))   # AF there
    assert "The model and the file disagree" in _file_labels_beside(percentiles)       # the whole recording


def test_phrases_the_model_does_not_know_are_listed_in_the_order_typed():
    """They were listed in the ranking's order, which means nothing for them ("phrase number 44, 36, 46…")."""
    typed = [f"phrase number {k}" for k in range(1, 6)]
    matches = [NewMatch(p, 0.1 * k, 0.1, percentile=10.0 * k, known=False) for k, p in enumerate(typed[::-1])]
    assert [r.prompt for r in build_view(matches, typed).unknown] == typed
