"""Faults: a save killed half-way never yields a checkpoint that loads as valid; the dashboard survives
missing, corrupt, code-carrying and half-written weights with a clear page, and recovers when they are fixed.

Training killed mid-epoch (SIGKILL) and resumed reproducing the uninterrupted run's losses exactly is tested
in tests/test_training.py::test_resume_after_sigkill_reproduces_uninterrupted_run (not repeated here).

Killed saves: a subprocess calls save_checkpoint with one step made slow (it writes half its bytes, then
parks), and the test SIGKILLs it there: while the weights are written, while config.json is written, and
between atomic_folder's two renames. save_checkpoint writes a hidden temporary folder, puts config.json
(which holds the weights' SHA-256) in last, then renames; so the kill leaves either the previous checkpoint,
or nothing at the target path, plus debris that never loads.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mets_core import METS
from mets_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mets_core.model import ECGTextModel, ModelConfig

from dashboard_fixtures import make_test_weights, new_app, synthetic_csv, upload
from helpers import pickle_payload
from reliability_support import REPO

SMALL = {"width": 8, "proj_dim": 16}

KILLABLE_SAVE = r'''
import json, os, sys, time
from pathlib import Path
import torch
from mets_core import checkpoint as ck
from mets_core.model import ECGTextModel, ModelConfig

target, ready, where = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
torch.manual_seed(1)
model = ECGTextModel(ModelConfig(width=8, proj_dim=16))

def park():                      # the parent SIGKILLs us here
    ready.write_text("parked")
    time.sleep(600)

if where == "weights":
    import safetensors.torch
    real_save = safetensors.torch.save_file
    def half_written(tensors, path, metadata=None):
        real_save(tensors, path, metadata=metadata)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        park()
    safetensors.torch.save_file = half_written
elif where == "config":
    def half_json(path, obj):
        text = json.dumps(obj)
        Path(path).write_text(text[: len(text) // 2])
        park()
    ck._write_json = half_json
elif where == "between-renames":
    real_rename = os.rename
    def rename_then_park(src, dst):
        real_rename(src, dst)
        if ".old-" in str(dst):  # the old checkpoint moved aside, the new one not yet in place
            park()
    ck.os.rename = rename_then_park
ck.save_checkpoint(target, model.state_dict(), {"model": model.cfg.to_dict()})
print("save completed without being killed", flush=True)
'''


def _small_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return ECGTextModel(ModelConfig(**SMALL)).state_dict()


def _kill_during_save(tmp_path: Path, target: Path, where: str) -> None:
    script, ready = tmp_path / "killable_save.py", tmp_path / "parked"
    script.write_text(KILLABLE_SAVE)
    proc = subprocess.Popen([sys.executable, str(script), str(target), str(ready), where], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if proc.poll() is not None:
                raise AssertionError(f"the save ended before the kill point: {proc.stdout.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("the save never reached its kill point")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()


def _same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("where,existing", [("weights", True), ("weights", False), ("config", True),
                                            ("config", False), ("between-renames", True)])
def test_a_save_killed_midway_never_loads_as_valid(tmp_path, where, existing):
    target = tmp_path / "ckpt"
    old = _small_state(0)
    if existing:
        save_checkpoint(target, old, {"model": ModelConfig(**SMALL).to_dict()})
    _kill_during_save(tmp_path, target, where)

    debris = sorted(p for p in tmp_path.iterdir() if p.name.startswith(".ckpt."))
    assert debris, "the kill left no temporary folder: it did not happen mid-save"
    if where == "between-renames":
        # the old checkpoint was moved aside and the new one not yet renamed into place: nothing at the path
        with pytest.raises(CheckpointError, match="does not exist"):
            load_checkpoint(target)
        aside = [p for p in debris if ".old-" in p.name]
        assert len(aside) == 1 and _same(load_checkpoint(aside[0])[0], old)    # recoverable by hand
    elif existing:
        state, _ = load_checkpoint(target)                  # the previous checkpoint, intact
        assert _same(state, old)
        assert METS.from_pretrained(target).weights_sha256 == json.loads((target / "config.json").read_text())[
            "weights_sha256"]
    else:
        with pytest.raises(CheckpointError, match="does not exist"):
            METS.from_pretrained(target)
    for tmp in (p for p in debris if ".tmp-" in p.name):
        if where == "between-renames":                      # complete and verified: the new checkpoint
            assert _same(load_checkpoint(tmp)[0], _small_state(1))
        else:                                               # half-written folders never load
            with pytest.raises(CheckpointError, match="config.json is missing|not valid JSON"):
                METS.from_pretrained(tmp)

    new = _small_state(2)                                   # the next save works despite the debris
    save_checkpoint(target, new, {"model": ModelConfig(**SMALL).to_dict()})
    assert _same(load_checkpoint(target)[0], new)


def test_a_stale_temporary_folder_beside_a_checkpoint_is_ignored(tmp_path):
    target = tmp_path / "weights"
    state = _small_state(0)
    save_checkpoint(target, state, {"model": ModelConfig(**SMALL).to_dict()})
    stale = tmp_path / ".weights.tmp-deadbeef"
    stale.mkdir()
    data = (target / "model.safetensors").read_bytes()
    (stale / "model.safetensors").write_bytes(data[: len(data) // 3])
    assert _same(load_checkpoint(target)[0], state)
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(stale)
    shutil.copy(target / "config.json", stale / "config.json")       # even with a config beside it
    with pytest.raises(CheckpointError, match="truncated|does not match"):
        load_checkpoint(stale)


# ------------------------------------------------------------------------------------------ dashboard



@pytest.fixture(scope="module")
def good_weights(tmp_path_factory) -> Path:
    return make_test_weights(tmp_path_factory.mktemp("fault_weights"))


def break_weights(kind: str, good: Path, folder: Path, marker: Path) -> Path:
    """A weights folder broken in one way; returns the path to give as METS_WEIGHTS."""
    if kind == "missing":
        return folder / "nowhere"
    if kind == "not-a-folder":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "weights.txt").write_text("not a checkpoint folder")
        return folder / "weights.txt"
    shutil.copytree(good, folder)
    if kind == "pickled-weights":
        (folder / "model.safetensors").write_bytes(pickle_payload("torch.save", marker, key="ecg_proj.weight"))
    elif kind == "garbage-config":
        (folder / "config.json").write_bytes(b"\x80\x04garbage{")
    elif kind == "half-written":                   # what a save killed before config.json leaves behind
        (folder / "config.json").unlink()
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif kind == "damaged-index":
        (folder / "index" / "embeddings.safetensors").write_bytes(b"\x00" * 64)
    else:
        raise ValueError(kind)
    return folder


EXPECTED = {
    "missing": "No model weights",
    "not-a-folder": "No model weights",
    "pickled-weights": "refusing to load it",
    "garbage-config": "not valid JSON",
    "half-written": "No model weights",
}


def _errors(at) -> str:
    return " ".join(str(e.value) for e in at.error)


@pytest.mark.parametrize("kind", list(EXPECTED) + ["damaged-index"])
def test_dashboard_with_broken_weights_shows_a_clear_page(kind, good_weights, tmp_path, monkeypatch):
    marker = tmp_path / "executed"
    monkeypatch.setenv("METS_WEIGHTS", str(break_weights(kind, good_weights, tmp_path / "weights", marker)))
    at = new_app()
    upload(at, [("ok.csv", synthetic_csv(seconds=4))])
    page = " ".join(str(m.value) for m in at.markdown) + _errors(at) + " ".join(str(i.value) for i in at.info)
    assert "Traceback" not in page
    assert len(at.get("plotly_chart")) >= 1                  # the tracing works without the model
    if kind == "damaged-index":
        assert not at.error, _errors(at)
        assert 'data-testid="mets-rank-row"' in page          # ranking works; only retrieval is off
        assert "report index" in page and "could not be loaded" in page
    else:
        assert "Model unavailable" in _errors(at) and EXPECTED[kind] in _errors(at), _errors(at)
        assert 'data-testid="mets-rank-row"' not in page
    assert not marker.exists()


@pytest.mark.browser
def test_browser_weights_missing_then_corrupt_then_repaired(good_weights, tmp_path):
    """One server: its weights folder is missing, then holds a pickle, then a valid checkpoint. Each page
    load says what is wrong (no traceback); after the repair the same server ranks, without a restart."""
    from e2e_server import CHROMIUM, RANK_ROW, RECORD, browser, upload_files, wait_idle
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian chromium; never `playwright install`")
    pytest.importorskip("playwright", reason="the playwright Python package is not installed")
    from reliability_support import served
    WAIT_MS = 120_000

    folder, marker = tmp_path / "weights", tmp_path / "executed"
    csv_upload = [{"name": "ok.csv", "mimeType": "text/csv", "buffer": synthetic_csv(seconds=4)}]

    def check(page, expect: str, ranks: bool) -> None:
        page.goto(server.url)
        page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        if expect:
            page.get_by_text(expect).first.wait_for(timeout=WAIT_MS)
        upload_files(page, csv_upload)
        page.locator(RECORD).first.wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        if ranks:
            page.locator(RANK_ROW).first.wait_for(timeout=WAIT_MS)
        else:
            assert page.locator(RANK_ROW).count() == 0
            page.get_by_text("Ranking needs the model").wait_for(timeout=WAIT_MS)
        page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)      # the tracing, model or not
        assert "Traceback" not in page.content()

    with served(folder, tmp_path / "server.log") as server, browser() as page:
        check(page, "No model weights", ranks=False)                          # 1. missing
        folder.mkdir()
        for f in ("config.json", "MODEL_CARD.md"):
            shutil.copyfile(good_weights / f, folder / f)
        (folder / "model.safetensors").write_bytes(pickle_payload("torch.save", marker, key="ecg_proj.weight"))
        check(page, "refusing to load it", ranks=False)                       # 2. a pickle as weights
        time.sleep(0.05)
        shutil.copyfile(good_weights / "model.safetensors", folder / "model.safetensors")
        shutil.copytree(good_weights / "index", folder / "index")
        (folder / "config.json").write_text((good_weights / "config.json").read_text())   # new mtime: reload
        check(page, "", ranks=True)                                          # 3. repaired, same server
        assert page.get_by_text("Model unavailable").count() == 0
        log = server.log()
    assert not marker.exists()
    assert "Traceback" not in log, log[-3000:]
