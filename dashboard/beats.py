"""Beat labels a recording's own annotation file carries (WFDB/MIT format: .atr reference labels, .qrs
detector output ...), decoded in memory for the long-record overview. Display only: the model and the
measurements never see them.

The MIT annotation format is a stream of 16-bit little-endian words: the top 6 bits are a code, the low 10
bits a number. Codes 1-49 are annotation types (the number is the sample interval since the previous
annotation); 59 SKIP (a 32-bit interval follows, high word first), 60 NUM, 61 SUB, 62 CHN (the number is a
field of the current annotation), 63 AUX (the number of auxiliary bytes that follow, padded to even);
a 0 word ends the file. Beats are grouped into the AAMI classes clinicians use: N (normal and bundle-branch
beats), S (supraventricular ectopic), V (ventricular ectopic), F (fusion), Q (paced or unclassifiable).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# annotation codes of the MIT format (wfdb's ann_label_table) that are beats, by symbol
_BEAT_CODES = {1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S", 10: "E", 11: "j",
               12: "/", 13: "Q", 25: "B", 34: "e", 35: "n", 38: "f", 30: "?", 41: "r"}
AAMI = {"N": "N", "L": "N", "R": "N", "e": "N", "j": "N", "B": "N", "n": "S", "A": "S", "a": "S", "J": "S",
        "S": "S", "V": "V", "E": "V", "r": "V", "F": "F", "/": "Q", "f": "Q", "Q": "Q", "?": "Q"}
CLASS_WORDS = {"N": "normal or bundle-branch", "S": "supraventricular ectopic", "V": "ventricular ectopic",
               "F": "fusion", "Q": "paced or unclassified"}
ANNOTATION_EXTENSIONS = (".atr", ".qrs", ".ann", ".ecg", ".pu", ".pu0", ".pu1")
MAX_ANNOTATIONS = 2_000_000              # a 24-hour Holter has ~100,000 beats


@dataclass(frozen=True)
class Beats:
    sample: np.ndarray          # sample index of each beat
    symbol: tuple[str, ...]     # its MIT symbol (N, V, A, ...)
    source: str                 # the file they came from, e.g. "100.atr"

    @property
    def aami(self) -> np.ndarray:
        """The AAMI class of each beat (N, S, V, F, Q)."""
        return np.array([AAMI.get(s, "Q") for s in self.symbol])

    def counts(self) -> dict[str, int]:
        classes = self.aami
        return {c: int((classes == c).sum()) for c in ("N", "S", "V", "F", "Q")}


def read_mit_annotations(data: bytes, source: str = "") -> Beats:
    """The beats of an MIT-format annotation file (bytes). Raises ValueError when the bytes are not one."""
    if len(data) % 2:
        data = data[:-1]
    words = np.frombuffer(data, dtype="<u2")
    samples, symbols = [], []
    t, i, n = 0, 0, len(words)
    while i < n:
        w = int(words[i])
        code, value = w >> 10, w & 0x3FF
        i += 1
        if code == 0 and value == 0:
            break
        if code == 59:                          # SKIP: a 32-bit interval, high 16 bits first
            if i + 2 > n:
                raise ValueError(f"{source or 'the annotation file'} ends inside a SKIP")
            hi, lo = int(words[i]), int(words[i + 1])
            skip = (hi << 16) | lo
            t += skip - (1 << 32) if skip >= 1 << 31 else skip
            i += 2
        elif code == 63:                        # AUX: `value` bytes of text, padded to an even length
            i += (value + 1) // 2
        elif code in (60, 61, 62):              # NUM, SUB, CHN of the current annotation
            continue
        elif 1 <= code <= 49:
            t += value
            if code in _BEAT_CODES:
                samples.append(t)
                symbols.append(_BEAT_CODES[code])
                if len(samples) > MAX_ANNOTATIONS:
                    raise ValueError(f"{source or 'the annotation file'} has more than {MAX_ANNOTATIONS:,} beats")
        else:
            raise ValueError(f"{source or 'the file'} is not a WFDB annotation file (unknown code {code})")
    sample = np.asarray(samples, dtype=np.int64)
    if len(sample) and (sample.min() < 0 or np.any(np.diff(sample) < 0)):
        raise ValueError(f"{source or 'the annotation file'} has beats out of time order")
    return Beats(sample, tuple(symbols), source)


def beats_of(files: list[tuple[str, bytes]]) -> Beats | None:
    """The beat labels among a record's uploaded files: the reference .atr first, else another annotation
    file; None when there is none or it cannot be decoded (the record still opens)."""
    ranked = sorted((f for f in files if f[0].lower().endswith(ANNOTATION_EXTENSIONS)),
                    key=lambda f: ANNOTATION_EXTENSIONS.index("." + f[0].lower().rsplit(".", 1)[-1]))
    for name, data in ranked:
        try:
            beats = read_mit_annotations(data, name)
        except ValueError:
            continue
        if len(beats.sample):
            return beats
    return None
