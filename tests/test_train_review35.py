"""Review 35 of the trainer (mets_train), as a researcher with PhysioNet data meets it: resuming a run of another
architecture, or one already finished; a validation set that can choose nothing; config values of the wrong type;
a text model that cannot be loaded; --model naming a run folder; damaged ptbxl_database.csv rows; the test fold 10
(never read: not by a damaged row, a Challenge copy, a recipe, nor a protocol on a held-back copy); a recipe corpus
built from another data folder. Each test fails on the code before its fix; all run on tiny synthetic data."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mets_core.cli import main
from mets_train.ptbxl.dataset import PTBXL, PTBXLError
from mets_train.training import ConfigError, make_config, train
from mets_train.training.recipe import RecipeError, load_recipe, train_recipe
from mets_train.training.synthetic import write_synthetic_corpus
from helpers import restore_torch_threads  # noqa: F401  (a fixture, used by pytestmark)

from fake_ptbxl import write_fake_ptbxl
from test_train_review33 import TINY as REVIEW33_TINY
from test_train_review33 import corpus_dir  # noqa: F401  (a fixture: the synthetic corpus)

pytestmark = pytest.mark.usefixtures("restore_torch_threads")
TINY = {**REVIEW33_TINY, "batch_size": 4}          # review 33's tiny run, in batches of 4


@pytest.fixture(scope="module")
def finished_run(corpus_dir, tmp_path_factory) -> Path:
    """A run stopped by max_steps mid-epoch (validated once), as `mets train` leaves it."""
    out = tmp_path_factory.mktemp("runs") / "finished"
    train({**TINY, "corpus": str(corpus_dir), "out": str(out)})
    return out


def _config_file(tmp_path: Path, **settings) -> str:
    path = tmp_path / f"config{len(list(tmp_path.glob('config*.json')))}.json"
    path.write_text(json.dumps({**TINY, **settings}), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ --resume

def test_resuming_a_run_of_another_architecture_says_what_changed(finished_run, corpus_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    config = _config_file(tmp_path, corpus=str(corpus_dir), out=str(run), model={"width": 16, "proj_dim": 16},
                          max_steps=3)
    # the weights were loaded before the settings were compared: a traceback of size mismatches
    assert main(["train", "--config", config, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "model.width 8, now 16" in err and f"{run / 'config.json'}" in err and "another --out" in err
    # a run that never saved a state: what to do
    config = _config_file(tmp_path, corpus=str(corpus_dir), out=str(tmp_path / "never"))
    assert main(["train", "--config", config, "--resume"]) == 2
    assert "start it again without --resume" in capsys.readouterr().err


def test_resuming_a_finished_run_keeps_its_log_and_its_last_validation(finished_run, corpus_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    log = (run / "metrics.jsonl").read_text(encoding="utf-8")
    last = json.loads((run / "last" / "config.json").read_text(encoding="utf-8"))["training"]
    assert '"kind": "val"' in log and last["last_val"] is not None
    config = _config_file(tmp_path, corpus=str(corpus_dir), out=str(run))
    assert main(["train", "--config", config, "--resume"]) == 0
    assert "had already finished (1 steps): nothing more to train" in capsys.readouterr().out
    # the validation line and last/'s last_val were dropped, as if the run had never validated
    assert (run / "metrics.jsonl").read_text(encoding="utf-8") == log
    again = json.loads((run / "last" / "config.json").read_text(encoding="utf-8"))["training"]
    assert again["last_val"] == last["last_val"]
    # asked for more, it trains on
    config = _config_file(tmp_path, corpus=str(corpus_dir), out=str(run), max_steps=2)
    assert main(["train", "--config", config, "--resume"]) == 0
    assert "trained 2 steps" in capsys.readouterr().out


def test_a_validation_that_can_score_nothing_keeps_no_best(tmp_path, capsys):
    corpus = write_synthetic_corpus(tmp_path / "corpus", n_patients=6, windows_per_patient=2)
    rows = list(csv.DictReader(open(corpus / "windows.csv", newline="", encoding="utf-8")))
    first_val = next(i for i, r in enumerate(rows) if r["split"] == "val")
    with open(corpus / "windows.csv", "w", newline="", encoding="utf-8") as fh:     # one validation window left
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "split": "val" if i == first_val else "train"} for i, r in enumerate(rows))
    config = _config_file(tmp_path, corpus=str(corpus), out=str(tmp_path / "run"))
    assert main(["train", "--config", config]) == 0
    out = capsys.readouterr().out
    # it kept epoch 1 as best/, "selection score -0.000 (validation macro AUC)": nothing had been scored
    assert not (tmp_path / "run" / "best").exists() and (tmp_path / "run" / "last" / "config.json").is_file()
    assert "best/ is epoch" not in out and "its 1 validation window gave nothing to choose a checkpoint by" in out


# ------------------------------------------------------------------ the config file

@pytest.mark.parametrize("setting, said", [
    ({"bf16": "false"}, 'bf16 must be true or false (without quotes), got "false"'),     # trained with bf16 on
    ({"exclude_forms": "zscore"}, "exclude_forms must be a list among mv, zscore"),     # left every window in
    ({"exclude_forms": ["mV"]}, "exclude_forms must be a list among mv, zscore"),
    ({"seed": "1"}, 'seed must be a whole number >= 0, got "1"'),                         # a torch traceback
    ({"optimizer": {"lr": "1e-3"}}, 'optimizer.lr must be a number > 0, got "1e-3"'),
    ({"lead_dropout": {"kinds": "single"}}, "lead_dropout.kinds must be a list among single, pair, limb"),
    ({"text_model": 5}, "text_model must be a model name or folder (text), or null for the default, got 5"),
    ({"max_steps": True}, "max_steps must be a positive integer or null, got true"),
    ({"augment": {"scale": 2}}, "augment.scale must be a number within [0, 1], got 2"),
])
def test_config_values_of_the_wrong_type_are_refused_by_name(setting, said):
    with pytest.raises(ConfigError) as err:
        make_config(setting)
    assert said in str(err.value)


def test_a_text_model_that_cannot_be_loaded_is_one_line(corpus_dir, finished_run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    config = _config_file(tmp_path, corpus=str(corpus_dir), out=str(tmp_path / "run"),
                          text_model=str(tmp_path / "empty"))
    assert main(["train", "--config", config]) == 2           # was a TextModelError traceback
    assert "mets train: could not load text model" in capsys.readouterr().err
    model = tmp_path / "model"
    shutil.copytree(finished_run / "last", model)
    cfg = json.loads((model / "config.json").read_text(encoding="utf-8"))
    (model / "config.json").write_text(json.dumps({**cfg, "text_model": str(tmp_path / "empty")}), encoding="utf-8")
    assert main(["evaluate", "--corpus", str(corpus_dir), "--model", str(model)]) == 2
    assert "mets evaluate: could not load text model" in capsys.readouterr().err


def test_evaluate_given_a_run_folder_names_its_checkpoints(finished_run, corpus_dir, capsys):
    for given in (finished_run, finished_run / "state"):
        assert main(["evaluate", "--corpus", str(corpus_dir), "--model", str(given)]) == 2
        err = capsys.readouterr().err
        assert "not a model checkpoint: give one of its checkpoints" in err
        assert f"--model {finished_run / 'last'}" in err


# ------------------------------------------------------------------ PTB-XL: damaged rows and the test fold

def _damage(folder: Path, ecg_id: int, column: str, value: str) -> None:
    path = folder / "ptbxl_database.csv"
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, column: value} if int(r["ecg_id"]) == ecg_id else r for r in rows)


def test_a_damaged_ptbxl_row_is_named_with_what_to_do(tmp_path):
    folder = write_fake_ptbxl(tmp_path / "ptbxl", {1: (1, {"records100"}), 7: (9, {"records100"})})
    _damage(folder, 7, "strat_fold", "")
    with pytest.raises(PTBXLError) as err:            # was "expected a whole number, got ''": no file, row or column
        PTBXL(folder)
    assert "line 3 (ecg_id 7): strat_fold cannot be read" in str(err.value)
    assert "mets download ptbxl --to DIR" in str(err.value)


def test_the_corpus_never_reads_an_ecg_whose_fold_cannot_be_read(tmp_path):
    """A test-fold ECG whose strat_fold cell was emptied was read into the corpus (on a random side), and so was
    its Challenge-2021 copy."""
    import wfdb

    from mets_train.corpus.build import BuildOptions, build_corpus
    data = tmp_path / "data"
    folder = write_fake_ptbxl(data / "ptbxl", {1: (1, {"records100"}), 2: (9, {"records100"}),
                                               20: (10, {"records100"})})
    _damage(folder, 20, "strat_fold", "")
    (data / "challenge2021").mkdir()
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    t = np.arange(5000) / 500
    wfdb.wrsamp("HR00020", fs=500, units=["mV"] * 12, sig_name=leads, fmt=["16"] * 12,
                p_signal=np.tile(np.sin(2 * np.pi * 1.2 * t)[:, None], (1, 12)),
                comments=["Dx: 426783006"], write_dir=str(data / "challenge2021"))
    meta = build_corpus(data, tmp_path / "corpus", BuildOptions(sources=["ptbxl", "challenge2021"]), verbose=False)
    with open(tmp_path / "corpus" / "windows.csv", newline="", encoding="utf-8") as fh:
        read = {(r["source"], r["record"]) for r in csv.DictReader(fh)}
    assert ("ptbxl", "20") not in read and ("challenge2021", "HR00020") not in read
    assert {s["record"] for s in meta["sources"]["ptbxl"]["skipped"]} == {"00020_lr"}
    assert "strat_fold" in meta["sources"]["challenge2021"]["skipped"][0]["reason"]


def test_a_recipe_refuses_the_test_fold_and_settings_of_the_wrong_type():
    # fold 10 was a warning, and its signals were read into the corpus
    with pytest.raises(RecipeError, match="fold 10 is PTB-XL's test fold"):
        load_recipe("ptbxl-mets", {"data": {"pretrain_folds": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}})
    with pytest.raises(RecipeError, match="fold 10 is PTB-XL's test fold"):
        load_recipe("ptbxl-mets", {"data": {"pretrain_folds": [1, 2], "validation_folds": [10]}})
    # a quoted "false" translated the reports
    with pytest.raises(RecipeError, match=r'data.translate must be true or false \(without quotes\), got "false"'):
        load_recipe("ptbxl-mets", {"data": {"translate": "false"}})
    with pytest.raises(RecipeError, match=r"data.pretrain_folds must be a list of PTB-XL folds"):
        load_recipe("ptbxl-mets", {"data": {"pretrain_folds": "1-8"}})


def test_recipe_overrides_whose_training_is_not_an_object_are_one_line(tmp_path, capsys):
    folder = write_fake_ptbxl(tmp_path / "ptbxl", {1: (1, {"records100"})})
    (tmp_path / "over.json").write_text(json.dumps({"training": [1]}), encoding="utf-8")
    assert main(["train", "--recipe", "ptbxl-mets", "--data-dir", str(folder), "--out", str(tmp_path / "run"),
                 "--config", str(tmp_path / "over.json")]) == 2          # was a TypeError traceback
    assert "'training' must be an object" in capsys.readouterr().err


def test_a_recipe_corpus_of_another_data_folder_is_not_reused(tmp_path):
    overrides = {"data": {"pretrain_folds": [1, 2, 3]},
                 "training": {**TINY, "batch_size": 2, "corpus": str(tmp_path / "corpus"),
                              "text_cache": str(tmp_path / "text")}}
    first = write_fake_ptbxl(tmp_path / "a" / "ptbxl", {1: (1, {"records100"}), 2: (2, {"records100"})})
    second = write_fake_ptbxl(tmp_path / "b" / "ptbxl", {i: (1 + i % 3, {"records100"}) for i in range(1, 6)})
    overrides["training"]["out"] = str(tmp_path / "run_a")
    assert train_recipe(first, "ptbxl-mets", overrides, progress=False)["n_train"] == 2
    overrides["training"]["out"] = str(tmp_path / "run_b")
    # the corpus of the first folder was reused: 2 ECGs, for a folder holding 5
    assert train_recipe(second, "ptbxl-mets", overrides, progress=False)["n_train"] == 5
    meta = json.loads((tmp_path / "corpus" / "corpus.json").read_text(encoding="utf-8"))
    assert Path(meta["data_dir"]) == second.resolve()


def test_a_protocol_never_reads_a_held_back_test_fold(tmp_path, monkeypatch, capsys):
    """Fold 10 of the development folder is held back, yet 2 of its ECGs are there at 500 Hz: the protocols
    read them and printed a fold-10 "macro AUC" of 2 ECGs."""
    folder = write_fake_ptbxl(tmp_path / "ptbxl", {1: (9, {"records100"}), 2: (9, {"records100"}),
                                                   3: (10, {"records500"}), 4: (10, {"records500"}), 5: (10, set())},
                              {1: "NORM", 2: "IMI", 3: "NORM", 4: "IMI", 5: "NORM"})
    read = []
    real_read = PTBXL.read
    monkeypatch.setattr(PTBXL, "read", lambda self, ecg_id: read.append(int(ecg_id)) or real_read(self, ecg_id))
    for protocol in ("ptbxl-auc", "mets"):
        assert main(["evaluate", "--protocol", protocol, "--data-dir", str(folder), "--random-init"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "only 2 of the 3 ECGs of fold 10 (PTB-XL's test fold) have a signal" in captured.err
        assert "nothing can be scored; pass --folds 9 (the validation fold)" in captured.err
    assert read == []
    # the validation fold is evaluated as before
    assert main(["evaluate", "--protocol", "ptbxl-auc", "--folds", "9", "--data-dir", str(folder),
                 "--random-init"]) == 0
    assert set(read) == {1, 2}            # once per model


def test_a_ptbxl_folder_without_its_statements_table_says_what_the_corpus_lacks(tmp_path):
    from mets_train.corpus.build import BuildOptions, build_corpus
    folder = write_fake_ptbxl(tmp_path / "data" / "ptbxl", {1: (1, {"records100"}), 2: (9, {"records100"})})
    (folder / "scp_statements.csv").unlink()
    meta = build_corpus(tmp_path / "data", tmp_path / "corpus", BuildOptions(sources=["ptbxl"]), verbose=False)
    assert not any(s.startswith("class_") for s in meta["counts"]["windows_by_statement"])
    assert any("no readable scp_statements.csv" in n and "superclasses" in n for n in meta["sources"]["ptbxl"]["notes"])
    assert "no readable scp_statements.csv" in (tmp_path / "corpus" / "CORPUS_CARD.md").read_text(encoding="utf-8")


def test_a_damaged_corpus_array_is_never_unpickled_and_says_to_rebuild(corpus_dir, tmp_path, capsys):
    damaged = tmp_path / "corpus"
    shutil.copytree(corpus_dir, damaged)
    np.save(damaged / "lead_mask.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["evaluate", "--corpus", str(damaged), "--random-init"]) == 2
    err = capsys.readouterr().err          # numpy advised loading it "unsafely" with allow_pickle
    assert "lead_mask.npy cannot be read (not a plain NumPy array" in err and "allow_pickle" not in err
    assert f"mets corpus build --data-dir DIR --out {damaged} --overwrite" in err
    shutil.copy(corpus_dir / "lead_mask.npy", damaged / "lead_mask.npy")
    signals = damaged / "signals.npy"
    with open(signals, "r+b") as fh:                            # a copy or a build cut short
        fh.truncate(signals.stat().st_size // 2)
    config = _config_file(tmp_path, corpus=str(damaged), out=str(tmp_path / "run"))
    assert main(["train", "--config", config]) == 2
    assert "signals.npy cannot be read (cut short" in capsys.readouterr().err   # was "mmap length is greater ..."


def test_evaluate_on_a_corpus_of_another_input_says_how_to_build_one(corpus_dir, tmp_path, capsys):
    from mets_core.pipeline import METS
    METS.random_init({"model": {"width": 8}, "preprocess": {"fs": 50.0}}, seed=0).save_pretrained(tmp_path / "m50")
    assert main(["evaluate", "--corpus", str(corpus_dir), "--model", str(tmp_path / "m50")]) == 2
    err = capsys.readouterr().err      # "rebuild the corpus or change the config": an evaluation has no config
    assert "the model reads fs=50 Hz, T=500" in err
    assert "mets corpus build --data-dir DIR --out NEW --fs 50 --window-s 10" in err
