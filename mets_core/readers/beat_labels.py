"""Beat labels a recording's own annotation file carries (WFDB/MIT format: ``.atr`` reference labels,
``.qrs`` detector output, ...), read in memory for display (the dashboard's long-record overview). The model
and the measurements never see them.

Decoded by ``wfdb.rdann`` itself, through the same in-memory filesystem the signal reader uses
(``wfdb_adapter``), so an uploaded annotation file is never written to disk. Beats are grouped into the AAMI
classes clinicians use: N (normal and bundle-branch beats), S (supraventricular ectopic), V (ventricular
ectopic), F (fusion), Q (paced or unclassifiable). The same file's rhythm annotations (a "+" with "(AFIB",
"(B", ...) are kept too, as the episodes the file marks (``Beats.rhythm_spans``).
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

import numpy as np

from ..ecg import ECGReadError
from .limits import MAX_UPLOAD_BYTES
from .wfdb_adapter import UploadFileSystem, wfdb

# MIT beat symbols -> AAMI class (non-beat annotations such as "+" rhythm changes are not in it)
AAMI = {"N": "N", "L": "N", "R": "N", "e": "N", "j": "N", "B": "N", "n": "S", "A": "S", "a": "S", "J": "S",
        "S": "S", "V": "V", "E": "V", "r": "V", "F": "F", "/": "Q", "f": "Q", "Q": "Q", "?": "Q"}
CLASS_WORDS = {"N": "normal or bundle-branch", "S": "supraventricular ectopic", "V": "ventricular ectopic",
               "F": "fusion", "Q": "paced or unclassified"}
# MIT rhythm annotations (a "+" whose note names the rhythm that starts there) in plain words, as PhysioNet's
# MIT-BIH Arrhythmia Database directory gives them, with the codes of its other databases (the Malignant
# Ventricular Arrhythmia Database's list; "(SAB" in QTDB's European ST-T excerpts)
RHYTHM_WORDS = {"(AB": "atrial bigeminy", "(AFIB": "atrial fibrillation", "(AFL": "atrial flutter",
                "(B": "ventricular bigeminy", "(BI": "first-degree heart block", "(BII": "second-degree heart block",
                "(HGEA": "high-grade ventricular ectopic activity", "(IVR": "idioventricular rhythm",
                "(N": "normal sinus rhythm", "(NSR": "normal sinus rhythm", "(NOD": "nodal (AV junctional) rhythm",
                "(P": "paced rhythm", "(PM": "paced rhythm", "(PREX": "pre-excitation (WPW)",
                "(SAB": "sino-atrial block", "(SBR": "sinus bradycardia", "(SVTA": "supraventricular tachyarrhythmia",
                "(T": "ventricular trigeminy", "(VER": "ventricular escape rhythm", "(VF": "ventricular fibrillation",
                "(VFIB": "ventricular fibrillation", "(VFL": "ventricular flutter", "(VT": "ventricular tachycardia"}


def rhythm_words(note: str) -> str:
    """A rhythm annotation in plain words; a code without words is shown as written, said to be one
    ('rhythm annotation "XYZ" (a code not decoded here)')."""
    return RHYTHM_WORDS.get(note, f'rhythm annotation "{note.lstrip("(")}" (a code not decoded here)')


# in order of preference: the reference labels first, then detector output
ANNOTATION_EXTENSIONS = (".atr", ".qrs", ".ann", ".ecg", ".pu", ".pu0", ".pu1")
MAX_BEATS = 2_000_000              # a 24-hour Holter has ~100,000 beats


@dataclass(frozen=True)
class Beats:
    sample: np.ndarray          # sample index of each beat
    symbol: tuple[str, ...]     # its MIT symbol (N, V, A, ...)
    source: str                 # the file they came from, e.g. "100.atr"
    rhythms: tuple[tuple[int, str], ...] = ()   # (sample, note) where the file marks a rhythm's start, "(AFIB"

    def rhythm_spans(self, n_samples: int) -> list[tuple[int, int, str]]:
        """(start, end, note) of each rhythm episode the file marks, each lasting until the next mark or the
        end of the recording (`n_samples`)."""
        marks = [(int(at), note) for at, note in self.rhythms if 0 <= at < n_samples]
        return [(at, marks[k + 1][0] if k + 1 < len(marks) else n_samples, note)
                for k, (at, note) in enumerate(marks)]

    def rhythms_between(self, first: int, last: int, n_samples: int) -> list[str]:
        """The rhythm notes whose episodes overlap samples [first, last), in the order they come, once each."""
        return list(dict.fromkeys(note for a, b, note in self.rhythm_spans(n_samples) if a < last and b > first))

    @property
    def aami(self) -> np.ndarray:
        """The AAMI class of each beat (N, S, V, F, Q)."""
        return np.array([AAMI[s] for s in self.symbol], dtype="<U1")

    def counts(self) -> dict[str, int]:
        classes = self.aami
        return {c: int((classes == c).sum()) for c in CLASS_WORDS}


def read_beat_labels(data: bytes, filename: str) -> Beats:
    """The beats of one MIT-format annotation file (its bytes and name, e.g. "208.atr").

    Raises ECGReadError when the bytes are not an annotation file wfdb can decode, or hold too many beats."""
    name = posixpath.basename(str(filename))
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or "." + ext.lower() not in ANNOTATION_EXTENSIONS:
        raise ECGReadError(f"{name!r} is not a beat annotation file; accepted: "
                           f"{' '.join(ANNOTATION_EXTENSIONS)} (WFDB/MIT format)")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ECGReadError(f"{name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB; not an annotation file")
    root = UploadFileSystem.mount({name: bytes(data)})
    try:
        ann = wfdb().rdann(f"{root}/{stem}", ext)
    except Exception as err:  # noqa: BLE001 - wfdb raises many kinds on foreign bytes; say it in words
        raise ECGReadError(f"{name} is not a WFDB annotation file wfdb can read "
                           f"({type(err).__name__}); upload the record's .atr as PhysioNet provides it") from None
    finally:
        UploadFileSystem.unmount(root)
    symbols = np.asarray(ann.symbol if ann.symbol is not None else [], dtype=object)
    is_beat = np.isin(symbols, list(AAMI))
    sample = np.asarray(ann.sample, dtype=np.int64)[is_beat]
    if len(sample) > MAX_BEATS:
        raise ECGReadError(f"{name} has more than {MAX_BEATS:,} beats; not a recording this tool opens")
    if len(sample) and (sample.min() < 0 or np.any(np.diff(sample) < 0)):
        raise ECGReadError(f"{name} has beats out of time order; it is damaged")
    notes = ann.aux_note if ann.aux_note is not None else [""] * len(symbols)
    rhythms = tuple((int(at), str(note).strip("\x00 ")) for at, sym, note in zip(ann.sample, symbols, notes)
                    if sym == "+" and str(note).strip("\x00 ").startswith("("))
    return Beats(sample, tuple(str(s) for s in symbols[is_beat]), name, rhythms[:MAX_BEATS])


def beat_labels_of(files: list[tuple[str, bytes]]) -> Beats | None:
    """The beat labels among a record's files: the reference .atr first, else another annotation file;
    None when there is none or none can be read (the record itself still opens)."""
    def rank(name: str) -> int:
        return ANNOTATION_EXTENSIONS.index("." + name.lower().rsplit(".", 1)[-1])

    for name, data in sorted((f for f in files if f[0].lower().endswith(ANNOTATION_EXTENSIONS)),
                             key=lambda f: rank(f[0])):
        try:
            beats = read_beat_labels(data, name)
        except ECGReadError:
            continue
        if len(beats.sample):
            return beats
    return None
