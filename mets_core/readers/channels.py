"""What every format module returns (``Channels``), and the shared rules that turn it into the one ``ECG``.

A format module decodes bytes into recorded channels in mV, their names as the file spells them, the
sampling rate and metadata. ``to_ecg`` then applies, the same for every format: the limits of
``limits.py``, the one rule for missing samples (``fill_missing``), the amplitude bound and the lead-name
mapping of ``ECG.from_leads``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ecg import ECG, ECGReadError, UnnamedLeadsError, listed_name
from .limits import (MAX_ABS_MV, MAX_MISSING_FRACTION, UV_AMPLITUDE_THRESHOLD, check_agrees, check_channels,
                     check_fs, check_length, override_names)


@dataclass
class Channels:
    """Recorded channels as a format stores them, before the shared rules apply."""
    signals: np.ndarray                 # float64 (n_channels, n_samples), mV; NaN where a sample is missing
    names: list[str]                    # recorded channel names, one per row
    fs: float                           # Hz
    metadata: dict[str, str] = field(default_factory=dict)
    where: str = "the file"             # how messages name the source, e.g. "CSV file 'rec.csv'"


def with_caller_hints(channels: Channels, lead_names: list[str] | None, fs: float | None) -> Channels:
    """For a format that names its channels and carries its rate: the caller's ``fs`` must agree with the
    file's; the caller's ``lead_names`` (one per channel, in order) replace the file's names."""
    check_fs(channels.fs, channels.where)
    check_agrees(fs, channels.fs, channels.where)
    check_channels(len(channels.names), channels.signals.shape[1], channels.where)
    channels.names = override_names(channels.names, lead_names, len(channels.names), channels.where)
    return channels


def to_ecg(channels: Channels, name: str) -> ECG:
    """Channels -> ECG named ``name``: limits checked, missing samples handled, names mapped."""
    signals, names, fs, meta, where = channels.signals, channels.names, channels.fs, channels.metadata, channels.where
    recorded = list(names)                  # every channel, in the file's order (what lead_names must match)
    check_fs(fs, where)
    check_length(signals.shape[1], fs, where)
    check_channels(signals.shape[0], signals.shape[1], where)
    signals = np.asarray(signals, dtype=np.float64)
    finite = np.isfinite(signals)
    peak = float(np.max(np.abs(signals), where=finite, initial=0.0))
    if peak > MAX_ABS_MV:
        raise ECGReadError(f"{where} holds values up to {peak:.3g} mV after unit "
                           f"conversion, which no ECG reaches (accepted: within +-{MAX_ABS_MV:g} mV); check the "
                           f"units (mV or uV) or the gain in the header")
    if not finite.all():
        signals, keep, notes = fill_missing(signals)
        if not keep.any():
            raise ECGReadError(f"{where} has no usable lead: every lead is missing (NaN/inf) in more than "
                               f"{MAX_MISSING_FRACTION:.0%} of its samples; accepted: finite numbers, "
                               f"with short gaps (they are interpolated)")
        absent = [f"{listed_name(lead)}:{note}" for lead, note, k in zip(names, notes, keep) if note and not k]
        filled = [f"{listed_name(lead)}:{note}" for lead, note, k in zip(names, notes, keep) if note and k]
        if absent:
            meta["absent_leads_missing_data"] = " ".join(absent)
        if filled:
            meta["interpolated_samples"] = " ".join(filled)
        stretches = missing_stretches(~finite[keep], fs)
        if stretches:
            meta[FILLED_STRETCHES] = " ".join(f"{a:.3f}-{b:.3f}" for a, b in stretches)
        signals = signals[keep]
        names = [n for n, k in zip(names, keep) if k]
    if amplitude_basis(meta) in ("declared", "inferred") and looks_range_scaled(signals):
        meta["units"] = RANGE_SCALED_UNITS      # whatever the file says: not voltages (LUDB's copy here says mV)
    try:
        return ECG.from_leads(signals.astype(np.float32), names, fs, name=name, metadata=meta)
    except UnnamedLeadsError as e:      # with every channel of the file, which is what lead_names must match
        raise UnnamedLeadsError(f"{where}: {e}. Pass lead_names=[...] to read_ecg to name the channels "
                                f"(one name per recorded channel, in order)", recorded) from None


