"""Compare training runs by their validation lines (metrics.jsonl): the model-selection table in MODEL_CARD.md.

Usage: python scripts/compare_runs.py runs/sweep_w64_zscore runs/sweep_w32_zscore ...
Prints, per run, the epoch with the best validation macro AUC and its loss / R@1 / R@5.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def best_val(run: Path) -> dict | None:
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    vals = [l for l in lines if l.get("kind") == "val" and l.get("macro_auc") is not None]
    return max(vals, key=lambda v: v["macro_auc"]) if vals else None


def main(runs: list[str]) -> int:
    print("| run | best epoch | val macro AUC | val loss | R@1 | R@5 |")
    print("|---|---|---|---|---|---|")
    for r in [r for r in runs if Path(r).is_dir()]:
        v = best_val(Path(r))
        if v is None:
            print(f"| {Path(r).name} | (no validation yet) | | | | |")
            continue
        print(f"| {Path(r).name} | {v['epoch'] + 1} | {v['macro_auc']:.3f} | {v['loss']:.3f} | "
              f"{v['R@1']:.3f} | {v['R@5']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
