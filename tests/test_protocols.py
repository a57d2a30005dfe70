"""Evaluation protocols: metric code against hand-computed cases, sampling against the label files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import data_dir_or_none, needs_data
from mets_core import cli
from mets_train.ptbxl.dataset import PTBXL
from mets_train.ptbxl.protocols import (PACED_RECORDS, beat_window, classification_metrics, load_protocols,
                                       mitbih_records, read_beat_window, run_mets_protocol, run_mitbih, run_ptbxl_auc,
                                       sample_beats,
                                       sample_single_label)

DATA = data_dir_or_none("ptbxl", "mitdb")


@pytest.fixture(scope="module")
def model():
    from mets_core.pipeline import METS
    return METS.random_init(seed=0)      # plumbing only: a random model's numbers are no result


def test_metrics_hand_computed():
    # truth:      a a a b b c        confusion (rows truth, cols pred): a: 2 1 0 / b: 0 1 1 / c: 0 0 1
    # prediction: a a b b c c
    m = classification_metrics(list("aaabbc"), list("aabbcc"), ["a", "b", "c"])
    assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    # precision a 2/2, b 1/2, c 1/2; recall a 2/3, b 1/2, c 1/1
    assert m["macro_precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    f1 = [2 * 1 * (2 / 3) / (1 + 2 / 3), 0.5, 2 * 0.5 * 1 / 1.5]
    assert m["macro_f1"] == pytest.approx(sum(f1) / 3)
    p, r = m["macro_precision"], m["macro_recall"]
    assert m["f1_of_macro_pr"] == pytest.approx(2 * p * r / (p + r))
    assert m["per_class"]["c"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}


def test_metrics_edge_cases():
    # a class never predicted has precision 0 (sklearn zero_division=0); a class absent from the truth is
    # left out of the macro averages
    m = classification_metrics(["a", "a", "b"], ["a", "a", "a"], ["a", "b", "c"])
    assert m["per_class"]["b"]["precision"] == 0.0 and m["per_class"]["a"]["precision"] == pytest.approx(2 / 3)
    assert m["macro_recall"] == pytest.approx((1 + 0) / 2)
    assert classification_metrics(list("ab"), list("ab"), ["a", "b"])["macro_f1"] == 1.0
    with pytest.raises(ValueError, match="not among the classes"):
        classification_metrics(["a"], ["z"], ["a", "b"])
    # the paper's F1 is the harmonic mean of macro P and R: superclass .694/.626 -> .658 (reported .657)
    assert 2 * .694 * .626 / (.694 + .626) == pytest.approx(0.657, abs=0.0015)


def test_beat_window_is_centred_and_kept_inside():
    assert beat_window(5000, 360, 650000, 10.0) == (3200, 6800)
    assert beat_window(100, 360, 650000, 10.0) == (0, 3600)
    assert beat_window(649990, 360, 650000, 10.0) == (646400, 650000)
    with pytest.raises(ValueError, match="shorter"):
        beat_window(10, 360, 1000, 10.0)


@needs_data("ptbxl", "mitdb")
def test_mets_sampling_is_single_label_balanced_seeded_and_from_fold_10():
    ds = PTBXL(Path(DATA) / "ptbxl")
    spec = load_protocols()["mets"]
    fold10 = set(ds.ids([10]))
    for task in spec["tasks"].values():
        classes = list(task["classes"])
        drawn = sample_single_label(ds, task["level"], classes, [10], 200, seed=0)
        assert drawn == sample_single_label(ds, task["level"], classes, [10], 200, seed=0)
        for c, ids in drawn.items():
            assert 0 < len(ids) <= 200 and len(set(ids)) == len(ids) and set(ids) <= fold10
            for labels in ds.labels(task["level"], ids):
                assert labels & set(classes) == {c}
            # fewer than 200 only when fewer single-label ECGs exist
            eligible = [i for i, lab in zip(ds.ids([10]), ds.labels(task["level"], ds.ids([10])))
                        if lab & set(classes) == {c}]
            assert len(ids) == min(200, len(eligible))
    other = sample_single_label(ds, "superclass", ["NORM", "MI"], [10], 50, seed=1)
    assert other != sample_single_label(ds, "superclass", ["NORM", "MI"], [10], 50, seed=0)


@needs_data("ptbxl", "mitdb")
def test_mitbih_sampling_matches_the_annotation_files():
    import wfdb
    folder = Path(DATA) / "mitdb"
    records = mitbih_records(folder)
    assert not set(records) & set(PACED_RECORDS) and "101" in records
    beats = sample_beats(folder, records, 100, seed=0)
    assert beats == sample_beats(folder, records, 100, seed=0)
    assert beats != sample_beats(folder, records, 100, seed=1)
    counts = {c: sum(b.label == c for b in beats) for c in load_protocols()["mitbih"]["classes"]}
    assert counts == {"N": 100, "LBBB": 100, "RBBB": 100, "APB": 100, "PVC": 100}
    assert len({(b.record, b.sample) for b in beats}) == len(beats)
    expected = {"N": "N", "LBBB": "L", "RBBB": "R", "APB": "A", "PVC": "V"}
    annotations = {}
    for b in beats:
        if b.record not in annotations:
            ann = wfdb.rdann(str(folder / b.record), "atr")
            annotations[b.record] = dict(zip(ann.sample.tolist(), ann.symbol))
        assert annotations[b.record][b.sample] == b.symbol == expected[b.label]


@needs_data("ptbxl", "mitdb")
def test_mitbih_window_holds_the_beat_and_runs_end_to_end(tmp_path, model):
    folder = Path(DATA) / "mitdb"
    beat = sample_beats(folder, ["109"], 1, seed=0)[0]
    ecg = read_beat_window(folder, beat, 10.0)
    assert ecg.fs == 360 and ecg.n_samples == 3600 and ecg.lead_mask.sum() == 2
    res = run_mitbih(model, folder, records=["109", "118", "119", "209"], seed=0, n_per_class=3)
    assert res["n_sampled"] == {"N": 3, "LBBB": 3, "RBBB": 3, "APB": 3, "PVC": 3}
    assert res["n_evaluated"] == 15 and 0.0 <= res["accuracy"] <= 1.0
    # CLI: table + JSON file
    out = tmp_path / "mitbih.json"
    code = cli.main(["evaluate", "--protocol", "mitbih", "--data-dir", str(DATA), "--random-init", "--records", "109",
                     "118", "--n-per-class", "4", "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    r = doc["results"]["random-init"]
    assert doc["protocol"] == "mitbih" and r["records"] == ["109", "118"] and r["n_evaluated"] == sum(r["n_sampled"].values())
    assert np.array(r["confusion"]).sum() == r["n_evaluated"]


@needs_data("ptbxl", "mitdb")
def test_ptbxl_protocols_run_on_the_records_present(tmp_path, model):
    ds = PTBXL(Path(DATA) / "ptbxl")
    # on fold 9 (validation), not the protocols' default fold 10: fold 10 is held back, and its two records
    # present here are never read
    doc = json.loads(json.dumps(run_mets_protocol(model, ds, seed=0, folds=[9])))     # JSON-serialisable
    present = set(ds.available_ids([9]))
    for task in ("superclass", "form", "rhythm"):
        assert set(doc[task]["evaluated_ids"]) <= present          # only fold-9 records with signals
        assert doc[task]["n_evaluated"] == len(doc[task]["evaluated_ids"])
        assert sum(doc[task]["n_sampled"].values()) <= 1000
    auc = run_ptbxl_auc(model, ds, folds=[9])
    assert set(auc["evaluated_ids"]) == present and auc["superclass"]["n_classes"] == 5
    assert auc["subclass"]["n_classes"] == 23 and auc["form"]["n_classes"] == 19 and auc["rhythm"]["n_classes"] == 12
    # a folder without PTB-XL: one clear line, exit code 2
    assert cli.main(["evaluate", "--protocol", "mets", "--data-dir", str(tmp_path), "--random-init"]) == 2


def test_pretraining_exposure_reads_the_corpus_the_checkpoint_names(tmp_path):
    from mets_train.ptbxl.protocols import pretraining_exposure
    (tmp_path / "windows.csv").write_text(
        "idx,source,record,patient,start_s,split,report,statements,n_leads\n"
        "0,mitdb,101,101,0,train,r,,2\n1,mitdb,101,101,10,train,r,,2\n2,mitdb,108,108,0,val,r,,2\n"
        "3,ptbxl,06000_hr,1,0,train,r,,12\n")

    class Model:
        training = {"corpus": str(tmp_path)}
    assert pretraining_exposure(Model(), "mitdb", ["101", "108", "232"]) == {
        "status": "partly seen", "corpus": str(tmp_path), "train": ["101"], "val": ["108"], "absent": ["232"]}
    assert pretraining_exposure(Model(), "mitdb", ["108"])["status"] == "unseen"
    assert pretraining_exposure(Model(), "ptbxl", [6000])["status"] == "seen"
    Model.training = {"corpus": str(tmp_path / "gone")}
    assert pretraining_exposure(Model(), "mitdb", ["101"])["status"] == "unknown"