FILLED_STRETCHES = "filled_stretches_s"   # metadata: "2.000-3.000 ..." (s from the start of what was read)
FILLED_STRETCH_MIN_S = 0.1                # a shorter run of filled samples changes no beat or interval


def missing_stretches(missing: np.ndarray, fs: float) -> list[tuple[float, float]]:
    """[(start, end) s] where a kept lead's samples were missing (and are filled) for at least
    FILLED_STRETCH_MIN_S: a stretch drawn and measured there would be the filling's straight line."""
    any_missing = np.concatenate([[False], missing.any(axis=0), [False]])
    edges = np.flatnonzero(np.diff(any_missing.astype(np.int8)))
    return [(a / fs, b / fs) for a, b in zip(edges[::2], edges[1::2]) if (b - a) / fs >= FILLED_STRETCH_MIN_S]


def leads_left_out_for_gaps(metadata: dict) -> dict[str, float]:
    """{standard lead: share of its samples missing} of the leads the reader left out because more than
    MAX_MISSING_FRACTION of their samples were missing (``fill_missing``), as the metadata records them."""
    from ..ecg import standard_lead
    out = {}
    for item in str(metadata.get("absent_leads_missing_data", "")).split():
        name, _, counts = item.rpartition(":")
        missing, _, total = counts.partition("/")
        lead = standard_lead(name)
        if lead and missing.isdigit() and total.isdigit() and int(total):
            out[lead] = int(missing) / int(total)
    return out


def filled_stretches(metadata: dict) -> list[tuple[float, float]]:
    """The stretches (start, end) s of an ECG whose missing samples the reader filled by a straight line
    (``fill_missing``), as its metadata records them; [] when none."""
    out = []
    for item in str(metadata.get(FILLED_STRETCHES, "")).split():
        a, _, b = item.partition("-")
        try:
            out.append((float(a), float(b)))
        except ValueError:
            continue
    return out


