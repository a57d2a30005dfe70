"""The one set of limits every reader (and preprocessing) applies, and the checks that say when one is passed.

Limits are checked before anything large is read or allocated; each check raises ``ECGReadError`` with a
message that says what was wrong and what is accepted. Only numpy and the record type are imported here, so
``mets_core.preprocess`` takes its sampling-rate bounds from this module without loading any reader.
"""
from __future__ import annotations

import numpy as np

from ..ecg import LEAD_ALIASES_POINTER, ECGReadError, sample_span

MAX_UPLOAD_BYTES = 100 * 1024 * 1024     # per file and per upload (also the cap on a zip's unpacked size)
MAX_FILE_BYTES = 256 * 1024 * 1024       # per file and per record read from a path (24 h x 3 leads x 250 Hz x 2 B)
MIN_FS = 50.0                            # Hz; below this the QRS complex (~10-40 Hz content) is not represented
MAX_FS = 10_000.0                        # Hz; above this is not an ECG recorder we know of
MAX_DURATION_S = 14 * 24 * 3600.0        # outer bound (patch Holters record up to 14 days); samples cap first
MAX_CHANNELS = 64                        # channels in one record (PTB has 15, 12-lead Holters 12)
MAX_TOTAL_SAMPLES = 80_000_000           # recorded channels x samples (3 leads, 24 h at 250 Hz = 64.8 M)
MAX_SAMPLES_PER_LEAD = 24_000_000        # 24 h at 250 Hz = 21.6 M; 96 MB per recorded float32 row
MAX_ZIP_ENTRIES = 1000
MAX_HEADER_BYTES = 1024 * 1024           # a WFDB header is a few kB of text (PTB's, with its clinical notes, 3 kB)
MAX_NPY_HEADER_BYTES = 10_000            # numpy's own default bound (max_header_size); numpy.save writes ~128 B
MAX_SEGMENTS = 1000                      # segments of one multi-segment WFDB record
MAX_MISSING_FRACTION = 0.10              # a lead missing more than this is treated as absent
UV_AMPLITUDE_THRESHOLD = 20.0            # see mets_core.readers (units rule)
MAX_ABS_MV = 10_000.0                    # 10 V: beyond any ECG, even with a DC electrode offset

ACCEPTED_FORMATS = (
    "WFDB record (.hea with its .dat, or PhysioNet Challenge .hea with its .mat), a .zip holding one, "
    "CSV with a header row of lead names, NumPy .npy/.npz, DICOM 12-lead ECG waveform (.dcm), "
    "GE MUSE / Philips / HL7 aECG XML (.xml), EDF/EDF+/BDF (.edf/.bdf), SCP-ECG (.scp)")
ACCEPTED_LEAD_NAMES = (
    "I II III aVR aVL aVF V1-V6 and spellings such as i, DI, D3, avr, AVR, MLII, CM5, ECG "
    f"({LEAD_ALIASES_POINTER})")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 channel', '3 channels', '0 leads': a count for a reader's message (``plural``: where adding 's' is
    not it, e.g. 'entries')."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def brief(error: Exception) -> str:
    """A library's error, shortened for our message (it may quote file content at length)."""
    text = str(error)
    return f"{type(error).__name__}: {text[:200]}{'...' if len(text) > 200 else ''}"


def check_size(n_bytes: int, what: str, limit: int = MAX_UPLOAD_BYTES) -> None:
    if n_bytes > limit:
        raise ECGReadError(f"{what} is {n_bytes / 2**20:.0f} MB; at most {limit / 2**20:.0f} MB is accepted"
                           + (" in an upload (read longer records from a file path, e.g. with the mets command)"
                              if limit == MAX_UPLOAD_BYTES else ""))


def check_fs(fs: float, where: str) -> None:
    if not np.isfinite(fs) or not (MIN_FS <= fs <= MAX_FS):
        raise ECGReadError(f"{where} gives a sampling rate of {fs:g} Hz; accepted rates are "
                           f"{MIN_FS:g} Hz to {MAX_FS:g} Hz")


