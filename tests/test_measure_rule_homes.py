"""Each rule has one home and every user reads it from there: the plausible interval ranges and the QT/RR
limit (mets_core.measure), the QRS search span (mets_core.delineate), the lead-quality words (measure, shown by
the dashboard), the page length and the standard paper scale (dashboard.plotting), the corpus's conditioning
defaults (mets_core.preprocess), the QTDB benchmark window (benchmarks/measure_validation.py), and the
corpus's heart-rate rule (mets_train.corpus.signals, kept as the shipped corpus made it).

The rules are changed here (monkeypatch) and their users are expected to follow: a copy would not."""
from __future__ import annotations

import re

import numpy as np
import pytest

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from helpers import benchmark, bigeminy_ecg
from mets_core import delineate, measure as measure_module
from mets_core.measure import PLAUSIBLE_MS, QUALITY_NOT_RECORDED, QUALITY_WORDS, measure, plausible_median
from mets_core.preprocess import PreprocessConfig
from mets_core.simulate import simulate_ecg


def _simulated():
    return simulate_ecg(10, 500, 70, leads=("I", "II", "V1", "V5", "aVF"), seed=1)


# ------------------------------------------------------------------------------ plausibility (measure)

def test_interval_notes_say_the_plausible_range_that_was_applied(monkeypatch):
    """The QRS, QT and PR notes name the range in PLAUSIBLE_MS, whatever it is (they said 40-250 etc.)."""
    monkeypatch.setitem(PLAUSIBLE_MS, "qrs", (300.0, 400.0))
    monkeypatch.setitem(PLAUSIBLE_MS, "qt", (800.0, 900.0))
    monkeypatch.setitem(PLAUSIBLE_MS, "pr", (500.0, 600.0))
    m = measure(_simulated())
    assert m.qrs_ms is None and re.search(r"QRS width \d+ ms is outside 300-400 ms: not reported", m.notes["qrs"])
    assert m.qt_ms is None and re.search(r"QT \d+ ms is outside 800-900 ms: not reported", m.notes["qt"])
    assert m.pr_ms is None and re.search(r"PR \d+ ms is outside 500-600 ms: not reported", m.notes["pr"])


def test_the_rate_follows_the_plausible_rr_range(monkeypatch):
    """The RR range decides both whether a rate is given (and the note's words) and which RR intervals the
    irregularity is measured on (the mask was a copy: >= 200 and <= 3000)."""
    ecg = _simulated()
    assert measure(ecg).heart_rate_bpm is not None
    monkeypatch.setitem(PLAUSIBLE_MS, "rr", (100.0, 150.0))
    m = measure(ecg)
    assert m.heart_rate_bpm is None and m.notes["rate"] == "RR intervals outside 100-150 ms"
    # a range that keeps the RR intervals gives the same rate and irregularity as the default one
    monkeypatch.setitem(PLAUSIBLE_MS, "rr", (100.0, 5000.0))
    wide = measure(ecg)
    monkeypatch.undo()
    default = measure(ecg)
    assert (wide.heart_rate_bpm, wide.rr_cv) == (default.heart_rate_bpm, default.rr_cv)


def test_plausible_median_keeps_only_the_plausible_values():
    rr = np.array([150.0, 800.0, 820.0, 3500.0, np.nan, 840.0])
    assert plausible_median(rr, "rr") == 820.0
    assert plausible_median(np.array([800.0, 100.0]), "rr") is None          # fewer than MIN_BEATS plausible
    lo, hi = PLAUSIBLE_MS["qrs"]
    assert plausible_median(np.array([lo, hi]), "qrs") == (lo + hi) / 2      # both ends included


def test_a_qt_too_close_to_the_rr_is_rejected_at_the_named_share(monkeypatch):
    """The QT/RR limit is QT_MAX_RR_SHARE (95 %; the docstring said 'not shorter than the RR')."""
    ecg = _simulated()
    m = measure(ecg)
    assert m.qt_ms is not None and m.qt_ms < measure_module.QT_MAX_RR_SHARE * m.rr_ms
    monkeypatch.setattr(measure_module, "QT_MAX_RR_SHARE", 0.5 * m.qt_ms / m.rr_ms)      # half the QT/RR
    rejected = measure(ecg)
    assert rejected.qt_ms is None and rejected.qtc_ms is None
    assert "not clearly shorter than the RR interval" in rejected.notes["qt"]
    assert f"{measure_module.QT_MAX_RR_SHARE:.0%} of it or more" in rejected.notes["qt"]


# ------------------------------------------------------------------------------ the corpus's rate rule

def test_the_corpus_rate_is_the_median_rr_of_one_lead_not_measures_rate():
    """mets_train.corpus.signals.measure_rate: 60 000 / the median plausible RR of the lead's own R peaks
    (measure's public clean_and_rate_lead and plausible_median). In bigeminy measure() calls the rhythm
    irregular and takes the mean RR; the corpus rule takes the median, which sits on the short coupling
    interval: the two differ, as measure_rate's docstring says (kept: the shipped corpus was made so)."""
    import neurokit2 as nk

    from mets_train.corpus.signals import measure_rate, rate_lead
    ecg, _, _ = bigeminy_ecg(coupling_s=0.4)
    x = ecg.signal[rate_lead(ecg)]
    _, peaks, quality, _ = measure_module.clean_and_rate_lead(nk, x, ecg.fs)
    assert quality != "Unacceptable"
    rr = plausible_median(np.diff(peaks) / ecg.fs * 1000.0, "rr")
    assert measure_rate(x, ecg.fs) == pytest.approx(60000.0 / rr)
    m = measure(ecg)
    assert m.rr_irregular and abs(measure_rate(x, ecg.fs) - m.heart_rate_bpm) > 20


