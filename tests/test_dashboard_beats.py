"""The long-record overview shows the beat labels of a record's own annotation file
(read by mets_core.readers.beat_labels)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard_fixtures import markdown_html, new_app, plotly_values, upload


def test_overview_marks_and_counts_the_labels_of_an_uploaded_record(tmp_path, weights, monkeypatch):
    """A 60 s WFDB record uploaded with its .atr: the overview draws V marks and lists the counts."""
    import wfdb

    from mets_core.simulate import simulate_ecg

    ecg = simulate_ecg(duration_s=60, fs=250, heart_rate=60, leads=["II", "V5"], seed=1)
    wfdb.wrsamp("holter", fs=250, units=["mV", "mV"], sig_name=["II", "V5"],
                p_signal=ecg.signal[ecg.lead_mask].T.astype(np.float64), fmt=["16", "16"], write_dir=str(tmp_path))
    beat_s = np.arange(0.5, 59.5, 1.0)
    symbols = ["V" if 20 <= t < 25 else "N" for t in beat_s]
    # with the rhythm marks a Holter's annotations carry: ventricular bigeminy from 20 s, sinus again from 25 s
    rhythm_s, notes = [0.1, 20.0, 25.0], ["(N", "(B", "(N"]
    at = np.concatenate([beat_s, rhythm_s])
    order = np.argsort(at, kind="stable")
    wfdb.wrann("holter", "atr", (at[order] * 250).astype(int), symbol=list(np.array(symbols + ["+"] * 3)[order]),
               aux_note=list(np.array([""] * len(beat_s) + notes, dtype=object)[order]), write_dir=str(tmp_path))
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    monkeypatch.setenv("METS_THREADS", "0")
    app = new_app()
    upload(app, [(f"holter.{ext}", (tmp_path / f"holter.{ext}").read_bytes()) for ext in ("hea", "dat", "atr")])
    html = markdown_html(app)
    assert 'data-testid="mets-beat-labels" data-source="holter.atr"' in html
    assert 'data-class="V" data-count="5"' in html and 'data-class="N" data-count="54"' in html
    overview = next(c for c in app.get("plotly_chart") if str(getattr(c, "key", "")).startswith("hr_overview"))
    marks = [t for t in json.loads(overview.proto.spec)["data"] if t.get("name") == "V beats"]
    assert marks and all(19 <= x <= 26 for x in plotly_values(marks[0]["x"]))
    assert sum(plotly_values(marks[0]["customdata"])) == 5
    # "What the file says" lists the rhythms the annotation file marks, with their time
    assert "ventricular bigeminy" in html and "0:05 in 1 episode" in html and "0:55 in 2 episodes" in html
    assert "rhythm annotation (holter.atr)" in html
    # beside the overview, the rhythm the file marks for the page on screen: sinus on the first page ...
    assert "Rhythm the file marks for the page on screen: <b>normal sinus rhythm</b>" in html
    app.text_input(key=next(w.key for w in app.text_input if str(w.key).startswith("goto_"))).input("0:00:20").run()
    html = markdown_html(app)                                          # ... bigeminy, then sinus, from 20 s on
    assert "Rhythm the file marks for the page on screen: <b>ventricular bigeminy, normal sinus rhythm</b>" in html


def test_a_long_search_for_the_beats_does_not_hold_the_page(tmp_path, weights, monkeypatch):
    """A day-long recording takes ~10 s to find all its beats: the page is drawn without waiting for them, says
    the overview is coming, and the next run draws it."""
    import wfdb

    from dashboard import engine
    from mets_core.simulate import simulate_ecg

    ecg = simulate_ecg(duration_s=120, fs=250, heart_rate=70, leads=["II", "V5"], seed=2)
    wfdb.wrsamp("day", fs=250, units=["mV", "mV"], sig_name=["II", "V5"],
                p_signal=ecg.signal[ecg.lead_mask].T.astype(np.float64), fmt=["16", "16"], write_dir=str(tmp_path))
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    monkeypatch.setenv("METS_THREADS", "0")
    found, search = {"yet": False}, engine.heart_rate_trend

    def heart_rate_trend(key, ecg, wait_s=None):               # as if the search took longer than the page
        return search(key, ecg, wait_s) if found["yet"] or wait_s is None else None
    monkeypatch.setattr(engine, "heart_rate_trend", heart_rate_trend)
    app = new_app()
    upload(app, [(f"day.{ext}", (tmp_path / f"day.{ext}").read_bytes()) for ext in ("hea", "dat")])
    assert "Finding the beats of the whole recording (0:02:00)" in markdown_html(app)       # a live region
    assert not [c for c in app.get("plotly_chart") if str(getattr(c, "key", "")).startswith("hr_overview")]
    assert app.get("plotly_chart") and "mets-measurements" in markdown_html(app)     # the page itself is there
    found["yet"] = True                                                              # the search ends
    app.run()
    assert not app.exception
    assert [c for c in app.get("plotly_chart") if str(getattr(c, "key", "")).startswith("hr_overview")]
    assert "Finding the beats" not in markdown_html(app)
