"""The long-record overview shows the beat labels of a record's own annotation file
(read by mets_core.readers.beat_labels)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard_fixtures import make_test_weights, markdown_html, new_app, plotly_values, upload


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_test_weights(tmp_path_factory.mktemp("weights"))


def test_overview_marks_and_counts_the_labels_of_an_uploaded_record(tmp_path, weights, monkeypatch):
    """A 60 s WFDB record uploaded with its .atr: the overview draws V marks and lists the counts."""
    import wfdb

    from mets_core.simulate import simulate_ecg

    ecg = simulate_ecg(duration_s=60, fs=250, heart_rate=60, leads=["II", "V5"], seed=1)
    wfdb.wrsamp("holter", fs=250, units=["mV", "mV"], sig_name=["II", "V5"],
                p_signal=ecg.signal[ecg.lead_mask].T.astype(np.float64), fmt=["16", "16"], write_dir=str(tmp_path))
    beat_s = np.arange(0.5, 59.5, 1.0)
    symbols = ["V" if 20 <= t < 25 else "N" for t in beat_s]
    wfdb.wrann("holter", "atr", (beat_s * 250).astype(int), symbol=symbols, write_dir=str(tmp_path))
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
