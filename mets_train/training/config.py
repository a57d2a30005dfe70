"""Training configuration: JSON data merged over these defaults. Unknown keys are errors (a typo must not
silently train with the default). Relative paths are relative to the current directory."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

DEFAULTS: dict = {
    "corpus": "corpus",                 # corpus folder (mets corpus build)
    "out": "runs/default",              # run folder: metrics.jsonl, state/, best/, last/
    "seed": 0,
    "model": {"width": 64, "proj_dim": 128},          # mets_core.model.ModelConfig fields
    "text_model": None,                 # HF id or folder; None = offline all-MiniLM-L6-v2
    "text_cache": None,                 # folder for cached raw report embeddings; None = <corpus>/text_cache
    "template_set": None,               # prompts.json template set: how reports are worded in pretraining and
                                        # prompts in validation; stored by name in the checkpoint; None = the default
    "preprocess": {"normalise": "zscore"},             # mets_core.preprocess.PreprocessConfig fields
    "optimizer": {"lr": 1e-3, "weight_decay": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
                  "warmup_steps": 200, "min_lr_ratio": 0.05, "grad_clip": 1.0,
                  "name": "adamw"},         # adamw (decoupled decay) | adam (L2 decay, the METS paper's)
    "batch_size": 64,                   # global batch (split evenly over DDP ranks)
    "epochs": 30,
    "max_steps": None,                  # stop after this many optimizer steps (smoke runs); None = all epochs
    "bf16": True,                       # bf16 autocast (CPU and CUDA)
    "soft_targets": True,               # identical reports in a batch are all positives (clip_loss text_ids)
    "lead_dropout": {"p": 0.5, "kinds": ["single", "pair", "limb"]},
    "report_column": "report",          # text paired with each window: report | report_original | report_statements,
                                        # or a list of them (one drawn per window and epoch; validation: the first)
    "source_weights": {},               # source -> share of its training windows drawn per epoch (1 = all once;
                                        # 0.25 = a fresh quarter each epoch; 2 = twice); unlisted sources: 1
    "exclude_forms": [],                # signal forms left out of training and validation, e.g. ["zscore"]
    "augment": {"shift_s": 0.0,         # random shift of each window by up to +-shift_s seconds (zero fill)
                "scale": 0.0,           # amplitude x U(1-scale, 1+scale) per window
                "wander": 0.0,          # baseline wander: a 0.05-0.5 Hz sinusoid per lead, amplitude up to
                                        # wander x the lead's standard deviation
                "noise": 0.0},          # white noise, standard deviation noise x the lead's
    "select_on": None,                  # label sets whose mean macro AUC picks best/ (None = every set present;
                                        # see evaluate.LABEL_SETS)
    "patience": None,                   # stop after this many epochs without a better selection score
    "checkpoint_every": 500,            # steps between resumable training-state checkpoints
    "log_every": 10,                    # steps between train-loss lines in metrics.jsonl
    "val_batch_size": 256,
    "num_workers": 0,                   # 0 = load batches in the main process (memmap gather is cheap)
    "threads": None,                    # torch intra-op threads; None = torch's default
    "device": "auto",                   # auto | cpu | cuda
    "progress": True,                   # tqdm progress bar on rank 0
}


OPTIMIZERS = ("adamw", "adam")
LEAD_DROPOUT_KINDS = ("single", "pair", "limb")     # data.drop_leads: one lead, two leads, the six limb leads


class ConfigError(ValueError):
    """A training config is malformed; the message names the key and what is accepted."""


def _shown(value) -> str:
    """A value as it is written in the JSON file (a quoted "false" is text, not false)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_types(cfg: dict) -> None:
    """Every setting of the wrong type or range is refused by name: a quoted "false" trained with bf16 on, a
    form name mistyped (["mV"]) or given as text ("zscore") left every window in, and a number given as text
    stopped the run with a traceback deep in torch."""
    def need(ok: bool, key: str, value, what: str) -> None:
        if not ok:
            raise ConfigError(f"{key} must be {what}, got {_shown(value)}")

    for key in ("bf16", "soft_targets", "progress"):
        need(isinstance(cfg[key], bool), key, cfg[key], "true or false (without quotes)")
    need(_whole(cfg["seed"]) and cfg["seed"] >= 0, "seed", cfg["seed"], "a whole number >= 0")
    for key in ("batch_size", "epochs", "checkpoint_every", "log_every", "val_batch_size"):
        need(_whole(cfg[key]) and cfg[key] >= 1, key, cfg[key], "a positive integer")
    for key in ("max_steps", "patience", "threads"):
        need(cfg[key] is None or (_whole(cfg[key]) and cfg[key] >= 1), key, cfg[key], "a positive integer or null")
    need(_whole(cfg["num_workers"]) and cfg["num_workers"] >= 0, "num_workers", cfg["num_workers"],
         "a whole number >= 0 (0 = load batches in the main process)")
    for key in ("corpus", "out"):
        need(isinstance(cfg[key], str) and bool(cfg[key].strip()), key, cfg[key], "a folder (text)")
    for key, what in (("text_model", "a model name or folder"), ("text_cache", "a folder"),
                      ("template_set", "a template set's name")):
        need(cfg[key] is None or (isinstance(cfg[key], str) and bool(cfg[key].strip())), key, cfg[key],
             f"{what} (text), or null for the default")
    opt = cfg["optimizer"]
    need(opt["name"] in OPTIMIZERS, "optimizer.name", opt["name"], " or ".join(OPTIMIZERS))
    need(_number(opt["lr"]) and opt["lr"] > 0, "optimizer.lr", opt["lr"], "a number > 0")
    need(_number(opt["weight_decay"]) and opt["weight_decay"] >= 0, "optimizer.weight_decay", opt["weight_decay"],
         "a number >= 0")
    need(isinstance(opt["betas"], list) and len(opt["betas"]) == 2
         and all(_number(b) and 0 <= b < 1 for b in opt["betas"]), "optimizer.betas", opt["betas"],
         "two numbers within [0, 1), e.g. [0.9, 0.999]")
    need(_number(opt["eps"]) and opt["eps"] > 0, "optimizer.eps", opt["eps"], "a number > 0")
    need(_whole(opt["warmup_steps"]) and opt["warmup_steps"] >= 0, "optimizer.warmup_steps", opt["warmup_steps"],
         "a whole number >= 0")
    need(_number(opt["min_lr_ratio"]) and 0 <= opt["min_lr_ratio"] <= 1, "optimizer.min_lr_ratio",
         opt["min_lr_ratio"], "a number within [0, 1]")
    need(opt["grad_clip"] is None or (_number(opt["grad_clip"]) and opt["grad_clip"] >= 0), "optimizer.grad_clip",
         opt["grad_clip"], "a number >= 0, or null for no clipping")
    drop = cfg["lead_dropout"]
    need(_number(drop["p"]) and 0 <= drop["p"] <= 1, "lead_dropout.p", drop["p"], "a number within 0..1")
    need(isinstance(drop["kinds"], list) and all(k in LEAD_DROPOUT_KINDS for k in drop["kinds"]),
         "lead_dropout.kinds", drop["kinds"], f"a list among {', '.join(LEAD_DROPOUT_KINDS)}")
    from ..corpus.format import WINDOW_FORMS
    need(isinstance(cfg["exclude_forms"], list) and all(f in WINDOW_FORMS for f in cfg["exclude_forms"]),
         "exclude_forms", cfg["exclude_forms"], f"a list among {', '.join(WINDOW_FORMS)} (e.g. [\"zscore\"])")
    for key, value in cfg["augment"].items():
        bound = 1 if key == "scale" else math.inf          # a scale over 1 would flip some windows upside down
        need(_number(value) and 0 <= value <= bound, f"augment.{key}", value,
             "a number within [0, 1]" if key == "scale" else "a number >= 0 (0 = off)")


