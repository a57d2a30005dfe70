"""The reader's settings outlive a visit to another page (Streamlit's AppTest, driven as in
test_dashboard_apptest.py).

Streamlit forgets a widget's value at the end of a run that does not draw it. The Reader's settings (the
paper's layout, gain, speed and rhythm-strip lead, the reports to show, the text search, the phrase "why"
explains and its overlay, the median beats left open, a long recording's whole-recording switch) are drawn on
the Reader only, and Compare's (its arrangement, the pair chosen) on Compare only: a click or two on another
page put them back to their defaults, there and on the way back. Each case sets one on its page, runs another
page twice and comes back.

Left per visit on purpose, so not here: a file's header comments (they may identify the patient: shown again
only on a new request), the caliper box and the overview's click (gestures on a figure, whose effect, the page
open, is kept), Batch's row selection (were it kept, every return to Batch would open the Reader again) and the "Go to"
box (emptied after every use). The sidebar is drawn on every page (AppTest runs only the page after
`switch_page`, so it cannot show that)."""
from __future__ import annotations

import numpy as np
import pytest
from dashboard_fixtures import errors, go_to, hit_rows, markdown_html, paper_spec, synthetic_csv, upload
from helpers import csv_bytes

LONG_S, LONG_FS = 30, 125          # a recording of three 10 s pages


def long_recording_csv() -> bytes:
    """A 2-lead CSV with a time column (so it states its rate) of LONG_S seconds: a long recording, paged."""
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=LONG_S, sampling_rate=LONG_FS, heart_rate=70, random_state=3)
    return csv_bytes(["time", "II", "V5"], [np.arange(len(x)) / LONG_FS, x, 0.6 * x])


def paper_texts(app) -> str:
    return " ".join(a["text"] for a in paper_spec(app)["layout"]["annotations"])


def captions(app) -> str:
    return " ".join(str(c.value) for c in app.caption)


def choose(kind: str, key: str, value):
    """A setting made with the widget `key` (AppTest's `kind` of element), as a user makes it."""
    def made(app):
        getattr(app, kind)(key=key).set_value(value).run()
        return value
    return made


def the_last_option(kind: str, key: str):
    """The last of the widget's options (not its first value, so that falling back to it shows)."""
    def made(app):
        value = getattr(app, kind)(key=key).options[-1]
        getattr(app, kind)(key=key).set_value(value).run()
        return value
    return made


def open_median_beats(app):
    app.session_state["median_beats_open"] = True        # AppTest cannot click an expander open
    app.run()
    return True


def whole_recording_on(app):
    upload(app, [("long.csv", long_recording_csv())])
    app.toggle(key=whole_key(app)).set_value(True).run()
    return True


def whole_key(app) -> str:
    return next(t.key for t in app.toggle if t.key.startswith("whole_"))


def the_pair_reversed(app):
    first, second = app.selectbox(key="cmp_a").value, app.selectbox(key="cmp_b").value
    app.selectbox(key="cmp_a").set_value(second).run()
    app.selectbox(key="cmp_b").set_value(first).run()
    return second, first


# what each setting shows on its page once back (besides the widget's own value)
def twelve_rows(app, _):
    labels = [a["text"] for a in paper_spec(app)["layout"]["annotations"] if a["text"].startswith("<b>")]
    assert len(labels) == 12, labels


def gain_on_paper(app, gain):
    assert f"{gain} mm/mV" in paper_texts(app)


def speed_on_paper(app, speed):
    assert f"{speed} mm/s" in paper_texts(app)


def hits_listed(app, k):
    assert hit_rows(app) == k


def text_hits_listed(app, _):
    assert hit_rows(app, "text") > 0


def overlay_drawn(app, _):
    assert "Orange shading" in captions(app)


def median_beats_drawn(app, _):
    assert any(getattr(c, "key", None) == "median_beats" for c in app.get("plotly_chart"))


def whole_recording_described(app, _):
    assert "Whole recording, 0:00:00–0:00:30" in markdown_html(app)


def tracings_in_that_order(app, _):
    boxes = (app.selectbox(key="cmp_a"), app.selectbox(key="cmp_b"))
    chosen = [box.options[box.index].split(" · ")[0] for box in boxes]
    headings = [str(m.value) for m in app.markdown if " · " in str(m.value) and str(m.value).startswith("**")]
    assert [h.split("**")[1] for h in headings] == chosen, (headings, chosen)


# while away: what another page shows of the setting (Compare draws its papers at the Reader's scale)
def compare_scale(what: str):
    def shown(app, value):
        assert f"{value} {what}" in captions(app), captions(app)
    return shown


