"""Print the model card's tables from what the commands wrote (nothing is typed by hand):

    python scripts/card_tables.py --weights weights [--evaluate NAME=eval.json ...]

- training data by source, split, lead set and signal form, and the reference population (knowledge.json);
- per-statement and per-class validation AUC with positives, and per kind of lead set the shares of the validation
  patients with and without each for whom its prompt stood out (knowledge.json, written by `mets export`);
- the label-set comparison of several `mets evaluate --json` results side by side (e.g. old vs new model,
  with and without knowledge expansion, random-init floor).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mets_core.knowledge import (FEWER_LEADS, MIN_VALIDATION_POSITIVES, STOOD_OUT_HEADER, TWELVE_LEAD, StoodOut,
                                 is_validated, stood_out_cell)


def data_table(k: dict) -> str:
    rows = k.get("training_data") or {}
    keys = sorted({c for v in rows.values() for c in v})
    out = ["| source | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for src, v in rows.items():
        out.append(f"| {src} | " + " | ".join(str(v.get(c, 0)) for c in keys) + " |")
    ref = k.get("reference") or {}
    out.append(f"\nReference population for percentiles: {ref.get('n_windows')} validation windows "
               f"({ref.get('twelve_lead')} 12-lead), by source {ref.get('by_source')}.")
    return "\n".join(out)


def validation_table(k: dict, statements: dict) -> str:
    val = k.get("validation") or {}
    out = ["| statement or class | validation AUC | positive windows | judged on (windows, databases) | "
           + " | ".join(f"{STOOD_OUT_HEADER}, {kind}" for kind in STOOD_OUT_KINDS) + " |", "|---|---|---|---|---|---|"]
    for target, r in sorted(val.items(), key=lambda kv: (-kv[1]["n_positive"], kv[0])):
        name = statements.get(target, {}).get("canonical", target)
        flag = "" if is_validated(r) else (" (too few positives: not shown as validated)"
                                           if r["n_positive"] < MIN_VALIDATION_POSITIVES else
                                           f" ({r['patients_positive']} patients with it: not shown as validated)"
                                           if r.get("patients_positive", MIN_VALIDATION_POSITIVES)
                                           < MIN_VALIDATION_POSITIVES else
                                           " (too few negatives: not shown as validated)")
        auc = "n/a" if r["auc"] is None else f"{r['auc']:.3f}"
        out.append(f"| {name}{' (class)' if target not in statements else ''} | {auc}{flag} | {r['n_positive']} | "
                   f"{r['n_windows']} ({', '.join(r['sources'])}) | "
                   + " | ".join(stood_out_cell(StoodOut.of_row(r, kind)) for kind in STOOD_OUT_KINDS) + " |")
    return "\n".join(out)


STOOD_OUT_KINDS = (TWELVE_LEAD, FEWER_LEADS)


def compare_table(results: dict[str, dict]) -> str:
    names = list(results)
    sets = ["open", "ptbxl_superclass", "ptbxl_statements"]
    out = ["| label set | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for s in sets:
        cells = []
        for n in names:
            r = results[n]
            v = (r.get("sets") or {}).get(s, {}).get("macro_auc") if isinstance(r, dict) else None
            cells.append("n/a" if v is None else f"{v:.3f}")
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--evaluate", nargs="*", default=[], metavar="NAME=FILE[:MODEL]",
                    help="mets evaluate --json outputs; MODEL picks the model key inside (default the first)")
    args = ap.parse_args()
    k = json.loads((Path(args.weights) / "knowledge.json").read_text())
    statements = json.loads((Path(__file__).resolve().parents[1] / "mets_core/statements.json")
                            .read_text())["statements"]
    print("## Training data\n")
    print(data_table(k))
    print("\n## Validation AUC per statement and class\n")
    print(validation_table(k, statements))
    if args.evaluate:
        results = {}
        for spec in args.evaluate:
            name, _, rest = spec.partition("=")
            path, _, key = rest.partition(":")
            doc = json.loads(Path(path).read_text())
            results[name] = doc[key] if key else next(iter(doc.values()))
        print("\n## Label sets, macro AUC\n")
        print(compare_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
