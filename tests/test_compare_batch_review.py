"""A cardiologist's review of the Compare and Batch pages, in a browser: what was wrong there, checked through
Streamlit's AppTest as the page shows it (text, tables and their column settings, the figures' specs) and as the
CSV hands it over.

Compare: the two papers at one scale when one ECG is shorter than 10 s; the same ECG chosen twice; whether the
two are one patient's; every score of a column to the same decimals; the lead sets differing. Batch: the columns
named in words, and the phrase columns (the ones sorted by) next to the model's reading in the order typed."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from dashboard_fixtures import captions, downloaded_csv, errors, go_to, table, upload, wfdb_upload
from helpers import data_dir_or_none, needs_data, record_files, st_lengthened_ecg
from test_dashboard_apptest import _with_model_fields

PTBXL_100 = "ptbxl/records100/00000"
SAME_TWICE = "You chose the same ECG twice; choose another one"
READING = "the model's reading"


def messages(at) -> str:
    """The page's words outside its tables: markdown, captions, warnings, notes."""
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "warning", "info", "error")
                     for e in getattr(at, kind))


def column_settings(at, n: int = 0) -> dict:
    """The column settings the page gives its `n`th table (Streamlit's column_config, as sent to the browser)."""
    return json.loads(at.dataframe[n].proto.columns or "{}")


