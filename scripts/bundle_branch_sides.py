"""Does the model tell left from right bundle branch block? (the model card's limit; the validation AUCs judge
each block against all other ECGs, not one block against the other)

    METS_DATA_DIR=DATA .venv/bin/python scripts/bundle_branch_sides.py [--weights weights] [--folds 9]

For every PTB-XL ECG of the folds (default 9, the validation fold) whose signal is in the data folder and whose
report codes a complete block (CLBBB or CRBBB, likelihood >= 50), the cosine of the ECG to "left bundle branch
block" and to "right bundle branch block": how often the labelled side scores higher. Prints one line per ECG
and the counts. Never reads fold 10.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PHRASES = {"L": "left bundle branch block", "R": "right bundle branch block"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--folds", type=int, nargs="+", default=[9])
    ap.add_argument("--data-dir", default=os.environ.get("METS_DATA_DIR"))
    args = ap.parse_args()
    if not args.data_dir:
        ap.error("give --data-dir or set METS_DATA_DIR (the folder holding ptbxl/)")
    if 10 in args.folds:
        ap.error("fold 10 is PTB-XL's test fold: held back, never read here")
    warnings.filterwarnings("ignore")
    import pandas as pd

    import mets_core
    from mets_train.ptbxl.dataset import PTBXL

    ds = PTBXL(Path(args.data_dir) / "ptbxl")
    table = pd.read_csv(Path(args.data_dir) / "ptbxl" / "ptbxl_database.csv", index_col="ecg_id")
    model = mets_core.METS.from_pretrained(args.weights)
    counts = {"L": [0, 0], "R": [0, 0]}           # side -> [ECGs, labelled side higher]
    left_higher = 0
    for ecg_id in ds.available_ids(args.folds):
        codes = ast.literal_eval(table.loc[ecg_id, "scp_codes"])
        side = "L" if codes.get("CLBBB", 0) >= 50 else "R" if codes.get("CRBBB", 0) >= 50 else None
        if side is None:
            continue
        by = {m.prompt: m.similarity for m in model.rank(ds.read(ecg_id), list(PHRASES.values()))}
        margin = by[PHRASES["L"]] - by[PHRASES["R"]]
        right = (margin > 0) == (side == "L")
        counts[side][0] += 1
        counts[side][1] += right
        left_higher += margin > 0
        print(f"{ecg_id:6d}  {side}BBB  {ds.signal_form(ecg_id):10s}  cos(LBBB) - cos(RBBB) {margin:+.3f}  "
              f"{'labelled side higher' if right else 'other side higher'}")
    n = counts["L"][0] + counts["R"][0]
    print(f"folds {args.folds}: {n} complete bundle branch blocks ({counts['L'][0]} left, {counts['R'][0]} right); "
          f"the labelled side higher on {counts['L'][1] + counts['R'][1]} (left {counts['L'][1]}/{counts['L'][0]}, "
          f"right {counts['R'][1]}/{counts['R'][0]}); LBBB above RBBB on {left_higher} of {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
