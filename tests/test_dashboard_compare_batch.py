"""The Compare and Batch pages through Streamlit's AppTest, as a researcher uses them (see
test_dashboard_apptest.py for how the app is driven): which of two ECGs is the earlier and what the
differences read, which stretch of a long recording each comparison describes, the batch table's file labels,
and the uploads that could not be opened. What is checked is what the pages show and what the CSV holds."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from dashboard_fixtures import (a_wfdb_upload, captions, downloaded_csv, errors, go_to, ranking, synthetic_csv,
                                table, tagged, upload, wfdb_upload)
from helpers import data_dir_or_none, needs_data, record_files, st_lengthened_ecg

PTBXL_306 = "ptbxl/records100/00000"     # PTB-XL patient 306: 00961_lr on 22/07/1987, 00973_lr on 23/07/1987


def compare_headings(at) -> list[str]:
    """Open the Compare page (no error on it) and return the line above each tracing."""
    go_to(at, "compare")
    assert not errors(at), errors(at)
    return tracing_headings(at)


def tracing_headings(at) -> list[str]:
    """The line above each tracing of the Compare page (name, when recorded, the stretch), in page order."""
    return [str(m.value) for m in at.markdown if " · " in str(m.value) and str(m.value).startswith("**")]


def paper_footers(at) -> list[str]:
    import json
    return [json.loads(c.proto.spec)["layout"]["annotations"][-1]["text"] for c in at.get("plotly_chart")]


# ---------------------------------------------------------------------------- when an ECG was recorded

def test_the_wfdb_reader_keeps_when_the_header_says_the_recording_began(tmp_path):
    from mets_core import read_ecg
    ecg = st_lengthened_ecg(0.0)
    dated = read_ecg(wfdb_upload(tmp_path, "dated", ecg, recorded=dt.datetime(1987, 7, 22, 13, 40, 59)))
    time_only = read_ecg(wfdb_upload(tmp_path, "time_only", ecg, recorded=dt.time(13, 40, 59)))
    undated = read_ecg(wfdb_upload(tmp_path, "undated", ecg))
    assert dated.metadata["recorded_at"] == "1987-07-22T13:40:59"
    assert time_only.metadata["recorded_at"] == "13:40:59"
    assert "recorded_at" not in undated.metadata


@needs_data(f"{PTBXL_306}/00961_lr.hea")
def test_a_ptbxl_records_date_and_time_are_read_from_its_header(data_dir):
    from mets_core import read_ecg
    assert read_ecg(str(data_dir / PTBXL_306 / "00961_lr.hea")).metadata["recorded_at"] == "1987-07-22T13:40:59"


def record_meta(at) -> str:
    """The Reader header's line of facts about the open ECG (age, sex, when recorded, rate, length, leads)."""
    [(_, facts)] = tagged(at, "mets-record-facts")
    return facts


def test_the_reader_header_says_when_a_dated_recording_was_made_and_nothing_for_an_undated_one(app, tmp_path):
    upload(app, wfdb_upload(tmp_path, "dated", st_lengthened_ecg(0.0), recorded=dt.datetime(1987, 7, 22, 13, 40, 59)))
    assert not errors(app), errors(app)
    assert "recorded 1987-07-22 13:40:59" in record_meta(app)
    upload(app, wfdb_upload(tmp_path, "undated", st_lengthened_ecg(0.04)))
    assert not re.search(r"recorded \d", record_meta(app)) and "Hz" in record_meta(app)


def test_batch_lists_when_each_ecg_was_recorded_and_the_csv_keeps_the_column(app, tmp_path, monkeypatch):
    earlier, later = serial_pair(tmp_path)
    csvs = downloaded_csv(monkeypatch)
    upload(app, later)
    upload(app, earlier)
    go_to(app, "batch")
    assert not errors(app), errors(app)
    rows = table(app).set_index("ECG")
    assert rows.loc["monday", "recorded"] == "1987-07-22 13:40:59"
    assert rows.loc["tuesday", "recorded"] == "1987-07-23 13:03:59"
    assert dict(zip(csvs[-1]["ECG"], csvs[-1]["recorded"])) == {"monday": "1987-07-22 13:40:59",
                                                               "tuesday": "1987-07-23 13:03:59"}


