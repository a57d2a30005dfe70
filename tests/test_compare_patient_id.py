"""The Compare page tells one patient's ECGs from two patients' by the patient ids their database gives (PTB-XL's
table, PTB-DB's patient folders: mets_core.file_labels.FileLabels.patient_id), and those ids identify people:
they are never shown, on the page or in the PDF report."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
from dashboard_fixtures import captions, errors, go_to, upload, wfdb_upload
from helpers import data_dir_or_none, needs_data, record_files, st_lengthened_ecg

from mets_core import read_ecg
from mets_core.ecg import ECG
from mets_core.file_labels import (FileLabel, FileLabels, file_labels, ptbxl_labels, ptbxl_labels_in,
                                   ptbxl_table_rows, same_patient)

PTBXL_100 = "ptbxl/records100/00000"
DIFFERENT = "the files name different patients"
TWO_PATIENTS = "These look like two different patients"


def _named(name: str, comments: str = "") -> ECG:
    return ECG.from_leads(np.zeros((1, 1000)), ["II"], 100.0, name=name,
                          metadata={"record_name": name, "comments": comments})


def page_text(at) -> str:
    """Everything the page shows as text: its markdown, captions, messages, tables, choices and figures."""
    texts = [str(e.value) for kind in ("markdown", "caption", "warning", "info", "error", "success", "title",
                                       "header", "subheader", "text", "code")
             for e in getattr(at, kind)]
    texts += [df.value.to_csv() for df in at.dataframe]
    texts += [" ".join(map(str, s.options)) for s in at.selectbox]
    texts += [c.proto.spec for c in at.get("plotly_chart")]
    return "\n".join(texts)


def shows_number(text: str, number) -> bool:
    """Whether `number` is written in `text` as a number of its own (not a part of 0.306 or 13060)."""
    return re.search(rf"(?<![\d.]){number}(?![\d.])", text) is not None


# ------------------------------------------------------------------------------------------ the ids

@needs_data(f"{PTBXL_100}/00961_lr.hea", f"{PTBXL_100}/00973_lr.hea", f"{PTBXL_100}/00195_lr.hea",
            f"{PTBXL_100}/00256_lr.hea", "ptbxl/ptbxl_database.csv")
def test_ptbxls_table_names_each_records_patient():
    """00961_lr and 00973_lr are patient 306's; 00195_lr and 00256_lr are patients 14472's and 565's."""
    data = data_dir_or_none()
    table = pd.read_csv(data / "ptbxl" / "ptbxl_database.csv", index_col="ecg_id")
    labels = {n: ptbxl_labels(read_ecg(str(data / PTBXL_100 / f"{n:05d}_lr")), data / "ptbxl")
              for n in (961, 973, 195, 256)}
    assert {n: lab.patient_id for n, lab in labels.items()} == \
        {n: f"ptbxl:{int(table.loc[n, 'patient_id'])}" for n in labels}
    assert same_patient(labels[961], labels[973]) is True
    assert same_patient(labels[195], labels[256]) is False


def test_a_ptbxl_table_row_without_a_patient_id_gives_none():
    rows = ptbxl_table_rows(["ecg_id,patient_id,age,sex,scp_codes", "1,15709.0,56,1,", "2,,19,0,", "3,nan,19,0,",
                             "4,inf,19,0,"])
    ids = [ptbxl_labels_in(_named(f"0000{n}_lr"), rows, "a test table").patient_id for n in (1, 2, 3, 4)]
    assert ids == ["ptbxl:15709", None, None, None]


def test_ptbdb_names_the_patient_by_its_folder_its_flattened_name_or_its_source_line():
    assert file_labels(_named("ptbdb/patient201/s0420_re")).patient_id == "ptbdb:patient201"   # fetched
    assert file_labels(_named("patient201_s0423_re")).patient_id == "ptbdb:patient201"         # a flat copy
    assert file_labels(_named("s0420_re", "Source: record ptbdb/patient200/s0405lre")).patient_id == \
        "ptbdb:patient200"
    # no id is made up: PTB's own record names, other files that say "patient", a "Patient:" line
    for name, comments in (("s0010_re", "age: 81\nsex: female"), ("patient12", ""), ("patient201_notes", ""),
                           ("00307_lr", "Patient: 201")):
        assert file_labels(_named(name, comments)).patient_id is None, name


@needs_data("ptbdb/patient201_s0420_re.hea", "ptbdb/patient201_s0423_re.hea", "ptbdb/patient200_s0405_re.hea",
            "ptbdb/s0010_re.hea")
def test_ptbdb_records_of_one_patient_are_one_patients():
    folder = data_dir_or_none() / "ptbdb"
    labels = {name: file_labels(read_ecg(str(folder / name)))
              for name in ("patient201_s0420_re", "patient201_s0423_re", "patient200_s0405_re", "s0010_re")}
    assert same_patient(labels["patient201_s0420_re"], labels["patient201_s0423_re"]) is True
    assert same_patient(labels["patient201_s0420_re"], labels["patient200_s0405_re"]) is False
    assert same_patient(labels["patient201_s0420_re"], labels["s0010_re"]) is None      # PTB's own: no id


