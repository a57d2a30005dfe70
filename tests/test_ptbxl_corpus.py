"""PTB-XL in `mets corpus build`: both signal forms, its own reports (as written and translated), its SCP
statements on the project vocabulary with the diagnostic superclasses, and its folds as the split
(1-8 train, 9 validation; the test fold 10 is never read, nor are its copies in other databases)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from helpers import require_data
from mets_train.corpus import BuildOptions, build_corpus
from mets_train.training.data import Corpus
from mets_train.training.evaluate import label_sets

# 1 (fold 3, mV, German), 8 (fold 9, mV), 1030 (fold 9, z-scored only), 6000 and 6004 (fold 10, 500 Hz),
# 6001 (fold 7, 500 Hz); HR06000/HR06004 are Challenge-2021 copies of fold-10 ECGs
RECORDS = {"ptbxl": {"1", "8", "1030", "6000", "6001", "6004"},
           "challenge2021": {"HR06000", "HR06001", "HR06004"}}


@pytest.fixture(scope="module")
def corpus(data_dir, tmp_path_factory) -> Corpus:
    require_data("ptbxl/zscore100")             # the z-scored form: absent from some data folders
    out = tmp_path_factory.mktemp("ptbxl_corpus") / "corpus"
    build_corpus(data_dir, out, BuildOptions(sources=["ptbxl", "challenge2021"], records=RECORDS), verbose=False)
    return Corpus.open(out)


def _rows(corpus: Corpus) -> dict[str, dict]:
    with open(corpus.path / "windows.csv", newline="", encoding="utf-8") as fh:
        return {f"{r['source']}/{r['record']}": r for r in csv.DictReader(fh)}


def test_test_fold_is_never_read(corpus):
    rows = _rows(corpus)
    assert set(rows) == {"ptbxl/1", "ptbxl/8", "ptbxl/1030", "ptbxl/6001", "challenge2021/HR06001"}
    skipped = {s["record"] for src in corpus.meta["sources"].values() for s in src["skipped"]}
    assert {"HR06000", "HR06004"} <= skipped


def test_folds_decide_the_side_for_every_copy_of_a_patient(corpus):
    rows = _rows(corpus)
    assert rows["ptbxl/8"]["split"] == rows["ptbxl/1030"]["split"] == "val"
    assert rows["ptbxl/1"]["split"] == rows["ptbxl/6001"]["split"] == "train"
    assert rows["challenge2021/HR06001"]["split"] == "train"           # a copy of fold-7 ecg 6001
    assert rows["challenge2021/HR06001"]["patient"] == rows["ptbxl/6001"]["patient"]


def test_both_signal_forms_are_read_and_labelled(corpus):
    rows = _rows(corpus)
    assert rows["ptbxl/1030"]["form"] == "zscore" and rows["ptbxl/1"]["form"] == "mv"
    z = corpus.signals[int(rows["ptbxl/1030"]["idx"])].astype(np.float32)
    mv = corpus.signals[int(rows["ptbxl/1"]["idx"])].astype(np.float32)
    assert z.shape == mv.shape == (12, 1000)
    assert np.allclose(z.std(axis=1), 1.0, atol=0.25)                  # z-scored per lead, not mV
    assert mv.std(axis=1).max() < 1.0                                   # mV: a few tenths of a mV


def test_reports_are_ptbxls_own_text_translated_and_statements_are_vocabulary_ids(corpus):
    row = _rows(corpus)["ptbxl/1"]
    assert row["report_original"] == "sinusrhythmus periphere niederspannung"
    assert row["report"] == "sinus rhythm. low limb lead voltage."
    assert row["report_statements"] and row["report_statements"] != row["report"]
    ids = set(row["statements"].split(";"))
    assert {"sinus_rhythm", "low_qrs_voltage", "normal_ecg", "class_norm"} <= ids


def test_the_ptbxl_label_sets_are_judged_on_ptbxl_windows(corpus):
    idx = corpus.indices("val")
    sets = label_sets(corpus, idx)
    labels, mask = sets["ptbxl_superclass"]
    assert [x["label"] for x in labels] == ["normal ECG", "myocardial infarction", "ST/T change",
                                            "conduction disturbance", "hypertrophy"]
    assert all(corpus.sources[i] == "ptbxl" for i in idx[mask])
    assert "open" not in sets                                          # no open-database validation window here
