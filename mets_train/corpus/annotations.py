"""Beat and rhythm annotations (MIT format `.atr`) -> statements about one window.

Everything is counted INSIDE the window: a beat belongs to the window [start, end) when its annotation
sample does; a rhythm, noise or ST/T episode is stated when it overlaps the window by at least
`MIN_RHYTHM_S` / `MIN_EPISODE_S` seconds (so a 3-beat run of VT is mentioned, a rhythm change 0.3 s
before the window's end is not).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

from .vocabulary import Finding

MIN_RHYTHM_S = 1.0      # a rhythm episode must cover this much of the window to be stated
MIN_EPISODE_S = 2.0     # noise and ST/T episodes: at least this much of the window
MAJORITY = 0.5          # L / R / paced beats: stated as the conduction/rhythm when >= this share of beats
MIN_BEATS_FOR_RATE = 3  # beats inside the window needed for an annotated heart rate

_ST_START = re.compile(r"^\((ST|T)(\d)([+-]+)$")
_ST_END = re.compile(r"^(ST|T)(\d)([+-]+)\)$")


@dataclass
class Annotations:
    """One record's annotations, in samples of the record's own rate."""
    fs: float
    beat_samples: np.ndarray                        # QRS annotations
    beat_symbols: np.ndarray
    other_samples: np.ndarray                       # non-beat symbols we count (e.g. x: blocked APC)
    other_symbols: np.ndarray
    rhythms: list[tuple[int, int, str]] = field(default_factory=list)    # (start, end, aux note)
    noise: list[tuple[int, int]] = field(default_factory=list)
    episodes: list[tuple[int, int, str]] = field(default_factory=list)   # (start, end, "ST-"/"T+"/...)
    unknown_aux: Counter = field(default_factory=Counter)


def _clean(note: str) -> str:
    return (note or "").replace("\x00", "").strip()


def read_annotations(path: str | Path, fs: float, n_samples: int, maps: dict,
                     extension: str = "atr", default_rhythm: str | None = None) -> Annotations:
    """Read `<path>.<extension>`. `default_rhythm` covers the stretch before the first rhythm label
    (CPSC 2021 starts its paroxysmal records in non-AF rhythm without saying so)."""
    ann = wfdb.rdann(str(path), extension)
    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = np.asarray(ann.symbol, dtype=object)
    aux = [_clean(a) for a in (ann.aux_note or [""] * len(samples))]
    subtype = np.asarray(ann.subtype if ann.subtype is not None else np.zeros(len(samples)), dtype=np.int64)
    qrs = set(maps["qrs_symbols"])
    counted_other = set(maps["non_beat_symbols"])
    is_beat = np.array([s in qrs for s in symbols], dtype=bool)
    is_other = np.array([s in counted_other for s in symbols], dtype=bool)

    rhythms: list[tuple[int, int, str]] = []
    changes = [(int(samples[i]), aux[i]) for i in range(len(samples)) if symbols[i] == "+" and aux[i].startswith("(")]
    if default_rhythm and (not changes or changes[0][0] > 0):
        changes.insert(0, (0, default_rhythm))
    for k, (s, note) in enumerate(changes):
        e = changes[k + 1][0] if k + 1 < len(changes) else n_samples
        if e > s:
            rhythms.append((s, e, note))

    noise: list[tuple[int, int]] = []
    open_at = None
    for i in np.flatnonzero(symbols == "~"):
        if subtype[i] != 0 and open_at is None:
            open_at = int(samples[i])
        elif subtype[i] == 0 and open_at is not None:
            noise.append((open_at, int(samples[i])))
            open_at = None
    if open_at is not None:
        noise.append((open_at, n_samples))

    episodes: list[tuple[int, int, str]] = []
    opened: dict[tuple[str, str, str], int] = {}
    for i, note in enumerate(aux):
        if m := _ST_START.match(note):
            opened[m.groups()] = int(samples[i])
        elif m := _ST_END.match(note):
            start = opened.pop(m.groups(), None)
            if start is not None:
                kind, _, sign = m.groups()
                episodes.append((start, int(samples[i]), f"{kind}{sign[0]}"))

    known_aux = set(maps["rhythm_aux"])
    unknown = Counter(n for s, n in changes if n not in known_aux)
    return Annotations(fs=float(fs), beat_samples=samples[is_beat], beat_symbols=symbols[is_beat],
                       other_samples=samples[is_other], other_symbols=symbols[is_other],
                       rhythms=rhythms, noise=noise, episodes=episodes, unknown_aux=unknown)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def window_findings(ann: Annotations, start: int, end: int, maps: dict, source: str
                    ) -> tuple[list[Finding], float | None, dict[str, int]]:
    """Statements for samples [start, end) of the record: (findings, annotated heart rate or None,
    beat counts per symbol inside the window)."""
    findings: list[Finding] = []
    inside = (ann.beat_samples >= start) & (ann.beat_samples < end)
    syms = ann.beat_symbols[inside]
    times = ann.beat_samples[inside]
    sym_counts = Counter(str(s) for s in syms)
    n_beats = len(syms)

    rate = None
    if n_beats >= MIN_BEATS_FOR_RATE and times[-1] > times[0]:
        rate = 60.0 * (n_beats - 1) / ((times[-1] - times[0]) / ann.fs)

    # majority beat morphology: LBBB / RBBB beats, paced beats
    majority = {}
    for sym, sid in maps["majority_beats"].items():
        if n_beats and sym_counts.get(sym, 0) >= MAJORITY * n_beats:
            majority[sym] = sid
            findings.append(Finding(sid))

    # ectopy counts (one finding per statement id, summing the symbols that map to it)
    per_id: Counter = Counter()
    for sym, n in sym_counts.items():
        sid = maps["beat_symbols"].get(sym)
        if sid:
            per_id[sid] += n
    if "/" in majority:            # a paced rhythm is not "N paced beats"
        per_id.pop("paced_beats", None)
    inside_other = (ann.other_samples >= start) & (ann.other_samples < end)
    for sym, n in Counter(str(s) for s in ann.other_symbols[inside_other]).items():
        per_id[maps["non_beat_symbols"][sym]] += n
    # ventricular couplets: runs of exactly two consecutive ventricular beats
    is_v = np.array([s in ("V", "r") for s in syms], dtype=bool)
    couplets = 0
    run = 0
    for v in list(is_v) + [False]:
        if v:
            run += 1
        else:
            couplets += run == 2
            run = 0
    if couplets:
        per_id["ventricular_couplet"] += couplets
    for sid in sorted(per_id):
        findings.append(Finding(sid, count=int(per_id[sid])))

    # rhythm episodes
    aux_map = dict(maps["rhythm_aux"])
    aux_map.update(maps.get("rhythm_aux_by_source", {}).get(source, {}))
    min_rhythm = int(round(MIN_RHYTHM_S * ann.fs))
    for s, e, note in ann.rhythms:
        if note in aux_map and _overlap(s, e, start, end) >= min_rhythm:
            findings.extend(Finding.parse(t) for t in aux_map[note])

    min_episode = int(round(MIN_EPISODE_S * ann.fs))
    if sum(_overlap(s, e, start, end) for s, e in ann.noise) >= min_episode:
        findings.append(Finding("noise"))
    for s, e, key in ann.episodes:
        if _overlap(s, e, start, end) >= min_episode:
            findings.extend(Finding.parse(t) for t in maps["st_episode"][key])
    return findings, rate, dict(sym_counts)
