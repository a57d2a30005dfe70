"""Review 34 of "similar reports", "why" and the model card (each reproduced first; each test fails on the code
before it):

- a PTB-XL ECG uploaded as its 100 Hz file (00001_lr) was not said to be its own hit when the data folder holds
  PTB-XL's 500 Hz file too (the hit 'ptbxl/1' was looked up as 00001_hr, whose samples differ);
- a Holter page's hit from another stretch of the same recording was called "this very recording (the model
  trained on it)" and "its report was found again": it is the report of another page;
- an ECG counted twice in a report's "and N more strips" when its PTB-XL table report and its corpus window
  have the same text (one source id, 'ptbxl/7:0');
- "why" labelled the last second of an ECG shorter than a whole number of seconds past its end (2.5 s: 2-3 s);
- the model card left the ECG encoder out (its "full configuration" too), which `mets info` gives.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard_fixtures import REPO, go_to, hits, markdown_html, new_app, plotly_values, synthetic_csv, upload
from helpers import needs_data

# the test index: a few corpus reports with the source ids the shipped index uses (database/record:start_s)
CORPUS = [("sinus rhythm. low limb lead voltage.", "ptbxl/1:0"),
          ("afib. a single PVC. poor signal quality.", "mitdb/203:1290"),
          ("sinus bradycardia. otherwise normal ecg.", "ptbxl/2:0"),
          ("atrial flutter with 2:1 conduction.", "ludb/5:0"),
          ("sinus rhythm. right bundle branch block.", "ludb/7:0")]


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A random-init checkpoint whose report index is CORPUS (fewer reports than the 20 a reader can ask for)."""
    from mets_core import METS, ReportIndex
    folder = tmp_path_factory.mktemp("weights34")
    METS.random_init(seed=0).save_pretrained(folder, training={"note": "random init for tests"})
    model = METS.from_pretrained(folder)
    ReportIndex.build(model, [r for r, _ in CORPUS], [i for _, i in CORPUS]).save(folder / "index")
    return folder


@pytest.fixture
def app(weights, monkeypatch):
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    monkeypatch.setenv("METS_THREADS", "0")
    return new_app()


def _all_hits(at):
    at.slider(key="k_hits").set_value(20).run()
    return hits(at)


def _hit(at, database: str, record: str) -> str:
    return next(h for h in _all_hits(at) if h.split()[1:3] == [database, record])


def _captions(at) -> str:
    return " ".join(str(c.value) for c in at.caption)


@needs_data("ptbxl/records100/00000/00001_lr.hea")
def test_a_ptbxl_ecg_is_its_own_hit_when_the_folder_holds_its_500_hz_file_too(app, tmp_path):
    """A reader with all of PTB-XL has 00001_lr and 00001_hr; uploading the 100 Hz one, its hit 'ptbxl/1' is it."""
    import wfdb
    from scipy.signal import resample_poly

    from helpers import data_dir_or_none
    source = data_dir_or_none() / "ptbxl" / "records100" / "00000"
    lr = tmp_path / "ptbxl" / "records100" / "00000"
    hr = tmp_path / "ptbxl" / "records500" / "00000"
    lr.mkdir(parents=True)
    hr.mkdir(parents=True)
    files = [(f"00001_lr.{ext}", (source / f"00001_lr.{ext}").read_bytes()) for ext in ("hea", "dat")]
    for name, data in files:
        (lr / name).write_bytes(data)
    record = wfdb.rdrecord(str(lr / "00001_lr"))
    wfdb.wrsamp("00001_hr", fs=500, units=record.units, sig_name=record.sig_name, fmt=["16"] * record.n_sig,
                p_signal=resample_poly(record.p_signal, 5, 1, axis=0), write_dir=str(hr))
    app.text_input(key="data_dir").input(str(tmp_path)).run()
    upload(app, files)
    assert not app.exception and not app.error, [str(e.value) for e in app.error]
    own = _hit(app, "ptbxl", "1")
    assert "this very recording" in own, own
    assert sum("this very recording" in h for h in hits(app)) == 1       # its own report, and no other
    assert "1 of these is from this very recording" in _captions(app)