def test_batch_leaves_out_an_empty_recorded_column_but_the_csv_keeps_it(app, tmp_path, monkeypatch):
    csvs = downloaded_csv(monkeypatch)
    upload(app, wfdb_upload(tmp_path, "undated", st_lengthened_ecg(0.0)))
    go_to(app, "batch")
    assert not errors(app), errors(app)
    assert "recorded" not in table(app).columns
    assert list(csvs[-1]["recorded"]) == [""]


# --------------------------------------------------------------------------------- Compare: which is first

def serial_pair(folder: Path):
    """Two ECGs of one patient a day apart, the QT longer on the later one: (earlier files, later files)."""
    earlier = wfdb_upload(folder, "monday", st_lengthened_ecg(0.0), recorded=dt.datetime(1987, 7, 22, 13, 40, 59))
    later = wfdb_upload(folder, "tuesday", st_lengthened_ecg(0.08), recorded=dt.datetime(1987, 7, 23, 13, 3, 59))
    return earlier, later


def qt_row(at) -> pd.Series:
    meas = table(at)
    return meas[meas["measurement"] == "QT (ms)"].iloc[0]


def test_compare_puts_the_earlier_recording_first_whatever_the_upload_order(app, tmp_path):
    earlier, later = serial_pair(tmp_path)
    upload(app, later)                  # the later ECG opened first, as the researcher did
    upload(app, earlier)
    headings = compare_headings(app)
    assert headings[0].startswith("**monday**") and "recorded 1987-07-22 13:40:59" in headings[0]
    assert headings[1].startswith("**tuesday**") and "recorded 1987-07-23 13:03:59" in headings[1]
    assert any("In time order" in c and "later − earlier" in c for c in captions(app))
    qt = qt_row(app)
    assert list(qt.index) == ["measurement", "monday", "tuesday ", "difference (later − earlier)"]
    assert int(qt["difference (later − earlier)"]) == int(qt["tuesday "]) - int(qt["monday"]) > 40   # lengthened


def test_compare_says_plainly_when_the_first_is_the_later_recording(app, tmp_path):
    earlier, later = serial_pair(tmp_path)
    upload(app, earlier)
    upload(app, later)
    go_to(app, "compare")
    app.selectbox(key="cmp_a").select_index(1).run()      # tuesday first ...
    app.selectbox(key="cmp_b").select_index(0).run()      # ... monday second
    assert not errors(app), errors(app)
    warning = " ".join(str(w.value) for w in app.warning)
    assert "**tuesday**" in warning and "is the **later** recording" in warning and "backwards in time" in warning
    qt = qt_row(app)
    assert int(qt["difference (earlier − later)"]) < 0
    next(b for b in app.button if b.label == "Put the earlier recording first").click().run()
    assert not app.warning and tracing_headings(app)[0].startswith("**monday**")
    assert "difference (later − earlier)" in qt_row(app).index


def test_compare_says_the_order_is_the_users_choice_when_the_files_give_no_dates(app, tmp_path):
    upload(app, wfdb_upload(tmp_path, "undated", st_lengthened_ecg(0.0)))
    upload(app, wfdb_upload(tmp_path, "dated", st_lengthened_ecg(0.08), recorded=dt.datetime(1987, 7, 23, 9, 0)))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    said = " ".join(captions(app))
    assert "undated gives no recording date" in said and "the order is your choice" in said
    assert "no recording date in the file" in tracing_headings(app)[0] and "recorded 1987-07-23" in tracing_headings(app)[1]
    assert "difference (second − first)" in qt_row(app).index


