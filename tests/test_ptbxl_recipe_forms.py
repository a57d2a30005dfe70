"""Which PTB-XL signal form the `ptbxl-mets` recipe reads, on tiny fake PTB-XL folders written here.

A record is read in the first form that holds it (records100, records500, then the z-scored zscore100
arrays, the last only for a model that z-scores each lead itself), so a folder with one 500 Hz record and
many 100 Hz / z-scored ones is read whole, and a full PTB-XL (every record at both rates) is read at 100 Hz.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import require_data
from mets_train.ptbxl.dataset import PTBXL, PTBXLError
from mets_train.training.recipe import RecipeError, build_ptbxl_corpus, load_recipe, recipe_forms

from fake_ptbxl import write_fake_ptbxl

PRETRAIN_FOLDS = [1, 2, 3, 4, 5, 6, 7, 8, 9]


# like the development data folder: a few 500 Hz records, more at 100 Hz, most only z-scored; fold 10 present
HERE_LIKE = {1: (1, {"records100", "zscore100"}), 2: (2, {"records100"}), 3: (9, {"records500"}),
             4: (10, {"records100", "records500"}), 5: (3, {"zscore100"}), 6: (4, {"zscore100"}),
             7: (5, {"zscore100"}), 8: (10, {"zscore100"})}


def _built(tmp_path, folder: Path, normalise: str = "zscore", data: dict | None = None) -> tuple[list[dict], dict]:
    recipe = load_recipe("ptbxl-mets", {"data": data or {}})
    dataset = PTBXL(folder, forms=recipe_forms(recipe["data"], normalise))
    meta = build_ptbxl_corpus(dataset, tmp_path / "corpus", PRETRAIN_FOLDS, progress=False)
    with open(tmp_path / "corpus" / "windows.csv", newline="") as fh:
        return list(csv.DictReader(fh)), meta


def test_every_record_with_a_signal_is_read_in_its_best_form(tmp_path, capsys):
    rows, meta = _built(tmp_path, write_fake_ptbxl(tmp_path / "ptbxl", HERE_LIKE))
    # one 500 Hz record no longer hides the others; fold 10 (ids 4 and 8) is never read
    assert {int(r["record"]): r["form"] for r in rows} == {1: "mv", 2: "mv", 3: "mv", 5: "zscore", 6: "zscore",
                                                           7: "zscore"}
    assert meta["forms_read"] == {"records100": 2, "records500": 1, "zscore100": 3}
    assert json.loads((tmp_path / "corpus" / "corpus.json").read_text())["forms_read"] == meta["forms_read"]
    assert "2 records100 (mV, 100 Hz) + 1 records500 (mV, 500 Hz) + 3 zscore100" in capsys.readouterr().err
    # id 1 is in both forms: its mV record is the one stored (a z-scored array has lead SDs of exactly 1)
    signals = np.load(tmp_path / "corpus" / "signals.npy", mmap_mode="r")
    first = next(int(r["idx"]) for r in rows if r["record"] == "00001")
    assert not np.allclose(np.asarray(signals[first], dtype=np.float32).std(axis=1), 1.0, atol=0.05)


def test_full_ptbxl_is_read_at_100_hz(tmp_path):
    full = {i: (1 + i % 9, {"records100", "records500"}) for i in range(1, 7)}
    rows, meta = _built(tmp_path, write_fake_ptbxl(tmp_path / "ptbxl", full))
    assert len(rows) == 6 and meta["forms_read"] == {"records100": 6, "records500": 0, "zscore100": 0}


def test_an_mv_input_model_is_never_given_z_scored_arrays(tmp_path):
    folder = write_fake_ptbxl(tmp_path / "ptbxl", HERE_LIKE)
    rows, meta = _built(tmp_path, folder, normalise="none")
    assert {int(r["record"]) for r in rows} == {1, 2, 3} and {r["form"] for r in rows} == {"mv"}
    assert "zscore100" not in meta["forms"]
    with pytest.raises(RecipeError, match="nothing to read"):
        recipe_forms({"forms": ["zscore100"]}, "none")


def test_a_chosen_rate_or_forms_are_obeyed(tmp_path):
    folder = write_fake_ptbxl(tmp_path / "ptbxl", HERE_LIKE)
    rows, meta = _built(tmp_path, folder, data={"sampling_rate": 500})
    assert [int(r["record"]) for r in rows] == [3] and meta["forms"] == ["records500"]
    rows, _ = _built(tmp_path / "b", folder, data={"forms": ["zscore100", "records100"]})
    assert {int(r["record"]): r["form"] for r in rows}[1] == "zscore"          # the order is the preference
    with pytest.raises(RecipeError, match="unknown PTB-XL signal forms"):
        load_recipe("ptbxl-mets", {"data": {"forms": ["records250"]}})
    with pytest.raises(RecipeError, match="100 or 500 Hz"):
        load_recipe("ptbxl-mets", {"data": {"sampling_rate": 250}})


def test_a_folder_without_signals_says_where_it_looked(tmp_path):
    folder = write_fake_ptbxl(tmp_path / "ptbxl", {1: (1, set()), 2: (10, {"records100"})})
    dataset = PTBXL(folder)
    with pytest.raises(RecipeError, match="looked in records100/, records500/, zscore100/"):
        build_ptbxl_corpus(dataset, tmp_path / "corpus", PRETRAIN_FOLDS, progress=False)
    with pytest.raises(PTBXLError, match="no signal for ecg_id 1"):
        dataset.read(1)
    ecg = PTBXL(write_fake_ptbxl(tmp_path / "z", {5: (3, {"zscore100"})})).read(5)
    assert ecg.signal.shape == (12, 1000) and ecg.fs == 100 and "not mV" in ecg.metadata["units"]


def test_z_scored_twins_reach_a_z_scoring_model_as_their_mv_records_do(data_dir):
    """Why the recipe may read zscore100: for the ECGs held in both forms, the model's input step
    (resample, band-pass, per-lead z-score) makes the z-scored array and the mV record nearly the same."""
    from mets_core.preprocess import PreprocessConfig, preprocess

    require_data("ptbxl/zscore100")             # the z-scored form: absent from some data folders
    mv, z = PTBXL(data_dir / "ptbxl", forms=("records100",)), PTBXL(data_dir / "ptbxl", forms=("zscore100",))
    twins = sorted(set(mv.available_ids()) & set(z.available_ids()))
    assert len(twins) >= 20
    cfg = PreprocessConfig.from_dict({"fs": 100.0, "window_s": 10.0, "normalise": "zscore"})
    correlations = []
    for ecg_id in twins:
        a, b = preprocess(mv.read(ecg_id), cfg).signal, preprocess(z.read(ecg_id), cfg).signal
        correlations += [np.corrcoef(a[k], b[k])[0, 1] for k in range(12) if a[k].std() > 0 and b[k].std() > 0]
    # measured on the 64 twins of the development data: median 0.987, 5th percentile 0.86 (768 leads)
    assert np.median(correlations) > 0.95 and np.percentile(correlations, 5) > 0.75
