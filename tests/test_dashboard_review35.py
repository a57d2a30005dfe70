"""Review 35 of the dashboard, as a cardiologist meets it the first time with real records (LUDB, PTB-XL,
MIT-BIH, CinC 2017); each defect reproduced first, each test fails on the code before its fix:

- the rhythm-strip lead chosen (V1) was lost once a 1-lead ECG had been shown (its lead I took the box): the
  12-lead ECG opened again drew lead I under its 3×4;
- "Rank the file's own labels" (and loading a phrase set) replaced the phrases typed, and the one "custom"
  place then held the new set: the phrases typed were gone for good;
- the whole-recording summary of a recording shorter than a minute said its intervals came from "the first
  minute" and its slowest and fastest minute were the same "65 bpm at 0:00:00";
- with a data folder holding none of the similar reports' records: "drawn for 0 of these 5: the other records
  are not in your data folder" (there are no others);
- an ECG opened from the sidebar while Compare was shown was not compared (the boxes held on to the first pair
  they showed, though the user had chosen none: "until they choose, the two ECGs opened last");
- a measuring process that stopped while Compare waited took the page down (a traceback in place of the ranking).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from dashboard_fixtures import button, captions, errors, go_to, markdown_html, shown_title, table, upload
from test_engine_review34 import measuring_stopped, needs_proc


def _files(base: Path, *exts: str) -> list[tuple[str, bytes]]:
    return [(f"{base.name}.{ext}", base.with_name(f"{base.name}.{ext}").read_bytes()) for ext in exts]


def test_the_rhythm_strip_lead_chosen_comes_back_after_a_one_lead_ecg(app, data_dir):
    upload(app, _files(data_dir / "ludb" / "data" / "1", "hea", "dat"))
    app.selectbox(key="rhythm_lead").set_value("V1").run()
    upload(app, _files(data_dir / "cinc2017" / "A00004", "hea", "mat"))      # a handheld's lead I alone
    assert app.selectbox(key="rhythm_lead").value == "I"
    first = app.selectbox(key="current_select").options[0]
    app.selectbox(key="current_select").set_value(first).run()                # the 12-lead ECG again
    assert shown_title(app) == "1"
    assert app.selectbox(key="rhythm_lead").value == "V1"


def test_the_phrases_typed_can_be_put_back_after_the_files_labels_replaced_them(app, data_dir):
    upload(app, _files(data_dir / "ludb" / "data" / "1", "hea", "dat"))
    typed = "my own phrase\nleft bundle branch block"
    app.text_area(key="prompts_text").input(typed).run()
    app.selectbox(key="preset").set_value("Conduction").run()        # a preset shown, the typed kept as custom
    button(app, "Rank the file's own labels").click().run()
    assert "bradycardia" in app.text_area(key="prompts_text").value.lower()
    button(app, "Put back the 2 phrases you typed").click().run()
    assert not app.exception
    assert app.text_area(key="prompts_text").value == typed
    assert app.selectbox(key="preset").value == "custom"
    assert not [b for b in app.button if b.label.startswith("Put back")]      # done: no second offer


def test_the_phrases_typed_can_be_put_back_after_a_phrase_set_was_loaded(app, data_dir):
    upload(app, _files(data_dir / "ludb" / "data" / "1", "hea", "dat"))
    app.text_area(key="prompts_text").input("sinus rhythm\nmy own phrase").run()
    app.file_uploader(key="prompts_load").set_value(
        [("set.json", b'["atrial fibrillation", "atrial flutter", "paced rhythm"]', "application/json")]).run()
    assert app.text_area(key="prompts_text").value == "atrial fibrillation\natrial flutter\npaced rhythm"
    button(app, "Rank the file's own labels").click().run()         # another set in: what was typed stays offered
    button(app, "Put back the 2 phrases you typed").click().run()
    assert app.text_area(key="prompts_text").value == "sinus rhythm\nmy own phrase"


def test_the_whole_recording_summary_of_a_recording_shorter_than_a_minute(app, data_dir):
    upload(app, _files(data_dir / "cinc2017" / "A00004", "hea", "mat"))     # 30 s: paged, then summarised
    key = next(t.key for t in app.toggle if t.key.startswith("whole_"))
    app.toggle(key=key).set_value(True).run()
    assert not errors(app)
    html = markdown_html(app)
    assert "Measured on the whole recording, 0:00:00–0:00:30" in html
    assert "first minute" not in html and "slowest" not in html


def test_no_similar_reports_strip_in_the_data_folder_is_said_plainly(app, data_dir, tmp_path):
    upload(app, _files(data_dir / "ludb" / "data" / "1", "hea", "dat"))
    app.text_input(key="data_dir").input(str(tmp_path)).run()        # a folder, holding none of the records
    said = " ".join(captions(app))
    assert "drawn for 0 of these 5: their records are not in your data folder." in said
    assert "the other records" not in said


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory):
    from e2e_server import served_test_weights
    yield from served_test_weights(tmp_path_factory, "review35")


@pytest.mark.browser
def test_an_ecg_opened_on_compare_is_compared_until_a_pair_is_chosen(browser_server, data_dir):
    """Two ECGs open, Compare shown (the pair not chosen), a third opened from the sidebar there: the comparison
    is of the two opened last, as the page says, not of the first pair it showed (only a visit to another page
    brought the new one in)."""
    from e2e_server import browser, open_one_ecg, upload_files, wait_idle
    ludb = data_dir / "ludb" / "data"
    wait_ms = 120_000

    def pair(page) -> list[str]:
        return [page.get_by_role("combobox", name=label).input_value() for label in ("First ECG", "Second ECG")]

    with browser() as page:
        open_one_ecg(page, browser_server, [str(ludb / f"{n}.{ext}") for n in (1, 2) for ext in ("hea", "dat")])
        page.get_by_role("link", name="Compare").click()
        page.get_by_text("Ranking of the same phrases").wait_for(timeout=wait_ms)
        wait_idle(page, wait_ms)
        assert pair(page) == ["1", "2"]
        upload_files(page, [str(ludb / "3.hea"), str(ludb / "3.dat")])
        page.wait_for_timeout(500)
        wait_idle(page, wait_ms)
        page.get_by_text("Ranking of the same phrases").wait_for(timeout=wait_ms)
        assert pair(page) == ["2", "3"]


@needs_proc
def test_compare_goes_on_when_measuring_one_ecg_stops(app, data_dir, monkeypatch, tmp_path):
    """The measuring process stops answering while Compare waits for one ECG's measurements: that ECG's numbers
    are said to be missing, and why, and the rest of the comparison (the ranking of the same phrases) is there;
    it was "Something went wrong on this page (MeasuringStopped)" and nothing after the tracings."""
    from dashboard import engine as engines
    monkeypatch.setattr(engines, "STALLED_S", 2.0, raising=False)
    from dashboard_fixtures import wfdb_upload
    from mets_core.simulate import simulate_ecg
    # an ECG no other test measured (the server's measurements are kept), opened with LUDB 2, which the Reader
    # shows and so measures: the first is measured on Compare only
    fresh = wfdb_upload(tmp_path, "fresh", simulate_ecg(duration_s=10, fs=250, heart_rate=64, seed=3501))
    upload(app, fresh + _files(data_dir / "ludb" / "data" / "2", "hea", "dat"))
    with measuring_stopped():
        go_to(app, "compare")
        said = " ".join(errors(app))
        assert "Something went wrong" not in said and "MeasuringStopped" not in said, said
        assert "had not finished after 2 s" in said, said
        measured = table(app, 0)
        assert set(measured["fresh"]) == {"not measured"}
        assert "not measured" not in set(measured["2 "])            # the other ECG's numbers are there
        assert len(table(app, 1)) == 8                              # the ranking of the Rhythm preset


def test_compares_differences_are_those_of_the_scores_shown(shipped_app):
    """PTB-XL 00001 against CinC A00004 showed 30.6 and 25.4 beside a difference of −5.3 (of the unrounded
    percentiles): a reader subtracting the two cells must get the difference printed, on every row."""
    from dashboard_fixtures import open_demo
    from test_dashboard_negation import BRADYCARDIA, SINUS, type_prompts
    from mets_core.prompts import PRESETS
    open_demo(shipped_app, SINUS)
    open_demo(shipped_app, BRADYCARDIA)
    type_prompts(shipped_app, *[p for phrases in PRESETS.values() for p in phrases][:30])
    go_to(shipped_app, "compare")
    assert not errors(shipped_app), errors(shipped_app)
    ranked = shipped_app.dataframe[1].value
    first, second, difference = ranked.columns[2], ranked.columns[3], ranked.columns[4]
    assert len(ranked) >= 10 and difference.startswith("difference")
    digits = {"percentile": 1, "similarity": 3}
    for _, row in ranked.iterrows():
        assert row[difference] == pytest.approx(round(row[second] - row[first], digits[row["score"]]), abs=1e-9), row


def test_a_headline_of_more_than_three_phrases_counts_the_others():
    """Five phrases standing out: "“a”, “b”, “c” …." ended the headline in an ellipsis and a full stop, and did
    not say how many more stand out."""
    from types import SimpleNamespace

    from dashboard.ranking import build_view
    phrases = ["sinus rhythm", "left axis deviation", "atrial fibrillation", "ST elevation", "T wave inversion"]
    view = build_view([SimpleNamespace(prompt=p, similarity=0.3 - 0.01 * k, probability=0.2, percentile=99.0 - k,
                                       known=True, validation_auc=0.9) for k, p in enumerate(phrases)])
    assert "“sinus rhythm”, “left axis deviation”, “atrial fibrillation” and 2 more." in view.headline, view.headline
    assert "…" not in view.headline


def test_a_percentile_below_the_standing_out_line_is_never_shown_at_it_in_the_tables():
    """Compare's and Batch's tables show percentiles to one decimal: 89.96 read "90.0" on a row that does not stand
    out (the whole-number display already kept it at 89); the differences are of the cells shown."""
    from types import SimpleNamespace

    from dashboard.pages.compare import scores
    from mets_core.knowledge import STANDS_OUT_PERCENTILE, shown_percentile
    assert shown_percentile(89.96, 1) == 89.9 and shown_percentile(89.96) == 89
    assert shown_percentile(90.0, 1) == 90.0 and shown_percentile(95.55, 1) in (95.5, 95.6)
    row = lambda p: SimpleNamespace(percentile=p, similarity=0.3)      # noqa: E731
    kind, a, b, change = scores(row(89.96), row(92.04))
    assert (kind, a, b, change) == ("percentile", 89.9, 92.0, 2.1) and a < STANDS_OUT_PERCENTILE
