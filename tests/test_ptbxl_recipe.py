"""`mets train --recipe ptbxl-mets`: end to end on the PTB-XL records present (smoke run, 1 epoch)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from helpers import data_dir_or_none, needs_data
from mets_core import cli
from mets_train.ptbxl.dataset import PTBXL
from mets_core.prompts import load_template_set
from mets_train.training.recipe import RecipeError, load_recipe

DATA = data_dir_or_none("ptbxl")


def test_recipe_holds_the_paper_hyper_parameters():
    r = load_recipe("ptbxl-mets")
    t = r["training"]
    assert r["data"]["pretrain_folds"] == [1, 2, 3, 4, 5, 6, 7, 8, 9] and r["data"]["translate"] is False
    assert t["model"]["proj_dim"] == 128 and t["batch_size"] == 32 and t["epochs"] == 50
    assert t["optimizer"]["lr"] == 1e-3 and t["optimizer"]["weight_decay"] == 1e-3 and t["optimizer"]["name"] == "adam"
    # the paper's pretraining template, through the template set the recipe names
    assert load_template_set(t["template_set"])["pretraining"] == "The report of the ECG is that {text}"
    assert load_recipe("ptbxl-mets", {"data": {"translate": True}})["data"]["translate"] is True
    with pytest.raises(RecipeError, match="both pretraining and validation"):
        load_recipe("ptbxl-mets", {"data": {"validation_folds": [9]}})
    with pytest.raises(RecipeError, match="no recipe"):
        load_recipe("nonsense")


@needs_data("ptbxl")
def test_smoke_run_one_epoch_on_the_records_present(tmp_path, capsys):
    from mets_core.pipeline import METS
    overrides = tmp_path / "overrides.json"
    # the 500 Hz records only: 3 ECGs of folds 1-9, one step (every form would be 2,422 ECGs)
    overrides.write_text(json.dumps({"data": {"sampling_rate": 500},
                                     "training": {"batch_size": 2, "corpus": str(tmp_path / "corpus"),
                                                  "text_cache": str(tmp_path / "text_cache"), "progress": False}}))
    code = cli.main(["train", "--recipe", "ptbxl-mets", "--data-dir", str(DATA), "--epochs", "1",
                     "--out", str(tmp_path / "run"), "--config", str(overrides)])
    assert code == 0, capsys.readouterr().err
    assert "trained 1 steps" in capsys.readouterr().out
    ds = PTBXL(Path(DATA) / "ptbxl", sampling_rate=500)
    with open(tmp_path / "corpus" / "windows.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    used = {int(r["record"]) for r in rows}
    assert used == set(ds.available_ids([1, 2, 3, 4, 5, 6, 7, 8, 9]))      # fold 10 never read
    assert not used & set(ds.ids([10]))
    assert all(r["report"] == " ".join(ds.records.loc[int(r["record"]), "report"].split()) for r in rows)
    model = METS.from_pretrained(tmp_path / "run" / "last")
    assert model.model.cfg.proj_dim == 128
    assert model.embed_ecg(ds.read(ds.available_ids([10])[0])).shape == (1, 128)
    # without --data-dir the recipe says what it needs
    assert cli.main(["train", "--recipe", "ptbxl-mets"]) == 2
    assert "--data-dir" in capsys.readouterr().err
