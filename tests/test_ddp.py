"""`mets train` under torchrun: 2 CPU processes (gloo), DistributedDataParallel, identical weights on both ranks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mets_train.training import make_config
from mets_train.training.synthetic import write_synthetic_corpus

REPO = Path(__file__).resolve().parent.parent


def test_two_rank_ddp_run_ends_with_identical_weights(tmp_path):
    corpus = write_synthetic_corpus(tmp_path / "corpus")
    out = tmp_path / "run"
    cfg = make_config({"corpus": str(corpus), "out": str(out), "model": {"width": 8, "proj_dim": 16},
                       "batch_size": 8, "epochs": 1, "max_steps": 6, "checkpoint_every": 3, "log_every": 1,
                       "optimizer": {"warmup_steps": 2}, "threads": 1, "progress": False, "device": "cpu"})
    (tmp_path / "ddp.json").write_text(json.dumps(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "mets_core.cli", "train", "--config", str(tmp_path / "ddp.json")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    ranks = [json.loads((out / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2] and [r["step"] for r in ranks] == [6, 6]
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]

    # one log, written by rank 0 only; the state knows it came from 2 processes
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert len([r for r in log if r["kind"] == "val"]) == 1
    assert json.loads((out / "state" / "state.json").read_text())["world_size"] == 2
    assert (out / "best" / "model.safetensors").is_file()


def test_per_rank_batch_must_divide(tmp_path):
    """A global batch that does not split evenly over the ranks is refused before any work starts."""
    from mets_train.training.config import ConfigError
    from mets_train.training.loop import _train
    from mets_train.training.distributed import World
    corpus = write_synthetic_corpus(tmp_path / "corpus", n_patients=6)
    cfg = make_config({"corpus": str(corpus), "out": str(tmp_path / "run"), "batch_size": 7,
                       "model": {"width": 4}, "progress": False})
    with pytest.raises(ConfigError, match="divide evenly over 2 ranks"):
        _train(cfg, False, World(rank=0, world_size=2), None)
