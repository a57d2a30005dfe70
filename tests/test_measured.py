"""dashboard.measured: the measurements every page shows, rounded and named in one place."""
from __future__ import annotations

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from dashboard.measured import FIELDS, column_name, measured_span, missing_words, shown_text, shown_value, why_missing
from mets_core.measure import Measurements


def test_values_are_shown_in_whole_units_and_missing_ones_as_none():
    m = Measurements(heart_rate_bpm=41.1, qt_ms=404.5, qtc_ms=381.5, axis_deg=-2.5, pr_ms=None,
                     qrs_ms=float("nan"))
    assert shown_value(m, "heart_rate_bpm") == 41 and shown_value(m, "qt_ms") == 404     # half to even
    assert shown_value(m, "qtc_ms") == 382
    assert shown_value(m, "pr_ms") is None and shown_value(m, "qrs_ms") is None
    assert shown_text(m, "axis_deg", "°") == "-2°" and shown_text(m, "heart_rate_bpm", "bpm") == "41 bpm"
    assert shown_text(m, "pr_ms", "ms") is None


def test_every_field_is_a_measurement_with_a_column_name():
    names = set(Measurements.__dataclass_fields__)
    for label, attribute, unit, note in FIELDS:
        assert attribute in names
        assert column_name(attribute) == f"{label} ({unit})"
    assert column_name("qtc_fridericia_ms") == "QTc Fridericia (ms)"


def test_the_stretch_measured_is_named():
    assert measured_span(Measurements(seconds_analysed=10.0, start_s=0.0), 10.0) == "whole ECG"
    assert measured_span(Measurements(seconds_analysed=60.0, start_s=0.0), 1805.6) == "0:00:00–0:01:00 of 0:30:05.6"
    assert measured_span(Measurements(seconds_analysed=10.0, start_s=30.0), 1805.6) == "0:00:30–0:00:40 of 0:30:05.6"


def test_a_value_not_given_is_said_not_applicable_or_not_measurable():
    m = Measurements(pr_ms=None, qt_ms=None, notes={"pr": "not applicable: no consistent P waves in an irregular "
                                                          "rhythm (as in atrial fibrillation)",
                                                    "qt": "no T end: the T waves are too low"})
    assert missing_words(m, "pr") == "not applicable" and missing_words(m, "qt") == "not measurable"
    assert missing_words(m, "axis") == "not measurable"


def test_why_a_value_is_not_applicable_is_said_once():
    """The PR box read "not applicable — no consistent P waves ... (as in atrial fibrillation): PR not applicable"."""
    m = Measurements(notes={"pr": "no consistent P waves in an irregular rhythm (as in atrial fibrillation): PR not "
                                  "applicable", "qrs": "QRS limits not found on the median beats"})
    assert missing_words(m, "pr") == "not applicable"
    assert why_missing(m, "pr") == "no consistent P waves in an irregular rhythm (as in atrial fibrillation)"
    assert why_missing(m, "qrs") == "QRS limits not found on the median beats" and why_missing(m, "qt") == ""
