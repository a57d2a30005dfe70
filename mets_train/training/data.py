"""The pretraining corpus as training batches: memmapped signals, per-batch normalisation, lead dropout.

The corpus folder (written by `mets corpus build`, see mets_train/corpus) holds filtered signals in mV at the
corpus rate; normalisation happens here, per batch, with exactly the arithmetic of
`preprocess.normalise` so a window seen in training and the same window uploaded in the dashboard reach the
encoder identically.

Every random choice (epoch order, lead dropout) is a pure function of (seed, epoch, batch, rank): a run
resumed at batch b of epoch e sees exactly the batches an uninterrupted run would have seen.
"""
from __future__ import annotations

import csv
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mets_core.ecg import STANDARD_LEADS
from mets_core.preprocess import PreprocessConfig

from .config import LEAD_DROPOUT_KINDS
from ..corpus.format import (LEAD_MASK_FILE, META_FILE, REPORT_COLUMNS, REQUIRED_COLUMNS, SIGNALS_FILE, SPLITS,
                             WINDOW_COLUMNS, WINDOWS_FILE, missing_files)

LIMB_LEADS = [STANDARD_LEADS.index(n) for n in ("I", "II", "III", "aVR", "aVL", "aVF")]


class CorpusError(ValueError):
    """The corpus folder is missing, incomplete or inconsistent. The message says what and where."""


@dataclass
class Corpus:
    """A corpus folder: signals (memmap, float16 mV), lead masks, one row of metadata per window."""
    path: Path
    signals: np.ndarray            # (N, 12, T) float16, memmapped
    lead_mask: np.ndarray          # (N, 12) bool
    reports: list[str]             # (N,)
    statements: list[list[str]]    # (N,) statement ids per window
    patients: np.ndarray           # (N,) str
    split: np.ndarray              # (N,) str: train | val
    meta: dict                     # corpus.json
    sources: np.ndarray | None = None   # (N,) str: the database of each window
    forms: np.ndarray | None = None     # (N,) str: "mv" or "zscore" (older corpora: all "mv")
    report_variants: list[list[str]] | None = None   # one list per report column asked for (reports = the first)

    @classmethod
    def open(cls, path: str | Path, report_column: str | list[str] = "report") -> "Corpus":
        """`report_column`: which text each window is paired with (format.REPORT_COLUMNS: the report as
        trained by default, the database's original text, or the report generated from the statements); a
        list of columns keeps each as a variant (training draws one per window and epoch)."""
        path = Path(path)
        columns = [report_column] if isinstance(report_column, str) else list(report_column)
        bad = [c for c in columns if c not in REPORT_COLUMNS] or ([] if columns else ["(none)"])
        if bad:
            raise CorpusError(f"report_column must be one or more of {', '.join(REPORT_COLUMNS)}, got {bad}")
        missing = missing_files(path)
        if missing:
            raise CorpusError(f"{path} is not a corpus folder: missing {', '.join(missing)} "
                              f"(build one with `mets corpus build --data-dir DIR --out {path}`)")
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        # a recipe's corpus (`mets train --recipe`) is rebuilt by the recipe once its corpus.json is gone
        again = (f"remove {path / META_FILE} and run the recipe again: it rebuilds the corpus"
                 if "pretrain_folds" in meta else
                 f"build it again (`mets corpus build --data-dir DIR --out {path} --overwrite`)")
        signals = _load_array(path, SIGNALS_FILE, again, mmap_mode="r")
        lead_mask = _load_array(path, LEAD_MASK_FILE, again).astype(bool)
        with open(path / WINDOWS_FILE, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            absent = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if absent:
                raise CorpusError(f"{path / WINDOWS_FILE} lacks columns {absent}; expected {list(WINDOW_COLUMNS)}")
            rows = list(reader)
        n = len(rows)
        if signals.ndim != 3 or signals.shape[0] != n or signals.shape[1] != 12 or lead_mask.shape != (n, 12):
            raise CorpusError(f"{path}: signals {signals.shape}, lead_mask {lead_mask.shape} and windows.csv "
                              f"({n} rows) disagree; expected (N,12,T), (N,12), N rows")
        if [int(r["idx"]) for r in rows] != list(range(n)):
            raise CorpusError(f"{path / 'windows.csv'}: idx column must be 0..N-1 in order")
        split = np.array([r["split"] for r in rows])
        bad = sorted(set(split) - set(SPLITS))
        if bad:
            raise CorpusError(f"{path / 'windows.csv'}: split must be train or val, found {bad}")
        missing = [c for c in columns if rows and c not in rows[0]]
        if missing:
            raise CorpusError(f"{path / 'windows.csv'} has no {missing[0]!r} column (an older corpus?): "
                              f"rebuild it with `mets corpus build` or train on 'report'")
        variants = [[r[c] for r in rows] for c in columns]
        return cls(path=path, signals=signals, lead_mask=lead_mask,
                   reports=variants[0], report_variants=variants,
                   statements=[[s for s in r["statements"].split(";") if s] for r in rows],
                   patients=np.array([r["patient"] for r in rows]), split=split, meta=meta,
                   sources=np.array([r.get("source") or "" for r in rows]),
                   forms=np.array([r.get("form") or "mv" for r in rows]))

    def __len__(self) -> int:
        return len(self.reports)

    @property
    def fs(self) -> float:
        return float(self.meta["fs"])

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[2])

    @property
    def statement_phrases(self) -> dict[str, str]:
        """Statement id -> canonical phrase (the corpus vocabulary)."""
        vocab = self.meta.get("statements") or self.meta.get("vocabulary") or {}
        return {k: (v if isinstance(v, str) else v.get("phrase") or v.get("canonical")) for k, v in vocab.items()}

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)

    def check_matches(self, pre: PreprocessConfig, trained: bool = False) -> None:
        """The model's input geometry must be the corpus's: the corpus is not resampled at training time.
        `trained`: `pre` is a trained model's (evaluation), whose input cannot change; else a training config's."""
        if abs(self.fs - pre.fs) > 1e-6 or self.n_samples != pre.n_samples:
            wants = (f"the model reads fs={pre.fs:g} Hz, T={pre.n_samples}: evaluate it on a corpus built at its "
                     f"input (`mets corpus build --data-dir DIR --out NEW --fs {pre.fs:g} --window-s "
                     f"{pre.window_s:g}`)" if trained else
                     f"the preprocess config asks for fs={pre.fs:g} Hz, T={pre.n_samples}: rebuild the corpus or "
                     f"change the config")
            raise CorpusError(f"corpus {self.path} has fs={self.fs:g} Hz and T={self.n_samples} samples, but {wants}")