def _merge(base: dict, over: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key.startswith("_"):          # "_comment" and friends
            continue
        if key not in base:
            raise ConfigError(f"unknown training setting {where}{key!r}; known: {sorted(k for k in base)}")
        if key == "source_weights":      # free keys: source names
            if not isinstance(value, dict) or not all(_number(v) and v >= 0 for v in value.values()):
                raise ConfigError(f"source_weights must map source names to numbers >= 0, got {value!r}")
            out[key] = dict(value)
        elif isinstance(base[key], dict) and key not in ("model", "preprocess"):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key!r} must be an object, got {type(value).__name__}")
            out[key] = _merge(base[key], value, f"{where}{key}.")
        elif key in ("model", "preprocess"):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key!r} must be an object, got {type(value).__name__}")
            out[key] = {**base[key], **value}   # checked by ModelConfig / PreprocessConfig.from_dict
        else:
            out[key] = copy.deepcopy(value)
    return out


def _legacy_report_template(overrides: dict) -> dict:
    """Configs written before template sets carry "report_template": accepted when it is the chosen set's
    pretraining template (or null); any other wording belongs in a template set of prompts.json."""
    if "report_template" not in overrides:
        return overrides
    from mets_core.prompts import load_template_set
    overrides = dict(overrides)
    wording = overrides.pop("report_template")
    try:
        pretraining = load_template_set(overrides.get("template_set"))["pretraining"]
    except ValueError as err:
        raise ConfigError(f"template_set: {err}") from None
    if wording is not None and wording != pretraining:
        raise ConfigError(f"report_template {wording!r} differs from the pretraining template of the template set "
                          f"({pretraining!r}): add a template set with this wording to mets_core/prompts.json "
                          f"'template_sets' and name it with 'template_set'")
    return overrides


def make_config(overrides: dict | None = None) -> dict:
    """DEFAULTS with `overrides` merged in (nested objects merge key by key), validated."""
    cfg = _merge(DEFAULTS, _legacy_report_template(overrides or {}), "")
    _check_types(cfg)
    columns = [cfg["report_column"]] if isinstance(cfg["report_column"], str) else cfg["report_column"]
    if not isinstance(columns, list) or not columns or \
            any(c not in ("report", "report_original", "report_statements") for c in columns):
        raise ConfigError(f"report_column must be report, report_original or report_statements (or a list of "
                          f"them: one drawn per window and epoch), got {cfg['report_column']!r}")
    if cfg["template_set"] is not None:
        from mets_core.prompts import load_template_set
        try:
            load_template_set(cfg["template_set"])
        except ValueError as err:
            raise ConfigError(f"template_set: {err}") from None
    if cfg["select_on"] is not None:
        from .evaluate import LABEL_SETS
        names = cfg["select_on"]
        if not isinstance(names, list) or not names or any(n not in LABEL_SETS for n in names):
            raise ConfigError(f"select_on must be null (every label set present) or a list of label sets among "
                              f"{', '.join(LABEL_SETS)}, got {names!r}")
    if cfg["device"] not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {cfg['device']!r}")
    return cfg


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """Read a JSON training config and merge it (then `overrides`) over DEFAULTS."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"training config {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"training config {path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"training config {path} must hold a JSON object")
    cfg = make_config(data)
    return make_config({**cfg, **(overrides or {})}) if overrides else cfg
