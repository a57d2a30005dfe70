"""Write a copy of a corpus without the windows of some patients (for held-out evaluation runs).

    python scripts/subset_corpus.py corpus corpus_no_mitbih --drop-patient-prefix mitdb:

Dropping the prefix `mitdb:` removes MIT-BIH and the QTDB excerpts of MIT-BIH patients, so a model trained
on the result has never seen an MIT-BIH patient: the MIT-BIH protocol on it is a real zero-shot number.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--drop-patient-prefix", action="append", required=True)
    a = ap.parse_args()
    src, dst = Path(a.src), Path(a.dst)
    with open(src / "windows.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    keep = [i for i, r in enumerate(rows) if not any(r["patient"].startswith(p) for p in a.drop_patient_prefix)]
    dst.mkdir(parents=True, exist_ok=False)
    signals = np.load(src / "signals.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(dst / "signals.npy", mode="w+", dtype=signals.dtype,
                                    shape=(len(keep),) + signals.shape[1:])
    for j in range(0, len(keep), 1024):
        out[j:j + 1024] = signals[keep[j:j + 1024]]
    out.flush()
    np.save(dst / "lead_mask.npy", np.load(src / "lead_mask.npy")[keep])
    with open(dst / "windows.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for new_idx, i in enumerate(keep):
            w.writerow({**rows[i], "idx": new_idx})
    meta = json.loads((src / "corpus.json").read_text(encoding="utf-8"))
    meta.update(n_windows=len(keep), subset_of=str(src), dropped_patient_prefixes=a.drop_patient_prefix)
    (dst / "corpus.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if (src / "text_cache").is_dir():
        shutil.copytree(src / "text_cache", dst / "text_cache")
    print(f"{len(keep)} of {len(rows)} windows kept -> {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
