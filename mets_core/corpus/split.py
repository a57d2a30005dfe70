"""Patient-wise train/validation split, stratified over statements (iterative stratification).

Every window of a patient lands on the same side. Patients are assigned rarest-label first (Sechidis et
al., 2011, "On the stratification of multi-label data"): for the label with the fewest unassigned patients,
each of its patients goes to the side that still needs that label most, so a statement seen in >= 2
patients gets validation patients whenever the fraction allows (and at least one when it is seen in >= 3).
Deterministic: the only randomness is a seeded shuffle of the (sorted) patient list and tie-breaks.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

SIDES = ("train", "val")


def split_patients(patient_labels: dict[str, set[str]], val_fraction: float, seed: int) -> dict[str, str]:
    """patient -> 'train' | 'val'. Labels may include non-statement strata (e.g. 'source:mitdb')."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    patients = sorted(patient_labels)
    order = [patients[i] for i in rng.permutation(len(patients))]
    if val_fraction == 0.0:
        return {p: "train" for p in patients}
    frac = {"train": 1.0 - val_fraction, "val": val_fraction}

    label_count: dict[str, int] = defaultdict(int)
    for p in order:
        for lab in patient_labels[p]:
            label_count[lab] += 1
    need = {s: {lab: n * frac[s] for lab, n in label_count.items()} for s in SIDES}
    # a label seen in >= 3 patients must reach validation at least once
    for lab, n in label_count.items():
        if n >= 3:
            need["val"][lab] = max(need["val"][lab], 1.0)
            need["train"][lab] = n - need["val"][lab]
    need_total = {s: len(order) * frac[s] for s in SIDES}

    unassigned = {p: set(patient_labels[p]) for p in order}
    by_label: dict[str, list[str]] = defaultdict(list)
    for p in order:
        for lab in patient_labels[p]:
            by_label[lab].append(p)
    out: dict[str, str] = {}

    def assign(p: str, side: str) -> None:
        out[p] = side
        for lab in unassigned.pop(p):
            need[side][lab] -= 1
        need_total[side] -= 1

    def pick(lab: str | None) -> str:
        def key(side):
            return (need[side][lab] if lab is not None else 0.0, need_total[side], rng.random())
        return max(SIDES, key=key)

    while unassigned:
        remaining = defaultdict(int)
        for labs in unassigned.values():
            for lab in labs:
                remaining[lab] += 1
        if not remaining:                     # patients without labels: balance by count
            for p in [p for p in order if p in unassigned]:
                assign(p, pick(None))
            break
        lab = min(remaining, key=lambda k: (remaining[k], k))
        for p in by_label[lab]:
            if p in unassigned:
                assign(p, pick(lab))
    return out
