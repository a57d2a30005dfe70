"""`mets` speed: help, one record end to end, a dataset with --out, against the bare read + batched encode.

    python benchmarks/cli_speed.py [--data DIR] [--n 100] [--repeat 3]

DIR defaults to $METS_DATA_DIR/ludb/data (12-lead, 10 s, 500 Hz: the shape of a PTB-XL record). Prints:
- `mets --help` and a usage error (median wall time of subprocess runs);
- one 12-lead record ranked end to end (`mets rank REC -p ...`, a fresh process, model load included) with
  known prompts (their sentences ship with the weights: the text model is never loaded; target <= 3 s; also
  as a multiple of `mets --help`, the floor of any fresh `mets` process, measured in the same run), and
  with prompts the weights do not know (the text model loads on that miss: the cold first call), and with a rate
  statement that stands out (the record is then measured in the mets process, to check it against the rate);
- N records with `mets rank ... --out results.csv` (fresh process): its wall time, and its throughput past
  start-up, (N - 1) / (wall of N records - wall of one record), since reading now overlaps the model load;
- in this process, on the same records: bare sequential read_ecg and one batched embed_ecg pass
  (the throughput a perfect pipeline on these cores could reach; after one untimed pass of the same, so that
  the encoder's first call at each batch shape is not counted), and the ratio CLI / bare;
- the PTB-XL-sized job (21,837 records) estimated from the CLI's rate plus its start-up.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METS = [sys.executable, "-m", "mets_core.cli"]
PROMPTS = ["sinus rhythm", "atrial fibrillation", "left ventricular hypertrophy", "right bundle branch block",
           "inferior myocardial infarction"]
NEW_PROMPTS = ["tall peaked waves in the chest leads", "a rhythm nobody has named yet"]
# a rate statement that stands out on LUDB record 1 (sinus bradycardia, 93rd percentile): `mets rank` then measures
# the record in its own process to check the statement against the heart rate (neurokit2 loads once)
RATE_PROMPTS = ["sinus bradycardia", "sinus tachycardia", "atrial fibrillation"]
PTBXL_RECORDS = 21_837
ONE_RECORD_TARGET_S = 3.0


def timed(cmd: list[str], expect_rc: int = 0) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, the finished process) of one run of `cmd`; a run that ends otherwise than `expect_rc`
    stops the benchmark with its message (a command that failed at once is no speed to report)."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if proc.returncode != expect_rc:
        sys.exit(f"`{' '.join(cmd[2:])}` ended with exit status {proc.returncode} (expected {expect_rc}), so its "
                 f"time means nothing; its message:\n{proc.stderr.strip()[-2000:]}")
    return wall, proc


def rate_past_startup(records: int, wall_all: float, wall_one: float) -> float | None:
    """Records per second past start-up: (records - 1) / (wall of all records - wall of one record); None when
    that cannot be measured (fewer than 2 records, or the run of all no slower than the run of one)."""
    if records < 2 or wall_all <= wall_one:
        return None
    return (records - 1) / (wall_all - wall_one)


def cpu_seconds(cmd: list[str]) -> float:
    """User + system CPU of the `mets` process itself (its reader processes are not its waited-for children):
    on a busy machine a steadier view of the one-record path than wall time, which waits for free cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"`{' '.join(cmd[2:])}` ended with exit status {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None,
                    help="a folder of 12-lead WFDB records (default: $METS_DATA_DIR/ludb/data)")
    ap.add_argument("--n", type=int, default=100, help="records in the --out run (at least 2; default 100)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per single-record measure (default 3)")
    args = ap.parse_args()
    if args.n < 2 or args.repeat < 1:
        ap.error("--n must be at least 2 (the rate past start-up compares N records with one) and --repeat at "
                 "least 1")
    if args.data is None and not os.environ.get("METS_DATA_DIR"):
        sys.exit("give --data DIR (a folder of 12-lead WFDB records) or set METS_DATA_DIR")
    # absolute: the `mets` processes run in the repository root, wherever this was started from
    data = Path(args.data or Path(os.environ["METS_DATA_DIR"]) / "ludb" / "data").resolve()
    records = sorted(str(p) for p in data.glob("*.hea"))[: args.n]
    if len(records) < 2:
        sys.exit(f"{len(records)} .hea records in {data}: need at least 2; pass --data DIR")
    flags = [a for p in PROMPTS for a in ("-p", p)]

    help_s = statistics.median(timed(METS + ["--help"])[0] for _ in range(args.repeat))
    usage_s = statistics.median(timed(METS + ["rank"], expect_rc=2)[0] for _ in range(args.repeat))
    one = statistics.median(timed(METS + ["rank", records[0], *flags])[0] for _ in range(args.repeat))
    new_flags = [a for i, p in enumerate(NEW_PROMPTS) for a in ("-p", f"{p} {time.time_ns() + i}")]
    cold = timed(METS + ["rank", records[0], *new_flags])[0]
    rate_flags = [a for p in RATE_PROMPTS for a in ("-p", p)]
    rate_runs = [timed(METS + ["rank", records[0], *rate_flags]) for _ in range(args.repeat)]
    rate = statistics.median(t for t, _ in rate_runs)
    rate_standing = "stands out: sinus bradycardia" in rate_runs[0][1].stdout
    cpu = statistics.median(cpu_seconds(METS + ["rank", records[0], *flags]) for _ in range(args.repeat))
    load = os.getloadavg()[0]
    print(f"mets --help                 {help_s:6.2f} s (median of {args.repeat})")
    print(f"mets rank (usage error)     {usage_s:6.2f} s")
    print(f"one 12-lead record, e2e     {one:6.2f} s (median of {args.repeat}; known prompts, model load included; "
          f"target {ONE_RECORD_TARGET_S:g} s: ratio {one / ONE_RECORD_TARGET_S:.2f}; "
          f"{one / help_s:.1f} x `mets --help`)")
    print(f"  CPU of the mets process   {cpu:6.2f} s (median; the encoding process's own work on that path)")
    print(f"  same, new prompts         {cold:6.2f} s (prompts the weights do not ship: the text model loads)")
    print(f"  same, a rate statement    {rate:6.2f} s (median; {', '.join(RATE_PROMPTS)}: "
          + ("sinus bradycardia stands out, so the record is measured in the mets process to check it; "
             if rate_standing else "NOTHING stood out here, so nothing was measured; ")
          + f"target {ONE_RECORD_TARGET_S:g} s: ratio {rate / ONE_RECORD_TARGET_S:.2f})")
    print(f"  load average              {load:6.2f} (2 cores: above ~1 these times are upper bounds)")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.csv"
        wall, proc = timed(METS + ["rank", *records, *flags, "--out", str(out), "--no-progress"])
        m = re.search(r"in ([\d.]+) s, ([\d.]+) ECGs/s", proc.stderr)
        rows = out.read_text().count("\n") - 1
    cli_rate = rate_past_startup(len(records), wall, one)
    startup = one
    print(f"{len(records)} records --out csv     {wall:6.2f} s wall ({rows} rows; the command says: "
          f"{m.group(0) if m else 'no time (its summary line changed?)'}); past start-up: "
          + (f"{cli_rate:.1f} ECGs/s" if cli_rate else "not measurable (the run of all records was no slower "
             "than the run of one: give more records with --n)"))

    sys.path.insert(0, str(ROOT))
    from mets_core import read_ecg
    from mets_core.pipeline import METS as Model
    model = Model.from_pretrained()
    # warm-up, untimed: the same records read and encoded once, so that the encoder's first call at each batch
    # shape (seconds on a busy machine) and the first reads are not counted
    model.embed_ecg([read_ecg(r) for r in records], batch_size=64)
    model.clear_caches()
    t = time.perf_counter()
    ecgs = [read_ecg(r) for r in records]
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    model.embed_ecg(ecgs, batch_size=64)
    encode_s = time.perf_counter() - t
    bare = len(ecgs) / (read_s + encode_s)
    print(f"bare read (sequential)      {read_s / len(ecgs) * 1000:6.1f} ms/ECG")
    print(f"bare batched encode         {encode_s / len(ecgs) * 1000:6.1f} ms/ECG (preprocess + encoder, batch 64)")
    print(f"bare read + encode          {bare:6.1f} ECGs/s")
    if cli_rate is None:
        return
    print(f"CLI / bare throughput       {cli_rate / bare:6.2f}")
    est = startup + PTBXL_RECORDS / cli_rate
    print(f"PTB-XL-sized job estimate   {est / 60:6.1f} min ({PTBXL_RECORDS:,} records at {cli_rate:.1f} ECGs/s "
          f"+ {startup:.1f} s start-up)")


if __name__ == "__main__":
    main()
