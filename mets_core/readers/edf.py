"""EDF, EDF+ (continuous, EDF+C) and BDF/BDF+ (24-bit) files, decoded by ``edfio``.

Sleep labs, Holters and research devices record ECG beside other signals (EEG, SpO2, respiration).
Signals whose label names a standard lead are read - directly (``I``, ``V1``, ``MLII``) or after an
``ECG``/``EKG`` prefix (``ECG II``, ``EKG V5``, ``ECG1`` = lead I); a bare ``ECG``/``EKG`` is lead I, as in
the project's alias table. Their physical dimension must be a voltage (uV, mV, V). Leads sampled at a
rate other than the most common one among the leads are left out and listed. Discontinuous EDF+D/BDF+D
files are refused (edfio reads continuous files only).
"""
from __future__ import annotations

import re
import warnings
from collections import Counter

import numpy as np

from ..ecg import ECGReadError, standard_lead
from .channels import Channels, to_mv_factor, with_caller_hints
from .limits import MAX_TOTAL_SAMPLES
_PREFIX = re.compile(r"^\s*(ecg|ekg)[\s._:-]*", re.I)


def lead_of(label: str) -> str | None:
    """The standard lead an EDF signal label stands for, or None."""
    label = label.strip()
    std = standard_lead(label)
    if std is None and _PREFIX.match(label):
        rest = _PREFIX.sub("", label)
        std = standard_lead(rest) if rest else "I"
    return std


def read(data: bytes, filename: str, lead_names: list[str] | None = None,
         fs_given: float | None = None) -> Channels:
    import edfio
    bdf = data[:8] == b"\xffBIOSEMI"
    kind = "BDF" if bdf else "EDF"
    where = f"{kind} file {filename!r}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            edf = edfio.read_bdf(data) if bdf else edfio.read_edf(data)
            signals = list(edf.signals)
    except Exception as e:      # edfio raises ValueError/IndexError/... on damaged headers
        text = str(e)
        hint = " (EDF+D/BDF+D discontinuous files are not supported)" if "discontinuous" in text.lower() else ""
        raise ECGReadError(f"{where} could not be read{hint}: {type(e).__name__}: {text[:200]}; "
                           f"accepted: EDF, EDF+C, BDF, BDF+C") from None
    for w in caught:        # edfio reads a file shorter than its header says, with a warning: refuse it
        m = re.search(r"indicates (\d+) data records, but file contains (\d+)", str(w.message))
        if m:
            raise ECGReadError(f"{where} is truncated: its header declares {m.group(1)} data records but the "
                               f"file holds {m.group(2)}; upload the complete file")
    if not signals:
        raise ECGReadError(f"{where} holds no signals")
    leads = [(s, lead_of(s.label)) for s in signals]
    leads = [(s, std) for s, std in leads if std is not None]
    if not leads:
        labels = ", ".join(repr(s.label.strip()) for s in signals[:12])
        raise ECGReadError(f"{where} has no ECG lead among its signals ({labels}); accepted labels name a "
                           f"standard lead: I, II, V1, 'ECG II', 'EKG V5', MLII, ECG (= lead I)")
    rates = Counter(float(s.sampling_frequency) for s, _ in leads)
    fs = rates.most_common(1)[0][0]
    other_rate = [f"{s.label.strip()}({s.sampling_frequency:g} Hz)" for s, _ in leads if s.sampling_frequency != fs]
    leads = [(s, std) for s, std in leads if s.sampling_frequency == fs]
    n = int(round(fs * edf.duration))
    if n * len(leads) > MAX_TOTAL_SAMPLES:
        raise ECGReadError(f"{where} holds {len(leads)} leads x {n:,} samples; at most {MAX_TOTAL_SAMPLES:,} samples "
                           f"in all are accepted")
    rows, names, units = [], [], []
    for s, std in leads:
        unit = s.physical_dimension.strip()
        factor = to_mv_factor(unit)
        if factor is None:
            raise ECGReadError(f"{where}: ECG signal {s.label.strip()!r} has physical dimension {unit!r}, not a "
                               f"voltage; accepted: uV, mV, V")
        try:
            rows.append(np.asarray(s.data, dtype=np.float64) * factor)
        except Exception as e:
            raise ECGReadError(f"{where}: the samples of {s.label.strip()!r} could not be read "
                               f"({type(e).__name__}); the file may be truncated") from None
        names.append(std)
        units.append(unit)
    meta = {"source_format": kind.lower(), "units": " ".join(sorted(set(units))) + " (declared)",
            "edf_labels": " ".join(f"{std}={s.label.strip()!r}" for s, std in leads)}
    skipped = [s.label.strip() for s in signals if lead_of(s.label) is None]
    if skipped:
        meta["non_ecg_signals"] = " ".join(skipped[:32])
    if other_rate:
        meta["leads_at_other_rates"] = " ".join(other_rate)
    length = min(len(r) for r in rows)
    return with_caller_hints(Channels(np.stack([r[:length] for r in rows]), names, fs, meta, repr(filename)),
                             lead_names, fs_given)
