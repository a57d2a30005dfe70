import json
import os

import pytest
import torch

from mets_core.checkpoint import (CheckpointError, atomic_folder, load_checkpoint, load_state_dict_checked,
                                  save_checkpoint, sha256_file)
from mets_core.model import ECGTextModel, ModelConfig

from helpers import pickle_payload

SMALL = {"width": 8, "proj_dim": 16}


def small_model(seed=0, **kw):
    torch.manual_seed(seed)
    return ECGTextModel(ModelConfig(**{**SMALL, **kw}))


@pytest.fixture
def ckpt(tmp_path):
    model = small_model()
    d = tmp_path / "ckpt"
    save_checkpoint(d, model.state_dict(), {"model": model.cfg.to_dict(), "training": {"epochs": 1}})
    return d, model


def test_round_trip_is_exact_and_hash_is_recorded(ckpt):
    d, model = ckpt
    assert sorted(os.listdir(d)) == ["config.json", "model.safetensors"]
    state, config = load_checkpoint(d)
    assert config["weights_sha256"] == sha256_file(d / "model.safetensors")
    assert config["training"] == {"epochs": 1} and config["format"] == "mets-checkpoint"
    own = model.state_dict()
    assert set(state) == set(own)
    assert all(torch.equal(state[k], own[k]) for k in own)
    other = small_model(seed=1)
    load_state_dict_checked(other, state)
    assert all(torch.equal(other.state_dict()[k], own[k]) for k in own)


@pytest.mark.parametrize("kind", ["pickle-protocol-4", "pickle-protocol-0", "torch.save"])
def test_pickles_are_refused_and_never_executed(ckpt, tmp_path, kind):
    d, model = ckpt
    marker = tmp_path / "executed"
    weights = d / "model.safetensors"
    weights.write_bytes(pickle_payload(kind, marker))
    cfg = json.loads((d / "config.json").read_text())
    cfg["weights_sha256"] = sha256_file(weights)           # even with a matching hash
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="pickle|zip|not a valid safetensors"):
        load_checkpoint(d)
    assert not marker.exists()


def test_truncated_and_tampered_weights_are_refused(ckpt):
    d, _ = ckpt
    weights = d / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match="truncated|damaged"):
        load_checkpoint(d)
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="does not match its config"):
        load_checkpoint(d)
    weights.write_bytes(data[:6])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(d)


def test_missing_files_and_bad_config(ckpt, tmp_path):
    d, _ = ckpt
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(tmp_path / "empty")
    cfg_text = (d / "config.json").read_text()
    (d / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(d)
    cfg = json.loads(cfg_text)
    del cfg["weights_sha256"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="no weights_sha256"):
        load_checkpoint(d)
    (d / "config.json").write_text(cfg_text)
    (d / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_checkpoint(d)


def test_mismatched_architecture_is_a_clear_error(ckpt):
    d, _ = ckpt
    state, _ = load_checkpoint(d)
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_state_dict_checked(small_model(width=16), state)
    with pytest.raises(CheckpointError, match="unexpected"):
        load_state_dict_checked(small_model(layers=[1, 1, 1, 1]), state)
    partial = {k: v for k, v in state.items() if not k.startswith("text_proj")}
    with pytest.raises(CheckpointError, match="missing 2 tensors"):
        load_state_dict_checked(small_model(), partial)


def test_a_killed_save_leaves_the_old_checkpoint_and_no_debris(ckpt, monkeypatch):
    d, model = ckpt
    before = (d / "config.json").read_text()
    import safetensors.torch

    def killed(*a, **k):
        raise KeyboardInterrupt("killed mid-save")
    monkeypatch.setattr(safetensors.torch, "save_file", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(d, small_model(seed=3).state_dict(), {"model": model.cfg.to_dict()})
    assert (d / "config.json").read_text() == before
    load_checkpoint(d)                                       # still valid
    assert [p.name for p in d.parent.iterdir()] == ["ckpt"]  # no temporary folders left


def test_a_killed_first_save_leaves_nothing(tmp_path):
    target = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "model.safetensors").write_bytes(b"partial")
            raise RuntimeError("power cut")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_and_foreign_folders_are_never_wiped(ckpt, tmp_path):
    d, model = ckpt
    new = small_model(seed=5)
    save_checkpoint(d, new.state_dict(), {"model": new.cfg.to_dict()})
    state, _ = load_checkpoint(d)
    assert torch.equal(state["ecg_proj.weight"], new.state_dict()["ecg_proj.weight"])
    foreign = tmp_path / "my_documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious")
    with pytest.raises(CheckpointError, match="refusing to overwrite"):
        save_checkpoint(foreign, new.state_dict(), {})
    assert (foreign / "thesis.txt").read_text() == "precious"
