"""Checkpoints: `model.safetensors` + `config.json`, written atomically, verified on load, never unpickled.

Why each check:
- weights are read only with `safetensors` (a flat tensor format with a JSON header): a pickle or a
  torch.save zip placed in the folder is recognised by its first bytes and refused, never executed;
- `config.json` carries `weights_sha256`: a truncated, swapped or edited weight file is refused before use;
- saving writes a hidden temporary folder and renames it into place, and config.json (with the hash) is
  written last: a killed save leaves either the old checkpoint or nothing that verifies.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import struct
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:        # torch is not imported here: reading a config (e.g. in a reader process) stays light
    import torch

WEIGHTS_FILE = "model.safetensors"
WEIGHTS_ENV = "METS_WEIGHTS"
CONFIG_FILE = "config.json"
FORMAT = "mets-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged, not safetensors, or does not fit the model."""


class NoCheckpointError(CheckpointError):
    """There is no checkpoint at all: the folder is missing, or holds no config.json (not a damaged one)."""


Settings = TypeVar("Settings")


def settings_from_dict(cls: type[Settings], d: dict | None, what: str) -> Settings:
    """The dataclass `cls` (a section of config.json: ModelConfig, PreprocessConfig) from the dict `d` (None: its
    defaults), refusing a key it does not have: a misspelt setting must not fall back to the default silently.
    `what` names the settings in that refusal ("unknown model settings ['widht']; known: [...]"). Each value must
    be of its setting's type (a whole number, a number, text, a list of whole numbers; null where the setting
    allows none): a hand-edited "width": "64" is named here, not met later as a comparison of text with a number."""
    if d is not None and not isinstance(d, dict):
        raise ValueError(f"the {what} settings must be a JSON object of names and values, got {_shown(d)}")
    d = dict(d or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown {what} settings {unknown}; known: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    for name, value in d.items():
        try:
            d[name] = _as_setting(value, hints[name])
        except (TypeError, ValueError):
            raise ValueError(f"the {what} setting {name!r} must be {_setting_words(hints[name])}, "
                             f"got {_shown(value)}") from None
    return cls(**d)


def _shown(value) -> str:
    """A config value as config.json spells it ("64" in quotes is text), shortened."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional(hint) -> tuple[bool, object]:
    """(whether `hint` allows None, the type it names besides None)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return len(args) < len(typing.get_args(hint)), args[0]
    return False, hint


def _as_setting(value, hint):
    """`value` as a setting of type `hint` (int, float, str, list[int], any of them or None) takes it: a whole
    number written 64.0 is 64; anything else of the wrong type raises TypeError."""
    optional, hint = _optional(hint)
    if value is None and optional:
        return None
    if typing.get_origin(hint) is list:
        if not isinstance(value, list):
            raise TypeError
        return [_as_setting(v, typing.get_args(hint)[0]) for v in value]
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError
        if hint is int:
            if not float(value).is_integer():
                raise TypeError
            return int(value)
        return value
    if not isinstance(value, hint):
        raise TypeError
    return value


def _setting_words(hint) -> str:
    optional, hint = _optional(hint)
    words = ("a list of " + {int: "whole numbers", float: "numbers"}.get(typing.get_args(hint)[0], "values")
             if typing.get_origin(hint) is list else {int: "a whole number", float: "a number", str: "text"}.get(
                 hint, getattr(hint, "__name__", str(hint))))
    return words + (" or null" if optional else "")


def default_weights_dir() -> Path:
    """$METS_WEIGHTS if set, else the `weights/` folder of the repository this package lives in."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "weights"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike, marker: str = CONFIG_FILE) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `target`, on error it is removed.

    An existing non-empty `target` is only replaced if it holds `marker` (so we never wipe a folder that
    is not ours)."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / marker).exists())):
        raise CheckpointError(f"refusing to overwrite {target}: it exists and is not a folder we wrote "
                              f"(no {marker}); choose an empty or new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
        os.rename(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_json(path: Path, obj: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(directory: str | os.PathLike, state_dict: dict[str, torch.Tensor], config: dict,
                    extra_files: dict[str, str | bytes] | None = None) -> dict:
    """Write `state_dict` and `config` (+ optional small text files such as MODEL_CARD.md) to `directory`.

    Overwriting an existing checkpoint folder replaces the whole folder (an index/ built with the old
    weights would be stale). Returns the config as written (with weights_sha256 and format fields)."""
    from safetensors.torch import save_file
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    with atomic_folder(directory) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        for name, content in (extra_files or {}).items():
            if Path(name).name != name or name in (WEIGHTS_FILE, CONFIG_FILE):
                raise CheckpointError(f"extra file name {name!r} must be a plain file name other than the "
                                      f"weights/config files")
            (tmp / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        written = {"format": FORMAT, "format_version": FORMAT_VERSION,
                   **{k: v for k, v in config.items() if k not in ("format", "format_version", "weights_sha256")},
                   "weights_sha256": sha256_file(tmp / WEIGHTS_FILE)}
        _write_json(tmp / CONFIG_FILE, written)   # last: only a complete folder has a hash that verifies
    return written


def _check_safetensors_header(path: Path) -> None:
    """Refuse anything that is not a safetensors file before a library parses it."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:2] == b"PK":
        raise CheckpointError(f"{path} is a zip archive (torch.save format), not safetensors; refusing to "
                              f"load it because such files can execute code. Convert it to safetensors.")
    if head[:1] == b"\x80" or head[:1] in (b"c", b"(") and b"\n" in head:
        raise CheckpointError(f"{path} is a Python pickle, not safetensors; refusing to load it because "
                              f"unpickling can execute code.")
    if size < 10:
        raise CheckpointError(f"{path} is truncated ({size} bytes): not a safetensors file")
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len <= 0 or 8 + header_len > size or head[8:9] != b"{":
        raise CheckpointError(f"{path} is not a valid safetensors file (bad or truncated header)")


def read_config(directory: str | os.PathLike) -> dict:
    """config.json of the checkpoint folder `directory`, checked by `check_config`; raises NoCheckpointError when
    there is no checkpoint there at all, CheckpointError when the folder or its config cannot be used."""
    directory = Path(directory)
    cfg_path = directory / CONFIG_FILE
    if directory.is_file():         # the config.json or model.safetensors itself named, not its folder
        raise NoCheckpointError(f"{directory} is a file, not a checkpoint folder: give the folder that holds "
                              f"{WEIGHTS_FILE} and {CONFIG_FILE} ({directory.parent})")
    if not directory.is_dir():
        raise NoCheckpointError(f"checkpoint folder {directory} does not exist")
    if not cfg_path.is_file():
        raise NoCheckpointError(f"{directory} is not a METS checkpoint: {CONFIG_FILE} is missing "
                              f"(a checkpoint folder holds {WEIGHTS_FILE} + {CONFIG_FILE})")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{cfg_path} is not valid JSON: {err}") from err
    check_config(config, str(cfg_path))
    return config


# what a checkpoint's config.json holds besides the model and preprocess settings: key -> (type, in words);
# checked on reading, so that a hand-edited value is named there and not met later as a crash of its user
_CONFIG_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "text_model": (str, "text: a Hugging Face id or a folder"),
    "text_max_length": (int, "a whole number of tokens, at least 1"),
    "template_set": (str, "text: the name of a template set"),
    "training": (dict, "a JSON object (the training summary)"),
    "weights_sha256": (str, "text: the SHA-256 of the weights file"),
}


