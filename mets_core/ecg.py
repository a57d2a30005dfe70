"""The one record type that flows through every step: reader -> preprocessing -> encoder -> dashboard.

An ``ECG`` always holds the twelve standard leads in standard order. Leads the recording does not
have are rows of zeros with ``lead_mask`` False: they are *masked*, never invented. Those rows are zeros
that are never written (``np.zeros`` memory the system backs only once written, kept so when pickled), so a
day of 2 leads takes the memory of 2 rows.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)

# Every spelling of a lead name met in the PhysioNet databases we read, mapped to the standard twelve.
# Keys are compared after `_normalise_name` (lower case, no spaces/dots/underscores/hyphens-at-ends).
# Modified / monitoring leads (MLII, CM5, ...) are mapped to the standard lead they approximate: this is
# what cardiologists do when reading Holter strips, and the model sees them as that lead.
LEAD_ALIASES: dict[str, str] = {
    # limb leads: Roman, German "D" (Ableitung), Arabic, monitoring "ML"
    "i": "I", "di": "I", "d1": "I", "1": "I", "leadi": "I", "lead1": "I", "mli": "I",
    "ii": "II", "dii": "II", "d2": "II", "2": "II", "leadii": "II", "lead2": "II", "mlii": "II",
    "iii": "III", "diii": "III", "d3": "III", "3": "III", "leadiii": "III", "lead3": "III", "mliii": "III",
    "avr": "aVR", "leadavr": "aVR",
    "avl": "aVL", "leadavl": "aVL",
    "avf": "aVF", "leadavf": "aVF",
    # precordial leads and their monitoring approximations (CM = chest-manubrium, CC = chest-chest)
    "v1": "V1", "modv1": "V1", "mv1": "V1", "cm1": "V1", "leadv1": "V1",
    "v2": "V2", "cm2": "V2", "mv2": "V2", "leadv2": "V2",
    "v3": "V3", "cm3": "V3", "mv3": "V3", "leadv3": "V3",
    "v4": "V4", "cm4": "V4", "mv4": "V4", "leadv4": "V4",
    "v5": "V5", "cm5": "V5", "cc5": "V5", "ml5": "V5", "mv5": "V5", "leadv5": "V5",
    "v6": "V6", "cm6": "V6", "mv6": "V6", "leadv6": "V6",
    # single-lead handheld devices (AliveCor, CinC 2017 "ECG") record lead I
    "ecg": "I", "ekg": "I",
    # Einthoven's limb leads as the electrode pair they measure, the positive electrode first (an EDF's
    # "ECG LA-RA", "ECG LL-RA"): I = LA-RA, II = LL-RA, III = LL-LA. A pair the other way round ("RA-LA") is
    # that lead inverted, which is no standard lead: it stays an unknown channel, never taken for the lead
    "la-ra": "I", "ll-ra": "II", "ll-la": "III",
}


# where a Python caller finds every accepted spelling; the dashboard and the CLI leave it out of what they say
# (``API_POINTER``: a user cannot look a module's name up)
LEAD_ALIASES_POINTER = "see mets_core.ecg.LEAD_ALIASES"
API_POINTER = re.compile(r" \(" + re.escape(LEAD_ALIASES_POINTER) + r"\)")


def _normalise_name(name: str) -> str:
    # NFKC first: fullwidth 'Ｖ１' (East Asian keyboards) and other compatibility forms become plain 'V1'
    return re.sub(r"[\s._]", "", unicodedata.normalize("NFKC", str(name))).lower()


def shown_lead_names(names) -> str:
    """Channel names quoted for a message; a name with letters outside ASCII (Cyrillic 'І' looks exactly like
    Latin 'I') says which, so the reader can see why it is not taken for a lead."""
    shown = []
    for name in map(str, names):
        odd = [f"U+{ord(ch):04X} {unicodedata.name(ch, '?')}" for ch in dict.fromkeys(name) if not ch.isascii()]
        shown.append(repr(name) + (f" (not plain ASCII: {', '.join(odd)})" if odd else ""))
    return ", ".join(shown)


def sample_span(start_s: float, end_s: float | None, fs: float, n_samples: int) -> tuple[int, int]:
    """Samples [a, b) of the stretch from `start_s` to `end_s` seconds (None: the end) of a recording of
    `n_samples` at `fs` Hz: the one rounding rule of ``ECG.crop`` and of ``read_ecg``'s stretch. `b` is at
    most `n_samples` and after `a`."""
    a = int(round(start_s * fs))
    b = n_samples if end_s is None else max(a + 1, min(n_samples, int(round(end_s * fs))))
    return a, b


def _rebuilt(recorded: np.ndarray, n_samples: int, fs: float, lead_mask: np.ndarray, name: str,
             metadata: dict[str, str]) -> "ECG":
    """An ECG from its recorded rows (``ECG.__reduce__``)."""
    signal = np.zeros((len(STANDARD_LEADS), n_samples), dtype=np.float32)
    signal[lead_mask] = recorded
    return ECG(signal=signal, fs=fs, lead_mask=lead_mask, name=name, metadata=metadata)


# before a lead's name, a device's "ECG"/"EKG" ("ECG II", "EKG-V1", an EDF's "ECG:II") and a hyphen after "Lead"
# ("Lead-II") say nothing; "ECG1", "ECG2" are a Holter's channel numbers, no lead. "Lead" in the languages of
# European carts' exports (German "Ableitung II", French "Dérivation I", Spanish "Derivación aVF", Italian
# "Derivazione V1", Portuguese "Derivação III") is read as "Lead" is
_DEVICE_PREFIX = re.compile(r"^(?:ecg|ekg)[-:]?(?=[a-z])")
_LEAD_WORD = re.compile(r"^(?:lead|ableitung|d[eé]rivation|derivaci[oó]n|derivazione|deriva[cç][aã]o)-?")


def standard_lead(name: str) -> str | None:
    """The standard lead a recorded lead name stands for, or None if it is not one of the twelve."""
    key = _normalise_name(name)
    std = LEAD_ALIASES.get(key)
    if std is None:
        key = _LEAD_WORD.sub("lead", _DEVICE_PREFIX.sub("", key))
        std = LEAD_ALIASES.get(key)
    return std


def listed_name(name) -> str:
    """A channel's name as one entry of the space-separated lists of an ECG's metadata (``lead_sources``,
    ``dropped_leads``, the readers' notes of missing samples): its spaces become underscores, which name no other
    lead (``_normalise_name`` drops them); read as two entries, "ECG RA-LA" (lead I inverted) was a channel "ECG",
    taken for a second lead I."""
    return "_".join(str(name).split()) or "(unnamed)"


class ECGReadError(ValueError):
    """An input could not be read as an ECG. The message says what was wrong and what is accepted."""


class UnnamedLeadsError(ECGReadError):
    """No recorded channel is named as one of the twelve leads (a Holter's 'ECG1', 'ECG2'). The file opens
    once the caller says which lead each channel is: ``read_ecg(..., lead_names=[...])`` with one name per
    entry of ``channel_names`` (the file's channels, in order; a name that is no lead leaves that one out)."""

    def __init__(self, message: str, channel_names: list[str]):
        super().__init__(message)
        self.channel_names = [str(n) for n in channel_names]

    def __reduce__(self):
        return type(self), (str(self), self.channel_names)


@dataclass
class ECG:
    """One recording: the twelve standard leads in standard order (`STANDARD_LEADS`) x samples in mV, the
    sampling rate, which leads were recorded (`lead_mask`; the others are zero rows, never invented), a name
    and what the file said (`metadata`). Get one with `read_ecg` (any accepted file), `ECG.from_leads` (an
    array and its lead names) or the constructor (a (12, n) array and its mask).

        ecg = read_ecg("DATA/ludb/data/1.hea")
        ecg.leads, ecg.fs, ecg.duration          # ['I', ..., 'V6'], 500.0, 10.0
        ecg.lead("V1")[:5]                       # mV
    """
    signal: np.ndarray                      # float32, (12, n_samples), mV, standard lead order
    fs: float                               # sampling rate, Hz
    lead_mask: np.ndarray                   # bool, (12,), True where the lead was recorded
    name: str = "ecg"
    metadata: dict[str, str] = field(default_factory=dict)   # header comments, source, original lead names

    def __post_init__(self) -> None:
        self.signal = np.asarray(self.signal, dtype=np.float32)
        self.lead_mask = np.asarray(self.lead_mask, dtype=bool)
        if self.signal.ndim != 2 or self.signal.shape[0] != len(STANDARD_LEADS):
            raise ECGReadError(f"ECG signal must be (12, n_samples), got shape {self.signal.shape}")
        if self.lead_mask.shape != (len(STANDARD_LEADS),):
            raise ECGReadError(f"lead_mask must have 12 entries, got shape {self.lead_mask.shape}")
        if not self.lead_mask.any():
            raise ECGReadError("ECG has none of the twelve standard leads")
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise ECGReadError(f"sampling rate must be a positive number of Hz, got {self.fs!r}")

    @property
    def leads(self) -> list[str]:
        """Names of the standard leads present in the recording."""
        return [lead for lead, present in zip(STANDARD_LEADS, self.lead_mask) if present]

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs

    def content_hash(self) -> str:
        """SHA-256 (hex) of what is computed from the ECG: samples, rate and lead mask, and the two things its
        metadata says that change how they are measured and drawn: what its numbers are (mV, or scaled lead by
        lead: ``readers.channels.amplitude_basis``) and where the reader filled missing samples
        (``readers.channels.filled_stretches``). The name and the rest of the metadata (the file's own lead
        names, its comments) are not part of it.

        The one content hash of the project: the engine's caches, the dashboard's record store and its
        measurements all key on it, so the same signal is recognised whatever file it came from; the same
        samples once z-scored (SD) and once declared mV are two ECGs (their measurements differ), as are the
        same samples with and without a stretch filled over missing ones.
        """
        from .readers.channels import FILLED_STRETCHES, amplitude_basis
        h = hashlib.sha256()
        for i in np.flatnonzero(self.lead_mask):    # recorded leads only: the model zeroes the others
            h.update(np.ascontiguousarray(self.signal[i], dtype=np.float32).data)   # a row at a time, no copy
        h.update(np.asarray(self.lead_mask, dtype=bool).tobytes())
        h.update(f"{float(self.fs)!r}|{self.signal.shape}".encode())
        read_as = amplitude_basis(self.metadata)
        filled = str(self.metadata.get(FILLED_STRETCHES, ""))
        if read_as != "declared" or filled:         # an ECG of mV without gaps keeps the hash it always had
            h.update(f"|{read_as}|{filled}".encode())
        return h.hexdigest()

    def __reduce__(self):
        """Pickled (for a measuring process, a cache) with its recorded leads only, and rebuilt with the absent
        ones as fresh zeros: a 2-lead 24-hour Holter at 250 Hz sends 0.17 GB instead of its twelve rows' 1.0 GB, and the
        rebuilt copy's absent rows take no memory (the system hands out zero pages only once written)."""
        return _rebuilt, (np.ascontiguousarray(self.signal[self.lead_mask]), self.n_samples, self.fs,
                          self.lead_mask, self.name, self.metadata)

    def crop(self, start_s: float = 0.0, end_s: float | None = None) -> "ECG":
        """A new ECG holding the samples from `start_s` to `end_s` seconds (None: to the end), same rate, leads,
        name and metadata, with metadata["cropped_from_s"] set to where it starts. The signal is a copy."""
        end_s = self.duration if end_s is None else float(end_s)
        start_s = float(start_s)
        if not (0.0 <= start_s < end_s <= self.duration + 0.5 / self.fs):
            raise ValueError(f"cannot crop {start_s:g}-{end_s:g} s from a {self.duration:g} s recording: "
                             f"need 0 <= start < end <= {self.duration:g}")
        a, b = sample_span(start_s, end_s, self.fs, self.n_samples)
        metadata = {**self.metadata, "cropped_from_s": f"{start_s:.3f}"}
        if "filled_stretches_s" in metadata:      # readers.channels: where missing samples were filled, in its times
            from .readers.channels import FILLED_STRETCHES, filled_stretches
            kept = [(max(a, start_s) - start_s, min(b, end_s) - start_s) for a, b in filled_stretches(self.metadata)
                    if a < end_s and b > start_s]
            metadata[FILLED_STRETCHES] = " ".join(f"{a:.3f}-{b:.3f}" for a, b in kept)
        return ECG(signal=self.signal[:, a:b].copy(), fs=self.fs, lead_mask=self.lead_mask.copy(), name=self.name,
                   metadata=metadata)

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples in mV (raises KeyError if that lead was not recorded)."""
        std = standard_lead(name) or name
        i = STANDARD_LEADS.index(std) if std in STANDARD_LEADS else -1
        if i < 0 or not self.lead_mask[i]:
            raise KeyError(f"lead {name!r} is not present; present leads: {', '.join(self.leads)}")
        return self.signal[i]

    @classmethod
    def from_leads(cls, signals: np.ndarray, lead_names: list[str], fs: float, name: str = "ecg",
                   metadata: dict[str, str] | None = None) -> "ECG":
        """Build an ECG from (n_leads, n_samples) mV data and the recorded lead names.

        Leads are mapped through LEAD_ALIASES; leads that are not one of the twelve (Frank X/Y/Z, ...)
        are dropped and listed in metadata["dropped_leads"]. If two recorded leads map to the same
        standard lead, the first wins (its name is kept in metadata["lead_sources"]); the others are dropped
        too (QTDB's CM5 and CC5 both stand for V5: CC5 is listed in metadata["dropped_leads"]). Channels a
        reader already left out (a WFDB signal file that is missing, named in metadata["dropped_leads"]) stay
        listed, before those dropped here.
        """
        signals = np.asarray(signals)
        if signals.ndim != 2 or signals.shape[0] != len(lead_names):
            raise ECGReadError(
                f"expected one row per lead name ({len(lead_names)} names), got array of shape {signals.shape}")
        if signals.shape[1] < 1:
            raise ECGReadError("the recording has 0 samples")
        out = np.zeros((len(STANDARD_LEADS), signals.shape[1]), dtype=np.float32)
        mask = np.zeros(len(STANDARD_LEADS), dtype=bool)
        sources, dropped = [], []
        for row, raw in zip(signals, lead_names):
            std = standard_lead(raw)
            if std is None:
                dropped.append(listed_name(raw))
                continue
            i = STANDARD_LEADS.index(std)
            if mask[i]:
                dropped.append(listed_name(raw))
                continue
            out[i] = row
            mask[i] = True
            sources.append(f"{std}={listed_name(raw)}")
        if not mask.any():
            raise UnnamedLeadsError(
                f"none of the lead names ({shown_lead_names(lead_names)}) is one of the twelve standard leads; "
                f"accepted names include I II III aVR aVL aVF V1-V6 and spellings such as "
                f"i, DI, D3, avr, MLII, CM5, ECG ({LEAD_ALIASES_POINTER})", list(map(str, lead_names)))
        meta = dict(metadata or {})
        meta["lead_sources"] = " ".join(sources)
        dropped = meta.get("dropped_leads", "").split() + dropped
        if dropped:
            meta["dropped_leads"] = " ".join(dropped)
        return cls(signal=out, fs=float(fs), lead_mask=mask, name=name, metadata=meta)
