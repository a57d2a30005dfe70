"""Resumable training state as safetensors + JSON (no pickle, no torch.save).

A state folder holds:
  model.safetensors      the model's state dict
  optimizer.safetensors  every tensor of the optimizer state, keyed "<param index>.<name>"
  rng.safetensors        torch CPU (and CUDA) generator states as uint8 tensors
  state.json             position (step, epoch, next batch), optimizer param groups and non-tensor state,
                         numpy/python RNG states, best validation score, the run config
It is written with `checkpoint.atomic_folder` (temporary sibling folder, then renames), so a kill at any
moment leaves either the previous state or the new one, never a half-written one.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mets_core.checkpoint import atomic_folder

STATE_FILES = ("model.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json")


def optimizer_to_flat(opt_state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """torch optimizer state_dict -> (tensors for safetensors, JSON-able rest)."""
    tensors, scalars = {}, {}
    for pid, per_param in opt_state["state"].items():
        for name, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{name}"] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in opt_state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars,
                     "tuple_keys": sorted({k for g in opt_state["param_groups"] for k, v in g.items()
                                           if isinstance(v, tuple)})}


def optimizer_from_flat(tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    """Inverse of `optimizer_to_flat`."""
    state: dict[int, dict] = {}
    for key, value in list(tensors.items()) + list(rest["scalars"].items()):
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    groups = [{k: (tuple(v) if k in rest["tuple_keys"] else v) for k, v in g.items()} for g in rest["param_groups"]]
    return {"state": state, "param_groups": groups}


def rng_states() -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = s
    np_state = np.random.get_state()
    py_state = random.getstate()
    return tensors, {"numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
                     "python": [py_state[0], list(py_state[1]), py_state[2]]}


def set_rng_states(tensors: dict[str, torch.Tensor], rest: dict) -> None:
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    n = rest["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), *n[2:]))
    p = rest["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def save_training_state(folder: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        position: dict, extra: dict) -> None:
    """Atomically write the full training state to `folder` (replacing what was there)."""
    opt_tensors, opt_rest = optimizer_to_flat(optimizer.state_dict())
    rng_tensors, rng_rest = rng_states()
    with atomic_folder(folder, marker="state.json") as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                  str(tmp / "model.safetensors"))
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        save_file(rng_tensors, str(tmp / "rng.safetensors"))
        doc = {"format": "mets-training-state/1", "position": position, "optimizer": opt_rest, "rng": rng_rest,
               **extra}
        with open(tmp / "state.json", "w", encoding="utf-8") as fh:   # last: a folder without it is incomplete
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())


def find_training_state(folder: str | Path) -> Path | None:
    """The state folder to resume from: `folder`, or the previous version a kill mid-swap left beside it."""
    folder = Path(folder)
    for cand in [folder, *sorted(folder.parent.glob(f".{folder.name}.old-*"))]:
        if all((cand / f).is_file() for f in STATE_FILES):
            return cand
    return None


def load_training_state(folder: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        restore_rng: bool = True) -> dict:
    """Load weights, optimizer and RNG states in place; return state.json (position, best, ...)."""
    folder = Path(folder)
    doc = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    optimizer.load_state_dict(optimizer_from_flat(load_file(str(folder / "optimizer.safetensors")), doc["optimizer"]))
    if restore_rng:
        set_rng_states(load_file(str(folder / "rng.safetensors")), doc["rng"])
    return doc