def shown_cells(at, n: int, column: str) -> list[str]:
    """The cells of a number column as the browser writes them: by the printf format the page gives the column;
    without one, Streamlit's default, which drops the decimals a value does not need ("36" for 36.0)."""
    fmt = (column_settings(at, n).get(column, {}).get("type_config") or {}).get("format")
    values = [v for v in table(at, n)[column] if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if fmt:
        return [fmt % v for v in values]
    return [f"{v:.4f}".rstrip("0").rstrip(".") for v in values]


def decimals(cell: str) -> int:
    return len(cell.partition(".")[2])


# ------------------------------------------------------------------------------------ one paper scale

def drawn_px_per_mm(spec: dict, column_px: float) -> float:
    """Pixels per mm of paper when a paper figure is drawn in a column `column_px` wide: its millimetres are
    square (the y axis anchored to the x axis, each constrained to its domain), so the scale is the smaller of
    what the width and what the figure's height allow."""
    layout = spec["layout"]
    margin = layout["margin"]
    x0, x1 = layout["xaxis"]["range"]
    y0, y1 = layout["yaxis"]["range"]
    return min((column_px - margin["l"] - margin["r"]) / (x1 - x0),
               (layout["height"] - margin["t"] - margin["b"]) / (y1 - y0))


@needs_data(f"{PTBXL_100}/00002_lr.hea", "cinc2017/A00984.hea")
def test_compare_draws_a_shorter_ecg_at_the_same_scale_as_a_10_s_one(app):
    """PTB-XL 00002 (12 leads, 10 s) and CinC 2017 A00984 (1 lead, 9.36 s): its paper is 255 mm wide against
    270, and was drawn across the same column: about 6 % larger, under "Both on the same paper scale"."""
    data = data_dir_or_none()
    upload(app, record_files(data / PTBXL_100 / "00002_lr"))
    upload(app, record_files(data / "cinc2017" / "A00984"))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    for arrangement, widths in (("side by side", (360, 510, 530, 720)), ("one above the other", (700, 1100, 1500))):
        app.radio(key="cmp_arrangement").set_value(arrangement).run()
        assert not errors(app), errors(app)
        specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
        assert len(specs) == 2
        for column_px in widths:            # whatever the browser's column: the narrow and the wide screen
            first, second = (drawn_px_per_mm(spec, column_px) for spec in specs)
            assert first == pytest.approx(second, rel=0.005), (arrangement, column_px, first, second)
    said = next(c for c in captions(app) if c.startswith("Both on the same paper scale"))
    assert "A00984" in said and "shorter" in said


# ------------------------------------------------------------------------------------ the same ECG twice

def test_compare_says_the_same_ecg_was_chosen_twice_and_compares_nothing(app, tmp_path):
    upload(app, wfdb_upload(tmp_path, "monday", st_lengthened_ecg(0.0), recorded=dt.datetime(1987, 7, 22, 9, 0)))
    upload(app, wfdb_upload(tmp_path, "tuesday", st_lengthened_ecg(0.08), recorded=dt.datetime(1987, 7, 23, 9, 0)))
    go_to(app, "compare")
    assert len(app.dataframe) == 2                                   # two ECGs: the tables are there
    app.selectbox(key="cmp_b").set_value(app.selectbox(key="cmp_a").value).run()
    assert not errors(app), errors(app)
    warning = " ".join(str(w.value) for w in app.warning)
    assert SAME_TWICE in warning
    assert not app.dataframe and not app.get("plotly_chart")         # no table of +0 differences
    assert "Which recording came first" not in messages(app)


def test_compare_takes_a_copy_of_an_ecg_under_another_name_for_the_same_ecg(app, tmp_path):
    """Same ECG is the same samples (the one content hash), whatever the file is called."""
    ecg = st_lengthened_ecg(0.0)
    upload(app, wfdb_upload(tmp_path, "original", ecg))
    upload(app, wfdb_upload(tmp_path, "copy", ecg))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    warning = " ".join(str(w.value) for w in app.warning)
    assert "You chose the same ECG twice" in warning and "original" in warning and "copy" in warning
    assert not app.dataframe


# ------------------------------------------------------------------------------------ one patient or not

@needs_data(f"{PTBXL_100}/00693_lr.hea", f"{PTBXL_100}/00761_lr.hea", "ptbxl/ptbxl_database.csv")
def test_compare_says_ptbxl_00693_and_00761_are_one_patients_without_the_id(app):
    from mets_core import read_ecg
    from mets_core.file_labels import ptbxl_labels
    data = data_dir_or_none()
    patient = ptbxl_labels(read_ecg(str(data / PTBXL_100 / "00693_lr")), data / "ptbxl").patient_id
    for name in ("00693_lr", "00761_lr"):
        upload(app, record_files(data / PTBXL_100 / name))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    assert "Same patient (the files' patient ids match)." in captions(app)
    shown = messages(app) + " ".join(" ".join(map(str, s.options)) for s in app.selectbox)
    assert patient and patient not in shown and patient.partition(":")[2] not in shown


def test_compare_says_when_the_files_do_not_tell_whether_it_is_one_patient(app, tmp_path):
    upload(app, wfdb_upload(tmp_path, "monday", st_lengthened_ecg(0.0), recorded=dt.datetime(1987, 7, 22, 9, 0)))
    upload(app, wfdb_upload(tmp_path, "tuesday", st_lengthened_ecg(0.08), recorded=dt.datetime(1987, 7, 23, 9, 0)))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    assert "The files do not say whether these are the same patient." in captions(app)
    assert not app.warning


# ------------------------------------------------------------------------------------ the scores' decimals

def test_compare_writes_every_score_of_a_column_to_one_decimal(app, tmp_path, monkeypatch):
    """Percentiles that are whole numbers beside others that are not: "36" and "0" beside "6.6" and "-42.2"."""
    upload(app, wfdb_upload(tmp_path, "monday", st_lengthened_ecg(0.0)))
    upload(app, wfdb_upload(tmp_path, "tuesday", st_lengthened_ecg(0.08)))
    percentiles = {("monday", "sinus rhythm"): 36.0, ("tuesday", "sinus rhythm"): 42.6,
                   ("monday", "atrial fibrillation"): 71.0, ("tuesday", "atrial fibrillation"): 71.0,
                   ("monday", "sinus bradycardia"): 48.4, ("tuesday", "sinus bradycardia"): 6.2}
    _with_model_fields(monkeypatch, lambda ecg, prompt: (dict(percentile=percentiles[ecg.name, prompt], known=True)
                                                         if (ecg.name, prompt) in percentiles else {}))
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation\nsinus bradycardia").run()
    go_to(app, "compare")
    assert not errors(app), errors(app)
    ranks = table(app, 1)
    assert set(ranks["score"]) == {"percentile"}
    scores = [c for c in ranks.columns if c.strip() in ("monday", "tuesday")]
    difference = next(c for c in ranks.columns if c.startswith("difference"))
    for column in (*scores, difference):
        cells = shown_cells(app, 1, column)
        assert len(cells) == 3 and {decimals(c) for c in cells} == {1}, (column, cells)
    assert sorted(shown_cells(app, 1, difference)) == sorted(["+6.6", "+0.0", "-42.2"])


# ------------------------------------------------------------------------------------ the lead sets

@needs_data(f"{PTBXL_100}/00761_lr.hea", "mitdb/208.hea", "mitdb/208.dat")
def test_compare_says_when_the_lead_sets_differ_with_the_readers_words(shipped_app):
    """MIT-BIH 208 (2 leads) against PTB-XL 00761 (12): the percentiles of a 2-lead ECG are judged against
    the reference ECGs of fewer leads where the weights have enough of them (the Reader says so of it)."""
    from dashboard import engine as engines
    from mets_core import read_ecg
    data = data_dir_or_none()
    upload(shipped_app, record_files(data / PTBXL_100 / "00761_lr"))
    upload(shipped_app, record_files(data / "mitdb" / "208"))
    go_to(shipped_app, "compare")
    assert not errors(shipped_app), errors(shipped_app)
    said = next((c for c in captions(shipped_app) if "different lead sets" in c), "")
    assert "00761_lr: 12 leads" in said and "208: 2 leads" in said, captions(shipped_app)
    assert "208: 2 of 12 leads recorded: the percentiles compare it with reference ECGs" in said   # the Reader's
    model = engines.get_engine().model
    chosen = [model.reference_for(read_ecg(str(data / folder / name)))
              for folder, name in ((PTBXL_100, "00761_lr"), ("mitdb", "208"))]
    assert ("measured against different reference ECGs" in said) == bool((chosen[0] != chosen[1]).any())


def test_compare_says_nothing_of_lead_sets_when_they_are_the_same(app, tmp_path):
    upload(app, wfdb_upload(tmp_path, "monday", st_lengthened_ecg(0.0)))
    upload(app, wfdb_upload(tmp_path, "tuesday", st_lengthened_ecg(0.08)))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    assert not any("lead sets" in c for c in captions(app))


# ------------------------------------------------------------------------------------ Batch's columns

def test_batch_names_the_duration_and_sampling_rate_columns_in_words(app, tmp_path, monkeypatch):
    csvs = downloaded_csv(monkeypatch)
    upload(app, wfdb_upload(tmp_path, "monday", st_lengthened_ecg(0.0)))
    go_to(app, "batch")
    assert not errors(app), errors(app)
    for columns in (list(table(app).columns), list(csvs[-1].columns)):
        assert "duration (s)" in columns and "sampling rate (Hz)" in columns, columns
        assert "s" not in columns and "Hz" not in columns
    row = csvs[-1].iloc[0]
    assert float(row["duration (s)"]) == 12.0 and float(row["sampling rate (Hz)"]) == 500.0


def test_batch_puts_the_phrase_columns_after_the_reading_in_the_order_typed(app, tmp_path, monkeypatch):
    """The phrase columns, which the table is sorted by, came after nine other columns (off screen), in the
    order the first ECG ranked them: another order on another run, in the CSV too."""
    csvs = downloaded_csv(monkeypatch)
    upload(app, wfdb_upload(tmp_path, "monday", st_lengthened_ecg(0.0)))
    upload(app, wfdb_upload(tmp_path, "tuesday", st_lengthened_ecg(0.08)))
    typed = ["sinus rhythm", "atrial fibrillation", "sinus bradycardia", "left bundle branch block"]
    for phrases in (typed, typed[::-1]):
        app.text_area(key="prompts_text").input("\n".join(phrases)).run()
        go_to(app, "batch")
        assert not errors(app), errors(app)
        assert list(table(app).columns[:2 + len(phrases)]) == ["ECG", READING, *phrases]
        assert list(csvs[-1].columns[:3 + len(phrases)]) == ["ECG", "could not be opened", READING, *phrases]
        settings = column_settings(app)
        assert settings["ECG"].get("pinned") is True                  # in view when the table is scrolled
        room = settings["measured on"].get("width")                  # "0:01:00–0:02:00 of 0:30:05.6" whole
        assert room == "large" or (isinstance(room, int) and room >= 220), room
        go_to(app, "reader")