def check_config(config, where: str) -> None:
    """Refuse a METS config (what config.json holds, or a dict given to `METS.random_init`) that is not a JSON
    object, is the config of another kind of model (a Hugging Face model folder's), or holds a field of
    `_CONFIG_FIELDS` of the wrong type (null stands for the default). `where` names it in the message. The
    model and preprocess settings are checked where they are read (`settings_from_dict`)."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{where} must hold a JSON object")
    fmt = config.get("format")
    other = (f"format {_shown(fmt)}" if fmt is not None and fmt != FORMAT else
             f"a Hugging Face {config.get('model_type') or 'model'} config"
             if fmt is None and ("model_type" in config or "architectures" in config) else None)
    if other:
        raise CheckpointError(f"{where} is not the config of METS weights ({other}): give the folder of a METS "
                              f"checkpoint ({WEIGHTS_FILE} + {CONFIG_FILE} as METS saves them); a text model is "
                              f"named inside it (text_model)")
    for key, (kind_of, words) in _CONFIG_FIELDS.items():
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, kind_of) or isinstance(value, bool) or (kind_of is int and value < 1):
            raise CheckpointError(f"{where}: {key} must be {words}, got {_shown(value)}")


def load_checkpoint(directory: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """-> (state_dict, config), after checking the files exist, the weights are safetensors, and their
    sha256 equals config['weights_sha256']."""
    from safetensors.torch import load_file
    directory = Path(directory)
    config = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{directory} has {CONFIG_FILE} but no {WEIGHTS_FILE}")
    _check_safetensors_header(weights)
    expected = config.get("weights_sha256")
    if not isinstance(expected, str):
        raise CheckpointError(f"{directory / CONFIG_FILE} has no weights_sha256: cannot verify the weights; "
                              f"re-save the checkpoint with mets_core.checkpoint.save_checkpoint")
    actual = sha256_file(weights)
    if actual != expected:
        raise CheckpointError(f"{weights} does not match its config (sha256 {actual[:12]}... != "
                              f"{expected[:12]}...): the file is truncated, damaged or from another checkpoint")
    try:
        state_dict = load_file(str(weights))
    except Exception as err:   # safetensors raises its own error types
        raise CheckpointError(f"{weights} could not be read as safetensors: {err}") from err
    return state_dict, config


def load_state_dict_checked(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], where: str = "") -> None:
    """`model.load_state_dict` with one clear error listing missing, unexpected and mis-shaped tensors."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensors (e.g. {', '.join(unexpected[:3])})")
        if shapes:
            parts.append(f"shape mismatch: {'; '.join(shapes[:3])}")
        raise CheckpointError(f"checkpoint {where} does not fit the model described by its config: "
                              + "; ".join(parts))
    model.load_state_dict(state_dict, strict=True)
