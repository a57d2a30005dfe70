"""Review 35 of the file's own labels beside the ranking (mets_core.file_labels) and of the ranking's honesty rules
(mets_core.knowledge), as a cardiologist comparing the two meets them on the real records of METS_DATA_DIR."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import data_dir_or_none, needs_data
from mets_core.ecg import ECG
from mets_core.file_labels import file_labels, ptbxl_table_rows, ptbxl_labels_in
from mets_core.knowledge import Knowledge, negation

SHIPPED = Path(__file__).resolve().parent.parent / "weights"
LUDB_AF = "ludb/data/101.hea"          # LUDB's record 101: "Rhythm: Atrial fibrillation."


def _ecg(comments: str, name: str = "record") -> ECG:
    return ECG.from_leads(np.zeros((1, 500)), ["II"], 100.0, metadata={"comments": comments}, name=name)


def _read(relative: str, **kw) -> ECG:
    from mets_core.readers import read_ecg
    return read_ecg(data_dir_or_none(relative) / relative.removesuffix(".hea"), end_s=1.0, **kw)


# ------------------------------------------------------------------------------------------ negation

# Each was ranked as the finding it denies: "AF: no" and "no-AF" stood out (90th, 91st percentile) on LUDB's AF
# record 101, so the headline crowned a phrase that says there is no AF on an ECG of AF.
NEGATED_NOW = [
    ("AF: no", "AF"),                                  # a structured report's key and value
    ("Atrial fibrillation: none", "Atrial fibrillation"),
    ("LBBB - no", "LBBB"),
    ("no-AF", "AF"),
    ("AF not present", "AF"),
    ("atrial fibrillation not seen", "atrial fibrillation"),
    ("ST elevation not detected.", "ST elevation"),
    ("there is no atrial fibrillation", "atrial fibrillation"),
    ("There are no Q waves", "Q waves"),
    ("Vorhofflimmern ausgeschlossen", "Vorhofflimmern"),
]


# The finding was taken with the words around it ("AF is", "evidence for infarction"): it was scored as those words,
# 85th percentile on LUDB 101 against the 96th of atrial fibrillation itself, and the page said "a low percentile is
# not evidence of absence" instead of "the finding itself stands out".
FINDING_NOW = [
    ("AF is absent", "AF"),
    ("atrial fibrillation was excluded", "atrial fibrillation"),
    ("ST elevation has been ruled out", "ST elevation"),
    ("no evidence for atrial fibrillation", "atrial fibrillation"),
    ("without evidence of atrial fibrillation", "atrial fibrillation"),
    ("without signs of ischaemia", "ischaemia"),
    ("kein Hinweis auf Infarkt", "Infarkt"),
]


@pytest.mark.parametrize("typed,finding", NEGATED_NOW + FINDING_NOW)
def test_each_negation_is_read_and_its_finding_is_the_finding_alone(typed, finding):
    found = negation(typed)
    assert found is not None and found.finding == finding


@pytest.mark.parametrize("typed", [
    "MI not excluded", "ischaemia cannot be ruled out", "no-reflow", "T waves: negative", "negative T waves",
    "non-specific ST changes", "Atrial flutter, typical", "Rhythm: Sinus rhythm", "not", "AF: ",
    "Electric axis of the heart: normal"])
def test_findings_and_hedges_are_still_not_negations(typed):
    assert negation(typed) is None


def test_a_long_pasted_line_is_read_whole():
    """A pasted line of 16,000 separators took 17 s in `negation` (run for every prompt of `mets rank`, whose
    prompts are not cut to a length); it is now read at once. (Its speed is not asserted: the answer is the same.)"""
    assert negation("AF" + ", " * 16000 + "absent") == negation("AF absent")
    assert negation("a" + " -" * 16000 + "b") is None


@pytest.fixture(scope="module")
def shipped():
    from mets_core import METS
    if not (SHIPPED / "reference.safetensors").is_file():
        pytest.skip("weights/ ships no reference ECGs")
    return METS.from_pretrained(SHIPPED)


@needs_data(LUDB_AF)
def test_on_a_real_af_ecg_no_negated_phrase_is_crowned_and_the_finding_is_said_to_stand_out(shipped):
    from mets_core.knowledge import negation_words
    from mets_core.readers import read_ecg
    ecg = read_ecg(data_dir_or_none(LUDB_AF) / "ludb/data/101")
    prompts = ["atrial fibrillation", "AF: no", "no-AF", "AF not present", "without evidence of atrial fibrillation"]
    by = {m.prompt: m for m in shipped.rank(ecg, prompts)}
    af = by["atrial fibrillation"]
    assert af.stands_out, "the finding should stand out on this AF ECG, so that the test means something"
    for typed in prompts[1:]:
        m = by[typed]
        assert not m.stands_out and m.negates is not None and m.percentile == af.percentile
        assert "The finding itself stands out" in negation_words(m.prompt, m.negates, m.percentile, m.known)


# ------------------------------------------------------------------------------------------ expansion

@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge.load(None)


@pytest.mark.parametrize("typed,target", [
    ("1st degree AVB", "avb1"), ("AVB I", "avb1"), ("I degree AV block", "avb1"),      # LUDB's own words
    ("III degree AV-block", "avb3"), ("II degree AV block", "avb2"), ("3rd degree AVB", "avb3"),
    ("T wave inversions", "t_inversion"), ("left bundle branch blocks", "lbbb")])
def test_written_forms_of_a_statement_are_scored_as_that_statement(knowledge, typed, target):
    """Scored as free phrases, these had no validation AUC and another score than the statement they name."""
    assert knowledge.expand(typed).target == target


def test_the_written_forms_leave_the_known_phrasings_as_they_were(knowledge):
    """The weights store the embeddings of known_phrasings(): a changed list would be re-embedded at every start."""
    import json
    stored = json.loads((SHIPPED / "knowledge.json").read_text(encoding="utf-8")).get("known_phrasings")
    if stored is None:
        pytest.skip("these weights store no known phrasings")
    assert knowledge.known_phrasings() == stored


def test_words_that_only_look_like_other_forms_are_not_rewritten(knowledge):
    assert knowledge.expand("banana").target is None
    assert knowledge.expand("I").target is None
    assert knowledge.expand("ST").target == knowledge.expand("st").target   # as knowledge.json has it


# ------------------------------------------------------------------------------------------ file labels

@needs_data("qtdb/sele0405.hea", "qtdb/sele0612.hea")
def test_qtdb_diagnosis_lines_are_shown():
    """QTDB's sele0405 said "Normal subject" and sele0612 "LBBB or RBBB episodes": the page said the file carries
    no diagnosis labels the reader recognises (sele0405) or left the bundle branch block out (sele0612)."""
    normal = file_labels(_read("qtdb/sele0405.hea", lead_names=["I", "II"]))
    assert [lab.text for lab in normal.labels] == ["Normal subject"] and normal.age == "46"
    bbb = file_labels(_read("qtdb/sele0612.hea", lead_names=["I", "II"]))
    assert "LBBB or RBBB episodes" in [lab.text for lab in bbb.labels]
    # the lines around them are still only counted: an angiography, a drug class, the recorder, the record's origin
    assert [lab.text for lab in bbb.labels] == ["Coronary artery disease", "LBBB or RBBB episodes"]


@needs_data("ptbdb/patient201_s0420_re.hea")
def test_ptbdb_additional_diagnoses_are_one_label_each():
    """PTB-DB's "Additional diagnoses: Atrial fibrillation, Hypertropic cardiomyopathy" was one label: ranked as one
    phrase, and never matched with a ranked "atrial fibrillation"."""
    labels = file_labels(_read("ptbdb/patient201_s0420_re.hea"))
    texts = [lab.text for lab in labels.labels]
    assert texts == ["Cardiomyopathy", "Atrial fibrillation", "Hypertropic cardiomyopathy"]
    assert [lab.phrase for lab in labels.labels] == texts


def test_a_list_in_brackets_is_not_cut_and_other_keys_are_not_split():
    labels = file_labels(_ecg("Additional diagnoses: Coronary artery disease (PTCA, Stent), Diabetes mellitus\n"
                              "Reason for admission: Atrial flutter, typical"))
    assert [lab.text for lab in labels.labels] == ["Coronary artery disease (PTCA, Stent)", "Diabetes mellitus",
                                                   "Atrial flutter, typical"]


def test_a_sex_written_as_a_number_is_not_guessed_from_ptbxl_s_table():
    """"Sex: 1" was read as female (PTB-XL's table codes 1 female), though 1 is male in ISO 5218 and other tables."""
    assert file_labels(_ecg("Age: 60\nSex: 1")).sex is None
    assert file_labels(_ecg("Age: 60\nSex: 0")).sex is None
    assert file_labels(_ecg("Age: 60\nSex: F")).sex == "female"


@needs_data("ptbxl/ptbxl_database.csv")
def test_ptbxl_s_own_sex_codes_are_still_read():
    path = data_dir_or_none("ptbxl/ptbxl_database.csv") / "ptbxl/ptbxl_database.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = ptbxl_table_rows(f)
    labels = ptbxl_labels_in(_ecg("", name="00001_lr"), rows, "a copy")
    assert (labels.age, labels.sex) == ("56", "female")        # ecg_id 1: age 56, sex 1 (female in PTB-XL)


def test_ptbxl_s_sex_is_read_from_a_copy_saved_by_a_spreadsheet():
    """A copy saved by a spreadsheet writes the sex "1.0" (its ids and ages too): the sex was not shown."""
    rows = ptbxl_table_rows(["ecg_id,patient_id,age,sex,scp_codes,filename_lr,filename_hr",
                             "1.0,15709.0,56.0,1.0,\"{'NORM': 100.0}\",records100/00000/00001_lr,"])
    labels = ptbxl_labels_in(_ecg("", name="00001_lr"), rows, "a copy")
    assert (labels.age, labels.sex) == ("56", "female")


def test_a_key_written_with_runs_of_spaces_is_read():
    """A padded header ("Reason for  admission:") was not read as its key, so its diagnosis was not shown. Each
    line is single-spaced first, which also ends the key pattern's backtracking over a run of spaces (a run of
    2,000 took 5 s, of 8,000 minutes, at every page shown)."""
    labels = file_labels(_ecg("Reason for  admission:   Myocardial   infarction\n"
                              "Additional  diagnoses: Diabetes mellitus\nSinus" + " " * 2000 + "rhythm"))
    assert [lab.text for lab in labels.labels] == ["Myocardial infarction", "Diabetes mellitus", "Sinus rhythm"]


def test_the_same_finding_under_two_challenge_codes_is_one_label():
    """The Challenges' 427172004 and 17338001 are one finding (scored as one by the Challenge): both were listed, as
    "premature ventricular contractions" and "ventricular premature beats"."""
    labels = file_labels(_ecg("Dx: 427172004,17338001,164889003"))
    assert [lab.text for lab in labels.labels] == ["premature ventricular contractions", "atrial fibrillation"]


@pytest.mark.parametrize("code,source", [("3AVB", "scp"), ("ANEUR", "scp"), ("27885002", "snomed")])
def test_decoded_labels_rank_as_the_statement_they_name(knowledge, code, source):
    """"third degree (complete) AV block" and "ST-T changes of ventricular aneurysm" (the decoder's own words, neither
    PTB-XL's nor the vocabulary's) were ranked as free phrases by "Rank the file's own labels"."""
    line = f"SCP: {code}" if source == "scp" else f"Dx: {code}"
    [label] = file_labels(_ecg(line)).labels
    assert knowledge.expand(label.phrase).target is not None


def test_the_challenge_s_unscored_diagnoses_are_named():
    """"Dx: 164951009" (abnormal QRS: 3,389 of the Challenge's PTB-XL records) was shown as "SNOMED CT code
    164951009 (not in this decoder's table)"; so were the Challenge's other unscored diagnoses."""
    labels = file_labels(_ecg("Dx: 164951009,428417006,195060002,426783006"))
    assert [lab.text for lab in labels.labels] == ["abnormal QRS", "early repolarization", "ventricular pre-excitation",
                                                   "sinus rhythm"]
    assert all(lab.known for lab in labels.labels)
