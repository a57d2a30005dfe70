"""mets_core.file_labels: a file's own diagnosis labels, age and sex, decoded into plain words."""
from __future__ import annotations


import numpy as np

from mets_core.ecg import ECG
from mets_core.file_labels import SCP_ECG, SNOMED_CT, file_labels

from helpers import data_dir_or_none, needs_data


def _ecg(comments: str) -> ECG:
    return ECG.from_leads(np.zeros((1, 500)), ["II"], 100.0, metadata={"comments": comments})


def test_challenge_header_snomed_codes_age_and_sex():
    labels = file_labels(_ecg("Age: 29\nSex: Male\nDx: 426177001,164889003,99999999\nRx: Unknown\nHx: Unknown"))
    texts = [lab.text for lab in labels.labels]
    assert texts[:2] == ["sinus bradycardia", "atrial fibrillation"]
    assert labels.age == "29" and labels.sex == "male"
    unknown = labels.labels[2]
    assert not unknown.known and "99999999" in unknown.text          # shown, never dropped
    assert all(lab.source == "SNOMED CT" for lab in labels.labels)
    assert labels.other_lines == 0


def test_ptbxl_scp_codes_with_likelihoods_and_plain_lists():
    labels = file_labels(_ecg("scp_codes: {'IMI': 100.0, 'SR': 0.0, 'LAO/LAE': 50.0}"))
    assert [lab.text for lab in labels.labels] == ["inferior myocardial infarction", "sinus rhythm",
                                                   "left atrial enlargement"]
    assert labels.labels[0].likelihood == 100.0
    assert [lab.code for lab in file_labels(_ecg("SCP: CLBBB, AFIB")).labels] == ["CLBBB", "AFIB"]
    assert len(SCP_ECG) == 71


def test_scp_literal_is_parsed_as_data_not_code(tmp_path):
    marker = tmp_path / "ran"
    labels = file_labels(_ecg(f"scp_codes: __import__('pathlib').Path({str(marker)!r}).touch()"))
    assert not marker.exists()
    assert all(not lab.known for lab in labels.labels)


def test_ludb_style_diagnoses_and_other_lines_counted_not_shown():
    labels = file_labels(_ecg("<age>: 51\n<sex>: F\n<diagnoses>:\nRhythm: Sinus bradycardia.\n"
                              "Left ventricular hypertrophy. "))
    assert labels.age == "51" and labels.sex == "female"
    assert [lab.text for lab in labels.labels] == ["Rhythm: Sinus bradycardia", "Left ventricular hypertrophy"]
    ptb = file_labels(_ecg("age: 81\nsex: female\nReason for admission: Myocardial infarction\n"
                           "Former infarction (localization): no\nSmoker: yes\nCatheterization date: 1990"))
    assert [lab.text for lab in ptb.labels] == ["Myocardial infarction"]
    assert ptb.other_lines == 2                       # counted only: may hold identifiers


def test_no_comments_no_labels():
    labels = file_labels(_ecg(""))
    assert labels.empty and labels.labels == []
    assert file_labels(_ecg("Age: NaN\nSex: Unknown")).empty


def test_snomed_table_names_are_plain_words():
    assert SNOMED_CT["713426002"] == "incomplete right bundle branch block"
    assert all(name and name == name.strip() and "_" not in name for name in SNOMED_CT.values())


@needs_data("challenge2021/HR06002.hea")
def test_real_challenge_record():
    from mets_core import read_ecg
    folder = data_dir_or_none() / "challenge2021"
    ecg = read_ecg([(n, (folder / n).read_bytes()) for n in ("HR06002.hea", "HR06002.mat")])
    labels = file_labels(ecg)
    assert labels.age == "29" and labels.sex == "male"
    assert "incomplete right bundle branch block" in [lab.text for lab in labels.labels]


def test_identifying_lines_are_never_labels_even_inside_a_diagnosis_block():
    import numpy as np
    from mets_core.ecg import ECG
    comments = "<age>: 61\n<sex>: M\n<diagnoses>:\nRhythm: Sinus rhythm.\nPatient: Doe^Jane\nDOB: 1950-01-01 MRN 123\nName: X"
    labels = file_labels(ECG(np.zeros((12, 100)), 100.0, np.ones(12, bool), metadata={"comments": comments}))
    shown = " ".join(lab.text for lab in labels.labels)
    assert "Sinus rhythm" in shown and "Doe" not in shown and "1950" not in shown and "X" not in shown.split()
    assert labels.other_lines == 3
