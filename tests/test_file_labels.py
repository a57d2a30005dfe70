"""mets_core.file_labels: a file's own diagnosis labels, age and sex, decoded into plain words."""
from __future__ import annotations


import numpy as np

from mets_core.ecg import ECG
from mets_core.file_labels import SCP_ECG, SNOMED_CT, cinc2017_labels, file_labels, ptbxl_labels, rhythm_labels

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
                           "Acute infarction (localization): infero-latera\n"
                           "Former infarction (localization): no\nSmoker: yes\nCatheterization date: 1990"))
    assert [lab.text for lab in ptb.labels] == ["Myocardial infarction",
                                                "Acute infarction (localization): infero-latera"]
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


def _ptbxl_copy(folder, rows: str) -> None:
    """A PTB-XL copy holding its table only (written by a spreadsheet: ids as "307.0")."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n" + rows, encoding="utf-8")


def test_ptbxl_labels_come_from_ptbxls_table_for_a_record_named_as_ptbxl_names_them(tmp_path):
    """PTB-XL's headers carry no labels: a record named 00307_lr gets the statements, age and sex of ecg_id 307
    from the table of the user's PTB-XL copy, said to be matched by name when the copy has no signal to check;
    no table, another name or an id the table lacks: None."""
    _ptbxl_copy(tmp_path / "ptbxl", """307.0,1,63.0,0,"{'ASMI': 50.0, 'LVH': 100.0, 'AFIB': 0.0}",8,"""
                                    "records100/00000/00307_lr,records500/00000/00307_hr\n")
    ecg = ECG.from_leads(np.zeros((1, 1000)), ["II"], 100.0, name="00307_lr")
    labels = ptbxl_labels(ecg, tmp_path / "ptbxl")
    assert [lab.text for lab in labels.labels] == ["anteroseptal myocardial infarction", "left ventricular hypertrophy",
                                                    "atrial fibrillation"]
    assert labels.labels[0].likelihood == 50.0 and labels.age == "63" and labels.sex == "male"
    assert "PTB-XL's table, ecg_id 307" in labels.origin and "matched by the record's name)" in labels.origin
    assert ptbxl_labels(ECG.from_leads(np.zeros((1, 1000)), ["II"], 100.0, name="00308_lr"), tmp_path / "ptbxl") is None
    assert ptbxl_labels(ECG.from_leads(np.zeros((1, 1000)), ["II"], 100.0, name="patient307"), tmp_path / "ptbxl") is None
    assert ptbxl_labels(ecg, tmp_path / "elsewhere") is None
    assert file_labels(ecg).labels == []                       # the file itself says nothing


@needs_data("ptbxl/ptbxl_database.csv", "ptbxl/records100/00000/00307_lr.hea")
def test_ptbxl_labels_of_a_real_record_are_checked_against_its_signal():
    """With the record's signal in the copy, the labels are given only when the ECG is that signal: a file saved
    under a PTB-XL name with other samples gets none."""
    from mets_core import read_ecg
    folder = data_dir_or_none("ptbxl/ptbxl_database.csv") / "ptbxl"
    ecg = read_ecg(folder / "records100" / "00000" / "00307_lr")
    labels = ptbxl_labels(ecg, folder)
    assert "anteroseptal myocardial infarction" in [lab.text for lab in labels.labels]
    assert labels.age == "63" and labels.sex == "male" and "name and its signal" in labels.origin
    other = ECG(signal=ecg.signal * 1.1, fs=ecg.fs, lead_mask=ecg.lead_mask, name="00307_lr")
    assert ptbxl_labels(other, folder) is None


def test_age_and_sex_on_one_line_and_mit_bih_first_line():
    """QTDB writes "Age: 47  Sex: M" on one line; MIT-BIH's first comment line is "<age> <sex> <numbers>"
    ("??" when unknown). Neither is a label; a later line of that shape is not read as age and sex."""
    qtdb = file_labels(_ecg("Age: 47  Sex: M\nCoronary artery disease"))
    assert (qtdb.age, qtdb.sex) == ("47", "male") and [lab.text for lab in qtdb.labels] == ["Coronary artery disease"]
    mit = file_labels(_ecg("23 F 2546 N/A x1\nNone\nThe PVCs are uniform."))
    assert (mit.age, mit.sex) == ("23", "female") and mit.labels == [] and mit.other_lines == 2
    unknown = file_labels(_ecg("?? ? 1234 x1"))
    assert (unknown.age, unknown.sex) == (None, None)
    later = file_labels(_ecg("Dx: 426783006\n60 M 1 2"))
    assert (later.age, later.sex) == (None, None) and later.other_lines == 1


@needs_data("mitdb/208.hea")
def test_real_mit_bih_header_age_and_sex():
    from mets_core import read_ecg
    labels = file_labels(read_ecg(data_dir_or_none("mitdb/208.hea") / "mitdb" / "208"))
    assert (labels.age, labels.sex) == ("23", "female")


def test_rhythm_annotations_become_labels_with_how_long_they_last():
    """An annotation file's rhythm marks ("(AFIB", "(N", ...) as the file's own labels, in plain words, each with
    its total time and number of episodes; a note without words is shown as written, marked unknown."""
    from mets_core.readers.beat_labels import Beats
    fs, n = 250.0, 250 * 600                       # 10 minutes
    beats = Beats(np.array([100]), ("N",), "rec.atr",
                  rhythms=((0, "(N"), (250 * 60, "(AFIB"), (250 * 150, "(N"), (250 * 300, "(AFIB"), (250 * 580, "(SAB"),
                           (250 * 590, "(XYZ")))
    labels = rhythm_labels(beats, fs, n)
    assert [(lab.text, lab.detail) for lab in labels] == [
        ("normal sinus rhythm", "3:30 in 2 episodes"), ("atrial fibrillation", "6:10 in 2 episodes"),
        ("sino-atrial block", "0:10 in 1 episode"),
        ('rhythm annotation "XYZ" (a code not decoded here)', "0:10 in 1 episode")]
    assert [lab.known for lab in labels] == [True, True, True, False]
    assert all(lab.source == "rhythm annotation (rec.atr)" for lab in labels)
    assert rhythm_labels(Beats(np.array([100]), ("N",), "rec.atr"), fs, n) == []


def test_a_rhythm_note_in_the_last_second_marks_the_end_and_is_no_label():
    """CPSC 2021 ends every record with a rhythm note at its last sample: data_8_2, persistent AF, got
    "normal sinus rhythm (0:00 in 1 episode)" beside its atrial fibrillation."""
    from mets_core.readers.beat_labels import Beats
    fs, n = 200.0, 43092
    beats = Beats(np.array([100]), ("N",), "data_8_2.atr", rhythms=((0, "(AFIB"), (n - 1, "(N")))
    assert [(lab.text, lab.detail) for lab in rhythm_labels(beats, fs, n)] == [("atrial fibrillation",
                                                                              "3:35 in 1 episode")]


def test_comment_lines_without_a_key_are_labels_only_when_made_of_the_words_of_diagnoses():
    """CPSC 2021's class line and QTDB's diagnosis lines are the records' main labels; a line with a name, a
    number, a recorder or a medication is not a diagnosis and stays counted only (it may identify someone)."""
    shown = ["persistent atrial fibrillation", "Coronary artery disease", "Myocardial infarction",
             "non atrial fibrillation", "Complete left bundle branch block."]
    hidden = ["John Smith", "Recorder type: ICR model 7200", "Digoxin, Quinaglute", "Coronary angiography",
              "The signal 0 was delayed with a delay=7 samples", "Atrial Fibrillation 12345",
              "Mary Block", "atrial fibrillation " * 5]
    labels = file_labels(_ecg("\n".join(shown + hidden)))
    assert [lab.text for lab in labels.labels] == [line.rstrip(".") for line in shown]
    assert all(lab.source == "header text" for lab in labels.labels) and labels.other_lines == len(hidden)


@needs_data("cpsc2021/data_8_2.hea", "qtdb/sele0104.hea")
def test_real_cpsc2021_and_qtdb_headers_give_their_diagnoses():
    from mets_core import read_ecg
    data = data_dir_or_none()
    assert [lab.text for lab in file_labels(read_ecg(data / "cpsc2021" / "data_8_2")).labels] == [
        "persistent atrial fibrillation"]
    qtdb = file_labels(read_ecg(data / "qtdb" / "sele0104"))
    assert [lab.text for lab in qtdb.labels] == ["Coronary artery disease", "Myocardial infarction"]
    assert (qtdb.age, qtdb.sex) == ("47", "male")


def test_cinc2017_records_get_the_challenges_reference_class(tmp_path):
    """A CinC 2017 record's files carry no labels: one named A00007 gets its class from the REFERENCE.csv of the
    user's copy; when the copy holds that record, only an upload of the same signal does; no table, another
    name or a record the table lacks: None."""
    import wfdb
    folder = tmp_path / "cinc2017"
    folder.mkdir()
    (folder / "REFERENCE.csv").write_text("A00007,A\nA00008,~\nA00009,N\n")
    ecg = ECG.from_leads(np.zeros((1, 3000)), ["I"], 300.0, name="A00007")
    labels = cinc2017_labels(ecg, folder)
    assert [(lab.text, lab.code) for lab in labels.labels] == [("atrial fibrillation", "A")]
    assert "REFERENCE.csv in your data folder; matched by the record's name)" in labels.origin
    noisy = cinc2017_labels(ECG.from_leads(np.zeros((1, 3000)), ["I"], 300.0, name="A00008"), folder)
    assert noisy.labels[0].text == "too noisy to classify"
    assert cinc2017_labels(ECG.from_leads(np.zeros((1, 3000)), ["I"], 300.0, name="A00010"), folder) is None
    assert cinc2017_labels(ECG.from_leads(np.zeros((1, 3000)), ["I"], 300.0, name="B00007"), folder) is None
    assert cinc2017_labels(ecg, tmp_path / "elsewhere") is None
    signal = np.sin(np.arange(3000) / 30.0)[:, None]            # the copy holds A00009's own signal
    wfdb.wrsamp("A00009", fs=300, units=["mV"], sig_name=["ECG"], p_signal=signal, fmt=["16"], write_dir=str(folder))
    from mets_core import read_ecg
    same = read_ecg(str(folder / "A00009.hea"))
    assert cinc2017_labels(same, folder).labels[0].text == "normal sinus rhythm"
    assert "and its signal" in cinc2017_labels(same, folder).origin
    other = ECG.from_leads(0.5 * signal.T, ["I"], 300.0, name="A00009")     # another file under its name
    assert cinc2017_labels(other, folder) is None


@needs_data("cinc2017/REFERENCE.csv", "cinc2017/A05499.hea")
def test_a_cinc2017_record_of_the_data_folder_gets_its_class():
    from mets_core import read_ecg
    folder = data_dir_or_none("cinc2017/REFERENCE.csv") / "cinc2017"
    labels = cinc2017_labels(read_ecg(str(folder / "A05499.hea")), folder)
    assert [lab.text for lab in labels.labels] == ["normal sinus rhythm"] and "and its signal" in labels.origin


@needs_data("mitdb/208.hea", "mitdb/201.hea", "ludb/data/1.hea", "ludb/data/2.hea")
def test_is_recording_of_tells_the_very_record_from_others_of_the_same_length():
    """MIT-BIH's records are all 30 min at 360 Hz: one is not another although their headers agree."""
    from mets_core import read_ecg
    from mets_core.file_labels import is_recording_of
    data = data_dir_or_none()
    mit, ludb = read_ecg(data / "mitdb" / "208"), read_ecg(data / "ludb" / "data" / "1")
    assert is_recording_of(mit, data / "mitdb" / "208.hea") is True
    assert is_recording_of(mit, data / "mitdb" / "201.hea") is False
    assert is_recording_of(ludb, data / "ludb" / "data" / "1.hea") is True
    assert is_recording_of(ludb, data / "ludb" / "data" / "2.hea") is False
    assert is_recording_of(ludb, data / "mitdb" / "208.hea") is False
    assert is_recording_of(ludb.crop(0.0, 5.0), data / "ludb" / "data" / "1.hea") is False   # a stretch is not it
    assert is_recording_of(ludb, data / "ludb" / "data" / "no_such.hea") is None