def _load_array(folder: Path, name: str, again: str, mmap_mode: str | None = None) -> np.ndarray:
    """A corpus array, never unpickled; a file cut short or not an array is a CorpusError saying how to rebuild
    (`again`). numpy said "mmap length is greater than file size", or advised loading the file unsafely."""
    try:
        return np.load(folder / name, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        why = ("not a plain NumPy array: it holds Python objects, and reading them would need unpickling, which "
               "is never done" if "pickle" in str(err)
               else f"cut short or not a NumPy array file: {err}")
        raise CorpusError(f"{folder / name} cannot be read ({why}): the corpus is damaged or its build was "
                          f"interrupted; {again}") from None


def unique_texts(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """(distinct texts in first-seen order, id of each input text): identical reports share one id."""
    first: dict[str, int] = {}
    ids = np.fromiter((first.setdefault(t, len(first)) for t in texts), dtype=np.int64, count=len(texts))
    return list(first), ids


# ---------------------------------------------------------------------------------------- batches

def normalise_batch(x: torch.Tensor, mask: torch.Tensor, pre: PreprocessConfig) -> torch.Tensor:
    """Batched twin of `preprocess.normalise` on (n, 12, T) float32 windows: same arithmetic, same clip.

    Works in place on `x` (the loader's own fresh tensor) and returns it: this runs once per training batch."""
    dead = ~mask.unsqueeze(-1)
    if pre.normalise == "zscore":
        x.sub_(x.mean(dim=-1, keepdim=True))
        # numpy's std formula; torch.std / torch.var over the last axis are ~50x slower on CPU
        std = x.square().mean(dim=-1, keepdim=True).sqrt_()
        x.div_(std.clamp_min(1e-6))
        dead = dead | (std <= 1e-6)                           # a flat lead becomes zeros, as in normalise()
    return x.clamp_(-pre.clip, pre.clip).masked_fill_(dead, 0.0)


def windows_to_tensor(signals: np.ndarray, idx: np.ndarray) -> torch.Tensor:
    """float32 (len(idx), 12, T) copy of memmapped float16 windows idx (any order). Reads in sorted order
    (sequential access), converts with torch (numpy's float16 -> float32 is ~20x slower), then restores order."""
    srt = np.argsort(idx, kind="stable")
    x = torch.from_numpy(np.ascontiguousarray(signals[idx[srt]])).float()
    inv = np.empty_like(srt)
    inv[srt] = np.arange(len(srt))
    return x[torch.from_numpy(inv)]


def drop_leads(mask: np.ndarray, p: float, kinds: list[str], rng: np.random.Generator) -> np.ndarray:
    """Lead-dropout augmentation: with probability p per window, keep only a subset of its present leads.

    kinds (chosen uniformly per dropped window): "single" one random present lead; "pair" two random present
    leads; "limb" the limb leads only (I, II, III, aVR, aVL, aVF). A window whose present leads cannot form
    the chosen subset (e.g. "limb" on a V1-only window) keeps what it has. Never leaves a window empty.
    """
    out = mask.copy()
    if p <= 0 or not kinds:
        return out
    drop = rng.random(len(mask)) < p
    choice = rng.integers(len(kinds), size=len(mask))
    for i in np.flatnonzero(drop):
        present = np.flatnonzero(mask[i])
        kind = kinds[choice[i]]
        if kind == "single":
            keep = rng.choice(present, size=1, replace=False)
        elif kind == "pair":
            keep = rng.choice(present, size=min(2, len(present)), replace=False)
        elif kind == "limb":
            keep = np.intersect1d(present, LIMB_LEADS)
            if len(keep) == 0:
                keep = present
        else:
            raise ValueError(f"unknown lead-dropout kind {kind!r}; known: {', '.join(LEAD_DROPOUT_KINDS)}")
        out[i] = False
        out[i, keep] = True
    return out


def weighted_windows(train_idx: np.ndarray, sources: np.ndarray, weights: dict[str, float], seed: int,
                     epoch: int) -> np.ndarray:
    """The training windows of one epoch when sources are weighted: source s contributes
    round(weights[s] x its windows) (unlisted sources: all once), whole copies first, then a fresh seeded
    draw without replacement for the fraction. A pure function of (seed, epoch), so resuming is exact."""
    if not weights:
        return train_idx
    parts = []
    for s in sorted(set(sources[train_idx])):
        idx = train_idx[sources[train_idx] == s]
        w = float(weights.get(s, 1.0))
        whole, frac = int(w), w - int(w)
        rng = np.random.default_rng([seed, epoch, zlib.crc32(s.encode("utf-8"))])
        parts += [idx] * whole
        n = int(round(frac * len(idx)))
        if n:
            parts.append(np.sort(rng.choice(idx, size=n, replace=False)))
    return np.concatenate(parts) if parts else train_idx[:0]


def augment_batch(x: torch.Tensor, settings: dict, fs: float, rng: np.random.Generator) -> torch.Tensor:
    """Signal augmentation of (B, 12, T) windows, in place, before normalisation (see config.DEFAULTS
    "augment"): random shift with zero fill, amplitude scaling, baseline wander and white noise relative to
    each lead's spread. Absent leads are zeros and stay zeros (the wander/noise are multiplied by the spread)."""
    B, L, T = x.shape
    shift = int(round(float(settings.get("shift_s", 0.0)) * fs))
    if shift > 0:
        for i, k in enumerate(rng.integers(-shift, shift + 1, size=B)):
            if k > 0:
                x[i, :, k:] = x[i, :, :-k].clone()
                x[i, :, :k] = 0.0
            elif k < 0:
                x[i, :, :k] = x[i, :, -k:].clone()
                x[i, :, k:] = 0.0
    scale = float(settings.get("scale", 0.0))
    if scale > 0:
        x.mul_(torch.from_numpy(rng.uniform(1 - scale, 1 + scale, size=(B, 1, 1)).astype(np.float32)))
    wander, noise = float(settings.get("wander", 0.0)), float(settings.get("noise", 0.0))
    if wander > 0 or noise > 0:
        spread = x.std(dim=-1, keepdim=True)
        if wander > 0:
            t = torch.arange(T, dtype=torch.float32) / fs
            freq = torch.from_numpy(rng.uniform(0.05, 0.5, size=(B, L, 1)).astype(np.float32))
            phase = torch.from_numpy(rng.uniform(0, 2 * np.pi, size=(B, L, 1)).astype(np.float32))
            amp = torch.from_numpy(rng.uniform(0, wander, size=(B, L, 1)).astype(np.float32))
            x.add_(amp * spread * torch.sin(2 * np.pi * freq * t + phase))
        if noise > 0:
            x.add_(noise * spread * torch.from_numpy(rng.standard_normal((B, L, T)).astype(np.float32)))
    return x


def epoch_order(n: int, seed: int, epoch: int, world_size: int = 1, rank: int = 0) -> np.ndarray:
    """This rank's share of epoch `epoch`'s shuffled order over n training windows (positions 0..n-1).

    torch's DistributedSampler semantics (shuffle with seed+epoch, drop the tail so every rank gets the same
    count, rank r takes every world_size-th index), made a pure function so resuming needs only (epoch, batch).
    """
    sampler = torch.utils.data.DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True,
                                                  seed=seed, drop_last=True)
    sampler.set_epoch(epoch)
    return np.fromiter(iter(sampler), dtype=np.int64)


class TrainBatches(torch.utils.data.Dataset):
    """Item b = batch b of one epoch for one rank: (x (B,12,T) float32 normalised, mask (B,12), text_ids (B,)).

    Map-style over batch numbers so a DataLoader (num_workers > 0) or a plain loop (num_workers = 0) can start
    at any batch.
    """

    def __init__(self, corpus: Corpus, train_idx: np.ndarray, text_ids: np.ndarray, pre: PreprocessConfig,
                 batch_size: int, seed: int, epoch: int, world_size: int = 1, rank: int = 0,
                 lead_dropout_p: float = 0.0, lead_dropout_kinds: list[str] | None = None,
                 source_weights: dict[str, float] | None = None, augment: dict | None = None):
        self.corpus, self.text_ids, self.pre = corpus, text_ids, pre
        self.batch_size, self.seed, self.epoch, self.rank = batch_size, seed, epoch, rank
        self.p, self.kinds = lead_dropout_p, list(lead_dropout_kinds or [])
        self.augment = {k: v for k, v in (augment or {}).items() if v}
        if source_weights and corpus.sources is not None:
            train_idx = weighted_windows(train_idx, corpus.sources, source_weights, seed, epoch)
        self.train_idx = train_idx
        self.order = train_idx[epoch_order(len(train_idx), seed, epoch, world_size, rank)]

    def __len__(self) -> int:
        return len(self.order) // self.batch_size     # the ragged tail is dropped (a tiny contrastive batch is noise)

    def __getitem__(self, b: int):
        idx = self.order[b * self.batch_size:(b + 1) * self.batch_size]
        x = windows_to_tensor(self.corpus.signals, idx)
        rng = np.random.default_rng([self.seed, self.epoch, b, self.rank])
        mask = drop_leads(self.corpus.lead_mask[idx], self.p, self.kinds, rng)
        mask_t = torch.from_numpy(mask)
        if self.augment:
            augment_batch(x, self.augment, self.pre.fs, np.random.default_rng([self.seed, self.epoch, b, self.rank, 1]))
        if self.text_ids.ndim == 2:          # report variants: one drawn per window (text augmentation)
            which = np.random.default_rng([self.seed, self.epoch, b, self.rank, 2]).integers(len(self.text_ids), size=len(idx))
            tid = self.text_ids[which, idx]
        else:
            tid = self.text_ids[idx]
        return normalise_batch(x, mask_t, self.pre), mask_t, torch.from_numpy(tid)


def batches_from(dataset: TrainBatches, start: int, num_workers: int):
    """Iterate batches start..end of an epoch, in the main process or in worker processes."""
    if num_workers <= 0:
        return (dataset[b] for b in range(start, len(dataset)))
    return iter(torch.utils.data.DataLoader(dataset, batch_size=None, sampler=range(start, len(dataset)),
                                            num_workers=num_workers, persistent_workers=False,
                                            prefetch_factor=4))


def eval_batches(corpus: Corpus, idx: np.ndarray, pre: PreprocessConfig, batch_size: int):
    """(x, mask) batches over windows idx, in order, normalised, no augmentation."""
    for s in range(0, len(idx), batch_size):
        part = idx[s:s + batch_size]
        x = windows_to_tensor(corpus.signals, part)
        mask = torch.from_numpy(corpus.lead_mask[part])
        yield normalise_batch(x, mask, pre), mask