@needs_data(f"{PTBXL_306}/00961_lr.hea", f"{PTBXL_306}/00973_lr.hea")
def test_compare_orders_ptbxl_patient_306s_serial_ecgs_by_their_dates(app):
    folder = data_dir_or_none() / PTBXL_306
    upload(app, record_files(folder / "00973_lr"))      # recorded 23/07/1987, opened first
    upload(app, record_files(folder / "00961_lr"))      # recorded 22/07/1987
    headings = compare_headings(app)
    assert headings[0].startswith("**00961_lr**") and "recorded 1987-07-22 13:40:59" in headings[0]
    assert headings[1].startswith("**00973_lr**") and "recorded 1987-07-23 13:03:59" in headings[1]
    qt = qt_row(app)
    assert int(qt["difference (later − earlier)"]) == int(qt["00973_lr "]) - int(qt["00961_lr"]) > 0


# ------------------------------------------------------------------------- Compare: one stretch per ECG

@needs_data("cpsc2021/data_92_4.hea", "cpsc2021/data_8_2.hea")
def test_compare_shows_measures_and_ranks_each_long_recording_on_the_page_open_on_the_reader(app):
    folder = data_dir_or_none() / "cpsc2021"
    upload(app, record_files(folder / "data_92_4"))
    upload(app, record_files(folder / "data_8_2"))       # shown on the Reader: go to its page at 0:02:00
    app.text_area(key="prompts_text").input("atrial fibrillation\nsinus rhythm").run()
    next(t for t in app.text_input if t.label == "Go to (h:mm:ss)").input("0:02:00").run()
    assert not errors(app), errors(app)
    on_the_reader = {r["prompt"]: r["similarity"] for r in ranking(app)}
    headings = compare_headings(app)
    assert headings[0].startswith("**data_92_4**") and "0:00:00–0:00:10 of 0:06:54" in headings[0]
    assert headings[1].startswith("**data_8_2**") and "0:02:00–0:02:10 of 0:03:35" in headings[1]
    footers = paper_footers(app)
    assert "showing 0:00:00–0:00:10" in footers[0] and "showing 0:02:00–0:02:10" in footers[1]
    measured = next(c for c in captions(app) if c.startswith("Measured on: "))
    ranked = next(c for c in captions(app) if c.startswith("Ranked on: "))
    for said in (measured, ranked):
        assert re.search(r"data_92_4, 0:00:00–0:00:10 .*data_8_2, 0:02:00–0:02:10", said), said
    ranks = table(app, 1).set_index("phrase")
    for phrase, similarity in on_the_reader.items():       # the Reader's ranking of that page, not another's
        assert ranks.loc[phrase, "data_8_2 "] == pytest.approx(similarity, abs=6e-4)


# ----------------------------------------------------------------------------------- Batch: file labels

def many_labels_upload(folder: Path):
    """A record whose file gives many diagnoses (a Challenge header's SNOMED CT codes), their words together
    longer than the table's cell, the 200th character inside a word; and those words."""
    from mets_core.file_labels import SNOMED_CT, decode_snomed
    codes = ",".join(list(SNOMED_CT)[1:17])
    words = "; ".join(label.text for label in decode_snomed(codes))
    assert len(words) > 220 and words[199].isalpha() and words[200].isalpha()    # a cut at 200 splits a word
    return wfdb_upload(folder, "many_labels", st_lengthened_ecg(0.0), comments=[f"Dx: {codes}"]), words


def test_batch_shortens_long_file_labels_at_a_word_and_the_csv_keeps_them_whole(app, tmp_path, monkeypatch):
    files, words = many_labels_upload(tmp_path)
    csvs = downloaded_csv(monkeypatch)
    upload(app, files)
    go_to(app, "batch")
    assert not errors(app), errors(app)
    shown = table(app)["file labels"][0]
    assert shown.endswith(" …") and len(shown) <= 202
    kept = shown.removesuffix(" …")
    assert words.startswith(kept) and not words[len(kept)].isalpha()     # ends at a word's end
    assert csvs and csvs[-1]["file labels"][0] == words


