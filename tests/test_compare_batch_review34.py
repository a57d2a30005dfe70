"""Review of the Compare and Batch pages (stop 34), as a cardiologist used them in a browser, through Streamlit's
AppTest: what the page shows, never private names.

- Compare: a side that could not be measured (CinC 2017 A00041's first 10 s, rated too noisy) filled every row
  with "not measurable" and never said why, while the Reader and the Batch CSV give the reason.
- Compare: a z-scored array beside an mV record was captioned "Both on the same paper scale: 25 mm/s, 10 mm per SD
  (not mV) and 10 mm/mV": the heights are not on one scale, and the caption did not say which ECG is which.
- Batch: the "recorded" column was Streamlit's narrowest, so a date and time read "2000-05-01" with the time cut
  off."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from dashboard_fixtures import captions, errors, go_to, ludb_dir, table, upload, wfdb_upload
from helpers import data_dir_or_none

from mets_core.simulate import simulate_ecg


def beats(seed: int = 1):
    return simulate_ecg(duration_s=10, fs=500, heart_rate=70, seed=seed)


def npy_upload(name: str, ecg) -> list[tuple[str, bytes]]:
    buf = io.BytesIO()
    np.save(buf, ecg.signal.astype(np.float32))
    return [(name, buf.getvalue())]


# ------------------------------------------------------------------------------ Compare: why a side is blank

def test_compare_says_why_a_measurement_is_not_given(app):
    """CinC 2017 A00041 (a 30 s handheld lead I): its first 10 s, which Compare measures, hold a large artefact and
    every value is "not measurable"; LUDB record 1 beside it is measured whole."""
    data = data_dir_or_none("cinc2017/A00041.hea")
    ludb = ludb_dir()
    if data is None or ludb is None:
        pytest.skip("needs CinC 2017 and LUDB under METS_DATA_DIR")
    upload(app, [(f"1.{ext}", (ludb / f"1.{ext}").read_bytes()) for ext in ("hea", "dat")])
    upload(app, [(f"A00041.{ext}", (data / "cinc2017" / f"A00041.{ext}").read_bytes()) for ext in ("hea", "mat")])
    go_to(app, "compare")
    assert not errors(app), errors(app)
    rows = table(app, 0)
    assert (rows["A00041 "] == "not measurable").all(), rows        # every row blank on that side ...
    assert rows["1"].str.isdigit().sum() >= 7, rows
    said = [c for c in captions(app) if "A00041" in c and "not given" in c.lower()]
    assert said, captions(app)                                        # ... and the page says why, once per reason
    why = said[0]
    assert why.count("signal quality unacceptable") == 1, why
    assert "Heart rate" in why and "Frontal axis" in why, why
    assert why.count("A00041") == 1, why                              # one ECG's reasons together


def test_compare_names_each_side_when_the_amplitudes_are_not_both_mv(app, tmp_path):
    """A z-scored array (no unit: shown per SD) beside a WFDB record in mV: the caption must not say "the same
    paper scale" and must say which ECG has which height scale."""
    app.number_input(key="assumed_fs").set_value(500).run()
    upload(app, wfdb_upload(tmp_path, "in_mv", beats()))
    z = beats(seed=2)
    zscored = type(z).from_leads((z.signal - z.signal.mean(1, keepdims=True)) / z.signal.std(1, keepdims=True),
                                 list(z.leads), 500)
    upload(app, npy_upload("zscored.npy", zscored))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    scale = next(c for c in captions(app) if "mm/s" in c)
    assert "same paper scale" not in scale, scale
    # each ECG named with its own height scale, in the order of the page
    assert re.search(r"in_mv\W+at 10 mm/mV", scale), scale
    assert re.search(r"zscored\W+at 10 mm per SD \(not mV\)", scale), scale
    assert "heights do not compare" in scale, scale


# ------------------------------------------------------------------------------ Batch: the recording's date

def test_batch_shows_when_each_was_recorded_whole(app, tmp_path):
    import datetime as dt
    import json
    upload(app, wfdb_upload(tmp_path, "dated", beats(), recorded=dt.datetime(2000, 5, 1, 11, 5, 48)))
    upload(app, wfdb_upload(tmp_path, "other", beats(seed=2), recorded=dt.datetime(2001, 1, 2, 3, 4, 5)))
    go_to(app, "batch")
    assert not errors(app), errors(app)
    assert list(table(app, 0)["recorded"]) == ["2000-05-01 11:05:48", "2001-01-02 03:04:05"]
    recorded = json.loads(app.dataframe[0].proto.columns)["recorded"]     # the page's column settings
    # wide enough for the date and the time whole (Streamlit's narrowest, "small", cut the time off)
    assert recorded.get("width", 0) >= 7 * len("2000-05-01 11:05:48"), recorded
