"""A small, honest test checkpoint for the dashboard tests: a random-init METS (saved with
save_pretrained, so loading goes through the real from_pretrained path) plus a report index built with it.

Until the trained default weights land in weights/, the dashboard tests point $METS_WEIGHTS here. The
index's reports are LUDB's own diagnoses (source ids 'ludb/<record>', so thumbnails can be found in
$METS_DATA_DIR) when LUDB is available, else a fixed list of typical report sentences ('demo/<n>').

Also the helpers that drive the app in AppTest as a user does (drop files on the uploader, open a demo, go to
a page, press a button by its label) and read what it renders (the ranked rows, hits, the record's title,
the open ECGs, the paper figure, error messages)."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from helpers import data_dir_or_none

REPO = Path(__file__).resolve().parent.parent

FALLBACK_REPORTS = [
    "sinus rhythm. normal ECG.",
    "sinus bradycardia. otherwise normal ECG.",
    "sinus tachycardia. non-specific ST-T changes.",
    "atrial fibrillation with rapid ventricular response.",
    "atrial flutter with 2:1 conduction.",
    "sinus rhythm. left ventricular hypertrophy with repolarisation abnormality.",
    "sinus rhythm. right bundle branch block.",
    "sinus rhythm. complete left bundle branch block.",
    "sinus rhythm. inferior myocardial infarction, age undetermined.",
    "sinus rhythm. anteroseptal myocardial infarction, probably old.",
    "sinus rhythm. first degree AV block.",
    "sinus rhythm with premature ventricular contractions.",
    "sinus rhythm. left anterior fascicular block.",
    "paced rhythm.",
    "sinus rhythm. ST depression in lateral leads, consider ischaemia.",
    "sinus arrhythmia. borderline ECG.",
]


def ludb_dir() -> Path | None:
    data = data_dir_or_none("ludb/data/1.hea")
    return data / "ludb" / "data" if data else None


def corpus(n_ludb: int = 24) -> tuple[list[str], list[str]]:
    ludb = ludb_dir()
    if ludb is None:
        return list(FALLBACK_REPORTS), [f"demo/{i}" for i in range(1, len(FALLBACK_REPORTS) + 1)]
    import wfdb
    reports, ids = [], []
    for i in range(1, n_ludb + 1):
        header = wfdb.rdheader(str(ludb / str(i)))
        lines = [c.strip() for c in header.comments if c.strip() and not c.strip().startswith("<")]
        reports.append(" ".join(lines) or "no diagnosis given")
        ids.append(f"ludb/{i}")
    return reports, ids


def make_test_weights(folder: Path, seed: int = 0) -> Path:
    """Write a random-init checkpoint + index/ into `folder` (created). Returns the folder."""
    from mets_core import METS, ReportIndex
    folder = Path(folder)
    model = METS.random_init(seed=seed)
    model.save_pretrained(folder, training={"note": "random init for dashboard tests: scores are meaningless"})
    model = METS.from_pretrained(folder)
    reports, ids = corpus()
    # the first text twice (a real corpus has texts many ECGs share): its hit says "and 1 more ECG"
    ReportIndex.build(model, reports + reports[:1], ids + ["demo/copy"]).save(folder / "index")
    (folder / "MODEL_CARD.md").write_text(
        "# Test checkpoint\n\nRandom initialisation, for tests only. Research use, not a medical device.\n",
        encoding="utf-8")
    return folder


def synthetic_csv(seconds: float = 10.0, fs: int = 250) -> bytes:
    """A 12-lead CSV with a time column (so it states its rate): the dashboard's synthetic demo ECG."""
    from dashboard.demo import DEMOS, make_demo
    ecg = make_demo(next(iter(DEMOS)))
    step = int(round(ecg.fs / fs))
    x = ecg.signal[:, : int(seconds * ecg.fs): step]
    t = np.arange(x.shape[1]) / fs
    lines = ["time," + ",".join(ecg.leads)]
    lines += [f"{t[k]:.4f}," + ",".join(f"{v:.4f}" for v in x[:, k]) for k in range(x.shape[1])]
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------- driving the app in AppTest (no browser)

APP = str(REPO / "dashboard" / "app.py")
FIRST_RUN_TIMEOUT = 180     # the first run loads torch, the model and the text encoder
RUN_TIMEOUT = 60


class Dashboard(AppTest):
    """AppTest as a browser drives the app. Streamlit 1.67's AppTest drops every element of the navigation
    frame (sidebar, messages) from a rerun that names the page it is on, which a browser never does; on the
    default page, rerun it the way the first load runs it (on a page named by switch_page, the page's own
    elements are all there is to check)."""

    def _run(self, widget_state=None, timeout=None):     # every run: AppTest.run and widget.run() both
        if not self._page_hash:
            self._finished_page_script_hash = ""
        return super()._run(widget_state, timeout)


def new_app() -> Dashboard:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.__class__ = Dashboard                     # from_file builds a plain AppTest
    at.run(timeout=FIRST_RUN_TIMEOUT)
    assert not at.exception
    return at


def a_wfdb_upload() -> list[tuple[str, bytes]]:
    """LUDB record 1 as the browser would send it (.hea + .dat), or a synthetic CSV without data."""
    ludb = ludb_dir()
    if ludb is None:
        return [("synthetic.csv", synthetic_csv())]
    return [("1.hea", (ludb / "1.hea").read_bytes()), ("1.dat", (ludb / "1.dat").read_bytes())]


