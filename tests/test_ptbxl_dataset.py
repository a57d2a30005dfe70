"""PTB-XL metadata: lenient number formats, folds, labels at every level, signals."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import data_dir_or_none, needs_data
from mets_train.ptbxl.dataset import (LEVELS, PRETRAINING_FOLDS, PTBXL, PTBXLError, labels_of, parse_scp_codes,
                                     read_statements)

DATA = data_dir_or_none("ptbxl")

STATEMENTS = """,description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass
NORM,normal ECG,1.0,,,NORM,NORM
IMI,inferior myocardial infarction,1,,,MI,IMI
NDT,non-diagnostic T abnormalities,1,1.0,,STTC,STTC
PVC,ventricular premature complex,,1,,,
SR,sinus rhythm,,,1.0,,
AFIB,atrial fibrillation,,,True,,
"""
# the same content in two number styles: spreadsheet ("1", "10", True) and pandas ("1.0", "10.0")
DATABASE = """ecg_id,patient_id,report,scp_codes,strat_fold,filename_lr,filename_hr
1,15709.0,sinusrhythmus normales ekg,"{'NORM': 100.0, 'SR': 0.0}",3,records100/00000/00001_lr,records500/00000/00001_hr
2.0,13243,vorhofflimmern,"{'IMI': 50, 'NDT': 100, 'AFIB': 0, 'PVC': 0}",10.0,records100/00000/00002_lr,records500/00000/00002_hr
3,20372,sinus rhythm. normal ecg.,{'NORM': 80.0},9,records100/00000/00003_lr,records500/00000/00003_hr
"""


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "scp_statements.csv").write_text(STATEMENTS)
    (tmp_path / "ptbxl_database.csv").write_text(DATABASE)
    return PTBXL(tmp_path)


def test_lenient_number_formats_and_labels(tiny):
    assert tiny.ids() == [1, 2, 3]
    assert tiny.records.loc[2, "strat_fold"] == 10 and tiny.records.loc[1, "patient_id"] == 15709
    assert tiny.ids([10]) == [2] and tiny.ids(PRETRAINING_FOLDS) == [1, 3]
    assert tiny.labels("superclass") == [{"NORM"}, {"MI", "STTC"}, {"NORM"}]
    assert tiny.labels("subclass") == [{"NORM"}, {"IMI", "STTC"}, {"NORM"}]
    assert tiny.labels("diagnostic") == [{"NORM"}, {"IMI", "NDT"}, {"NORM"}]
    assert tiny.labels("form") == [set(), {"NDT", "PVC"}, set()]
    assert tiny.labels("rhythm") == [{"SR"}, {"AFIB"}, set()]
    classes, y = tiny.label_matrix("superclass")
    assert classes == ["MI", "NORM", "STTC"]
    assert y.tolist() == [[False, True, False], [True, False, True], [False, True, False]]
    # likelihood filter (form/rhythm statements carry likelihood 0 by PTB-XL's convention)
    assert tiny.labels("diagnostic", min_likelihood=60) == [{"NORM"}, {"NDT"}, {"NORM"}]


def test_bad_inputs_are_clear(tmp_path):
    with pytest.raises(PTBXLError, match="missing ptbxl_database.csv"):
        PTBXL(tmp_path)
    with pytest.raises(PTBXLError, match="not a dict literal"):
        parse_scp_codes("{'NORM': 100.0")
    assert parse_scp_codes("{'NORM': '100,0'}") == {"NORM": 100.0}
    with pytest.raises(ValueError, match="unknown label level"):
        labels_of({"NORM": 1.0}, {}, "nonsense")


@needs_data("ptbxl")
def test_real_metadata_counts_match_the_ptbxl_paper():
    ds = PTBXL(Path(DATA) / "ptbxl")
    assert len(ds) == 21837
    assert len(ds.ids([10])) == 2203 and len(ds.ids([9])) == 2193
    assert {lv: len(ds.classes(lv)) for lv in LEVELS} == {
        "superclass": 5, "subclass": 23, "diagnostic": 44, "form": 19, "rhythm": 12, "all": 71}
    classes, y = ds.label_matrix("superclass")
    # Wagner et al. 2020, Table 3 (records per superclass)
    assert dict(zip(classes, y.sum(0).tolist())) == {"CD": 4907, "HYP": 2655, "MI": 5486, "NORM": 9528, "STTC": 5250}
    assert ds.labels("superclass", [1]) == [{"NORM"}] and ds.labels("rhythm", [1]) == [{"SR"}]


@needs_data("ptbxl")
def test_signals_present_are_read_as_12_lead_ecgs():
    ds = PTBXL(Path(DATA) / "ptbxl", sampling_rate=500)       # the 500 Hz records only (5 in the data folder)
    assert ds.forms == ("records500",)
    present = ds.available_ids()
    assert present and set(present) <= set(ds.ids())
    ecg = ds.read(present[0])
    assert ecg.signal.shape == (12, 5000) and ecg.fs == 500 and ecg.lead_mask.all()
    missing = next(i for i in ds.ids() if i not in present)
    with pytest.raises(PTBXLError, match="no signal"):
        ds.read(missing)
    statements = read_statements(Path(DATA) / "ptbxl" / "scp_statements.csv")
    assert statements["NORM"].diagnostic_class == "NORM" and statements["SR"].rhythm
    assert np.isfinite(ecg.signal).all()
