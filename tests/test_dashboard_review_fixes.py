"""A clinician's review of the dashboard with real records: what each page said that misled, and what it says
now. Driven as a user does (AppTest, dashboard_fixtures) or through the panel a page draws; what is expected is
taken from the file or the library, never from the dashboard's own code.

- "What the file says" beside a page of a long recording: a rhythm the annotation file marks elsewhere only
  (MIT-BIH 201's "normal sinus rhythm (12:57 in 16 episodes)" on a page of atrial fibrillation) carried the
  model's percentile of the page, which read as the model confirming it.
- A record of fewer than 12 leads: the ranking did not say what its percentiles and reliability cues were
  measured on.
- The softmax column ("relative among these") read as a probability.
- Compare: two different patients' ECGs were called "in time order", their differences "later − earlier".
- Batch: a measurement not given (PR in atrial fibrillation) showed "None"; the CSV did not say why.
(The PDF's "on screen" lines: tests/test_report.py; the "Why" caption: tests/test_dashboard_negation.py.)
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboard_fixtures import (REPO, captions, downloaded_csv, errors, go_to, markdown_html, open_demo, table, upload,
                                wfdb_upload)
from helpers import data_dir_or_none, needs_data, record_files, st_lengthened_ecg


# ------------------------------------------------------------------- the file's rhythms and the model's tag

def file_labels_html(percentiles: dict[str, float], page: tuple[float, float] | None) -> str:
    """The "What the file says" panel of a 60 s recording whose annotation file marks atrial fibrillation for
    0-30 s and normal sinus rhythm for 30-60 s (no other labels), beside a ranking with these percentiles; `page`:
    the page on screen (None: the whole recording). Its HTML."""
    from streamlit.testing.v1 import AppTest

    def script():
        import sys
        from types import SimpleNamespace

        import numpy as np
        import streamlit as st

        sys.path.insert(0, st.session_state["repo"])
        from dashboard.panels.header import file_labels_panel
        from dashboard.ranking import build_view
        from dashboard.session import Record
        from mets_core.ecg import ECG
        from mets_core.readers.beat_labels import Beats

        ecg = ECG.from_leads(np.zeros((2, 6000)), ["II", "V1"], 100.0)
        beats = Beats(np.arange(50, 6000, 100), ("N",) * 60, "rec.atr", rhythms=((0, "(AFIB"), (3000, "(N")))
        view = build_view([SimpleNamespace(prompt=p, similarity=0.1, probability=0.5, percentile=v, known=True,
                                           validation_auc=0.9) for p, v in st.session_state["percentiles"].items()])
        file_labels_panel(Record("k", ecg, "upload", "test", beats=beats), rank_these=lambda phrases: None,
                          view=view, page=st.session_state["page"])

    at = AppTest.from_function(script)
    at.session_state["repo"] = str(REPO)
    at.session_state["percentiles"] = percentiles
    at.session_state["page"] = page
    at.run()
    assert not at.exception, at.exception
    return " ".join(m.value for m in at.markdown)


def label_item(html: str, words: str) -> str:
    """The list item of the file's label that begins with `words`."""
    start = html.index(f">{words}")
    return html[start:html.index("</li>", start)]


def test_a_rhythm_the_file_marks_elsewhere_does_not_carry_the_models_percentile_of_the_page():
    percentiles = {"sinus rhythm": 97.0, "atrial fibrillation": 40.0}
    first_page = file_labels_html(percentiles, page=(0.0, 10.0))        # atrial fibrillation there
    sinus = label_item(first_page, "normal sinus rhythm (0:30 in 1 episode)")
    assert "model:" not in sinus and "pct" not in sinus and "not on this page" in sinus
    assert "model: 40th pct" in label_item(first_page, "atrial fibrillation (0:30 in 1 episode)")
    later = file_labels_html(percentiles, page=(40.0, 50.0))            # sinus rhythm there: it does carry it
    assert "model: 97th pct, stands out" in label_item(later, "normal sinus rhythm")
    assert "not on this page" in label_item(later, "atrial fibrillation")
    whole = file_labels_html(percentiles, page=None)                   # the whole recording's ranking
    assert "model: 97th pct" in label_item(whole, "normal sinus rhythm")
    assert "model: 40th pct" in label_item(whole, "atrial fibrillation")


