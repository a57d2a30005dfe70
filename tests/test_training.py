"""mets train: data path, lead dropout, resumable state, schedule, metrics, and resume-after-SIGKILL.

Everything runs on a tiny synthetic corpus (mets_train/training/synthetic.py) with a width-8 encoder; the real
text model (offline MiniLM) embeds the reports.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mets_core.ecg import ECG
from mets_core.preprocess import PreprocessConfig, normalise
from mets_train.training import ConfigError, make_config, train
from mets_train.training.data import (Corpus, CorpusError, LIMB_LEADS, TrainBatches, batches_from, drop_leads,
                                     epoch_order, normalise_batch, unique_texts)
from mets_train.training.loop import build_optimizer, lr_at
from mets_train.metrics import retrieval_recall, roc_auc
from mets_train.training.state import load_training_state, optimizer_from_flat, optimizer_to_flat, save_training_state
from mets_train.training.synthetic import write_synthetic_corpus
from helpers import restore_torch_threads  # noqa: F401  (a fixture, used by pytestmark)

REPO = Path(__file__).resolve().parent.parent
# the tiny configs set threads=1: each test leaves torch as it found it
pytestmark = pytest.mark.usefixtures("restore_torch_threads")
TINY = {"model": {"width": 8, "proj_dim": 16}, "batch_size": 8, "epochs": 2, "checkpoint_every": 5,
        "log_every": 1, "optimizer": {"warmup_steps": 3}, "threads": 1, "progress": False, "val_batch_size": 64}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus") / "fake")


@pytest.fixture(scope="module")
def reference_run(corpus_dir, tmp_path_factory) -> tuple[Path, dict]:
    """One uninterrupted tiny run, shared by the end-to-end and the resume tests."""
    out = tmp_path_factory.mktemp("reference") / "run"
    n = torch.get_num_threads()
    try:
        return out, train(tiny_config(corpus_dir, out))
    finally:
        torch.set_num_threads(n)


def tiny_config(corpus_dir: Path, out: Path, **over) -> dict:
    return make_config({**TINY, "corpus": str(corpus_dir), "out": str(out), **over})


def read_log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def subprocess_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


# ------------------------------------------------------------------------------------------ data

def test_corpus_reader_and_errors(corpus_dir, tmp_path):
    c = Corpus.open(corpus_dir)
    assert c.signals.dtype == np.float16 and c.signals.shape == (len(c), 12, 1000)
    assert isinstance(c.signals, np.memmap)
    train_p, val_p = set(c.patients[c.indices("train")]), set(c.patients[c.indices("val")])
    assert train_p and val_p and not train_p & val_p
    with pytest.raises(CorpusError, match="missing"):
        Corpus.open(tmp_path)
    with pytest.raises(CorpusError, match="fs=100 Hz"):
        c.check_matches(PreprocessConfig(fs=250.0))


def test_unique_texts_ids_identical_reports():
    texts, ids = unique_texts(["a", "b", "a", "c", "b"])
    assert texts == ["a", "b", "c"] and ids.tolist() == [0, 1, 0, 2, 1]


def test_normalise_batch_matches_inference_normalise():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, 12, 1000)) * 2 + 0.3).astype(np.float32)
    x[0, 4] = 0.0
    x[1, :, 500] = 80.0                                        # an artefact spike: clipped
    mask = np.ones((3, 12), dtype=bool)
    mask[2, 6:] = False
    x[2, 6:] = 0.0
    pre = PreprocessConfig()
    got = normalise_batch(torch.from_numpy(x.copy()), torch.from_numpy(mask), pre).numpy()
    for i in range(3):
        want = normalise(ECG(x[i], 100.0, mask[i]), pre.normalise, pre.clip).signal
        np.testing.assert_allclose(got[i], want, atol=2e-5)


def test_drop_leads_keeps_only_present_subsets():
    rng = np.random.default_rng(0)
    mask = np.ones((400, 12), dtype=bool)
    mask[:100] = False
    mask[:100, [0, 1]] = True                                   # 2-lead windows
    mask[100:150] = False
    mask[100:150, 7] = True                                     # V2 only: "limb" must keep it
    out = drop_leads(mask, 1.0, ["single", "pair", "limb"], rng)
    assert (out <= mask).all() and out.any(axis=1).all()
    counts = out.sum(axis=1)
    limbs = np.zeros(12, bool)
    limbs[LIMB_LEADS] = True
    full = out[150:]
    assert set(counts[150:]) == {1, 2, 6}
    assert (full[counts[150:] == 6] == limbs).all()
    assert (out[100:150, 7]).all() and (counts[100:150] == 1).all()
    assert (drop_leads(mask, 0.0, ["single"], rng) == mask).all()
    a = drop_leads(mask, 0.5, ["single", "pair"], np.random.default_rng(3))
    b = drop_leads(mask, 0.5, ["single", "pair"], np.random.default_rng(3))
    assert (a == b).all() and (a != mask).any() and (a == mask).all(axis=1).any()


def test_epoch_order_deterministic_and_sharded():
    e0 = epoch_order(50, seed=0, epoch=0)
    assert sorted(e0.tolist()) == list(range(50))
    assert (e0 == epoch_order(50, 0, 0)).all() and (e0 != epoch_order(50, 0, 1)).any()
    r0, r1 = epoch_order(51, 0, 2, world_size=2, rank=0), epoch_order(51, 0, 2, world_size=2, rank=1)
    assert len(r0) == len(r1) == 25 and not set(r0) & set(r1)


def test_batches_are_pure_functions_of_position(corpus_dir):
    c = Corpus.open(corpus_dir)
    _, ids = unique_texts(c.reports)
    ds = TrainBatches(c, c.indices("train"), ids, PreprocessConfig(), 8, seed=0, epoch=1,
                      lead_dropout_p=0.5, lead_dropout_kinds=["single", "pair", "limb"])
    full = list(batches_from(ds, 0, 0))
    tail = list(batches_from(ds, 3, 0))
    workers = list(batches_from(ds, 3, 1))                      # a worker process sees the same batches
    assert len(full) == len(ds) == len(c.indices("train")) // 8
    for a, b, w in zip(full[3:], tail, workers):
        for u, v, z in zip(a, b, w):
            assert torch.equal(u, v) and torch.equal(u, z)
    x, mask, tid = full[0]
    assert x.shape == (8, 12, 1000) and x.dtype == torch.float32
    assert (x[~mask] == 0).all()                               # dropped / absent leads are zeros
    assert (mask.numpy() <= c.lead_mask[ds.order[:8]]).all()


# ------------------------------------------------------------------------------- optimizer / state

def test_lr_schedule_warmup_then_cosine():
    lrs = [lr_at(s, 100, 1e-3, 10, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01)


def _step(model, opt, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 12, 200, generator=g)
    t = torch.randn(4, 384, generator=g)
    e, te, s = model(x, t)
    from mets_core.loss import clip_loss
    loss = clip_loss(e, te, s)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def test_training_state_roundtrip_without_pickle(tmp_path):
    from mets_core.model import ECGTextModel
    torch.manual_seed(0)
    model = ECGTextModel({"width": 4, "proj_dim": 8})
    opt = build_optimizer(model, make_config()["optimizer"])
    _step(model, opt, 1)
    tensors, rest = optimizer_to_flat(opt.state_dict())
    back = optimizer_from_flat(tensors, json.loads(json.dumps(rest)))
    assert back["param_groups"] == opt.state_dict()["param_groups"]
    save_training_state(tmp_path / "state", model, opt, {"step": 1, "epoch": 0, "batch": 1}, {"best": None})
    names = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert names == ["model.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json"]
    for p in (tmp_path / "state").glob("*.safetensors"):
        assert p.read_bytes()[:2] != b"PK" and p.read_bytes()[:1] != b"\x80"
    expected_next = torch.rand(3)                               # RNG state is part of the state
    loss_a = _step(model, opt, 2)
    weights_a = {k: v.clone() for k, v in model.state_dict().items()}

    torch.manual_seed(123)
    model2 = ECGTextModel({"width": 4, "proj_dim": 8})
    opt2 = build_optimizer(model2, make_config()["optimizer"])
    doc = load_training_state(tmp_path / "state", model2, opt2)
    assert doc["position"] == {"step": 1, "epoch": 0, "batch": 1}
    assert torch.equal(torch.rand(3), expected_next)
    assert _step(model2, opt2, 2) == loss_a
    for k, v in model2.state_dict().items():
        assert torch.equal(v, weights_a[k]), k


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown training setting 'lr'"):
        make_config({"lr": 0.1})
    with pytest.raises(ConfigError, match="optimizer.'warmup'"):
        make_config({"optimizer": {"warmup": 3}})
    with pytest.raises(ConfigError, match="batch_size"):
        make_config({"batch_size": 0})
    with pytest.raises(ConfigError, match="unknown template set 'nope'"):
        make_config({"template_set": "nope"})
    # a config written before template sets: its report_template is accepted when the set says the same
    assert make_config({"report_template": "The report of the ECG is that {text}"})["template_set"] is None
    with pytest.raises(ConfigError, match="add a template set"):
        make_config({"report_template": "ECG report: {text}"})


# -------------------------------------------------------------------------------------- metrics

def test_roc_auc_equals_pairwise_definition():
    rng = np.random.default_rng(0)
    y = rng.random(60) < 0.3
    s = np.round(rng.standard_normal(60), 1)                  # ties
    pos, neg = s[y], s[~y]
    brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert roc_auc(y, s) == pytest.approx(brute)
    assert roc_auc(np.ones(5, bool), s[:5]) is None


def test_retrieval_recall_counts_ties_against_the_model():
    sim = np.array([[0.9, 0.1, 0.2], [0.5, 0.4, 0.6], [0.3, 0.3, 0.3]])
    r = retrieval_recall(sim, np.array([0, 1, 2]), ks=(1, 2))
    assert r["R@1"] == pytest.approx(1 / 3) and r["R@2"] == pytest.approx(1 / 3)


# ------------------------------------------------------------------------------------ end to end

def test_train_end_to_end_writes_log_best_checkpoint_and_caches_text(corpus_dir, reference_run, tmp_path,
                                                                    monkeypatch):
    from mets_core.pipeline import METS
    from mets_core.text import TextEncoder
    run, result = reference_run
    log = read_log(run)
    steps = [r["step"] for r in log if r["kind"] == "train"]
    assert steps == list(range(1, result["steps"] + 1)) and result["steps"] == 2 * (72 // 8)
    val = [r for r in log if r["kind"] == "val"]
    assert [v["epoch"] for v in val] == [0, 1]
    for v in val:
        assert 0 <= v["R@1"] <= v["R@5"] <= 1 and 0 <= v["macro_auc"] <= 1 and v["loss"] > 0
        assert set(v["auc"]) == set(Corpus.open(corpus_dir).statement_phrases)
    assert all(np.isfinite(r["loss"]) and r["samples_per_s"] > 0 for r in log if r["kind"] == "train")

    best = METS.from_pretrained(run / "best")
    assert best.model.cfg.width == 8 and best.training["best"]["macro_auc"] == max(v["macro_auc"] for v in val)
    assert best.embed_prompts(["atrial fibrillation"]).shape == (1, 16)
    init = METS.random_init({"model": best.model.cfg.to_dict()}, seed=0)
    assert not torch.equal(init.model.ecg_proj.weight, best.model.ecg_proj.weight)

    # the report embeddings are on disk: a second run must not run the text model on any report
    encoded: list[str] = []
    original = TextEncoder._encode_uncached
    monkeypatch.setattr(TextEncoder, "_encode_uncached",
                        lambda self, texts, bs: (encoded.extend(texts), original(self, texts, bs))[1])
    train(tiny_config(corpus_dir, tmp_path / "run2", max_steps=1))
    reports = {f"The report of the ECG is that {r}" for r in Corpus.open(corpus_dir).reports}
    assert encoded and not reports & set(encoded)            # prompts were encoded, reports were not
    assert (corpus_dir / "text_cache").is_dir()

    cfg = tiny_config(corpus_dir, tmp_path / "run2")
    with pytest.raises(ConfigError, match="already holds a training state"):
        train(cfg)
    with pytest.raises(ConfigError, match=r"settings \['seed'\] differ"):
        train({**cfg, "seed": 1}, resume=True)


KILLABLE = """
import json, os, sys, time
from mets_train.training import train
cfg, kill_at, marker = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
def on_step(step, loss):
    if step == kill_at:                      # park here; the test kills us from outside with SIGKILL
        open(marker, "w").write(str(os.getpid()))
        time.sleep(600)
