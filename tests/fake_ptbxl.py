"""A small PTB-XL folder written in a test's temporary folder (`write_fake_ptbxl`): its two tables and, per
record, the signal forms asked for (records100, records500 in mV as WFDB; zscore100 as a z-scored .npy), as
the real database lays them out. Shared by the recipe and evaluation tests."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

# scp_statements.csv rows: code, description, diagnostic, form, rhythm, diagnostic_class, diagnostic_subclass
STATEMENTS = [
    ("NORM", "normal ECG", "1", "", "", "NORM", "NORM"),
    ("IMI", "inferior myocardial infarction", "1", "", "", "MI", "IMI"),
    ("CLBBB", "complete left bundle branch block", "1", "", "", "CD", "CLBBB"),
    ("LVH", "left ventricular hypertrophy", "1", "", "", "HYP", "LVH"),
    ("NDT", "non-diagnostic T abnormalities", "1", "1", "", "STTC", "STTC"),
    ("PVC", "ventricular premature complex", "", "1", "", "", ""),
    ("SR", "sinus rhythm", "", "", "1", "", ""),
    ("AFIB", "atrial fibrillation", "", "", "1", "", ""),
]
CODES = ["NORM", "IMI", "CLBBB", "LVH", "NDT"]


def _signal(n: int, fs: float, seed: int) -> np.ndarray:
    """(n, 12) mV: a 1.2 Hz spike train with noise, different per record."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    beat = np.exp(-((t % (1 / 1.2)) - 0.3) ** 2 / 0.0005)
    return (beat[:, None] * rng.uniform(0.3, 1.5, 12) + 0.02 * rng.standard_normal((n, 12))).astype(np.float64)


def write_fake_ptbxl(root: Path, records: dict[int, tuple[int, set[str]]], codes: dict[int, str] | None = None) -> Path:
    """A PTB-XL folder: records = {ecg_id: (strat_fold, forms present)}, forms among records100, records500,
    zscore100; codes = {ecg_id: SCP code} (default one of CODES by id). Signals are 10 s, 12 leads."""
    import wfdb

    root.mkdir(parents=True, exist_ok=True)
    leads = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    with open(root / "scp_statements.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "description", "diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"])
        w.writerows(STATEMENTS)
    with open(root / "ptbxl_database.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ecg_id", "patient_id", "report", "scp_codes", "strat_fold", "filename_lr", "filename_hr"])
        for ecg_id, (fold, forms) in sorted(records.items()):
            code = (codes or {}).get(ecg_id, CODES[ecg_id % len(CODES)])
            folder = f"{ecg_id // 1000 * 1000:05d}"
            w.writerow([ecg_id, 100 + ecg_id, f"report of ecg {ecg_id}", repr({code: 100.0, "SR": 0.0}),
                        f"{fold}.0", f"records100/{folder}/{ecg_id:05d}_lr", f"records500/{folder}/{ecg_id:05d}_hr"])
            for form, fs, suffix in (("records100", 100, "lr"), ("records500", 500, "hr")):
                if form in forms:
                    out = root / form / folder
                    out.mkdir(parents=True, exist_ok=True)
                    wfdb.wrsamp(f"{ecg_id:05d}_{suffix}", fs=fs, units=["mV"] * 12, sig_name=leads,
                                p_signal=_signal(10 * fs, fs, ecg_id), fmt=["16"] * 12, write_dir=str(out))
            if "zscore100" in forms:
                x = _signal(1000, 100, ecg_id).T
                z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
                (root / "zscore100" / folder).mkdir(parents=True, exist_ok=True)
                np.save(root / "zscore100" / folder / f"{ecg_id:05d}.npy", z.astype(np.float16))
    return root
