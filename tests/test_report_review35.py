"""The printed page, review 35 (each reproduced, each test fails on the code before):

- a lead left out for its gaps was named on the page in words of its own ("left out: II (23% of its samples
  missing)") beside the screen's ("II — left out: 23% of its samples missing"), found twice;
- the line under the heading (channels not drawn, samples missing) was cut to one line: for a record with a gap,
  "a pause or a rhythm there is not real" was cut to "a pause or a rhythm th…";
- labels of the file that did not fit were listed as "not printed: <a long label>…", the count of those after
  it lost;
- with no measurements or no ranking, their column was blank under its heading (read as "nothing found").
- a name or phrase in a script the font lacks (Chinese) printed empty boxes and logged each character.
"""
from __future__ import annotations

import re

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from mets_core.readers import read_ecg
from test_missing_samples import _gappy_csv
from test_report import LABELS_X_MM, RANKING_X_MM, _page_lines, _view

GRID_TOP_FROM_TOP_MM = 210.0 - 150.0     # the grid's top edge, from the page's top (where it is at its tallest)
PAGE_RIGHT_MM = 297.0 - 12.0
HEADINGS = ("Measurements (automated; verify on the tracing)", "What the file says",
            "Model ranking (similarity, not diagnosis)")


def _gappy():
    """12 leads, II left out for its gaps (23 % missing), V1 wholly missing, every lead missing 2.0-3.0 s."""
    return read_ecg([("gappy.csv", _gappy_csv())])


def _words(lines) -> str:
    return " ".join(" ".join(line.words for line in lines).split())


def _under_heading(lines, x_mm: float):
    """The lines of the column whose heading begins at `x_mm`, top to bottom, its heading left out."""
    heading = next(line for line in lines if line.words in HEADINGS and abs(line.x_mm - x_mm) < 0.5)
    return [line for line in lines if abs(line.x_mm - x_mm) < 0.5
            and heading.top_mm < line.top_mm < GRID_TOP_FROM_TOP_MM]


def test_a_lead_left_out_for_its_gaps_is_named_on_the_paper_in_the_screens_words():
    from dashboard.plotting import ecg_paper
    ecg = _gappy()
    screen = {a["text"].removeprefix("<i>").removesuffix("</i>") for a in ecg_paper(ecg).layout.annotations
              if "left out" in a["text"]}
    assert screen == {"II — left out: 23% of its samples missing",
                      "V1 — left out: 100% of its samples missing"}
    page = _words(_page_lines(ecg))
    for words in screen:
        assert words in page, (words, page)


def test_the_line_of_samples_missing_is_printed_whole_clear_of_the_columns():
    from dashboard.loading import channels_words
    ecg = _gappy()
    said = " ".join(channels_words(ecg.metadata).split())
    assert said.endswith("a pause or a rhythm there is not real.")
    lines = _page_lines(ecg, ranking=_view([f"finding number {k}" for k in range(30)], standing_out=2))
    channel_lines = [line for line in lines if line.italic and line.x_mm < 13 and line.top_mm < 30]
    assert " ".join(" ".join(line.words for line in channel_lines).split()) == said
    assert all(line.right_mm <= PAGE_RIGHT_MM for line in channel_lines)
    headings = [line for line in lines if line.words in HEADINGS]
    assert len(headings) == 3
    # baselines: the heading's capitals (9 pt, ~2.3 mm) clear of the channels line's descenders (~0.6 mm)
    assert max(line.top_mm for line in channel_lines) + 3.0 < min(h.top_mm for h in headings)
    for x in (12.0, LABELS_X_MM, RANKING_X_MM):      # each column still ends above the tracing
        column = _under_heading(lines, x)
        assert column and max(line.top_mm for line in column) < GRID_TOP_FROM_TOP_MM - 1.0


