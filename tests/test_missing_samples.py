"""Missing samples (NaN in a CSV, a gap in an export): the reader's one rule fills short gaps by a straight line
and leaves out a lead missing too much. Drawn and measured as they were, a filled second in every lead looked
like a sinus arrest and read as a pause ("38 bpm, irregular" for a regular 46 bpm), and a lead left out for
its gaps was labelled "not recorded". Where the samples are missing is now kept, said, left blank on the paper
and warned of in the measurements."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from dashboard_fixtures import markdown_html, upload
from mets_core.ecg import STANDARD_LEADS
from mets_core.readers import filled_stretches, leads_left_out_for_gaps, read_ecg
from mets_core.simulate import simulate_ecg


def _gappy_csv(fs: int = 250, seconds: float = 10.0) -> bytes:
    """A simulated 12-lead ECG at 60 bpm as CSV: every lead missing from 2.0 to 3.0 s, lead II also every
    7th sample (23 % missing in all: left out), V1 wholly missing."""
    ecg = simulate_ecg(duration_s=seconds, fs=fs, heart_rate=60, seed=3)
    x = ecg.signal.astype(float).copy()
    x[:, int(2.0 * fs):int(3.0 * fs)] = np.nan
    x[STANDARD_LEADS.index("II"), ::7] = np.nan
    x[STANDARD_LEADS.index("V1"), :] = np.nan
    rows = ["time," + ",".join(STANDARD_LEADS)]
    rows += [f"{k / fs:.4f}," + ",".join("" if np.isnan(v) else f"{v:.4f}" for v in x[:, k]) for k in range(x.shape[1])]
    return "\n".join(rows).encode()


@pytest.fixture(scope="module")
def gappy():
    return read_ecg([("gappy.csv", _gappy_csv())])


def test_the_reader_keeps_where_it_filled_missing_samples_and_which_leads_it_left_out(gappy):
    assert filled_stretches(gappy.metadata) == [(2.0, 3.0)]
    left_out = leads_left_out_for_gaps(gappy.metadata)
    assert set(left_out) == {"II", "V1"} and left_out["V1"] == 1.0 and 0.2 < left_out["II"] < 0.3
    assert "II" not in gappy.leads and "I" in gappy.leads
    assert filled_stretches(gappy.crop(1.5, 6.0).metadata) == [(0.5, 1.5)]          # in the crop's own time
    assert filled_stretches(gappy.crop(4.0, 6.0).metadata) == []


def test_measuring_across_a_filled_stretch_is_warned_of(gappy):
    from mets_core.measure import measure
    assert any("samples missing at 2.0-3.0 s were filled by a straight line" in w for w in measure(gappy).warnings)
    assert not any("samples missing" in w for w in measure(gappy, start_s=4.0, seconds=6.0).warnings)


def test_the_paper_leaves_a_filled_stretch_blank_and_says_why_a_lead_is_absent(gappy):
    from dashboard.plotting import ecg_paper
    fig = ecg_paper(gappy, layout="12x1")
    row = next(t for t in fig.data if t.name == "I")
    times = np.array([c[0] for c in row.customdata], dtype=float)
    values = np.array([np.nan if v is None else v for v in row.y], dtype=float)
    assert np.isnan(values[(times > 2.05) & (times < 2.95)]).all()                 # a gap, not a flat line
    assert np.isfinite(values[(times > 3.1) & (times < 9.9)]).all()
    texts = [a.text for a in fig.layout.annotations]
    assert any("II — left out: 23% of its samples missing" in t for t in texts), texts
    assert any("V1 — left out: 100% of its samples missing" in t for t in texts)


def test_the_page_says_where_samples_are_missing(app):
    upload(app, [("gappy.csv", _gappy_csv())])
    html, captions = markdown_html(app), " ".join(str(c.value) for c in app.caption)
    assert "Samples missing at 0:00:02–0:00:03: left blank on the paper" in captions
    assert "II — left out: 23% of its samples missing" in captions
    assert "samples missing at 2.0-3.0 s were filled by a straight line" in html     # the measurements' caveat