train(cfg, on_step=on_step)
"""


def test_resume_after_sigkill_reproduces_uninterrupted_run(corpus_dir, reference_run, tmp_path):
    from mets_core.cli import main as mets
    killed = tmp_path / "killed"
    cfg = tiny_config(corpus_dir, killed)
    (tmp_path / "killed.json").write_text(json.dumps(cfg))
    (tmp_path / "killable.py").write_text(KILLABLE)
    marker = tmp_path / "parked"
    # 9 steps per epoch, state every 5: killed at step 13 (epoch 1, batch 4) with the last state at step 10
    victim = subprocess.Popen([sys.executable, str(tmp_path / "killable.py"), str(tmp_path / "killed.json"), "13",
                               str(marker)], env=subprocess_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while not marker.exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), victim.communicate()[0][-2000:]
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL

    state = json.loads((killed / "state" / "state.json").read_text())
    assert state["position"] == {"step": 10, "epoch": 1, "batch": 1}
    assert max(r["step"] for r in read_log(killed)) == 13      # it ran past its last state before dying
    assert not (killed / "last").exists()

    assert mets(["train", "--config", str(tmp_path / "killed.json"), "--resume"]) == 0

    want, got = read_log(reference_run[0]), read_log(killed)
    assert [(r["kind"], r["step"]) for r in got] == [(r["kind"], r["step"]) for r in want]
    for a, b in zip(want, got):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6, abs=1e-7), (a, b)
        if a["kind"] == "val":
            assert a["macro_auc"] == pytest.approx(b["macro_auc"], abs=1e-9)
    digest = lambda run: json.loads((run / "ranks" / "rank0.json").read_text())["weights_sha256"]
    assert digest(killed) == digest(reference_run[0])