def fill_missing(signals: np.ndarray, max_fraction: float = MAX_MISSING_FRACTION
                 ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The one rule for missing samples (NaN/inf): a row missing more than ``max_fraction`` of its samples
    (or all of them) is unusable; shorter gaps are filled by linear interpolation.

    Returns (filled copy, usable rows (bool array), a note per row: '' when nothing was missing,
    'n_missing' for a filled row, 'n_missing/n_samples' for an unusable one).
    """
    signals = np.array(signals, dtype=np.float64)
    keep = np.ones(signals.shape[0], dtype=bool)
    notes = [""] * signals.shape[0]
    index = np.arange(signals.shape[1])
    for i, row in enumerate(signals):
        ok = np.isfinite(row)
        n_missing = int((~ok).sum())
        if n_missing == 0:
            continue
        if n_missing > max_fraction * row.size or not ok.any():
            keep[i], notes[i] = False, f"{n_missing}/{row.size}"
            continue
        row[~ok] = np.interp(index[~ok], index[ok], row[ok])
        notes[i] = str(n_missing)
    return signals, keep, notes


def to_mv_factor(unit: str | None) -> float | None:
    """Multiplier from a declared voltage unit to mV; None if the unit is not a voltage."""
    u = (unit or "").strip().lower().replace("μ", "u").replace("µ", "u")
    return {"mv": 1.0, "millivolt": 1.0, "millivolts": 1.0, "uv": 1e-3, "microvolt": 1e-3,
            "microvolts": 1e-3, "v": 1e3, "volt": 1e3, "volts": 1e3, "nv": 1e-6, "nanovolts": 1e-6}.get(u)


# The units are judged on at most this many samples of each lead, spread over all of it: the same judgement
# as on every sample for any lead this short (every 10-s ECG; 8 min at 500 Hz) and for 26 MIT-BIH records of
# 650,000, without copying a 24-hour lead several times (a 92 MB CSV of 23 M rows peaked 528 MB above its
# array).
UNITS_SAMPLES_PER_LEAD = 250_000
_CHUNK = 1 << 20                     # samples summed at a time by looks_z_scored


def _spread_sample(row: np.ndarray) -> np.ndarray:
    """The finite values of at most UNITS_SAMPLES_PER_LEAD samples of `row`: all of them when it has no more,
    else one at a random place (fixed seed: the same file always gives the same answer) in each of that many
    equal blocks, so a rhythm in step with a fixed stride cannot hide its peaks."""
    n = row.shape[0]
    if n > UNITS_SAMPLES_PER_LEAD:
        step = -(-n // UNITS_SAMPLES_PER_LEAD)
        starts = np.arange(0, n, step)
        offsets = np.random.default_rng(0).integers(0, step, size=starts.size)
        row = row[np.minimum(starts + offsets, n - 1)]
    return row[np.isfinite(row)]


def infer_uv(signals: np.ndarray) -> bool:
    """True if unit-less numbers are µV rather than mV (the units rule of ``mets_core.readers``): the median
    over leads of each lead's 99th percentile of |sample - its median| is above UV_AMPLITUDE_THRESHOLD."""
    amps = []
    for row in signals:
        row = _spread_sample(row).astype(np.float64, copy=False)
        if row.size:
            amps.append(np.percentile(np.abs(row - np.median(row)), 99))
    return bool(amps) and float(np.median(amps)) > UV_AMPLITUDE_THRESHOLD


def _finite_moments(row: np.ndarray) -> tuple[int, float, float, bool]:
    """(count, mean, SD, whether it varies) of the finite samples of `row`, a chunk at a time (two passes, as
    numpy's own std): no copy of the whole lead."""
    count, total, low, high = 0, 0.0, np.inf, -np.inf
    for a in range(0, row.shape[0], _CHUNK):
        chunk = row[a:a + _CHUNK].astype(np.float64, copy=False)
        chunk = chunk[np.isfinite(chunk)]
        if chunk.size:
            count, total = count + chunk.size, total + float(chunk.sum())
            low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if count < 2:
        return count, 0.0, 0.0, False
    mean, squares = total / count, 0.0
    for a in range(0, row.shape[0], _CHUNK):
        chunk = row[a:a + _CHUNK].astype(np.float64, copy=False)
        chunk = chunk[np.isfinite(chunk)] - mean
        squares += float(np.dot(chunk, chunk))
    return count, mean, float(np.sqrt(squares / count)), high > low


Z_SCORE_TOLERANCE = 0.02      # every lead's mean within this of 0 and its SD within this of 1: z-scored data
                              # (PTB-XL's z-scored arrays: 0.001 of both; none of 400 LUDB/PTB-XL mV records)
Z_SCORED_UNITS = ("standard deviations of each lead (inferred: every lead has mean 0 and SD 1, as z-scored data "
                  "has): not mV, so amplitudes are relative and voltage criteria do not apply")


RANGE_SCALE_TOLERANCE = 0.01  # every recorded lead's peak-to-peak within 1 % of the others': each lead was scaled
                              # to one size (this project's LUDB copy: all 200 records exactly equal; the 859
                              # PTB-XL mV records: the closest 76 % apart)
MIN_LEADS_FOR_RANGE = 3       # two leads of one size can happen; three or more do not
RANGE_SCALED_UNITS = ("scaled per lead (inferred: every lead has the same peak-to-peak size, whatever the file "
                      "says): not mV, so amplitudes are relative and voltage criteria do not apply")
AMPLITUDE_UNITS = {"z-scored": "SD", "range-scaled": "× lead range"}   # else mV
UNCALIBRATED = "uncalibrated"  # in an "(inferred: ...)" note: the file gives units but marks the scale unknown
                              # (a WFDB gain of 0), not units guessed from the numbers' size


def amplitude_basis(metadata: dict) -> str:
    """What an ECG's numbers are, from the units its reader recorded (``metadata["units"]``, written by
    ``apply_inferred_units``, ``to_ecg`` or from the file's own units): "z-scored" (standard deviations of each
    lead, not mV: ``Z_SCORED_UNITS``), "range-scaled" (each lead scaled to the same peak-to-peak size, not mV:
    ``RANGE_SCALED_UNITS``), "inferred" (taken as mV, or uV scaled to mV, from their size: the file does not say)
    or "declared" (the file's units, converted to mV; also an ECG built in code, which holds mV). The one rule
    the paper, the PDF and the measurements' notes follow."""
    units = str(metadata.get("units", ""))
    if units == Z_SCORED_UNITS:
        return "z-scored"
    if units == RANGE_SCALED_UNITS:
        return "range-scaled"
    return "inferred" if "(inferred" in units else "declared"


def amplitude_unit(metadata: dict) -> str:
    """The unit an ECG's amplitudes are read out in (``amplitude_basis``): "mV", "SD" (z-scored) or "× lead
    range" (each lead scaled to one size)."""
    return AMPLITUDE_UNITS.get(amplitude_basis(metadata), "mV")


RAIL_SHARE = 0.005            # a lead at its extremes this often sits on the recorder's rails (clipped)


def looks_range_scaled(signals: np.ndarray) -> bool:
    """True if at least MIN_LEADS_FOR_RANGE leads vary and all of them have the same peak-to-peak size (within
    RANGE_SCALE_TOLERANCE): numbers scaled lead by lead (to a range of 1, say), not voltages. Leads clipped at
    the recorder's rails (electrodes off: every lead spans the same full scale) are not judged. `signals`:
    finite."""
    if not signals.size:
        return False
    high, low = signals.max(axis=1), signals.min(axis=1)
    at_rails = ((signals == high[:, None]).sum(axis=1) + (signals == low[:, None]).sum(axis=1)
                > RAIL_SHARE * signals.shape[1])
    ranges = (high - low)[~at_rails]
    ranges = ranges[ranges > 0]
    return (len(ranges) >= MIN_LEADS_FOR_RANGE
            and float(ranges.max()) <= float(ranges.min()) * (1 + RANGE_SCALE_TOLERANCE))


def looks_z_scored(signals: np.ndarray) -> bool:
    """True if every recorded lead (finite, not flat) has mean 0 and SD 1 within Z_SCORE_TOLERANCE."""
    judged = 0
    for row in signals:
        count, mean, sd, varies = _finite_moments(row)
        if count < 2 or not varies:
            continue
        if abs(mean) > Z_SCORE_TOLERANCE or abs(sd - 1.0) > Z_SCORE_TOLERANCE:
            return False
        judged += 1
    return judged > 0


def apply_inferred_units(signals: np.ndarray, meta: dict[str, str]) -> np.ndarray:
    """Unit-less numbers in mV (scaled if ``infer_uv``), or left as they are when they look z-scored
    (``looks_z_scored``: not mV at all); ``meta['units']`` says which rule decided."""
    if looks_z_scored(signals):
        meta["units"] = Z_SCORED_UNITS
        return signals
    if infer_uv(signals):
        meta["units"] = f"uV (inferred: typical amplitude above {UV_AMPLITUDE_THRESHOLD:g})"
        with np.errstate(invalid="ignore", over="ignore"):   # non-finite samples are judged after scaling
            return signals * 1e-3
    meta["units"] = f"mV (inferred: typical amplitude at most {UV_AMPLITUDE_THRESHOLD:g})"
    return signals