CASES = [
    # (its page, widget key (or how to find it), how it is set, what shows it on return, what shows it away)
    pytest.param("reader", "layout", choose("radio", "layout", "12×1"), twelve_rows, None, id="paper layout"),
    pytest.param("reader", "gain", choose("radio", "gain", 20), gain_on_paper, compare_scale("mm/mV"), id="gain"),
    pytest.param("reader", "speed", choose("radio", "speed", 50), speed_on_paper, compare_scale("mm/s"), id="speed"),
    pytest.param("reader", "rhythm_lead", choose("selectbox", "rhythm_lead", "V1"), None, None,
                 id="rhythm strip lead"),
    pytest.param("reader", "k_hits", choose("slider", "k_hits", 8), hits_listed, None, id="reports to show"),
    pytest.param("reader", "corpus_query", choose("text_input", "corpus_query", "left bundle branch block"),
                 text_hits_listed, None, id="corpus text search"),
    pytest.param("reader", "why_prompt", the_last_option("selectbox", "why_prompt"), None, None,
                 id="phrase explained"),
    pytest.param("reader", "why_overlay", choose("toggle", "why_overlay", True), overlay_drawn, None,
                 id="saliency overlay"),
    pytest.param("reader", "median_beats_open", open_median_beats, median_beats_drawn, None, id="median beats open"),
    pytest.param("reader", whole_key, whole_recording_on, whole_recording_described, None,
                 id="whole-recording summary"),
    pytest.param("compare", "cmp_arrangement", choose("radio", "cmp_arrangement", "one above the other"),
                 None, None, id="compare arrangement"),
    pytest.param("compare", ("cmp_a", "cmp_b"), the_pair_reversed, tracings_in_that_order, None,
                 id="compare pair chosen"),
]


def value_of(app, key):
    """What the widget `key` (or each of a tuple of keys) holds on the page shown."""
    if isinstance(key, tuple):
        return tuple(value_of(app, k) for k in key)
    if key == "median_beats_open":                      # an expander: no element of AppTest's to read
        return app.session_state[key]
    for kind in ("radio", "selectbox", "slider", "text_input", "toggle"):
        found = [w for w in getattr(app, kind) if w.key == key]
        if found:
            return found[0].value
    raise AssertionError(f"no widget {key!r} on the page")


@pytest.fixture
def state_warnings(monkeypatch, caplog):
    """Streamlit's warnings that a widget was given its first value twice (its own `value=`/`index=` and the
    Session State API, as a setting put back would be): logged once per process, so counted afresh here."""
    from streamlit.elements.lib import policies
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    caplog.set_level("WARNING", logger="streamlit")
    return lambda: [r.getMessage() for r in caplog.records if "Session State API" in r.getMessage()]


@pytest.mark.parametrize("page, key, made, shown_here, shown_away", CASES)
def test_a_setting_outlives_two_runs_of_another_page(app, state_warnings, page, key, made, shown_here,
                                                       shown_away):
    upload(app, [("first.csv", synthetic_csv())])
    upload(app, [("second.csv", synthetic_csv(fs=500))])
    if page != "reader":
        go_to(app, page)
    value = made(app)
    key = key(app) if callable(key) else key
    assert value_of(app, key) == value
    away = "compare" if page == "reader" else "reader"
    go_to(app, away)
    for _ in range(2):                 # two runs there (any click): Streamlit drops what they do not draw
        app.run()
        assert not app.exception and not errors(app), errors(app)
        if shown_away:
            shown_away(app, value)
    go_to(app, "batch")
    app.run()
    go_to(app, page)
    assert not app.exception and not errors(app), errors(app)
    assert value_of(app, key) == value, f"{key} fell back to {value_of(app, key)!r} (was set to {value!r})"
    if shown_here:
        shown_here(app, value)
    assert not state_warnings(), state_warnings()


def test_a_page_kept_open_of_a_long_recording_outlives_other_pages(app):
    """Which page of a long recording is open is not a widget's: kept already, and Compare compares that page."""
    upload(app, [("first.csv", synthetic_csv())])
    upload(app, [("long.csv", long_recording_csv())])
    next(b for b in app.button if b.label == "Next ▶").click().run()
    go_to(app, "compare")
    app.run()
    assert "0:00:10–0:00:20 of 0:00:30, the page open on the Reader" in markdown_html(app)
    go_to(app, "reader")
    assert 'data-start-s="10"' in markdown_html(app)
    assert "showing 0:00:10–0:00:20 of 0:00:30" in paper_texts(app)
