"""mets evaluate: zero-shot AUC / top-1 on the validation patients, checked against a brute-force computation
through the user-facing path (METS.embed_ecg on ECG objects, METS.embed_prompts)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mets_core.cli import main as mets
from mets_core.ecg import ECG
from mets_core.pipeline import METS
from mets_train.training.data import Corpus, CorpusError
from mets_train.training.evaluate import evaluate_zero_shot, format_table, load_eval_labels
from mets_train.training.synthetic import write_synthetic_corpus

ISSUE_LABELS = ["normal sinus rhythm", "sinus bradycardia", "sinus tachycardia", "atrial fibrillation",
                "atrial flutter", "premature ventricular contraction", "premature atrial contraction",
                "left bundle branch block", "right bundle branch block", "first degree AV block",
                "left ventricular hypertrophy", "myocardial infarction", "ST/T abnormality", "paced rhythm",
                "noisy recording"]
# labels over the synthetic corpus's statement ids (a window can carry several: top-1 uses single-label ones)
SYNTHETIC_LABELS = [{"label": "sinus rhythm", "statements": ["NSR"]},
                    {"label": "slow heart rate", "statements": ["SBRAD"]},
                    {"label": "atrial fibrillation", "statements": ["AFIB"]},
                    {"label": "ventricular ectopy", "statements": ["PVC"]},
                    {"label": "bad signal", "statements": ["NOISE"]}]
# band-pass off: the corpus windows are already filtered, so embed_ecg(ECG(window)) must equal the corpus path
NO_FILTER = {"model": {"width": 8, "proj_dim": 16}, "preprocess": {"highpass_hz": 0.0, "lowpass_hz": 0.0}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus.open(write_synthetic_corpus(tmp_path_factory.mktemp("eval") / "fake", n_patients=16))


def test_eval_labels_are_the_issue_phrases_mapped_to_corpus_statements():
    from mets_train.corpus.vocabulary import Vocabulary
    labels = load_eval_labels()
    assert [item["label"] for item in labels] == ISSUE_LABELS
    vocab = Vocabulary.load().canonical
    unknown = [s for item in labels for s in item["statements"] if s not in vocab]
    assert not unknown, f"eval_labels.json names statements the corpus vocabulary lacks: {unknown}"


def test_zero_shot_numbers_equal_brute_force_through_the_user_facing_path(corpus):
    model = METS.random_init(NO_FILTER, seed=3)
    res = evaluate_zero_shot(model, corpus, SYNTHETIC_LABELS)
    val = corpus.indices("val")
    assert res["n_windows"] == len(val) and res["split"] == "val"

    ecgs = [ECG(np.asarray(corpus.signals[i], dtype=np.float32), corpus.fs, corpus.lead_mask[i]) for i in val]
    sims = model.embed_ecg(ecgs) @ model.embed_prompts([x["label"] for x in SYNTHETIC_LABELS]).T
    y = np.array([[bool(set(x["statements"]) & set(corpus.statements[i])) for x in SYNTHETIC_LABELS] for i in val])
    single = y.sum(axis=1) == 1
    assert 0 < single.sum() < len(val)                        # some windows carry two labels: excluded from top-1
    assert res["n_single_label_windows"] == int(single.sum())
    hits = sims[single].argmax(1) == y[single].argmax(1)
    assert res["top1_accuracy"] == pytest.approx(hits.mean())
    for j, item in enumerate(SYNTHETIC_LABELS):
        row = res["labels"][item["label"]]
        pos, neg = sims[y[:, j], j], sims[~y[:, j], j]
        assert row["n_positive"] == len(pos)
        if len(pos) and len(neg):
            brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
            assert row["auc"] == pytest.approx(brute, abs=1e-6)
        else:
            assert row["auc"] is None
        in_j = y[single].argmax(1) == j
        if in_j.any():
            assert row["top1_accuracy"] == pytest.approx(hits[in_j].mean())
    table = format_table({"model": res})
    assert all(item["label"] in table for item in SYNTHETIC_LABELS) and "macro AUC" in table


def test_evaluate_command_table_json_and_random_floor(corpus, tmp_path, capsys):
    trained = METS.random_init(NO_FILTER, seed=1)
    trained.save_pretrained(tmp_path / "model")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"labels": SYNTHETIC_LABELS}))
    args = ["evaluate", "--model", str(tmp_path / "model"), "--corpus", str(corpus.path), "--labels", str(labels),
            "--random-init"]
    assert mets(args + ["--json", str(tmp_path / "out.json")]) == 0
    table = capsys.readouterr().out
    assert "random-init" in table and "atrial fibrillation" in table
    out = json.loads((tmp_path / "out.json").read_text())
    assert set(out) == {"model", "random-init"}
    assert out["model"]["weights_sha256"] != out["random-init"]["weights_sha256"]
    assert out["model"]["labels"]["bad signal"]["statements"] == ["NOISE"]

    assert mets(args + ["--json"]) == 0                        # bare --json: JSON on stdout instead of the table
    assert json.loads(capsys.readouterr().out)["model"]["macro_auc"] == out["model"]["macro_auc"]


def test_evaluate_errors_are_clear(corpus, tmp_path, capsys):
    assert mets(["evaluate", "--model", str(tmp_path / "nothing"), "--corpus", str(corpus.path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert mets(["evaluate", "--random-init", "--corpus", str(tmp_path)]) == 2
    assert "not a corpus folder" in capsys.readouterr().err
    with pytest.raises(CorpusError, match="fs=100 Hz"):
        evaluate_zero_shot(METS.random_init({"model": {"width": 4}, "preprocess": {"fs": 250.0}}), corpus,
                           SYNTHETIC_LABELS)


def test_data_dir_builds_the_corpus_once(corpus, tmp_path, monkeypatch):
    """--data-dir: the corpus folder is used when present, else the corpus builder is called to make it."""
    import mets_train.corpus.build as corpus_build
    from mets_train.commands.train import locate_corpus
    calls = []

    def fake_build(data_dir, out):
        calls.append((data_dir, out))
        write_synthetic_corpus(out, n_patients=4)
    monkeypatch.setattr(corpus_build, "build_corpus", fake_build)
    assert locate_corpus("DATA", str(tmp_path / "c")) == tmp_path / "c" and len(calls) == 1
    assert locate_corpus("DATA", str(tmp_path / "c")) == tmp_path / "c" and len(calls) == 1
