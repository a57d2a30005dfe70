"""The ECG paper and its printed page, review 33 (each reproduced, each test fails on the code before):

- the PDF printed the reader's straight line over missing samples as if it were recorded (a sloped line where
  the screen leaves a gap: a dropout read as a pause) and called a lead left out for its gaps "not recorded";
- the PDF drew every 2nd sample at 500 Hz and every 4th at 1 kHz: a pacing spike of one sample was not printed
  (the screen, min/max-decimated, shows it);
- the saliency shading of a row spilt half a row onto the rows above and below it (each row's band was given
  to Plotly as the centres of two bands), so a lead was shaded where the model looked at its neighbour;
- a long file name, the PDF's title, ran under the "printed ..." stamp and off the page.
"""
from __future__ import annotations

import numpy as np
import pytest

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from helpers import csv_bytes, pdf_strokes
from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.readers import filled_stretches, read_ecg
from mets_core.simulate import simulate_ecg

MM = 72.0 / 25.4                 # PDF points per millimetre
TRACE_START_MM = 12.0 + 10.0     # the grid's left edge on the page, then the calibration pulse's room


def _strip_traces(pdf: bytes) -> list[np.ndarray]:
    """The ECG lines of a record of few leads (one full-width strip each): strokes of many points."""
    return [points for points in (p / MM for p in pdf_strokes(pdf)) if len(points) > 20]


# ------------------------------------------------------------------------------------------ missing samples

def _holter_with_a_dropout() -> ECG:
    """A two-lead recording at 60 bpm, both leads missing from 4.0 to 4.8 s, read as an upload is."""
    fs = 250
    ecg = simulate_ecg(duration_s=10.0, fs=fs, heart_rate=60, leads=("II", "V1"), seed=5)
    cols = [ecg.signal[STANDARD_LEADS.index(lead)].astype(float) for lead in ("II", "V1")]
    for col in cols:
        col[int(4.0 * fs):int(4.8 * fs)] = np.nan
    return read_ecg([("dropout.csv", csv_bytes(["time", "II", "V1"], [np.arange(10 * fs) / fs, *cols]))])


def test_the_pdf_leaves_the_samples_the_reader_filled_blank_as_the_screen_does():
    """Before: each strip was one line from 4.0 to 4.8 s, straight through the dropout."""
    from dashboard.report import build_pdf
    ecg = _holter_with_a_dropout()
    assert filled_stretches(ecg.metadata) == [(4.0, 4.8)]
    traces = _strip_traces(build_pdf(ecg, "dropout"))
    assert traces, "no trace printed"
    for points in traces:
        t = (points[:, 0] - TRACE_START_MM) / 25.0                  # recording time of each point (25 mm/s)
        assert not ((t > 4.05) & (t < 4.75)).any(), "a point printed inside the missing stretch"
        assert not ((t[:-1] < 4.05) & (t[1:] > 4.75)).any(), "a line printed across the missing stretch"
    printed = np.concatenate([(p[:, 0] - TRACE_START_MM) / 25.0 for p in traces])
    assert printed.min() < 0.1 and printed.max() > 9.9 and ((printed > 4.8) & (printed < 5.3)).any()


def test_a_lead_left_out_for_its_gaps_is_printed_as_left_out_not_as_not_recorded():
    """The screen says "II — left out: 23% of its samples missing"; the PDF said "not recorded" (in the cell and
    in its scale line) of a lead the file has."""
    from test_missing_samples import _gappy_csv
    from test_report import _page_text
    gappy = read_ecg([("gappy.csv", _gappy_csv())])
    page = _page_text(gappy)
    assert "left out: 23% of its samples missing" in page and "left out: 100% of its samples missing" in page
    assert "not recorded" not in page, page


# ------------------------------------------------------------------------------------------ decimation