def test_labels_that_do_not_fit_are_counted_though_a_long_one_cannot_be_named():
    from mets_core.file_labels import FileLabel, FileLabels
    long = "Non-specific intraventricular conduction disturbance with a long free-text remark " * 5
    labels = FileLabels([FileLabel(f"label number {k}", "header text") for k in range(7)]
                        + [FileLabel(long.strip(), "header text")]
                        + [FileLabel(f"later label {k}", "header text") for k in range(6)])
    column = _under_heading(_page_lines(file_labels=labels), LABELS_X_MM)
    shown = [line.words for line in column if line.words.startswith("label number")]
    rest = _words(column[len(shown):])
    assert 3 <= len(shown) <= 7 and rest, rest
    named = re.findall(r"(?:label number|later label) \d+", rest)
    counted = re.search(r"(\d+) more", rest)
    assert counted, f"how many labels are not printed is not said: {rest!r}"
    assert len(shown) + len(named) + int(counted.group(1)) + ("Non-specific" in rest) == len(labels.labels)


def test_a_column_given_nothing_says_so():
    from mets_core.measure import Measurements
    lines = _page_lines()
    assert "not measured" in _words(_under_heading(lines, 12.0))
    assert "no phrase ranked" in _words(_under_heading(lines, RANKING_X_MM))
    measured = _page_lines(measurements=Measurements(heart_rate_bpm=72.0),
                           ranking=_view(["sinus rhythm"], standing_out=1))
    assert "not measured" not in _words(_under_heading(measured, 12.0))
    assert "HR 72 bpm" in _words(_under_heading(measured, 12.0))
    assert "no phrase ranked" not in _words(_under_heading(measured, RANKING_X_MM))


def test_the_grid_keeps_its_scale_when_the_columns_are_lowered():
    """A record with a gap (two lines of channels words): the tracing is still 25 mm/s, 10 mm/mV, 1 mm grid."""
    import numpy as np

    from dashboard.report import build_pdf
    from helpers import pdf_strokes
    mm = 72.0 / 25.4
    strokes = pdf_strokes(build_pdf(_gappy(), "gappy"))
    pulses = [p for p in strokes if len(p) == 6 and np.isclose(p[2, 0], p[1, 0])
              and np.isclose(np.ptp(p[:, 1]), 10 * mm, atol=0.01)]
    assert len(pulses) == 4 and all(np.isclose(p[4, 0] - p[1, 0], 5 * mm, atol=0.01) for p in pulses)
    vertical = [p for p in strokes if len(p) == 2 and np.isclose(p[0, 0], p[1, 0])]
    tallest = max(np.ptp(p[:, 1]) for p in vertical)
    xs = sorted({round(p[0, 0] / mm, 3) for p in vertical if np.isclose(np.ptp(p[:, 1]), tallest)})
    assert np.allclose(np.diff(xs), 1.0, atol=1e-3) and np.isclose(tallest / mm, 110.0)
    traces = [p for p in strokes if len(p) > 20]        # 25 mm/s: the rhythm strip, blank over 2.0-3.0 s, ends
    assert np.isclose(max(np.ptp(p[:, 0]) for p in traces) / mm, 7.0 * 25.0, atol=0.2)   # 7 s after the gap


def test_characters_the_font_lacks_are_replaced_and_never_named_in_the_log():
    """A file named in Chinese script (and a phrase typed in it): matplotlib's font has none of its characters; it
    printed empty boxes and warned on the server's log once per character, naming it ("Glyph 29579 (\\N{CJK
    UNIFIED IDEOGRAPH-738B}) missing"): patient data in a log. Now each is printed as U+FFFD, with no warning."""
    import html
    import warnings

    import matplotlib

    from dashboard.report import REPLACEMENT_CHARACTER, build_pdf
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdf = build_pdf(ecg, "王小明 ECG.csv", ranking=_view(["心房颤动", "sinus rhythm"]))
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            svg = html.unescape(build_pdf(ecg, "王小明 ECG.csv", ranking=_view(["心房颤动", "sinus rhythm"]),
                                          image_format="svg").decode())
    assert pdf.startswith(b"%PDF")
    assert not [str(w.message) for w in caught if "王" in str(w.message) or "Glyph" in str(w.message)]
    assert REPLACEMENT_CHARACTER * 3 + " ECG.csv" in svg          # the title: the name's characters stood in for
    assert REPLACEMENT_CHARACTER * 4 in svg and "sinus rhythm" in svg
    assert "王" not in svg