@needs_data("mitdb/201.hea", "mitdb/201.dat", "mitdb/201.atr")
def test_mitbih_201s_first_page_of_atrial_fibrillation_gives_its_sinus_rhythm_label_no_percentile(shipped_app):  # noqa: F811
    """The clinician's page: MIT-BIH 201 at 0:00:00-0:00:10, which its file marks as atrial fibrillation (the
    shipped weights: percentiles, which the file's labels are tagged with)."""
    upload(shipped_app, record_files(data_dir_or_none() / "mitdb" / "201"))
    shipped_app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation").run()
    assert not errors(shipped_app), errors(shipped_app)
    html = markdown_html(shipped_app)
    assert "for the page on screen: <b>atrial fibrillation</b>" in html
    sinus = label_item(html, "normal sinus rhythm (12:57 in 16 episodes)")
    assert "pct" not in sinus and "not on this page" in sinus
    assert "model: " in label_item(html, "atrial fibrillation (10:06 in 3 episodes)")


# --------------------------------------------------------------------------------- fewer than 12 leads

def test_a_record_of_fewer_than_12_leads_says_what_its_percentiles_and_cues_were_measured_on(shipped_app):  # noqa: F811
    from mets_core import METS
    open_demo(shipped_app, "Synthetic: one lead (I), as from a handheld device")
    assert not errors(shipped_app), errors(shipped_app)
    said = [c for c in captions(shipped_app) if c.startswith("1 of 12 leads recorded: ")]
    assert len(said) == 1, captions(shipped_app)
    reference = METS.from_pretrained(REPO / "weights").reference
    assert (reference["n_leads"] != 12).sum() >= 50          # enough for METS.percentiles to use them alone
    assert "percentiles compare it with reference ECGs that also have fewer than 12 leads" in said[0]
    assert "reliability cues (AUC) were measured on validation ECGs of all lead sets" in said[0]
    open_demo(shipped_app, "Synthetic: sinus rhythm, 70 bpm")             # 12 leads: nothing to say
    assert not any("of 12 leads recorded:" in c for c in captions(shipped_app))


# ------------------------------------------------------------------------------------ the softmax column

def test_the_softmax_column_is_headed_as_a_share_not_a_probability():
    from types import SimpleNamespace

    from dashboard.panels.ranking import ranking_html
    from dashboard.ranking import build_view
    view = build_view([SimpleNamespace(prompt="atrial fibrillation", similarity=0.3, probability=0.01, percentile=97.0,
                                       known=True, validation_auc=0.82),
                       SimpleNamespace(prompt="myocardial infarction", similarity=0.2, probability=0.42,
                                       percentile=67.0, known=True, validation_auc=0.87)])
    html = ranking_html(view)
    assert '">share among these, not a probability</span>' in html and "relative among these" not in html
    assert "Not the probability that the ECG shows the finding" in html        # its tooltip says it too


# ---------------------------------------------------------------------------- Compare: two patients

def dated(folder: Path, name: str, comments: list[str], when: dt.datetime, extra_s: float = 0.0):
    return wfdb_upload(folder, name, st_lengthened_ecg(extra_s), comments=comments, recorded=when)


