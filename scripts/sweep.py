"""Train a grid of recipe settings x seeds and compare them on validation (mean and spread over seeds).

Usage: python scripts/sweep.py mets_train/configs/sweep_ptbxl/recipes.json [--jobs 2] [--only SETTING ...] [--table-only]

Each (setting, seed) trains `mets train --config` into <out>/<setting>/seed<k> (skipped when its last/ exists,
so an interrupted sweep continues). The table reads each run's best validation epoch (metrics.jsonl: the
epoch whose mean macro AUC over the clinician label sets was highest) and reports per setting the mean and
standard deviation over seeds of that score and of each label set.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def merged(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k == "source_weights":
            out[k] = {**out.get(k, {}), **v}
        elif isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("lead_dropout",):
            out[k] = {**out[k], **v}
        else:
            out[k] = copy.deepcopy(v)
    return out


def run_one(cfg: dict, run_dir: Path) -> str:
    if (run_dir / "last" / "config.json").is_file():
        return f"{run_dir}: done before"
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / ".sweep-lock"          # another sweep process is training this run (remove if stale)
    try:
        lock.open("x").close()
    except FileExistsError:
        return f"{run_dir}: taken by another sweep process ({lock})"
    (run_dir / "train_config.json").write_text(json.dumps(cfg, indent=1))
    resume = ["--resume"] if (run_dir / "state").is_dir() else []
    with open(run_dir / "train.log", "a") as log:
        rc = subprocess.call([sys.executable, "-m", "mets_core.cli", "train", "--config",
                              str(run_dir / "train_config.json"), *resume], stdout=log, stderr=subprocess.STDOUT)
    lock.unlink(missing_ok=True)
    return f"{run_dir}: exit {rc}"


def best_val(run: Path) -> dict | None:
    path = run / "metrics.jsonl"
    if not path.is_file():
        return None
    vals = [json.loads(line) for line in path.read_text().splitlines() if '"kind": "val"' in line]
    vals = [v for v in vals if v.get("select_score") is not None]
    return max(vals, key=lambda v: v["select_score"]) if vals else None


def table(sweep: dict, out: Path) -> str:
    sets = ("open", "ptbxl_superclass", "ptbxl_statements")
    lines = ["| setting | seeds | best epoch | selection score | " + " | ".join(sets) + " |",
             "|---|---|---|---|" + "---|" * len(sets)]

    def fmt(xs):
        xs = [x for x in xs if x is not None]
        if not xs:
            return "n/a"
        return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}"

    for name in sweep["settings"]:
        bests = [b for s in sweep["seeds"] if (b := best_val(out / name / f"seed{s}"))]
        if not bests:
            continue
        lines.append(f"| {name} | {len(bests)} | {', '.join(str(b['epoch'] + 1) for b in bests)} | "
                     f"{fmt([b['select_score'] for b in bests])} | "
                     + " | ".join(fmt([b['sets'].get(k, {}).get('macro_auc') for b in bests]) for k in sets) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--seeds", nargs="*", type=int, default=None)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    sweep = json.loads(Path(args.sweep).read_text())
    out = Path(sweep["out"])
    if not args.table_only:
        todo = []
        for name in (args.only or list(sweep["settings"])):       # --only: in the order given
            over = sweep["settings"][name]
            for seed in args.seeds or sweep["seeds"]:
                cfg = merged(merged(sweep["base"], over), {"seed": seed, "out": str(out / name / f"seed{seed}")})
                todo.append((cfg, out / name / f"seed{seed}"))
        with ThreadPoolExecutor(args.jobs) as pool:
            for msg in pool.map(lambda t: run_one(*t), todo):
                print(msg, flush=True)
    print(table(sweep, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