# ------------------------------------------------------------------------------ QRS search span (delineate)

def test_the_qrs_search_span_is_the_named_one(monkeypatch):
    fs, r = 500.0, 200
    before, after = delineate.QRS_SEARCH_S
    assert delineate.qrs_search_span(r, 1000, fs) == (r - int(before * fs), r + int(after * fs))
    assert delineate.qrs_search_span(10, 50, fs) == (0, 50)                  # within the beat
    # the QRS limits are looked for there: a span too short for the QRS to settle finds none
    m = measure(_simulated())
    beats = {ld: np.asarray(v) for ld, v in m.median_beats.items()}
    r_index = int(round(m.median_r_s * m.median_fs))
    assert delineate.qrs_limits(beats, r_index, m.median_fs) is not None
    monkeypatch.setattr(delineate, "QRS_SEARCH_S", (0.004, 0.004))
    assert delineate.qrs_limits(beats, r_index, m.median_fs) is None


# ------------------------------------------------------------------------------ quality words (dashboard)

def _quality_panel():
    from dashboard.panels.measurements import measurements_panel
    from mets_core.measure import measure
    from mets_core.simulate import simulate_ecg
    measurements_panel(measure(simulate_ecg(10, 500, 70, leads=("I", "II", "V1", "V5", "aVF"), seed=1)))


def test_the_quality_chips_and_legend_use_measures_words():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_quality_panel, default_timeout=60).run()
    assert not at.exception
    html = next(str(md.value) for md in at.markdown if 'data-testid="mets-quality"' in str(md.value))
    legend = re.search(r'<span [^>]*data-testid="mets-quality-legend"[^>]*>(.*?)</span>', html).group(1)
    for word in QUALITY_WORDS.values():
        assert word in legend
    assert "absent" not in html
    assert f'title="V6: {QUALITY_WORDS[QUALITY_NOT_RECORDED]}"' in html           # a lead not recorded
    assert f'title="II: {QUALITY_WORDS["Excellent"]} (beat-to-beat similarity' in html


# ------------------------------------------------------------------------------ page and paper scale

def test_the_page_the_paper_and_the_printed_strip_share_one_length_and_scale():
    from dashboard import plotting, report, session
    from dashboard.panels import tracing
    assert session.PAGE_S == report.PAGE_S == plotting.PAGE_S
    assert tracing.SETTINGS["gain"] == plotting.STANDARD_GAIN and tracing.SETTINGS["speed"] == plotting.STANDARD_SPEED
    long = simulate_ecg(30, 250, 70, leads=("II", "V1"))
    p = plotting.paper(long, "recorded")
    assert p.page_s == plotting.PAGE_S and (p.gain, p.speed) == (plotting.STANDARD_GAIN, plotting.STANDARD_SPEED)
    assert f"Lead II, {plotting.PAGE_S:g} s" in plotting.thumbnail(long)
    footer = plotting.footer_layer(p, long)[1][0]["text"]
    assert f"{plotting.STANDARD_SPEED:g} mm/s   {plotting.STANDARD_GAIN:g} mm/mV" in footer and "showing" in footer


def test_the_retrieval_strip_is_one_corpus_window():
    from dashboard.panels import retrieval
    assert retrieval.THUMBNAIL_S == PreprocessConfig().window_s


# ------------------------------------------------------------------------------ corpus defaults

def test_the_corpus_defaults_are_the_model_inputs():
    from mets_train.corpus.build import BuildOptions
    cfg, opts = PreprocessConfig(), BuildOptions()
    assert (opts.fs, opts.window_s, opts.highpass_hz, opts.lowpass_hz) == (cfg.fs, cfg.window_s, cfg.highpass_hz,
                                                                           cfg.lowpass_hz)


# ------------------------------------------------------------------------------ the QTDB benchmark window

def _validation():
    return benchmark("measure_validation")


def test_the_qtdb_window_starts_before_its_first_beat_and_keeps_the_whole_beats():
    mv = _validation()
    fs = 250.0

    def beat(on, t_end=None):
        return {"peak": on + 20, "qrs_on": on, "qrs_off": on + 25, "p_on": None, "t_end": t_end}
    beats = [beat(1000, 1100), beat(1200, 1300), beat(3100, 3300), beat(3150), beat(3260)]
    start, end, inside = mv.qtdb_window(beats, fs)
    assert (start, end) == (1000 - int(mv.QTDB_LEAD_IN_S * fs), 1000 - int(mv.QTDB_LEAD_IN_S * fs)
                            + int(mv.QTDB_WINDOW_S * fs))
    # 3100's T wave ends after the window; 3150 has no T end and its QRS ends inside; 3260 starts past it
    assert [b["qrs_on"] for b in inside] == [1000, 1200, 3150]
    later = mv.qtdb_window(beats, fs, 3100)
    assert later[0] == 3100 - int(mv.QTDB_LEAD_IN_S * fs) and [b["qrs_on"] for b in later[2]] == [3100, 3150, 3260]
    assert mv.qtdb_window([beat(100)], fs)[0] == 0                           # not before the recording
