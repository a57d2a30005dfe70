"""Latency of the dashboard's interactive path, medians over repeats. Prints a table; asserts nothing.

    python benchmarks/latency.py [--model DIR] [--record PATH] [--repeats 20] [--threads N] [--busy K]

Steps (model time: the weights and the text encoder are loaded before timing, as in a running dashboard;
each step's caches are put in its starting state before every repeat, untimed):
  floor             the encoder alone on the record's ready model input (preprocessed before timing)
  read              read_ecg on the uploaded bytes of one 12-lead 10 s record (in memory, as an upload)
  preprocess+embed  resample, filter, normalise, window, ResNet forward (ECG cache cleared each time)
  upload->ranking   read + preprocess + embed + rank 20 prompts (prompts already cached: presets)
  new prompt        embed one never-seen prompt (template ensemble through the text encoder)
  new prompt rerank rank 20 prompts for an already-embedded ECG, 19 cached + 1 new
  top-10 of 50,000  ReportIndex.search on 50,000 synthetic reports (distinct wordings, with hub penalties: the
                    product's ranking, one hit per wording, hubs ranked down), ECG embedding cached
Columns: median and min wall time, median CPU time of the process (see `timed`), and the median as a multiple
of the floor's median, measured in the same run: a loaded machine shows as a slow floor, not a slow step.
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
from mets_core.preprocess import to_model_input
from mets_core.prompts import PRESETS

FLOOR = "floor: encoder alone"
TARGETS_MS = {"upload->ranking": 150.0, "new prompt rerank": 30.0, "top-10 of 50,000": 20.0}


def timed(fn, repeats: int, setup=None) -> tuple[float, float, float]:
    """-> (median wall ms, min wall ms, median CPU ms of this process); one untimed warm-up call first.
    `setup` runs before the warm-up and before every timed call, untimed: it puts the caches in the state the
    step starts from (so that a repeat does not find what the one before it cached, nor miss what it should find).

    CPU time is what the work costs whatever else runs on the machine: with 1 thread it is the wall time
    the step would take on an idle core, which makes it the honest number on a shared, overloaded box."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    setup = setup or (lambda: None)
    setup()
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        setup()
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def ratio(value: float, floor: float) -> str:
    """`value` as a multiple of `floor`, for the table ("-" when the floor is not a positive time)."""
    return f"{value / floor:.1f}" if floor > 0 else "-"


def letters(i: int) -> str:
    """A distinct word of lowercase letters for each i >= 0 (a, b, ..., z, ba, bb, ...): no digits in it."""
    word = ""
    while True:
        i, r = divmod(i, 26)
        word = chr(ord("a") + r) + word
        if i == 0:
            return word


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
    ap.add_argument("--repeats", type=int, default=20, help="timed calls per step (at least 1; default 20)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads and numpy's BLAS threads (default: the libraries' choice); "
                         "the dashboard runs with 1 (dashboard/threads.py)")
    ap.add_argument("--busy", type=int, default=0,
                    help="keep this many cores busy while timing (spinning processes: the load of a training "
                         "job or of other sessions)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
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
    ready = [to_model_input(ecg, model.preprocess_cfg)[:2]]
    rows.append((FLOOR, *timed(lambda: model.embed_ecg(ecg, model_input=ready), args.repeats,
                               setup=model.clear_caches)))
    rows.append(("read", *timed(lambda: read_ecg(upload, name=Path(name).name), args.repeats)))
    rows.append(("preprocess+embed", *timed(lambda: model.embed_ecg(ecg), args.repeats, setup=model.clear_caches)))

    def presets_cached_ecg_not():
        """A dashboard session's state when a new ECG arrives: its prompts embedded, the ECG never seen."""
        model.clear_caches()
        model.embed_prompts(prompts20)
    rows.append(("upload->ranking", *timed(lambda: model.rank(read_ecg(upload, name=Path(name).name), prompts20),
                                           args.repeats, setup=presets_cached_ecg_not)))

    counter = iter(range(10**9))

    def new_prompt():
        model.embed_prompts([f"unseen finding number {next(counter)}"])
    rows.append(("new prompt (embed)", *timed(new_prompt, args.repeats)))

    def ecg_and_presets_cached():
        """The state after the ECG was ranked: its embedding and the 19 kept prompts' cached (re-embedded if
        the prompt cache, full of the unseen prompts above, dropped them)."""
        model.embed_ecg(ecg)
        model.embed_prompts(prompts20[:19])

    def new_prompt_rerank():
        model.rank(ecg, prompts20[:19] + [f"another unseen finding {next(counter)}"])
    rows.append(("new prompt rerank", *timed(new_prompt_rerank, args.repeats, setup=ecg_and_presets_cached)))

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((50_000, model.model.cfg.proj_dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    # distinct wordings (no digits: the product's one-hit-per-wording rule would merge "report 1" and "report 2")
    # and hub penalties, so that the search is the product's (ReportIndex.search's defaults)
    index = ReportIndex([f"synthetic report {letters(i)}" for i in range(50_000)], emb, model=model,
                        hub_penalty=rng.uniform(0.0, 0.3, 50_000).astype(np.float32))
    rows.append(("top-10 of 50,000", *timed(lambda: index.search(ecg, k=10), args.repeats,
                                            setup=lambda: model.embed_ecg(ecg))))

    print(f"model: {which}")
    print(f"record: {name} ({len(ecg.leads)} leads, {ecg.fs:g} Hz, {ecg.duration:g} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{args.busy} kept busy, load average {load:.1f} at the end, {args.repeats} repeats")
    print()
    floor = rows[0][1]
    print(f"| {'step':<20} | {'median ms':>9} | {'min ms':>7} | {'CPU ms':>7} | {'x floor':>7} | {'target ms':>9} "
          f"| {'met':>4} |")
    print(f"|{'-' * 22}|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 6}|")
    for step, med, best, cpu in rows:
        target = TARGETS_MS.get(step)
        met = "" if target is None else ("yes" if med <= target else "NO")
        print(f"| {step:<20} | {med:9.1f} | {best:7.1f} | {cpu:7.1f} | {ratio(med, floor):>7} | "
              f"{'' if target is None else f'{target:g}':>9} | {met:>4} |")
    print("met = median wall time within target; CPU ms = this process's CPU time (summed over threads); "
          "x floor = median / the floor's median (the encoder alone, this run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
