"""What every format module returns, and the small helpers they share."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

import numpy as np

from ..ecg import ECGReadError


@dataclass
class Channels:
    """Recorded channels as a format stores them, before the shared rules of ``read_ecg`` apply."""
    signals: np.ndarray                 # float64 (n_channels, n_samples), mV; NaN where a sample is missing
    names: list[str]                    # recorded channel names, one per row
    fs: float                           # Hz
    metadata: dict[str, str] = field(default_factory=dict)


def to_mv_factor(unit: str | None) -> float | None:
    """Multiplier from a voltage unit, as the formats spell it, to mV; None if it is not a voltage."""
    u = (unit or "").strip().lower().replace("μ", "u").replace("µ", "u")
    return {"mv": 1.0, "millivolt": 1.0, "millivolts": 1.0, "uv": 1e-3, "microvolt": 1e-3,
            "microvolts": 1e-3, "v": 1e3, "volt": 1e3, "volts": 1e3, "nv": 1e-6, "nanovolts": 1e-6}.get(u)


def b64decode(text: str | None, where: str) -> bytes:
    """Strict base64 (whitespace allowed): a truncated or damaged block is an error, never half-read."""
    if text is None or not text.strip():
        raise ECGReadError(f"{where} holds no waveform data")
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ECGReadError(f"{where}: the base64 waveform data are damaged or truncated ({e}); "
                           f"export the file again") from None


def number(text: str | None, what: str, where: str) -> float:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        raise ECGReadError(f"{where}: {what} is {text!r}, which is not a number") from None
    if not np.isfinite(value):
        raise ECGReadError(f"{where}: {what} is {text!r}, which is not a finite number")
    return value


def stack(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of possibly different lengths as one array, shorter rows padded with NaN (missing samples:
    ``read_ecg`` interpolates short gaps and masks leads missing more than its limit)."""
    n = max(len(r) for r in rows)
    out = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def derive_limb_leads(signals: list[np.ndarray], names: list[str], meta: dict[str, str]) -> None:
    """Add III, aVR, aVL, aVF from I and II (Einthoven, Goldberger) when the file stores only the
    independent leads, as GE MUSE does. In place; noted in ``meta['derived_leads']``."""
    from ..ecg import standard_lead
    std = [standard_lead(n) for n in names]
    if "I" not in std or "II" not in std:
        return
    i, ii = signals[std.index("I")], signals[std.index("II")]
    n = min(len(i), len(ii))
    i, ii = i[:n], ii[:n]
    derived = {"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2}
    added = [lead for lead in derived if lead not in std]
    for lead in added:
        signals.append(derived[lead])
        names.append(lead)
    if added:
        meta["derived_leads"] = " ".join(added) + " (from I and II: III=II-I, aVR=-(I+II)/2, " \
                                                  "aVL=I-II/2, aVF=II-I/2)"
