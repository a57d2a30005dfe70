"""Training throughput: the real `mets train` step (memmap gather, per-batch normalisation, lead dropout,
text-embedding gather, forward/backward/AdamW) vs the bare step on random tensors already in memory
(same model, batch, bf16 setting, same `train_step`). Target: real >= 0.8 x bare.

    python benchmarks/train_throughput.py [--corpus corpus] [--batch-size 64] [--steps 20] [--rounds 3]

Uses the real corpus folder when it exists (its report embeddings come from the on-disk text cache, computed
once if missing); otherwise a synthetic corpus of the same geometry (said so in the output). Steps alternate
real and bare so load from other processes hits both; per-step medians and means are reported.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mets_core.model import ECGTextModel, ModelConfig                      # noqa: E402
from mets_core.preprocess import PreprocessConfig                      # noqa: E402
from mets_train.training.config import make_config                      # noqa: E402
from mets_train.training.data import Corpus, TrainBatches, batches_from, unique_texts   # noqa: E402
from mets_train.training.distributed import World                       # noqa: E402
from mets_train.training.loop import build_optimizer, report_embeddings, train_step     # noqa: E402
from mets_train.training.synthetic import write_synthetic_corpus        # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])   # the first paragraph: one sentence
    ap.add_argument("--corpus", default="corpus")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per round and mode")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --steps interleaved steps")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--num-workers", type=int, default=0)
    args = ap.parse_args()
    if args.steps < 1 or args.rounds < 1 or args.batch_size < 1:
        ap.error("--steps, --rounds and --batch-size must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = make_config({"batch_size": args.batch_size, "num_workers": args.num_workers, "bf16": not args.no_bf16,
                       "model": {"width": args.width}})
    bf16 = cfg["bf16"]

    tmp = None
    corpus_dir = Path(args.corpus)
    synthetic = not (corpus_dir / "corpus.json").is_file()
    if synthetic:
        tmp = tempfile.TemporaryDirectory()
        corpus_dir = write_synthetic_corpus(Path(tmp.name) / "synthetic", n_patients=128, windows_per_patient=16)
    corpus = Corpus.open(corpus_dir)
    pre = PreprocessConfig.from_dict(cfg["preprocess"])
    corpus.check_matches(pre)
    texts, text_ids = unique_texts(corpus.reports)
    t0 = time.perf_counter()
    encoder, raw = report_embeddings(texts, cfg["template_set"], cfg["text_model"],
                                     corpus_dir / "text_cache", World())
    text_secs = time.perf_counter() - t0
    text_raw = torch.from_numpy(raw)

    torch.manual_seed(0)
    model = ECGTextModel(ModelConfig.from_dict({**cfg["model"], "text_dim": encoder.hidden_size}))
    optimizer = build_optimizer(model, cfg["optimizer"])
    B, T = args.batch_size, corpus.n_samples
    train_idx = corpus.indices("train")

    epoch = {"n": 0}
    def real_batches():
        while True:
            ds = TrainBatches(corpus, train_idx, text_ids, pre, B, cfg["seed"], epoch["n"], 1, 0,
                              cfg["lead_dropout"]["p"], cfg["lead_dropout"]["kinds"])
            yield from batches_from(ds, 0, cfg["num_workers"])
            epoch["n"] += 1
    real_it = real_batches()
    g = torch.Generator().manual_seed(0)
    bare = (torch.randn(B, 12, T, generator=g), torch.ones(B, 12, dtype=torch.bool),
            torch.randn(B, encoder.hidden_size, generator=g), None)

    def one_step(mode: str) -> float:
        """Seconds for one step; for "real" the clock includes fetching the batch from the corpus."""
        t = time.perf_counter()
        if mode == "real":
            x, mask, tid = next(real_it)
            batch = (x, mask, text_raw[tid], tid)
        else:
            batch = bare
        train_step(model, optimizer, *batch, lr=1e-4, grad_clip=1.0, bf16=bf16)
        return time.perf_counter() - t

    for _ in range(3):                                   # warm-up (allocator, oneDNN kernels, page cache)
        one_step("bare"), one_step("real")
    # Steps alternate bare/real (order flipped every step), so load from other processes on this shared
    # machine falls on both modes alike; medians of per-step times resist the remaining spikes.
    times = {"real": [], "bare": []}
    for i in range(args.rounds * args.steps):
        for mode in (("bare", "real") if i % 2 == 0 else ("real", "bare")):
            times[mode].append(one_step(mode))
    fetch = []
    for _ in range(args.steps):                          # the loading part alone
        t = time.perf_counter()
        x, mask, tid = next(real_it)
        text_raw[tid]
        fetch.append(time.perf_counter() - t)
    real = B / statistics.median(times["real"])
    bare_rate = B / statistics.median(times["bare"])
    mean_real, mean_bare = B * len(times["real"]) / sum(times["real"]), B * len(times["bare"]) / sum(times["bare"])
    print(f"corpus: {corpus_dir} ({'SYNTHETIC stand-in, no real corpus found' if synthetic else 'real'}), "
          f"{len(train_idx)} training windows, {len(texts)} distinct reports "
          f"(report embeddings ready in {text_secs:.1f} s)")
    print(f"model width {args.width}, batch {B}, 12 x {T}, bf16 autocast {bf16}, torch threads "
          f"{torch.get_num_threads()}, num_workers {cfg['num_workers']}, {len(times['real'])} interleaved steps per mode")
    print(f"bare encoder step (random tensors): {bare_rate:8.1f} samples/s (median step)  {mean_bare:8.1f} (mean)")
    print(f"real training step (with loading):  {real:8.1f} samples/s (median step)  {mean_real:8.1f} (mean)")
    print(f"batch loading alone (memmap gather, normalise, lead dropout, text gather): "
          f"{1000 * statistics.median(fetch):.1f} ms median per batch of {B}")
    print(f"ratio real / bare: {real / bare_rate:.3f} median-based, {mean_real / mean_bare:.3f} mean-based  "
          f"(target >= 0.8)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
