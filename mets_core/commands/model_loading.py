"""The model and what it wants, for a command: `load_model` (torch sized to the cores the readers leave free),
`preprocess_settings` (read from the checkpoint's config.json without torch, for the reader processes) and
`load_index` (the report index of `mets retrieve`). Each raises what `errors.SETUP_ERRORS` names when the
folder cannot be used; the command turns that into one error line and exit code 2."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..checkpoint import CheckpointError, default_weights_dir, read_config


def load_model(path: str | None, reader_workers: int | None = None):
    """The model (`METS`) of the checkpoint folder `path` (None: the shipped weights or $METS_WEIGHTS). With
    the number of reader processes, torch gets the cores they leave free. (Two threads fighting over cores
    that the readers use make a single small forward 10-40x slower on a busy 2-core machine.)"""
    import torch

    from ..pipeline import METS
    if reader_workers is not None:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - reader_workers))
    return METS.from_pretrained(path)


def load_index(model, index_dir: str | None):
    """The report index at `index_dir`, or the model folder's index/ when None."""
    from ..index import INDEX_DIR, ReportIndex
    folder = Path(index_dir) if index_dir else (Path(model.source) / INDEX_DIR if model.source else None)
    if folder is None:
        raise ValueError("no index folder: pass --index DIR")
    return ReportIndex.load(folder, model=model)


def _config(model_dir: str | None) -> tuple[Path, dict]:
    """(the checkpoint folder, its config.json) without torch; raises CONFIG_UNREADABLE when it cannot be read."""
    folder = Path(model_dir or default_weights_dir())
    return folder, read_config(folder)


CONFIG_UNREADABLE = (CheckpointError, OSError)     # what `_config` raises for a missing or unreadable config.json


def preprocess_settings(model_dir: str | None) -> dict | None:
    """The preprocessing the model will want, from its config.json (no torch needed), so that the reader
    processes prepare the windows too; None when it cannot be read (the model load will say why)."""
    try:
        _, config = _config(model_dir)
        from ..preprocess import PreprocessConfig
        return PreprocessConfig.from_dict(config.get("preprocess")).to_dict()
    except (*CONFIG_UNREADABLE, ValueError, TypeError, AttributeError):   # or settings it does not take
        return None


# how an output row names its model: "FOLDER sha256:0123456789ab", the weights' hash as config.json records it
# (what loading verifies, and what `mets info` shows)
MODEL_HASH_CHARS = 12


def model_identity(model_dir: str | None) -> str | None:
    """'FOLDER sha256:HASH' of the checkpoint folder (None: the shipped weights), read without torch; None when
    its config.json cannot be read (the model load will say why)."""
    try:
        folder, config = _config(model_dir)
    except CONFIG_UNREADABLE:
        return None
    sha = str(config.get("weights_sha256") or "unknown")
    return f"{folder.resolve()} sha256:{sha[:MODEL_HASH_CHARS]}"


def weights_hash(identity: str | None) -> str | None:
    """The weights' hash of a `model_identity` string (None when it names none)."""
    found = re.search(r"sha256:([0-9a-f]+)\s*$", str(identity or ""))
    return found.group(1) if found else None
