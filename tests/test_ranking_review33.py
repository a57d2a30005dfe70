"""Review 33 of the ranking side (AppTest, no browser, no model): a phrase set saved by Windows Notepad (UTF-8
with a byte order mark) loads; a phrase set with no phrase in it is refused and leaves the phrases typed in the
box; and the measurements' foot names no median beat, nor intervals measured on one, when none was built."""
from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from helpers import needs_data


# ------------------------------------------------------------------------------------------ the phrase box

def _phrase_box():
    import streamlit as st

    from dashboard.panels.prompts import prompt_controls
    st.session_state["ranked"] = prompt_controls()


TYPED = ["my first phrase", "my second phrase"]


def _typed_box() -> AppTest:
    at = AppTest.from_function(_phrase_box, default_timeout=30).run()
    at.text_area(key="prompts_text").input("\n".join(TYPED)).run()
    assert not at.exception, at.exception
    assert at.session_state["ranked"] == TYPED
    return at


def _load(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="prompts_load").set_value([(name, data, "application/json")]).run()
    assert not at.exception, at.exception
    return at


def test_a_phrase_set_saved_with_a_byte_order_mark_loads():
    """Notepad's "UTF-8 with BOM": before, the set was refused as "not a phrase set" and the box kept the old."""
    at = _load(_typed_box(), "notepad.json",
               b"\xef\xbb\xbf" + json.dumps(["atrial fibrillation", "sinus rhythm"]).encode("utf-8"))
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert at.session_state["ranked"] == ["atrial fibrillation", "sinus rhythm"]
    assert at.text_area(key="prompts_text").value.splitlines() == ["atrial fibrillation", "sinus rhythm"]


@pytest.mark.parametrize("content, why", [
    ({"format": "mets-prompt-set", "version": 1, "prompts": []}, ""),     # saved from an empty box
    ([], ""),
    (["...", "   "], "had no words"),                                        # lines without words
])
def test_a_phrase_set_with_no_phrase_is_refused_and_the_typed_phrases_stay(content, why):
    """Before, the box was emptied without a word and "custom" held nothing: the typed phrases were gone."""
    at = _load(_typed_box(), "empty.json", json.dumps(content).encode("utf-8"))
    said = " ".join(str(e.value) for e in at.error)
    assert "“empty.json” holds no phrase to rank" in said and "phrases in the box are kept" in said, said
    assert why in said
    assert at.session_state["ranked"] == TYPED
    assert at.text_area(key="prompts_text").value.splitlines() == TYPED
    # a real set loaded afterwards replaces them, and the message goes
    at = _load(at, "af.json", json.dumps(["atrial fibrillation"]).encode("utf-8"))
    assert at.session_state["ranked"] == ["atrial fibrillation"] and not at.error


# ------------------------------------------------------------------------------- the measurements' foot

def _measurements_of(path: str, start_s: float, end_s: float):
    import os

    from dashboard.panels.measurements import measurements_panel
    from mets_core import read_ecg
    from mets_core.measure import measure
    data = os.environ["METS_DATA_DIR"]
    measurements_panel(measure(read_ecg(f"{data}/{path}", start_s=start_s, end_s=end_s)))


def _foot(at: AppTest) -> str:
    html = next(str(md.value) for md in at.markdown if 'data-testid="mets-quality"' in str(md.value))
    return re.sub(r"<[^>]+>", " ", html.split("Signal quality per lead")[0])


@needs_data("ludb/data/1.hea")
def test_no_intervals_are_said_to_come_from_a_median_beat_that_was_not_built():
    """LUDB 1 from 1.0 to 4.5 s: 3 beats found in V2, too few whole ones for a median beat, so no QRS, QT or PR.
    Before, the foot said "intervals from the median of 3 beats over all good leads — check them on the median
    beats below", beside boxes saying "not measurable" and a median-beats panel saying there are none."""
    at = AppTest.from_function(_measurements_of, args=("ludb/data/1", 1.0, 4.5), default_timeout=60).run()
    assert not at.exception, at.exception
    html = next(str(md.value) for md in at.markdown if 'data-testid="mets-measurements"' in str(md.value))
    assert 'data-measure="QRS" data-shown="not measurable"' in html         # the stretch this test is about
    foot = _foot(at)
    assert "no median beat to measure the intervals on" in foot, foot
    assert "intervals from the median" not in foot and "check them on the median beats" not in foot, foot


@needs_data("ludb/data/1.hea")
def test_intervals_measured_on_a_median_beat_still_say_of_how_many_beats():
    at = AppTest.from_function(_measurements_of, args=("ludb/data/1", 0.0, 10.0), default_timeout=60).run()
    assert not at.exception, at.exception
    foot = _foot(at)
    assert re.search(r"intervals from the median of \d+ beats", foot), foot
    assert "check them on the median beats below" in foot, foot


def test_a_row_below_the_stands_out_line_never_reads_as_at_it():
    """At 89.6 the row read "90th pct" and "higher than 90% of reference ECGs" while it was not crowned and the
    headline said no phrase scores higher than 90%: a percentile below the line is shown below it."""
    from types import SimpleNamespace

    from dashboard.ranking import build_view
    view = build_view([SimpleNamespace(prompt="atrial fibrillation", similarity=0.3, probability=1.0, percentile=89.6,
                                       known=True, validation_auc=0.9)])
    row = view.rows[0]
    assert not row.stands_out
    assert "".join(row.percentile_rank) == "89th" and row.percentile_words == "higher than 89% of reference ECGs"


def test_a_text_search_without_words_says_so_instead_of_failing(app):
    """A search for "..." showed "Text search failed (ValueError: ...)", a programmer's message: it now says
    the text has no words and what to type."""
    from dashboard_fixtures import a_wfdb_upload, errors, upload
    upload(app, a_wfdb_upload())
    app.text_input(key="corpus_query").input("...").run()
    assert not errors(app), errors(app)
    assert any("has no words to search for" in str(i.value) for i in app.info)