@pytest.mark.parametrize("fs", [500, 1000])
def test_a_one_sample_pacing_spike_is_printed(fs):
    """A 2 mV spike one sample wide every second (a pacemaker's, as a 500 Hz or 1 kHz machine records it), on
    samples a stride skipped: before, the printed strips spanned 0.2 mV, the spikes gone."""
    from dashboard import plotting
    from dashboard.report import build_pdf
    t = np.arange(10 * fs) / fs
    x = 0.1 * np.sin(2 * np.pi * 1.2 * t)
    spikes = [int((k + 0.3) * fs) | 1 for k in range(10)]             # odd samples
    x[spikes] += 2.0
    ecg = ECG.from_leads(np.array([x, x]), ["II", "V1"], fs)
    traces = _strip_traces(build_pdf(ecg, "paced"))
    assert len(traces) == 2
    for points in traces:
        assert np.ptp(points[:, 1]) / plotting.STANDARD_GAIN == pytest.approx(2.2, abs=0.05)   # mV, to scale
        tops = points[points[:, 1] > points[:, 1].min() + 1.5 * plotting.STANDARD_GAIN, 0]
        at = np.round((tops - TRACE_START_MM) / 25.0 * fs).astype(int)
        assert set(spikes) <= set(at.tolist()), "a spike not printed where it is"


# ------------------------------------------------------------------------------------------ saliency shading

def _band_edges(heatmap) -> tuple[float, float]:
    """The lowest and highest y the browser shades for a heatmap: Plotly reads n + 1 values of y for n rows of z
    as the bands' edges, n values as their centres (the outer bands reaching half a step past the first and
    last: plotly.js's make_bound_array)."""
    y, rows = [float(v) for v in heatmap.y], len(heatmap.z)
    if len(y) == rows + 1:
        return y[0], y[-1]
    return 1.5 * y[0] - 0.5 * y[1], 1.5 * y[-1] - 0.5 * y[-2]


@pytest.mark.parametrize("layout", ["3x4", "12x1"])
def test_the_saliency_shading_of_a_row_stays_in_that_row(layout):
    """Before: each row's shading reached half a row into the rows above and below, so where the model looked at
    lead II its neighbours were shaded too."""
    from types import SimpleNamespace

    from dashboard import plotting
    ecg = simulate_ecg(duration_s=10.0, fs=100, seed=1)
    g = np.zeros((12, 1000), np.float32)
    g[STANDARD_LEADS.index("II"), 300:320] = 1.0
    sal = SimpleNamespace(gradient_x_input=g, fs=100.0, lead_mask=np.ones(12, bool))
    fig = plotting.ecg_paper(ecg, layout=layout, saliency=sal)
    paper = plotting.paper(ecg, layout=layout)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == len(paper.rows)
    for r, band in enumerate(heat):
        low, high = _band_edges(band)
        assert (low, high) == pytest.approx((paper.bottom(r), paper.top(r))), f"row {r} ({paper.rows[r]})"


# ------------------------------------------------------------------------------------------ the title

@pytest.mark.parametrize("name", ["MUSE_20240305_093512_0012345678_Resting_12_Lead_ECG_ward7_bed12",
                                  "Holter export " * 12 + "final"])
def test_a_long_file_name_stays_left_of_the_printed_stamp(name, monkeypatch):
    """Before: the first name (70 characters) ran under "printed ...", the second off the page. Now the title
    takes a smaller type, and a name too long even then is ended with "…", its start kept."""
    import dashboard.report as report
    from test_report import _page_lines
    build = report.build_pdf
    monkeypatch.setattr(report, "build_pdf", lambda ecg, title, **kwargs: build(ecg, name, **kwargs))
    lines = _page_lines()
    title = next(line for line in lines if line.words.startswith("METS ECG report - "))
    stamp = next(line for line in lines if line.words.startswith("printed "))
    assert title.right_mm < stamp.x_mm - 2
    if len(name) < 100:
        assert title.words == f"METS ECG report - {name}"
    else:
        assert title.words.endswith("…") and name.startswith(title.words[len("METS ECG report - "):-1].rstrip())
