"""A small synthetic corpus in the exact on-disk format of `mets corpus build`, for tests and benchmarks only.

Nothing trained or measured on it is a result: the signals are sines plus noise whose frequency depends on
the statements of each window, and the reports are assembled from a fixed phrase table. It exists so the
training loop, resume, DDP and evaluation can be exercised without the real databases (and before the real
corpus is built).

Written through mets_train/corpus/format.py (the corpus format's one owner), with the columns idx, source,
record, patient, start_s, split, report, statements, n_leads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..corpus import format as corpus_format

# statement id -> (canonical phrase, report phrasings, dominant frequency in Hz of the fake signal)
SYNTHETIC_STATEMENTS: dict[str, tuple[str, tuple[str, ...], float]] = {
    "NSR": ("normal sinus rhythm", ("Sinus rhythm.", "Normal sinus rhythm."), 1.2),
    "SBRAD": ("sinus bradycardia", ("Sinus bradycardia.", "Slow sinus rhythm."), 0.8),
    "STACH": ("sinus tachycardia", ("Sinus tachycardia.", "Fast sinus rhythm."), 2.0),
    "AFIB": ("atrial fibrillation", ("Atrial fibrillation.", "AF with irregular ventricular response."), 5.0),
    "PVC": ("premature ventricular complex", ("2 premature ventricular complexes.", "Ventricular ectopy."), 3.1),
    "LBBB": ("left bundle branch block", ("Left bundle branch block.", "Complete LBBB."), 7.0),
    "NOISE": ("noisy recording", ("Noisy recording.", "Baseline wander and noise."), 11.0),
}
RHYTHMS = ("NSR", "SBRAD", "STACH", "AFIB")
EXTRAS = ("PVC", "LBBB", "NOISE")


def write_synthetic_corpus(out_dir: str | Path, n_patients: int = 24, windows_per_patient: int = 4,
                           fs: int = 100, window_s: float = 10.0, seed: int = 0, val_fraction: float = 0.25) -> Path:
    """Write a synthetic corpus folder and return its path. Deterministic given the arguments."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t_len = int(round(fs * window_s))
    t = np.arange(t_len) / fs
    n = n_patients * windows_per_patient
    signals = corpus_format.new_signals(out, n, t_len)
    masks = np.zeros((n, 12), dtype=bool)
    rows = []
    n_val_patients = max(1, int(round(n_patients * val_fraction)))
    for p in range(n_patients):
        split = "val" if p >= n_patients - n_val_patients else "train"
        source = ("fake12", "fake2", "fake1")[p % 3]
        present = {"fake12": list(range(12)), "fake2": [1, 6], "fake1": [0]}[source]
        for w in range(windows_per_patient):
            i = p * windows_per_patient + w
            ids = [RHYTHMS[int(rng.integers(len(RHYTHMS)))]]
            ids += [e for e in EXTRAS if rng.random() < 0.25]
            sig = np.zeros(t_len)
            for sid in ids:
                sig += np.sin(2 * np.pi * SYNTHETIC_STATEMENTS[sid][2] * t + rng.uniform(0, 2 * np.pi))
            for lead in present:
                signals[i, lead] = (sig * (0.5 + 0.1 * lead) + 0.05 * rng.standard_normal(t_len)).astype(np.float16)
            masks[i, present] = True
            report = " ".join(SYNTHETIC_STATEMENTS[s][1][int(rng.integers(2))] for s in ids)
            rows.append({"idx": i, "source": source, "record": f"{source}_{p:03d}", "patient": f"P{p:03d}",
                         "start_s": float(w * window_s), "split": split, "report": report,
                         "statements": ";".join(ids), "n_leads": len(present)})
    signals.flush()
    del signals
    corpus_format.write_lead_mask(out, masks)
    corpus_format.write_windows(out, rows)
    corpus_format.write_meta(out, {"fs": fs, "window_s": window_s, "n_windows": n, "synthetic": True,
                                   "statements": {sid: v[0] for sid, v in SYNTHETIC_STATEMENTS.items()}})
    return out
