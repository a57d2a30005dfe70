"""`mets evaluate` on few ECGs says that its numbers mean little (n and a 95% interval beside the score, the
classes under the validation bar), and says what it knows of the model's pretraining records: from a copy of
its corpus (--corpus), else from the weights' knowledge.json, never a bare "unknown"."""
from __future__ import annotations

import json

import pytest

from mets_core import cli
from mets_train.ptbxl.protocols import format_results, pretraining_exposure, wilson_interval
from mets_train.training.evaluate import MIN_POSITIVES, format_table

from fake_ptbxl import write_fake_ptbxl

# two fold-9 ECGs (normal, inferior MI) and one fold-10 ECG that --folds 9 must not touch
TWO = {1: (9, {"records100"}), 2: (9, {"zscore100"}), 3: (10, {"records100"})}
TWO_CODES = {1: "NORM", 2: "IMI", 3: "NORM"}


def test_wilson_interval_is_wide_for_tiny_n():
    low, high = wilson_interval(2, 2)
    assert low == pytest.approx(0.342, abs=0.001) and high == 1.0
    low, high = wilson_interval(500, 1000)
    assert high - low == pytest.approx(0.062, abs=0.001)
    assert wilson_interval(0, 0) is None


def test_mets_protocol_on_two_ecgs_warns_and_gives_n(tmp_path, capsys):
    folder = write_fake_ptbxl(tmp_path / "ptbxl", TWO, TWO_CODES)
    code = cli.main(["evaluate", "--protocol", "mets", "--folds", "9", "--data-dir", str(folder), "--random-init",
                     "--json", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads((tmp_path / "out.json").read_text())
    sup = doc["results"]["random-init"]["superclass"]
    assert sup["n_evaluated"] == 2 and sorted(sup["evaluated_ids"]) == [1, 2] and sup["folds"] == [9]
    assert sup["forms_read"] == {"records100": 1, "records500": 0, "zscore100": 1}
    assert sup["classes_under_min"]["NORM"] == 1 and sup["accuracy_ci95"] == wilson_interval(
        round(sup["accuracy"] * 2), 2)
    line = next(ln for ln in out.splitlines() if ln.startswith("warning: random-init superclass"))
    assert "n=2" in line and "95% CI" in line and "means little" in line
    assert f"fewer than {MIN_POSITIVES}: NORM 1, CD 0, MI 1" in line
    assert "ECGs read per task (records100 / records500 / zscore100): superclass 1/0/1" in out
    # --folds is a protocol option
    assert cli.main(["evaluate", "--folds", "9", "--data-dir", str(folder)]) == 2
    assert "--folds goes with --protocol" in capsys.readouterr().err


def test_a_full_sized_result_gets_no_warning():
    per_class = {c: 100 for c in ("N", "LBBB", "RBBB", "APB", "PVC")}
    result = {"n_evaluated": 500, "n_target": 500, "n_sampled": per_class, "classes_under_min": {},
              "accuracy": 0.5, "accuracy_ci95": wilson_interval(250, 500), "macro_precision": 0.5,
              "macro_recall": 0.5, "macro_f1": 0.5, "f1_of_macro_pr": 0.5,
              "pretraining": {"status": "unseen", "corpus": "c", "train": [], "val": [], "absent": ["101"]}}
    text = format_results("mitbih", {"model": result})
    assert "warning" not in text and "0.46-0.54" in text and "records UNSEEN in pretraining" in text
    small = {**result, "n_evaluated": 300, "n_sampled": {**per_class, "LBBB": 0, "RBBB": 0},
             "classes_under_min": {"LBBB": 0, "RBBB": 0}, "accuracy_ci95": wilson_interval(150, 300)}
    assert "the protocol draws 500; classes with fewer than" in format_results("mitbih", {"model": small})


class _Knowledge:
    def __init__(self, training_data):
        self.training_data = training_data

    def summary(self):
        return {"training_data": self.training_data}


class _Model:
    source = "weights"

    def __init__(self, corpus, training_data):
        self.training = {"corpus": corpus}
        self.knowledge = _Knowledge(training_data)


def test_without_its_corpus_the_weights_still_say_what_they_know(tmp_path):
    model = _Model(str(tmp_path / "gone"), {"ptbxl": {"train windows": 2113, "val windows": 309}})
    ptbxl = pretraining_exposure(model, "ptbxl", [1, 2])
    assert ptbxl["status"] == "unknown" and ptbxl["training_windows"] == {"train": 2113, "val": 309}
    assert "is not on this machine" in ptbxl["why"]
    mitdb = pretraining_exposure(model, "mitdb", ["101"])
    assert mitdb["status"] == "unseen" and "mitdb is not one of them" in mitdb["why"]
    row = {"n_evaluated": 2, "n_sampled": {"N": 2}, "classes_under_min": {"N": 2}, "accuracy": 1.0,
           "accuracy_ci95": wilson_interval(2, 2), "macro_precision": 1.0, "macro_recall": 1.0, "macro_f1": 1.0,
           "f1_of_macro_pr": 1.0, "pretraining": ptbxl}
    text = format_results("mitbih", {"model": row})
    assert "records in pretraining: unknown" not in text
    assert "trained on 2113 ptbxl windows and validated on 309" in text and "--corpus DIR" in text


def test_a_copy_of_the_corpus_answers_record_by_record(tmp_path, capsys):
    from mets_core.pipeline import METS
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "windows.csv").write_text(
        "idx,source,record,patient,start_s,split,report,statements,n_leads\n"
        "0,ptbxl,00001,101,0,val,r,,12\n1,ptbxl,00002,102,0,val,r,,12\n2,ptbxl,00005,105,0,train,r,,12\n")
    METS.random_init(seed=0).save_pretrained(tmp_path / "ckpt", training={"corpus": str(tmp_path / "gone")})
    folder = write_fake_ptbxl(tmp_path / "ptbxl", TWO, TWO_CODES)
    code = cli.main(["evaluate", "--protocol", "ptbxl-auc", "--folds", "9", "--data-dir", str(folder),
                     "--model", str(tmp_path / "ckpt"), "--corpus", str(tmp_path / "corpus")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "records not trained on (2 were its validation records)" in out


def test_label_set_table_warns_when_no_label_reaches_the_bar():
    labels = {"normal ECG": {"auc": 1.0, "top1_accuracy": 1.0, "n_positive": 1, "n_single": 1}}
    result = {"labels": labels, "min_positives": MIN_POSITIVES, "macro_auc": 1.0, "balanced_top1_accuracy": 1.0,
              "macro_auc_min_positives": None, "top1_accuracy": 1.0, "split": "val", "n_windows": 2,
              "n_patients": 2, "n_single_label_windows": 1, "unknown_statements": []}
    text = format_table({"model": result})
    assert f"no label has {MIN_POSITIVES} positive windows among these n=2" in text
    assert "n=1 single-label windows" in text
