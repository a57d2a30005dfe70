"""Latency of the dashboard's interactive path, medians over repeats. Prints a table; asserts nothing.

    python benchmarks/latency.py [--model DIR] [--record PATH] [--repeats 20] [--threads N] [--busy K]

Steps (model time: the weights and the text encoder are loaded before timing, as in a running dashboard):
  read              read_ecg on the uploaded bytes of one 12-lead 10 s record (in memory, as an upload)
  preprocess+embed  resample, filter, normalise, window, ResNet forward (ECG cache cleared each time)
  upload->ranking   read + preprocess + embed + rank 20 prompts (prompts already cached: presets)
  new prompt        embed one never-seen prompt (template ensemble through the text encoder)
  new prompt rerank rank 20 prompts for an already-embedded ECG, 19 cached + 1 new
  top-10 of 50,000  ReportIndex.search on 50,000 synthetic report embeddings, ECG embedding cached
Columns: median and min wall time, median CPU time of the process (see `timed`).
Targets on the 2-core development machine: upload->ranking <= 150 ms, new prompt re-rank <= 30 ms,
top-10 search <= 20 ms.
`--threads 1` is what the dashboard runs with (dashboard/threads.py: torch and numpy's BLAS one thread each);
`--busy 1` keeps one core busy meanwhile (a spinning process), as a training job or another session would.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mets_core import read_ecg
from mets_core.index import ReportIndex
from mets_core.pipeline import METS, default_weights_dir
from mets_core.prompts import PRESETS

TARGETS_MS = {"upload->ranking": 150.0, "new prompt rerank": 30.0, "top-10 of 50,000": 20.0}


def timed(fn, repeats: int) -> tuple[float, float, float]:
    """-> (median wall ms, min wall ms, median CPU ms of this process); one untimed warm-up call first.

    CPU time is what the work costs whatever else runs on the machine: with 1 thread it is the wall time
    the step would take on an idle core, which makes it the honest number on a shared, overloaded box."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def _spin() -> None:
    while True:
        pass


def record_upload(path: str | None) -> tuple[list[tuple[str, bytes]], str]:
    """The files of one record as (name, bytes) pairs, like a browser upload."""
    if path is None:
        data = os.environ.get("METS_DATA_DIR")
        if not data:
            sys.exit("give --record PATH (a 12-lead 10 s WFDB record) or set METS_DATA_DIR")
        path = str(Path(data) / "ludb" / "data" / "1")
    rec = Path(path)
    if rec.suffix in (".hea", ".dat"):
        rec = rec.with_suffix("")
    files = [(p.name, p.read_bytes()) for p in sorted(rec.parent.glob(rec.name + ".*"))
             if p.suffix in (".hea", ".dat", ".mat")]
    if not files:
        sys.exit(f"no record files at {rec}")
    return files, str(rec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="checkpoint folder (default: weights/, else random init)")
    ap.add_argument("--record", default=None, help="WFDB record (default: LUDB record 1 in METS_DATA_DIR)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads and numpy's BLAS threads (default: the libraries' choice); "
                         "the dashboard runs with 1 (dashboard/threads.py)")
    ap.add_argument("--busy", type=int, default=0,
                    help="keep this many cores busy while timing (spinning processes: the load of a training "
                         "job or of other sessions)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for proc in spinners:
        proc.start()
    try:
        return _run(args)
    finally:
        for proc in spinners:
            proc.terminate()


def _run(args) -> int:

    if args.model or (default_weights_dir() / "config.json").is_file():
        model, which = METS.from_pretrained(args.model), f"checkpoint {args.model or default_weights_dir()}"
    else:
        model, which = METS.random_init(), "random init (no weights/ yet; same architecture and cost)"
    upload, name = record_upload(args.record)
    prompts20 = [p for group in PRESETS.values() for p in group][:20]
    assert len(prompts20) == 20
    model.embed_prompts(prompts20)          # the presets a dashboard session has already embedded
    _ = model.text_encoder                  # loaded before timing

    rows: list[tuple[str, float, float, float]] = []
    ecg = read_ecg(upload, name=Path(name).name)
    rows.append(("read", *timed(lambda: read_ecg(upload, name=Path(name).name), args.repeats)))

    def embed_fresh():
        model.clear_caches()
        model.embed_ecg(ecg)
    rows.append(("preprocess+embed", *timed(embed_fresh, args.repeats)))

    def upload_to_ranking():
        model.clear_caches()
        model.rank(read_ecg(upload, name=Path(name).name), prompts20)
    rows.append(("upload->ranking", *timed(upload_to_ranking, args.repeats)))

    counter = iter(range(10**9))

    def new_prompt():
        model.embed_prompts([f"unseen finding number {next(counter)}"])
    rows.append(("new prompt (embed)", *timed(new_prompt, args.repeats)))

    model.embed_ecg(ecg)

    def new_prompt_rerank():
        model.rank(ecg, prompts20[:19] + [f"another unseen finding {next(counter)}"])
    rows.append(("new prompt rerank", *timed(new_prompt_rerank, args.repeats)))

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((50_000, model.model.cfg.proj_dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    index = ReportIndex([f"synthetic report {i}" for i in range(50_000)], emb, model=model)
    # plain cosine: the texts differ only in their numbers, which the product's one-hit-per-wording rule merges
    rows.append(("top-10 of 50,000", *timed(lambda: index.search(ecg, k=10, distinct=False, rank_hubs_down=False),
                                            args.repeats)))

    print(f"model: {which}")
    print(f"record: {name} ({len(ecg.leads)} leads, {ecg.fs:g} Hz, {ecg.duration:g} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{args.busy} kept busy, load average {load:.1f} at the end, {args.repeats} repeats")
    print()
    print(f"| {'step':<20} | {'median ms':>9} | {'min ms':>7} | {'CPU ms':>7} | {'target ms':>9} | {'met':>4} |")
    print(f"|{'-' * 22}|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 6}|")
    for step, med, best, cpu in rows:
        target = TARGETS_MS.get(step)
        met = "" if target is None else ("yes" if med <= target else "NO")
        print(f"| {step:<20} | {med:9.1f} | {best:7.1f} | {cpu:7.1f} | "
              f"{'' if target is None else f'{target:g}':>9} | {met:>4} |")
    print("met = median wall time within target; CPU ms = this process's CPU time (summed over threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