def upload(at, files):
    """Drop `files` [(name, bytes)] on the sidebar's uploader."""
    at.file_uploader(key="uploader").set_value([(n, b, "application/octet-stream") for n, b in files]).run()
    assert not at.exception, at.exception
    return at


def open_demo(at, title: str | None = None):
    from dashboard.demo import DEMOS
    at.selectbox(key="demo_choice").set_value(title or next(iter(DEMOS)))
    at.button(key="demo_open").click().run()
    assert not at.exception, at.exception
    return at


def go_to(at, page: str):
    """A page of the navigation: "reader", "compare", "batch" or "model_card"."""
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def markdown_html(at) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def ranking(at) -> list[dict]:
    """The ranked rows as rendered, in page order: prompt, similarity, probability, percentile."""
    rows = re.findall(r'<div [^>]*data-testid="mets-rank-row"[^>]*>', markdown_html(at))
    attr = lambda row, name: re.search(fr'data-{name}="([^"]*)"', row).group(1)  # noqa: E731
    return [{"prompt": attr(r, "prompt"), "similarity": float(attr(r, "similarity")),
             "probability": float(attr(r, "probability"))} for r in rows]


def rank_rows(at) -> int:
    return len(ranking(at))


def hit_rows(at, kind="ecg") -> int:
    return markdown_html(at).count(f'data-testid="mets-hit" data-kind="{kind}"')


def tagged(at, testid: str) -> list[tuple[dict, str]]:
    """(attributes, inner text with spaces collapsed) of every element of the page's markdown with this
    data-testid, in page order."""
    from streamlit_protocol import tagged_elements
    return [(attrs, text) for m in at.markdown for tid, attrs, text in tagged_elements(str(m.value)) if tid == testid]


def hits(at, kind="ecg") -> list[str]:
    """The text of each similar-report hit of this kind ("ecg": the ECG's own list, "text": the text search),
    in rank order, each element's text apart: its similarity, database, record (and where in it), how many
    more strips share it, then the report (and, in the ECG's list, its strip's words)."""
    from html import unescape
    out = []
    for m in at.markdown:
        for hit in re.split(r'(?=<div [^>]*data-testid="mets-hit")', str(m.value))[1:]:
            if f'data-kind="{kind}"' in hit.split(">", 1)[0]:
                out.append(" ".join(unescape(re.sub(r"<[^>]*>", " ", hit)).split()))
    return out


def shown_title(at) -> str:
    titles = tagged(at, "mets-record-title")
    return titles[0][1] if titles else ""


def loaded(at) -> list[str]:
    """The ECGs the sidebar lists as open."""
    try:
        return list(at.selectbox(key="current_select").options)
    except KeyError:
        return []


def plotly_values(v) -> list:
    """A data array of a Plotly spec as a list: plain JSON lists as they are, NumPy arrays (which Plotly
    writes as base64 `{"dtype", "bdata"}`) decoded."""
    if isinstance(v, dict) and "bdata" in v:
        import base64
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]).newbyteorder("<")).tolist()
    return list(v)


def paper_spec(at) -> dict:
    """The ECG paper figure (other charts: heart-rate overview, median beats, explanations)."""
    chart = next(c for c in at.get("plotly_chart") if getattr(c, "key", None) == "paper")
    return json.loads(chart.proto.spec)


def errors(at) -> list[str]:
    return [str(e.value) for e in at.error]


def downloaded_csv(monkeypatch) -> list:
    """What the Batch page's "Download CSV" would hand over: the bytes given to st.download_button, as a
    table (filled on each run of the page)."""
    import io

    import pandas as pd
    import streamlit as st
    given, real = [], st.download_button

    def keep(label, data, *args, **kwargs):
        if kwargs.get("file_name", "").endswith(".csv"):
            given.append(pd.read_csv(io.BytesIO(data), keep_default_na=False))
        return real(label, data, *args, **kwargs)
    monkeypatch.setattr(st, "download_button", keep)
    return given


def wfdb_upload(folder: Path, name: str, ecg, comments=(), recorded: dt.datetime | dt.time | None = None):
    """`ecg` (its recorded leads) as a WFDB record written by wfdb, the header's record line giving when it was
    recorded (date and time, or the time alone: WFDB has no date without a time); the files as the browser
    sends them."""
    import wfdb
    when = {}
    if isinstance(recorded, dt.datetime):
        when = {"base_date": recorded.date(), "base_time": recorded.time()}
    elif isinstance(recorded, dt.time):
        when = {"base_time": recorded}
    signal = ecg.signal[ecg.lead_mask].T.astype(float)
    wfdb.wrsamp(name, fs=int(ecg.fs), units=["mV"] * signal.shape[1], sig_name=ecg.leads, p_signal=signal,
                fmt=["16"] * signal.shape[1], comments=list(comments), write_dir=str(folder), **when)
    return [(f"{name}.{ext}", (folder / f"{name}.{ext}").read_bytes()) for ext in ("hea", "dat")]


def table(at, n: int = 0) :
    """The page's `n`th table: on Compare, the measurements (0) and the ranking (1); on Batch, the ECGs (0)."""
    return at.dataframe[n].value


def captions(at) -> list[str]:
    return [str(c.value) for c in at.caption]