def check_length(n_samples: int, fs: float | None, where: str, hint: str = "") -> None:
    """At least 2 samples, and not more per lead than the limits; `fs` None: the rate is not known yet (a
    CSV's rows are counted before its time column is read), so only the count is checked. `hint`: another way
    out of a record too long, said after "cut or downsample the record first, or " (a WFDB record can be read
    a stretch at a time)."""
    if n_samples < 2:
        what = "no samples" if n_samples <= 0 else "a single sample"
        raise ECGReadError(f"{where} holds {what}; an ECG needs at least 2 samples "
                           f"(accepted: {MIN_FS:g}-{MAX_FS:g} Hz, up to {MAX_SAMPLES_PER_LEAD:,} samples per lead)")
    advice = "cut or downsample the record first" + (f", or {hint}" if hint else "")
    if fs is None:
        if n_samples > MAX_SAMPLES_PER_LEAD:
            raise ECGReadError(f"{where} holds {n_samples:,} rows (samples per lead); at most "
                               f"{MAX_SAMPLES_PER_LEAD:,} samples per lead are accepted (24 h at 250 Hz): {advice}")
        return
    if n_samples > MAX_SAMPLES_PER_LEAD or n_samples / fs > MAX_DURATION_S:
        raise ECGReadError(f"{where} is {_hours(n_samples / fs)} long ({n_samples:,} samples per lead at "
                           f"{fs:g} Hz); at most {MAX_SAMPLES_PER_LEAD:,} samples per lead are accepted (24 h "
                           f"at 250 Hz): {advice}")


LONGEST_HOURS_SAID = 1000     # past this (about 42 days) a length is no recording's: its figure means nothing


def _hours(seconds: float) -> str:
    """A length in hours for a message: '30.50 h'; a declared length no recorder makes (a header's sample count
    in the quintillions) is said as more than LONGEST_HOURS_SAID, not as an 18-digit figure."""
    hours = seconds / 3600
    return f"{hours:.2f} h" if hours <= LONGEST_HOURS_SAID else f"more than {LONGEST_HOURS_SAID:,} h"


def stretch_span(start_s: float, end_s: float | None, fs: float, n_samples: int, where: str) -> tuple[int, int]:
    """Samples [a, b) of the stretch read_ecg was asked for (``ecg.sample_span``), refused in words when it
    does not lie in the recording; an end past the recording's end stops there."""
    if start_s < 0 or (end_s is not None and end_s <= start_s):
        raise ECGReadError(f"the stretch to read must start at 0 s or later and end after it starts; got "
                           f"{start_s:g} to {'the end' if end_s is None else f'{end_s:g} s'}")
    a, b = sample_span(start_s, end_s, fs, n_samples)
    if a >= n_samples:
        raise ECGReadError(f"{where} is {n_samples / fs:g} s long: a stretch from {start_s:g} s is past its end")
    return a, b


def check_channels(n_channels: int, n_samples: int, where: str) -> None:
    if n_channels < 1:
        raise ECGReadError(f"{where} declares no signals; an ECG needs at least one lead")
    if n_channels > MAX_CHANNELS:
        raise ECGReadError(f"{where} declares {n_channels} channels; at most {MAX_CHANNELS} are accepted")
    if n_channels * n_samples > MAX_TOTAL_SAMPLES:
        raise ECGReadError(f"{where} declares {n_channels} x {n_samples} samples; at most "
                           f"{MAX_TOTAL_SAMPLES:,} samples in all are accepted")


def check_agrees(fs_given: float | None, fs: float, where: str) -> None:
    """The fs argument is for formats without a rate; where the file has one, they must agree."""
    if fs_given is not None and abs(fs_given - fs) > 0.01 * fs:
        raise ECGReadError(f"{where} is sampled at {fs:g} Hz but the fs argument says {fs_given:g} Hz; "
                           f"leave fs out for formats that carry their sampling rate")


def override_names(names: list[str], lead_names: list[str] | None, n_channels: int, where: str) -> list[str]:
    """The caller's ``lead_names`` (one per recorded channel, in order) instead of the file's names."""
    if lead_names is None:
        return names
    if len(lead_names) != n_channels:
        raise ECGReadError(f"lead_names has {counted(len(lead_names), 'name')} but {where} has "
                           f"{counted(n_channels, 'channel')}; give one name per channel, in order")
    return lead_names