@pytest.mark.parametrize("second_comments, second_day, why", [
    (["Age: 51", "Sex: F"], dt.datetime(1987, 7, 23, 9, 0), "sex: male / female"),
    (["Age: 70", "Sex: M"], dt.datetime(1987, 7, 23, 9, 0), "age 51 on 1987-07-22, 70 on 1987-07-23"),
])
def test_compare_says_two_ecgs_are_two_patients_when_their_files_sex_or_ages_differ(app, tmp_path, second_comments,
                                                                                    second_day, why):
    upload(app, dated(tmp_path, "first", ["Age: 51", "Sex: M"], dt.datetime(1987, 7, 22, 9, 0)))
    upload(app, dated(tmp_path, "second", second_comments, second_day, extra_s=0.08))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    warning = " ".join(str(w.value) for w in app.warning)
    assert f"These look like two different patients ({why}): the differences are not changes over time" in warning
    assert not any("In time order" in c or "later − earlier" in c for c in captions(app))
    assert "difference (second − first)" in table(app).columns


def test_compare_keeps_the_time_order_for_one_patients_ecgs_years_apart(app, tmp_path):
    """Ages 51 and 53 two years apart, the same sex: one patient, differences later − earlier."""
    upload(app, dated(tmp_path, "first", ["Age: 51", "Sex: M"], dt.datetime(1987, 7, 22, 9, 0)))
    upload(app, dated(tmp_path, "second", ["Age: 53", "Sex: M"], dt.datetime(1989, 8, 1, 9, 0), extra_s=0.08))
    go_to(app, "compare")
    assert not errors(app) and not app.warning
    assert any("In time order" in c and "later − earlier" in c for c in captions(app))


@needs_data("ptbxl/records100/00000/00195_lr.hea", "ptbxl/records100/00000/00256_lr.hea",
            "ptbxl/ptbxl_database.csv")
def test_compare_says_ptbxl_00195_and_00256_are_two_patients(app):
    """The clinician's pair: PTB-XL patients 14472 (male) and 565 (female), PTB-XL's table giving their sex."""
    folder = data_dir_or_none() / "ptbxl"
    rows = pd.read_csv(folder / "ptbxl_database.csv", index_col="ecg_id").loc[[195, 256]]
    assert rows["patient_id"].nunique() == 2 and list(rows["sex"].astype(int)) == [0, 1]     # 0 male, 1 female
    for name in ("00195_lr", "00256_lr"):
        upload(app, record_files(folder / "records100" / "00000" / name))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    warning = " ".join(str(w.value) for w in app.warning)
    assert "These look like two different patients (the files name different patients; sex: male / female)" \
        in warning
    assert not any("In time order" in c for c in captions(app))


# ------------------------------------------------------------------------ Batch: a measurement not given

def test_batch_shows_a_missing_value_as_a_dash_not_none(app, tmp_path):
    upload(app, wfdb_upload(tmp_path, "first", st_lengthened_ecg(0.0)))
    go_to(app, "batch")
    assert not errors(app), errors(app)
    assert app.dataframe[0].proto.placeholder == "—"
    assert not any("“None”" in c for c in captions(app))


@needs_data("ludb/data/109.hea", "ludb/data/109.dat")
def test_batch_leaves_pr_of_atrial_fibrillation_empty_and_the_csv_says_why(app, monkeypatch):
    """LUDB 109, atrial fibrillation: no PR. The table keeps the column numeric (sortable) with the cell empty
    (drawn as "—"); the CSV's cell is empty and its notes give the measurement's own reason."""
    from mets_core import read_ecg
    from mets_core.measure import measure
    record = data_dir_or_none() / "ludb" / "data" / "109"
    why = measure(read_ecg(str(record) + ".hea")).notes["pr"]
    assert "not applicable" in why
    csvs = downloaded_csv(monkeypatch)
    upload(app, [(f"109.{ext}", record.with_suffix(f".{ext}").read_bytes()) for ext in ("hea", "dat")])
    go_to(app, "batch")
    assert not errors(app), errors(app)
    shown = table(app)
    assert pd.isna(shown["PR (ms)"][0]) and pd.api.types.is_integer_dtype(shown["PR (ms)"])
    assert shown["QRS (ms)"][0] > 0 and "measurement notes" not in shown.columns       # the CSV's, not the page's
    csv = csvs[-1]
    assert csv["PR (ms)"][0] == "" and f"PR: {why}" in csv["measurement notes"][0]