# ------------------------------------------------------------------------- Batch: files not opened

def test_batch_names_the_files_that_could_not_be_opened_on_the_page_and_in_the_csv(app, tmp_path, monkeypatch):
    good = wfdb_upload(tmp_path, "first", st_lengthened_ecg(0.0)) + wfdb_upload(tmp_path, "second", st_lengthened_ecg(0.04))
    truncated = wfdb_upload(tmp_path, "truncated", st_lengthened_ecg(0.0))
    truncated[1] = (truncated[1][0], truncated[1][1][: len(truncated[1][1]) // 3])
    alone = wfdb_upload(tmp_path, "alone", st_lengthened_ecg(0.0))[:1]          # its .dat not uploaded
    csvs = downloaded_csv(monkeypatch)
    upload(app, good + truncated + alone)
    on_the_reader = errors(app)
    assert len(on_the_reader) == 2, on_the_reader
    go_to(app, "batch")
    assert len(table(app)) == 2
    warning = " ".join(str(w.value) for w in app.warning)
    assert "2 uploads could not be opened" in warning       # 3 files: one upload is a header and its signals
    for said in on_the_reader:                  # each file's name and the Reader's own words
        assert said in warning
    assert "truncated.hea + truncated.dat" in warning and "alone.hea" in warning
    csv = csvs[-1]
    failed = csv[csv["could not be opened"] != ""]
    assert sorted(failed["ECG"]) == ["alone.hea", "truncated.hea + truncated.dat"]
    assert all("is truncated" in why or "missing" in why for why in failed["could not be opened"])
    opened = csv[csv["could not be opened"] == ""]
    assert sorted(opened["ECG"]) == ["first", "second"] and list(opened["leads"]) == ["3", "3"]    # whole, as before


@needs_data("mitdb/208.hea", "mitdb/208.dat")
def test_batch_measures_a_long_recording_as_the_readers_summary_does(app):
    """MIT-BIH 208's first minute gives no QRS (ten noisy seconds); the Reader's summary measures the next
    minute. The Batch row was measured on the first minute, its QRS, QT and QTc blank: now the same minute."""
    upload(app, record_files(data_dir_or_none() / "mitdb" / "208"))
    go_to(app, "batch")
    assert not errors(app), errors(app)
    row = table(app).iloc[0]
    assert row["measured on"].startswith("0:01:00–0:02:00") and 60 <= row["QRS (ms)"] <= 110, dict(row)


# ------------------------------------------------------------------ the phrases typed, on every page

def test_typed_prompts_survive_clicks_on_other_pages_and_the_way_back(app):
    """The phrase box is drawn on the Reader only: Streamlit forgets a widget's value after a run that does not
    draw it, and the second click on Compare or Batch fell back to the default preset (so did the Reader)."""
    upload(app, a_wfdb_upload())
    upload(app, [("second.csv", synthetic_csv())])
    app.text_area(key="prompts_text").input("my own phrase\natrial fibrillation").run()
    go_to(app, "compare")
    for arrangement in ("one above the other", "side by side"):        # two more runs of the page
        app.radio(key="cmp_arrangement").set_value(arrangement).run()
        assert not app.exception and not errors(app), errors(app)
        phrases = set(table(app, 1)["phrase"])
        assert "atrial fibrillation" in phrases and "sinus rhythm" not in phrases, phrases
    go_to(app, "batch")
    app.run()
    go_to(app, "reader")
    assert app.text_area(key="prompts_text").value == "my own phrase\natrial fibrillation"
    assert app.selectbox(key="preset").value == "custom"
    assert {r["prompt"] for r in ranking(app)} <= {"my own phrase", "atrial fibrillation"}