@needs_data("mitdb/203.hea")
def test_a_holter_page_hit_from_another_stretch_of_it_is_said_to_be_another_stretch(app):
    """The page on screen is 0:00-0:10 of MIT-BIH 203; its hit 'mitdb/203:1290' is the report of 0:21:30."""
    from helpers import data_dir_or_none
    mitdb = data_dir_or_none() / "mitdb"
    app.text_input(key="data_dir").input(str(mitdb.parent)).run()
    upload(app, [(f"203.{ext}", (mitdb / f"203.{ext}").read_bytes()) for ext in ("hea", "dat")])
    assert not app.exception and not app.error, [str(e.value) for e in app.error]
    other = _hit(app, "mitdb", "203")
    assert "203 at 0:21:30" in other and "another stretch of this very recording" in other, other
    said = _captions(app)
    assert "is the report of another stretch of this recording than the one on screen" in said, said
    assert "from this very recording: its own report" not in said          # not this page's report
    assert "model trained on it" not in markdown_html(app)                 # the index cannot say it did

    # "why" of this 2-lead page: its two leads, its ten seconds
    app.text_area(key="prompts_text").input("atrial fibrillation\nsinus rhythm").run()
    next(b for b in app.button if b.label == "Explain this score").click().run()
    assert not app.exception and not app.error, [str(e.value) for e in app.error]
    leads, seconds = _bar_labels(app, "why_leads"), _bar_labels(app, "why_secs")
    assert leads == ["II", "V1"], leads
    assert seconds[0] == "0:00:00–0:00:01" and seconds[-1] == "0:00:09–0:00:10" and len(seconds) == 10, seconds


def _bar_labels(at, key: str) -> list[str]:
    import json
    chart = next(c for c in at.get("plotly_chart") if getattr(c, "key", None) == key)
    return [str(x) for x in plotly_values(json.loads(chart.proto.spec)["data"][0]["x"])]


def test_why_labels_the_last_second_of_a_short_ecg_where_it_ends(app):
    upload(app, [("short.csv", synthetic_csv(seconds=2.5))])
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation").run()
    next(b for b in app.button if b.label == "Explain this score").click().run()
    assert not app.exception and not app.error, [str(e.value) for e in app.error]
    assert _bar_labels(app, "why_secs") == ["0:00:00–0:00:01", "0:00:01–0:00:02", "0:00:02–0:00:02.5"]


def test_an_ecg_whose_table_report_and_corpus_window_say_the_same_counts_once(weights):
    """PTB-XL ECG 7's table report and its corpus window share the id 'ptbxl/7:0': one ECG, not "1 more strip"."""
    from mets_core import METS, ReportIndex
    model = METS.from_pretrained(weights)
    text = "sinus rhythm. left axis. t abnormal, probably inferior myocardial damage."
    index = ReportIndex.build(model, [text, "atrial fibrillation.", text, text],
                              ["ptbxl/7:0", "ptbxl/8:0", "ptbxl/7:0", "ptbxl/9:0"])
    counts = {h.source_id: h.n_ecgs for h in index.search(text, k=2)}
    assert counts == {"ptbxl/7:0": 2, "ptbxl/8:0": 1}, counts


def test_the_model_card_gives_the_ecg_encoder_and_input_as_mets_info_does(app, weights):
    info = subprocess.run([sys.executable, "-m", "mets_core.cli", "info", "--model", str(weights)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    encoder = re.search(r"^ECG encoder\s+(.*?\)),", info.stdout, re.M).group(1)   # "resnet1d18 (2-2-2-2 blocks, ...)"
    window = re.search(r"^input\s+(.*? Hz \(stride [^)]*\)), band-pass ([\d.]+-[\d.]+ Hz)", info.stdout, re.M)
    go_to(app, "model_card")
    html = markdown_html(app)
    glance = re.search(r'<table class="glance">.*?</table>', html, re.S).group(0)
    assert f"<th>ECG encoder</th><td>{encoder}</td>" in glance, glance
    assert window.group(1) in glance and window.group(2) in glance and "z-scored per lead" in glance, glance
    config = re.search(r'<table class="config".*?</table>', html, re.S).group(0)
    assert '<th scope="row">model.encoder</th><td>resnet1d18</td>' in config   # the "full" configuration
    assert np.isfinite(float(re.search(r"<th>Temperature</th><td>([\d.]+)</td>", glance).group(1)))
