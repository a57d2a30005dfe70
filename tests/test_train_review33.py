"""Review 33 of the trainer (mets_train): options that were silently ignored, and runs on a corpus that has no window
to work on. Each test fails on the code before its fix; all run on tiny synthetic data (no real database)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mets_core.cli import main
from mets_core.pipeline import METS
from mets_train.training import ConfigError, make_config, train
from mets_train.training.recipe import load_recipe
from mets_train.training.synthetic import write_synthetic_corpus
from helpers import restore_torch_threads  # noqa: F401  (a fixture, used by pytestmark)

# the tiny configs set threads=1: each test leaves torch as it found it
pytestmark = pytest.mark.usefixtures("restore_torch_threads")
TINY = {"model": {"width": 8, "proj_dim": 16}, "batch_size": 8, "epochs": 1, "max_steps": 1, "threads": 1,
        "progress": False}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """Synthetic windows (sources fake12/fake2/fake1, all of signal form mV) with validation patients."""
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus") / "fake", n_patients=6, windows_per_patient=2)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "random"
    METS.random_init({"model": {"width": 8}}, seed=0).save_pretrained(folder)
    return folder


def _all_training(corpus: Path) -> Path:
    """The corpus with every window moved to the training split (as a PTB-XL recipe corpus without
    validation_folds is)."""
    rows = list(csv.DictReader(open(corpus / "windows.csv", newline="", encoding="utf-8")))
    with open(corpus / "windows.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "split": "train"} for r in rows)
    return corpus


# ------------------------------------------------------------------ mets evaluate: options that were ignored

@pytest.mark.parametrize("flags, said", [
    (["--n-per-class", "50"], "--n-per-class goes with --protocol mets or mitbih"),
    (["--records", "100"], "--records goes with --protocol mitbih"),
    # typed with their default values: still options the corpus evaluation never reads
    (["--prompts", "paper"], "--prompts goes with --protocol"),
    (["--sample-seed", "0"], "--sample-seed goes with --protocol mets or mitbih"),
])
def test_evaluate_without_protocol_refuses_the_protocol_options(tmp_path, capsys, flags, said):
    assert main(["evaluate", "--corpus", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert said in err and "the corpus evaluation (no --protocol) does not read it" in err


@pytest.mark.parametrize("flags, said", [
    # "val" is the corpus evaluation's default, yet a protocol scores PTB-XL fold 10, not a validation split
    (["--protocol", "mets", "--split", "val"], "--split goes with the corpus evaluation"),
    (["--protocol", "ptbxl-auc", "--records", "100"], "--records goes with --protocol mitbih: --protocol ptbxl-auc "
                                                      "does not read it"),
    (["--protocol", "ptbxl-auc", "--n-per-class", "5"], "--n-per-class goes with --protocol mets or mitbih"),
])
def test_evaluate_protocol_refuses_options_it_does_not_read(tmp_path, capsys, flags, said):
    assert main(["evaluate", *flags, "--data-dir", str(tmp_path)]) == 2
    assert said in capsys.readouterr().err


def test_evaluate_says_so_when_exclude_forms_leaves_no_window(corpus_dir, model_dir, capsys):
    # every synthetic window is of form mV: it crashed with IndexError: list index out of range
    assert main(["evaluate", "--corpus", str(corpus_dir), "--model", str(model_dir), "--exclude-forms", "mv"]) == 2
    err = capsys.readouterr().err
    assert "every 'val' window of corpus" in err and "--exclude-forms mv" in err and "Traceback" not in err


# ------------------------------------------------------------------ training: select_on

def test_select_on_must_name_label_sets(corpus_dir, tmp_path):
    with pytest.raises(ConfigError, match="select_on must be null .* among open, ptbxl_superclass, ptbxl_statements"):
        make_config({"select_on": ["superclass"]})                      # a typo picked best/ by another score
    with pytest.raises(ConfigError, match="select_on must be"):
        make_config({"select_on": "open"})                              # a string matched set names as substrings
    assert make_config({"select_on": ["open"]})["select_on"] == ["open"]

    # a set the corpus's validation windows do not have: refused before any work, nothing left behind
    out = tmp_path / "run"
    cfg = make_config({**TINY, "corpus": str(corpus_dir), "out": str(out), "select_on": ["ptbxl_superclass"]})
    with pytest.raises(ConfigError, match="select_on names ptbxl_superclass, but the validation windows of corpus "
                                          ".* hold only the label sets open"):
        train(cfg)
    assert not out.exists()


# ------------------------------------------------------------------ mets export without validation windows

def test_export_refuses_a_corpus_without_validation_windows(tmp_path, model_dir, capsys):
    corpus = _all_training(write_synthetic_corpus(tmp_path / "corpus", n_patients=6, windows_per_patient=2))
    run = tmp_path / "run"
    METS.from_pretrained(model_dir).save_pretrained(run / "last")
    out = tmp_path / "weights"
    # it exported an empty reference and a report index whose hub penalties were all NaN (search left unordered)
    assert main(["export", "--run", str(run), "--corpus", str(corpus), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has no validation windows" in err and "data.validation_folds [9]" in err
    assert not out.exists()


# ------------------------------------------------------------------ mets train --recipe --config

def test_recipe_overrides_refuse_a_setting_outside_its_section(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ptbxl_database.csv").write_text("", encoding="utf-8")    # enough to be located; never read
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"batch_size": 2, "training": {"progress": False}}), encoding="utf-8")
    # the top-level batch_size was dropped without a word and the recipe trained with its own
    assert main(["train", "--recipe", "ptbxl-mets", "--data-dir", str(data), "--config", str(overrides)]) == 2
    err = capsys.readouterr().err
    assert "got 'batch_size'" in err and '{"training": {"batch_size": ...}}' in err
    overrides.write_text("[1]", encoding="utf-8")
    assert main(["train", "--recipe", "ptbxl-mets", "--data-dir", str(data), "--config", str(overrides)]) == 2
    assert "a JSON object" in capsys.readouterr().err
    # notes in the file are allowed, as in a training config
    assert load_recipe("ptbxl-mets", {"_comment": "why", "training": {"epochs": 2}})["training"]["epochs"] == 2


def test_a_recipe_corpus_carries_the_superclass_ids_its_validation_scores(tmp_path):
    """A PTB-XL recipe corpus stored raw SCP codes only, while the ptbxl_superclass label set scores the
    superclass ids (class_norm, class_mi, ...): every superclass had 0 positives, so a recipe run's validation
    printed "ptbxl_superclass n/a" every epoch. Now each window also carries its superclasses' ids."""
    from fake_ptbxl import write_fake_ptbxl

    from mets_train.ptbxl.dataset import PTBXL
    from mets_train.training.data import Corpus
    from mets_train.training.evaluate import label_sets
    from mets_train.training.recipe import STATEMENT_IDS, build_ptbxl_corpus
    root = write_fake_ptbxl(tmp_path / "ptbxl", {i: (1 if i <= 5 else 9, {"records100"}) for i in range(1, 11)})
    meta = build_ptbxl_corpus(PTBXL(root, forms=["records100"]), tmp_path / "corpus", [1], [9], progress=False)
    assert meta["statement_ids"] == STATEMENT_IDS
    corpus = Corpus.open(tmp_path / "corpus")
    val = corpus.indices("val")
    labels, on = label_sets(corpus, val)["ptbxl_superclass"]
    positives = {lab["label"]: sum(bool(set(lab["statements"]) & set(corpus.statements[i])) for i in val[on])
                 for lab in labels}
    assert all(n >= 1 for n in positives.values()), positives          # the 5 windows cover the 5 classes
    assert all("SR" in corpus.statements[i] for i in val)             # the SCP codes are kept too
