"""The training loop (nanoGPT style: one plain function, config-driven). `train(config, resume)`.

What one run writes into its folder (config "out"):
  metrics.jsonl   one JSON object per line: {"kind": "train", step, epoch, loss, lr, samples_per_s, ...} every
                  `log_every` steps, {"kind": "val", epoch, step, loss, R@1, R@5, macro_auc, auc{...}} per epoch
  state/          resumable training state every `checkpoint_every` steps and at each epoch end (state.py)
  best/           METS checkpoint (model.safetensors + config.json) with the best selection score: the mean
                  validation macro AUC of the clinician label sets (`select_on`; without any, the loss), not the
                  macro AUC over all statements
  last/           METS checkpoint at the end of training
  ranks/rank<r>.json  each rank's final weights digest (DDP ranks must agree)
  config.json     the resolved run config

Epochs: the JSON files (metrics.jsonl, state/, config.json's training.best) keep the loop's index, from 0; what
is printed (the epoch lines, early stop, `mets train`'s closing line) and the model card count from 1
(`shown_epoch`).

The ECG encoder, both projections and the temperature train; the text model is frozen and its embeddings of
all corpus reports are computed once (cached on disk), so a step costs only the ECG encoder.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from mets_core.checkpoint import CONFIG_FILE
from mets_core.loss import clip_loss
from mets_core.model import ECGTextModel, ModelConfig
from mets_core.preprocess import PreprocessConfig
from mets_core.prompts import format_report, load_template_set
from .config import OPTIMIZERS, ConfigError, make_config
from .data import Corpus, TrainBatches, batches_from, unique_texts
from .evaluate import label_sets
from .distributed import World, init_world
from .state import find_training_state, load_training_state, save_training_state
from .validate import autocast, validate

# Settings that must not change between a run and its resumption (they decide which batches and which
# numbers follow). Others (epochs, max_steps, logging, workers) may change on resume.
RESUME_FIXED = ("corpus", "seed", "model", "preprocess", "text_model", "template_set", "optimizer",
                "batch_size", "bf16", "soft_targets", "lead_dropout", "report_column", "source_weights",
                "exclude_forms", "augment", "select_on")


def setting_changes(before, now, key: str) -> list[str]:
    """What differs between a setting's value in the interrupted run and now, key by key inside objects:
    ["batch_size 2, now 4", "model.width 8, now 16"]."""
    if isinstance(before, dict) and isinstance(now, dict):
        return [c for k in sorted(set(before) | set(now))
                for c in setting_changes(before.get(k), now.get(k), f"{key}.{k}")]
    return [] if before == now else [f"{key} {json.dumps(before)}, now {json.dumps(now)}"]


def resume_problem(out: Path, doc: dict, cfg: dict, world_size: int) -> str | None:
    """Why the run in `out` (its state.json `doc`) cannot be continued with `cfg`, in words with what to do;
    None when it can. Read before any weight is loaded: a state of another architecture does not fit the model."""
    changed = [k for k in RESUME_FIXED if doc["config"].get(k) != cfg.get(k)]
    if changed:
        changes = [c for k in changed for c in setting_changes(doc["config"].get(k), cfg.get(k), k)]
        return (f"cannot resume {out}: settings {changed} differ from the interrupted run's ({'; '.join(changes)}); "
                f"resume it with the settings it was started with ({out / CONFIG_FILE}), or start a new run in "
                f"another --out folder")
    if doc["world_size"] != world_size:
        return (f"cannot resume {out}: it ran on {doc['world_size']} processes, now {world_size}; resume it with "
                f"{doc['world_size']}")
    return None


def selected_by(val: dict) -> str:
    """What chose a validation's selection score (validate.py "select_score"), in words for the checkpoint's
    summary: the label sets that had a score, else all statements' macro AUC, else (no two-class label) the
    loss. It said "the label sets" whatever had chosen."""
    scored = [name for name, v in val["sets"].items() if v["macro_auc"] is not None]
    if scored:
        return "validation macro AUC of the label sets " + ", ".join(scored)
    if val["select_score"] is not None:
        return "validation macro AUC of all statements (no label set could be scored)"
    return "the lowest validation loss (no two-class label to score)"


def shown_epoch(epoch: int) -> int:
    """An epoch as people count it (from 1), for what is printed; the loop and its files count from 0."""
    return epoch + 1


def lr_at(step: int, total_steps: int, lr: float, warmup_steps: int, min_lr_ratio: float) -> float:
    """Linear warmup for `warmup_steps`, then cosine decay to lr * min_lr_ratio at `total_steps`."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """Digest of a state dict's names, dtypes, shapes and bytes (order-independent)."""
    h = hashlib.sha256()
    for k in sorted(state_dict):
        t = state_dict[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, mask: torch.Tensor,
               text_raw: torch.Tensor, text_ids: torch.Tensor | None, lr: float, grad_clip: float | None,
               bf16: bool) -> torch.Tensor:
    """One optimizer step on one batch: forward (bf16 autocast), CLIP loss in float32, backward, clip, step.
    `model` may be DDP-wrapped (its forward is ECGTextModel.forward)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    with autocast(x.device, bf16):
        ecg_emb, text_emb, scale = model(x, text_raw, mask)
    loss = clip_loss(ecg_emb.float(), text_emb.float(), scale.float(), text_ids)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss.detach()


def build_optimizer(model: torch.nn.Module, opt: dict) -> torch.optim.Optimizer:
    """AdamW (or Adam with L2 decay when opt["name"] is "adam", as in the METS paper); weight decay on
    conv/linear weights only (not on biases, norms or the temperature)."""
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    if opt.get("name", "adamw") not in OPTIMIZERS:
        raise ConfigError(f"optimizer.name must be {' or '.join(OPTIMIZERS)}, got {opt.get('name')!r}")
    cls = torch.optim.Adam if opt.get("name") == "adam" else torch.optim.AdamW
    return cls([{"params": decay, "weight_decay": opt["weight_decay"]},
                {"params": no_decay, "weight_decay": 0.0}],
               lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"])


class MetricsLog:
    """metrics.jsonl writer (rank 0). On resume, lines the killed run wrote after its last state are dropped,
    so the file reads as if the run had never been interrupted."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled

    def truncate_after(self, step: int, epoch: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:      # a line cut by the kill
                continue
            if (rec.get("kind") == "val" and rec["epoch"] < epoch) or (rec.get("kind") != "val" and rec["step"] <= step):
                keep.append(line)
        self.path.write_text("".join(k + "\n" for k in keep), encoding="utf-8")

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")


def report_embeddings(texts: list[str], templates: dict | str | None, text_model, cache_dir: Path, world: World):
    """Frozen raw embeddings (U, hidden) of the distinct reports phrased as in pretraining (`templates`: a
    template set or its name), computed once and cached on disk (rank 0 computes, the other ranks then read
    the cache). Returns (encoder, embeddings)."""
    from mets_core.text import TextEncoder
    encoder = TextEncoder(text_model)
    templated = [format_report(t, templates) for t in texts]
    if world.is_main:
        emb = encoder.encode_cached(templated, cache_dir)
    world.barrier()
    if not world.is_main:
        emb = encoder.encode_cached(templated, cache_dir)
    return encoder, emb


def save_model(folder: Path, model: ECGTextModel, cfg: dict, text_model_name: str, templates: dict,
               training: dict) -> None:
    """A METS checkpoint (loadable with METS.from_pretrained) of the current weights."""
    from mets_core.pipeline import METS
    was_training = model.training          # METS() puts its model in eval mode; the loop continues training
    METS(model, PreprocessConfig.from_dict(cfg["preprocess"]), text_model=text_model_name,
         templates=templates).save_pretrained(folder, training=training)
    model.train(was_training)


def train(config: dict, resume: bool = False,
          on_step: Callable[[int, float], None] | None = None) -> dict:
    """Train per `config` (see config.DEFAULTS). `resume=True` continues from <out>/state exactly where the
    last checkpoint left off. `on_step(step, loss)` is called after every optimizer step (hooks for callers
    such as recipes and tests). Returns a summary {steps, best, last_val, out}."""
    cfg = make_config(config)
    world = init_world(cfg["device"])
    try:
        return _train(cfg, resume, world, on_step)
    finally:
        world.close()


def _train(cfg: dict, resume: bool, world: World, on_step) -> dict:
    from tqdm import tqdm

    if cfg["batch_size"] % world.world_size:
        raise ConfigError(f"batch_size {cfg['batch_size']} must divide evenly over {world.world_size} ranks")
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    out = Path(cfg["out"])
    state_dir = out / "state"
    existing = find_training_state(state_dir)
    if resume and existing is None:
        raise ConfigError(f"--resume: no training state in {state_dir} to resume from (the run never saved one): "
                          f"start it again without --resume")
    if not resume and existing is not None:
        raise ConfigError(f"{out} already holds a training state; pass --resume to continue it, or choose "
                          f"another output folder")

    pre = PreprocessConfig.from_dict(cfg["preprocess"])
    corpus = Corpus.open(cfg["corpus"], cfg["report_column"])
    corpus.check_matches(pre)

    train_idx, val_idx = corpus.indices("train"), corpus.indices("val")
    if cfg["exclude_forms"] and corpus.forms is not None:
        keep = ~np.isin(corpus.forms, list(cfg["exclude_forms"]))
        train_idx, val_idx = train_idx[keep[train_idx]], val_idx[keep[val_idx]]
    if len(train_idx) == 0:
        raise ConfigError(f"corpus {corpus.path} has no training windows")
    # the clinician label sets that select the best epoch (the ones `mets evaluate` reports), their phrases
    # scored as the product scores them (METS.embed_prompts: knowledge expansion, templates); checked on every
    # rank before the reports are embedded, so a select_on the corpus cannot serve stops the run at once
    present = label_sets(corpus, val_idx) if len(val_idx) else {}
    absent = [name for name in cfg["select_on"] or () if name not in present]
    if absent:
        raise ConfigError(f"select_on names {', '.join(absent)}, but the validation windows of corpus {corpus.path} "
                          f"hold {'only the label sets ' + ', '.join(present) if present else 'no label set'}: "
                          f"choose among those (or null for every set present)")
    val_sets = {name: sets for name, sets in present.items()
                if world.is_main and (cfg["select_on"] is None or name in cfg["select_on"])}

    templates = load_template_set(cfg["template_set"])
    variants = corpus.report_variants or [corpus.reports]
    texts, text_ids = unique_texts([t for v in variants for t in v])
    variant_ids = text_ids.reshape(len(variants), len(corpus))     # row 0: the first column (validation's)
    text_ids = variant_ids[0]
    cache_dir = Path(cfg["text_cache"] or Path(cfg["corpus"]) / "text_cache")
    encoder, text_raw_np = report_embeddings(texts, templates, cfg["text_model"], cache_dir, world)
    text_raw = torch.from_numpy(text_raw_np).to(world.device)
    # zero-shot prompts for the validation AUC: each statement's canonical phrase through the templates
    statement_ids = sorted(corpus.statement_phrases)

    torch.manual_seed(cfg["seed"])
    model_cfg = ModelConfig.from_dict({**cfg["model"], "text_dim": encoder.hidden_size})
    model = ECGTextModel(model_cfg).to(world.device)
    optimizer = build_optimizer(model, cfg["optimizer"])
    from mets_core.pipeline import METS
    scorer = METS(model, pre, text_encoder=encoder, templates=templates) if val_sets else None

    local_bs = cfg["batch_size"] // world.world_size

    def epoch_batches(epoch: int) -> TrainBatches:
        return TrainBatches(corpus, train_idx, variant_ids if len(variants) > 1 else text_ids, pre, local_bs, cfg["seed"], epoch, world.world_size,
                            world.rank, cfg["lead_dropout"]["p"], cfg["lead_dropout"]["kinds"],
                            cfg["source_weights"], cfg["augment"])

    steps_per_epoch = len(epoch_batches(0))
    if steps_per_epoch == 0:
        raise ConfigError(f"batch_size {cfg['batch_size']} is larger than the {len(train_idx)} training windows")
    total_steps = cfg["epochs"] * steps_per_epoch
    if cfg["max_steps"]:
        total_steps = min(total_steps, cfg["max_steps"])

    # the run folder is made only now that the corpus, the text model and the batches are known good: a run
    # that cannot start leaves nothing behind
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
    world.barrier()
    opt = cfg["optimizer"]
    log = MetricsLog(out / "metrics.jsonl", world.is_main)
    step, start_epoch, start_batch, best, last_val, stopped_early = 0, 0, 0, None, None, False
    finished = False           # resumed a run with nothing left to train
    if resume:
        problem = resume_problem(out, json.loads((existing / "state.json").read_text(encoding="utf-8")), cfg,
                                 world.world_size)
        if problem:
            raise ConfigError(problem)
        doc = load_training_state(existing, model, optimizer)
        pos = doc["position"]
        step, start_epoch, start_batch, best = pos["step"], pos["epoch"], pos["batch"], doc["best"]
        # kept in the state since review 35 (older states: None, as before)
        last_val, stopped_early = doc.get("last_val"), bool(doc.get("stopped_early")) and bool(cfg["patience"])
        finished = step >= total_steps or start_epoch >= cfg["epochs"] or stopped_early
        if doc["scheduler"]["total_steps"] != total_steps and not finished:
            print(f"note: the schedule's horizon changed from {doc['scheduler']['total_steps']} to {total_steps} "
                  f"steps (epochs/max_steps changed): the run continues on the new cosine", file=sys.stderr)
        if not finished:       # a finished run's log is whole: its last validation line stays
            log.truncate_after(step, start_epoch)
    elif world.is_main:
        (out / CONFIG_FILE).write_text(json.dumps(cfg, indent=1), encoding="utf-8")
        (out / "metrics.jsonl").unlink(missing_ok=True)   # a fresh run: a log left by a run that never
                                                           # reached its first state is not continued

    ddp = model
    if world.distributed:
        from torch.nn.parallel import DistributedDataParallel
        ddp = DistributedDataParallel(model, device_ids=[world.local_rank] if world.device.type == "cuda" else None)

    def save_state(epoch: int, batch: int) -> None:
        if world.is_main:
            # the schedule is a pure function of the step (lr_at), so its state is the step and its horizon
            scheduler = {"kind": "linear warmup + cosine", "step": step, "total_steps": total_steps,
                         "next_lr": lr_at(step, total_steps, opt["lr"], opt["warmup_steps"], opt["min_lr_ratio"])}
            save_training_state(state_dir, model, optimizer, {"step": step, "epoch": epoch, "batch": batch},
                                {"best": best, "last_val": last_val, "stopped_early": stopped_early, "config": cfg,
                                 "world_size": world.world_size, "scheduler": scheduler})

    def summary(extra: dict) -> dict:
        return {"steps": step, "corpus": str(corpus.path), "train_windows": int(len(train_idx)),
                "val_windows": int(len(val_idx)), "batch_size": cfg["batch_size"], "seed": cfg["seed"],
                "lead_dropout": cfg["lead_dropout"], **extra}

    bar = tqdm(total=total_steps, initial=step, disable=not (world.is_main and cfg["progress"]),
               desc="train", unit="step", dynamic_ncols=True)
    done = finished or step >= total_steps
    no_best = None             # why validation could choose no best/ (nothing to score)
    t_log, n_log, data_wait = time.perf_counter(), 0, 0.0
    for epoch in range(start_epoch, cfg["epochs"]):
        if done:
            break
        dataset = epoch_batches(epoch)
        first = start_batch if epoch == start_epoch else 0
        model.train()
        batch_no = first
        it = batches_from(dataset, first, cfg["num_workers"])
        while batch_no < len(dataset):
            t0 = time.perf_counter()
            x, mask, tid = next(it)
            data_wait += time.perf_counter() - t0
            x, mask, tid = x.to(world.device, non_blocking=True), mask.to(world.device), tid.to(world.device)
            lr = lr_at(step, total_steps, opt["lr"], opt["warmup_steps"], opt["min_lr_ratio"])
            loss = train_step(ddp, optimizer, x, mask, text_raw[tid], tid if cfg["soft_targets"] else None, lr,
                              opt["grad_clip"], cfg["bf16"])
            step += 1
            batch_no += 1
            n_log += len(x) * world.world_size
            loss_value = world.mean(float(loss.detach()))
            if step % cfg["log_every"] == 0 or step == total_steps:
                dt = time.perf_counter() - t_log
                rate = n_log / dt if dt > 0 else float("nan")
                log.write({"kind": "train", "step": step, "epoch": epoch, "batch": batch_no, "loss": loss_value,
                           "lr": lr, "temperature": float(1.0 / model.scale().item()), "samples_per_s": rate,
                           "data_wait_frac": data_wait / dt if dt > 0 else 0.0})
                bar.set_postfix(loss=f"{loss_value:.4f}", samples_per_s=f"{rate:.0f}", lr=f"{lr:.2e}")
                t_log, n_log, data_wait = time.perf_counter(), 0, 0.0
            bar.update(1)
            if step % cfg["checkpoint_every"] == 0:
                save_state(epoch, batch_no)
            if on_step is not None:
                on_step(step, loss_value)
            if step >= total_steps:
                done = True
                break
        # validation: every epoch end, and once when max_steps stops the run mid-epoch
        if world.is_main and len(val_idx):
            val = validate(model, corpus, val_idx, text_raw, text_ids, statement_ids, encoder.encode, templates, pre,
                           cfg["val_batch_size"], cfg["batch_size"], world.device, cfg["bf16"], cfg["soft_targets"],
                           val_sets, scorer)
            last_val = {"kind": "val", "epoch": epoch, "step": step, **val}
            log.write(last_val)
            fmt = lambda v: "n/a" if v is None else f"{v:.4f}"
            sets = "  ".join(f"{k} {fmt(v['macro_auc'])}" for k, v in val["sets"].items())
            bar.write(f"epoch {shown_epoch(epoch)}: val loss {fmt(val['loss'])}  R@1 {fmt(val['R@1'])}  R@5 {fmt(val['R@5'])}  "
                      f"macro AUC {fmt(val['macro_auc'])}  {sets}")
            # selection: the mean macro AUC of the clinician label sets (else of all statements); a validation
            # set without any two-class label falls back to the loss
            score = val["select_score"] if val["select_score"] is not None else \
                None if val["loss"] is None else -val["loss"]
            if score is None:
                # nothing chose: a best/ of the first epoch would claim a selection that never happened
                if no_best is None:
                    no_best = no_selection_words(len(val_idx))
                    bar.write(f"note: {no_best}")
            elif best is None or score > best["score"]:
                best = {"score": score, "epoch": epoch, "step": step, "macro_auc": val["macro_auc"],
                        "sets": {k: v["macro_auc"] for k, v in val["sets"].items()},
                        "loss": val["loss"], "R@1": val["R@1"], "R@5": val["R@5"]}
                save_model(out / "best", model, cfg, encoder.name, templates,
                           summary({"best": best, "selected_by": selected_by(val)}))
            elif cfg["patience"] and epoch - best["epoch"] >= cfg["patience"]:
                bar.write(f"early stop: no better validation score for {cfg['patience']} epochs "
                          f"(best epoch {shown_epoch(best['epoch'])})")
                done = stopped_early = True
        if cfg["patience"]:                 # rank 0 decided; every rank stops together
            done = world.mean(float(done)) > 0
        if batch_no >= len(dataset):
            save_state(epoch + 1, 0)
        else:
            save_state(epoch, batch_no)
        world.barrier()
    bar.close()

    world.sync_buffers(model)
    if world.is_main:
        save_model(out / "last", model, cfg, encoder.name, templates, summary({"best": best, "last_val": last_val}))
    digest = state_dict_sha256(model.state_dict())
    (out / "ranks").mkdir(exist_ok=True)
    (out / "ranks" / f"rank{world.rank}.json").write_text(
        json.dumps({"rank": world.rank, "world_size": world.world_size, "step": step, "weights_sha256": digest}),
        encoding="utf-8")
    world.barrier()
    return {"steps": step, "best": best, "last_val": last_val, "out": str(out), "weights_sha256": digest,
            "already_finished": finished, "stopped_early": stopped_early, "no_best": no_best}


def no_selection_words(n_val: int) -> str:
    """Why a run keeps no best/: its validation windows gave neither a macro AUC nor a loss to choose by."""
    return (f"its {n_val} validation window{'s' * (n_val != 1)} gave nothing to choose a checkpoint by (no label "
            f"with both positive and negative windows, and fewer than 2 windows for the loss): no best/ is kept, "
            f"last/ is the model; give the corpus more validation patients to choose by")
