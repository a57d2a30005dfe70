"""Patient-wise train/validation split, stratified over statements, counted in windows.

Every window of a patient lands on the same side. Patients differ enormously in size (a MIT-BIH patient
brings 60 windows, a CinC patient 3), so the split balances *windows*, not patients: each label
(statement id, source, and all windows) aims at `val_fraction` of its windows in validation.

Greedy, in the spirit of iterative stratification (Sechidis et al. 2011): patients are placed one at a
time, those holding the rarest label first and bigger ones first within it, each on the side where it most
reduces sum over its labels of ((windows - target) / windows of that label)^2. Falling short of the
validation target costs `VAL_SHORTFALL_WEIGHT` times more than overshooting it. On top, the first patient
of a label on a side earns `COVERAGE_BONUS`: in validation for labels held by >= `MIN_PATIENTS_FOR_VAL`
patients (so every such statement can be evaluated), in training for labels held by >= 2 patients. A label
held by one patient stays in training (the model sees it).

Deterministic: the only randomness is a seeded permutation breaking ties in the order and the side choice.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

SIDES = ("train", "val")
ALL = "__all_windows__"
ALL_WEIGHT = 4.0              # the overall window fraction weighs as much as a few statements together
VAL_SHORTFALL_WEIGHT = 4.0
COVERAGE_BONUS = 0.05
MIN_PATIENTS_FOR_VAL = 3


def _cost(side: str, have: float, target: float) -> float:
    short, over = max(0.0, target - have), max(0.0, have - target)
    return (VAL_SHORTFALL_WEIGHT if side == "val" else 1.0) * short * short + over * over


def split_patients(patient_windows: dict[str, Counter], val_fraction: float, seed: int) -> dict[str, str]:
    """patient -> 'train' | 'val'. `patient_windows[p][label]` = windows of patient p carrying label
    (labels may include strata such as 'source:mitdb'). The patient's total window count is read from
    the label '__all_windows__' (default: its largest label count)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    patients = sorted(patient_windows)
    if val_fraction == 0.0:
        return {p: "train" for p in patients}
    counts: dict[str, Counter] = {}
    for p in patients:
        c = Counter({lab: n for lab, n in patient_windows[p].items() if n > 0})
        c[ALL] = c.get(ALL) or max(c.values(), default=1)
        counts[p] = c
    total: Counter = Counter()
    n_patients: Counter = Counter()
    for c in counts.values():
        total.update(c)
        n_patients.update(c.keys())
    frac = {"train": 1.0 - val_fraction, "val": val_fraction}
    target = {s: {lab: n * frac[s] for lab, n in total.items()} for s in SIDES}
    min_patients = {"train": 2, "val": MIN_PATIENTS_FOR_VAL}
    have = {s: defaultdict(float) for s in SIDES}

    rng = np.random.default_rng(seed)
    tiebreak = dict(zip(patients, rng.permutation(len(patients))))
    order = sorted(patients, key=lambda p: (min(n_patients[lab] for lab in counts[p]), -counts[p][ALL],
                                            tiebreak[p]))

    def increase(p: str, side: str) -> float:
        inc = 0.0
        for lab, n in counts[p].items():
            a, t = have[side][lab], target[side][lab]
            w = ALL_WEIGHT if lab == ALL else 1.0
            inc += w * (_cost(side, a + n, t) - _cost(side, a, t)) / (total[lab] ** 2)
            if a == 0 and n_patients[lab] >= min_patients[side]:
                inc -= COVERAGE_BONUS
        return inc

    out: dict[str, str] = {}
    for p in order:
        side = min(SIDES, key=lambda s: (increase(p, s), rng.random()))
        out[p] = side
        for lab, n in counts[p].items():
            have[side][lab] += n
    return out
