"""Text-side check: scoring and AUC on hand-made embeddings; prompts from the label taxonomy."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import data_dir_or_none, needs_data
from mets_train.ptbxl.textcheck import class_prompts, class_scores, linear_probe_auc, text_side_auc

DATA = data_dir_or_none("ptbxl")


def test_scores_and_auc_hand_computed():
    # 4 reports, 2 classes with one prompt each along the axes
    reports = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    prompts = [np.array([[1.0, 0.0]]), np.array([[0.0, 1.0], [0.6, 0.8]])]   # class 1: best of two prompts
    sim = class_scores(reports, prompts, "cosine")
    assert np.allclose(sim[:, 0], [1.0, 0.8, 0.6, 0.0])
    assert np.allclose(sim[:, 1], [0.6, 0.96, 1.0, 1.0])
    soft = class_scores(reports, prompts, "softmax")
    assert np.allclose(soft.sum(1), 1) and np.allclose(soft[0], np.exp([1 / .07, .6 / .07]) / np.exp([1 / .07, .6 / .07]).sum())
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)
    auc, macro_auc = text_side_auc(sim, y, ["A", "B"])
    # class A: positives 1.0, 0.8 above negatives 0.6, 0.0 -> 1.0; class B: positives {1.0, 1.0} vs
    # negatives {0.6, 0.96} -> 1.0
    assert auc == {"A": 1.0, "B": 1.0} and macro_auc == 1.0
    auc, _ = text_side_auc(-sim, y, ["A", "B"])
    assert auc == {"A": 0.0, "B": 0.0}
    # ties count half: one positive tied with one negative
    auc, _ = text_side_auc(np.array([[0.5], [0.5]]), np.array([[1], [0]], dtype=bool), ["A"])
    assert auc["A"] == 0.5


def test_linear_probe_separates_a_linear_label():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0], axis=1)
    train, test = np.arange(300), np.arange(300, 400)
    auc, macro_auc = text_side_auc(linear_probe_auc(x, y, train, test), y[test], ["a", "b"])
    assert macro_auc > 0.97


@needs_data("ptbxl")
def test_prompts_come_from_the_label_taxonomy():
    from mets_train.ptbxl.dataset import PTBXL
    ds = PTBXL(Path(DATA) / "ptbxl")
    paper = class_prompts(ds, "paper")
    assert paper["MI"] == ["The ECG of myocardial infarction, a type of diagnostic."]
    assert class_prompts(ds, "phrase")["CD"] == ["conduction disturbance"]
    statements = class_prompts(ds, "statements")
    assert len(statements["MI"]) == 14 and len(statements["NORM"]) == 1
    assert "The ECG of complete left bundle branch block, a type of diagnostic." in statements["CD"]