def test_ids_of_different_databases_or_a_missing_id_tell_nothing():
    assert same_patient(FileLabels(patient_id="ptbxl:201"), FileLabels(patient_id="ptbdb:patient201")) is None
    assert same_patient(FileLabels(patient_id="ptbxl:201"), FileLabels()) is None
    assert same_patient(FileLabels(patient_id="ptbxl:201"), None) is None


def test_the_id_stays_out_of_what_an_error_or_a_log_line_could_print():
    labels = FileLabels(age="40", sex="male", patient_id="ptbxl:987654321")
    assert "987654321" not in repr(labels) and "987654321" not in str(labels) and "age='40'" in repr(labels)


def test_the_pdf_report_never_prints_the_patient_id():
    import matplotlib

    from dashboard.report import build_pdf
    t = np.arange(5000) / 500.0
    ecg = ECG.from_leads(np.tile(np.exp(-(((t % 1.0) - 0.5) / 0.01) ** 2), (12, 1)),
                         ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"], 500.0)
    labels = FileLabels(labels=[FileLabel("sinus rhythm", "SCP-ECG", "SR")], age="40", sex="male",
                        origin="From PTB-XL's table, ecg_id 1.", patient_id="ptbxl:987654321")
    with matplotlib.rc_context({"svg.fonttype": "none"}):          # the page's text kept as text
        svg = build_pdf(ecg, "test ECG", file_labels=labels, image_format="svg").decode()
    text = " ".join(re.findall(r"<text [^>]*>(.*?)</text>", svg, re.S))
    assert "age 40" in text and "sinus rhythm" in text                    # what the file says is printed ...
    assert "987654321" not in svg and "patient" not in text.lower()       # ... and nothing of who it is


# -------------------------------------------------------------------------------- the Compare page

def compare_ptbxl(app, *names: str):
    """Upload the PTB-XL records `names` and open the Compare page (no error on it)."""
    folder = data_dir_or_none() / PTBXL_100
    for name in names:
        upload(app, record_files(folder / name))
    go_to(app, "compare")
    assert not errors(app), errors(app)


@needs_data(f"{PTBXL_100}/00961_lr.hea", f"{PTBXL_100}/00973_lr.hea", "ptbxl/ptbxl_database.csv")
def test_compare_takes_ptbxl_patient_306s_ecgs_as_one_patients_and_shows_no_id(app):
    compare_ptbxl(app, "00961_lr", "00973_lr")
    assert not app.warning
    assert any("In time order" in c and "later − earlier" in c for c in captions(app))
    assert not shows_number(page_text(app), 306)


@needs_data(f"{PTBXL_100}/00195_lr.hea", f"{PTBXL_100}/00256_lr.hea", "ptbxl/ptbxl_database.csv")
def test_compare_says_ptbxl_00195_and_00256_name_different_patients_without_their_ids(app):
    compare_ptbxl(app, "00195_lr", "00256_lr")
    warning = " ".join(str(w.value) for w in app.warning)
    assert f"{TWO_PATIENTS} ({DIFFERENT}; sex: male / female)" in warning
    shown = page_text(app)
    assert not shows_number(shown, 14472) and not shows_number(shown, 565)


def test_the_tables_patient_ids_decide_over_the_ages_and_are_never_on_the_page(app, tmp_path, monkeypatch):
    """A PTB-XL copy whose table gives 00001_lr and 00002_lr one patient, aged 40 and 70 a day apart (the
    table decides: one patient, in time order), and 00003_lr another patient of the same sex and age as
    00002_lr (nothing but the ids tells them apart)."""
    copy = tmp_path / "data"
    (copy / "ptbxl").mkdir(parents=True)
    (copy / "ptbxl" / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n"
        "1,987654321.0,40.0,0,\"{'NORM': 100.0}\",1,records100/00000/00001_lr,records500/00000/00001_hr\n"
        "2,987654321.0,70.0,0,\"{'NORM': 100.0}\",1,records100/00000/00002_lr,records500/00000/00002_hr\n"
        "3,123456789.0,70.0,0,\"{'NORM': 100.0}\",1,records100/00000/00003_lr,records500/00000/00003_hr\n",
        encoding="utf-8")
    monkeypatch.setenv("METS_DATA_DIR", str(copy))
    day = dt.datetime(1987, 7, 22, 9, 0)
    for n, extra_s in ((1, 0.0), (2, 0.04), (3, 0.08)):
        upload(app, wfdb_upload(tmp_path, f"0000{n}_lr", st_lengthened_ecg(extra_s), recorded=day + dt.timedelta(n)))
    go_to(app, "compare")                                    # the two opened last: 00002_lr and 00003_lr
    assert not errors(app), errors(app)
    warning = " ".join(str(w.value) for w in app.warning)
    assert f"{TWO_PATIENTS} ({DIFFERENT}):" in warning
    shown = page_text(app)
    assert "987654321" not in shown and "123456789" not in shown

    app.selectbox(key="cmp_a").select_index(0).run()        # 00001_lr ...
    app.selectbox(key="cmp_b").select_index(1).run()        # ... and 00002_lr
    assert not errors(app), errors(app)
    assert [str(m.value).split(" · ")[0] for m in app.markdown if str(m.value).startswith("**0000")] == \
        ["**00001_lr**", "**00002_lr**"]
    assert not app.warning                                   # ages 40 and 70 a day apart, but one patient
    assert any("In time order" in c and "later − earlier" in c for c in captions(app))
    assert "987654321" not in page_text(app)
