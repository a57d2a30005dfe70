"""NumPy ``.npy`` arrays and ``.npz`` archives, never unpickled; an ``.npy`` header is checked against the data
size before numpy allocates the array.

Arrays without lead names are accepted only with exactly twelve leads, taken in the standard order
I II III aVR aVL aVF V1-V6 (the convention of PTB-XL and the PhysioNet Challenges). The sampling rate comes
from ``fs=`` or an ``fs`` entry of the ``.npz``; units from a ``units`` entry, else the inferred-units rule.
"""
from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from ..ecg import ECGReadError, STANDARD_LEADS, UnnamedLeadsError
from .channels import Channels, apply_inferred_units, to_mv_factor
from .limits import MAX_NPY_HEADER_BYTES, MAX_TOTAL_SAMPLES, brief, check_fs, check_length, counted, override_names
from .upload import unzip

ACCEPTED_NUMPY = ("a numeric 2-D array, (leads, samples) or (samples, leads) with at most 12 leads; "
                  ".npz entries 'signal' (that array), 'fs' (Hz), optional 'leads' (names, a unicode array) "
                  "and 'units' ('mV' or 'uV'); files are never unpickled")


def _npy_header(data: bytes, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of one .npy array, from its header alone: checked against the data size and the
    limits before numpy allocates anything."""
    fp = io.BytesIO(data)
    not_npy = f"{where} is not a valid .npy array"
    try:
        version = np.lib.format.read_magic(fp)
    except ValueError:
        raise ECGReadError(f"{not_npy} (it does not start as a NumPy file does); accepted: {ACCEPTED_NUMPY}.") from None
    size_bytes = 2 if version == (1, 0) else 4
    declared = int.from_bytes(data[fp.tell():fp.tell() + size_bytes], "little")
    if version not in ((1, 0), (2, 0), (3, 0)) or declared > MAX_NPY_HEADER_BYTES:
        raise ECGReadError(f"{not_npy}: its header (format version {version[0]}.{version[1]}, {declared:,} bytes) "
                           f"is not one numpy writes (versions 1.0-3.0, at most {MAX_NPY_HEADER_BYTES:,} bytes); "
                           f"accepted: {ACCEPTED_NUMPY}.")
    try:
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(fp, max_header_size=MAX_NPY_HEADER_BYTES)
    except Exception:          # numpy quotes the header (a hostile one holds code); say what it should be
        raise ECGReadError(f"{not_npy}: its header is not a valid NumPy header (a dictionary of 'descr', "
                           f"'fortran_order' and 'shape', as numpy.save writes it); accepted: "
                           f"{ACCEPTED_NUMPY}.") from None
    if dtype.hasobject or dtype.kind not in "iuf" or dtype.fields is not None:
        raise ECGReadError(f"{where} holds an array of dtype {dtype}; accepted: {ACCEPTED_NUMPY}.")
    if any(n < 0 for n in shape):
        raise ECGReadError(f"{not_npy}: its header declares the shape {shape}, with a negative size; "
                           f"accepted: {ACCEPTED_NUMPY}.")
    n_items = math.prod(shape)           # Python integers: a product past 2**63 does not wrap to 0
    if n_items * dtype.itemsize > len(data) - fp.tell():
        raise ECGReadError(f"{where} is truncated: its header declares shape {shape} but the data are shorter.")
    if n_items > MAX_TOTAL_SAMPLES:
        raise ECGReadError(f"{where} declares {n_items:,} values; at most {MAX_TOTAL_SAMPLES:,} are accepted.")
    return shape, dtype


def _load_npy(data: bytes, where: str) -> np.ndarray:
    """One .npy array, its header checked (``_npy_header``) before numpy allocates it."""
    _npy_header(data, where)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:
        raise ECGReadError(f"{where} could not be loaded ({brief(e)}); accepted: {ACCEPTED_NUMPY}.") from None


def _shape_words(shape: tuple[int, ...]) -> str:
    """An array's shape for a message: 'a 12 x 5,000 array', 'a list of 5,000 numbers', 'a single number'."""
    if not shape:
        return "a single number"
    if len(shape) == 1:
        return f"a list of {counted(shape[0], 'number')}"
    return "a " + " x ".join(f"{n:,}" for n in shape) + " array"


def _leads_first(shape: tuple[int, ...], n_names: int | None, where: str, names_from: str = "") -> bool:
    """True if an array of `shape` is (leads, samples), False if (samples, leads); refused otherwise.
    `names_from`: where `n_names` names came from, when not from the caller (" in its 'leads' entry")."""
    if len(shape) == 1:
        return True
    if len(shape) != 2:
        raise ECGReadError(f"{where} holds an array of shape {shape}; accepted: {ACCEPTED_NUMPY}.")
    a, b = shape
    if n_names is not None:
        if a == n_names and b != n_names:
            return True
        if b == n_names and a != n_names:
            return False
        if a == b == n_names:
            raise ECGReadError(f"{where}: the array is {a} x {b}, so it is unclear which axis holds the leads; "
                               f"give more samples than leads.")
        leads = min(a, b)             # an ECG has far more samples than leads
        raise ECGReadError(f"{where}: {counted(n_names, 'lead name')} given{names_from}, but its ECG array "
                           f"({a:,} x {b:,}) holds {counted(leads, 'lead')} of {max(a, b):,} samples; give one "
                           f"name per lead, in order: {counted(leads, 'name')}{names_from}.")
    if a <= 12 < b:
        return True
    if b <= 12 < a:
        return False
    raise ECGReadError(f"{where}: an array of shape {shape} is not (leads, samples) or (samples, leads) "
                       f"with at most 12 leads and more samples than leads; accepted: {ACCEPTED_NUMPY}.")


def _checked_layout(data: bytes, n_names: int | None, where: str, names_from: str = "") -> tuple[bool, int, int]:
    """(leads first, number of leads, samples per lead) of an .npy array, from its header alone."""
    shape, _ = _npy_header(data, where)
    leads_first = _leads_first(shape, n_names, where, names_from)
    if len(shape) == 1:
        return True, 1, shape[0]
    return (leads_first, shape[0], shape[1]) if leads_first else (leads_first, shape[1], shape[0])


def _as_leads_by_samples(arr: np.ndarray, leads_first: bool) -> np.ndarray:
    arr = arr[None, :] if arr.ndim == 1 else arr
    return (arr if leads_first else arr.T).astype(np.float64)


def _numpy_names(n_leads: int, lead_names: list[str] | None, where: str, meta: dict[str, str]) -> list[str]:
    if lead_names is not None:
        return override_names([], lead_names, n_leads, where)
    if n_leads == len(STANDARD_LEADS):
        meta["lead_order"] = "assumed standard order I II III aVR aVL aVF V1-V6 (no names in the file)"
        return list(STANDARD_LEADS)
    # the caller can say which lead each row is (the dashboard asks, the command line takes --lead-names):
    # the channels are named by their place, as a WFDB channel without a name is
    unnamed = "lead without a name" if n_leads == 1 else "leads without names"
    raise UnnamedLeadsError(f"{where} holds {n_leads} {unnamed}; pass lead_names=[...] (one per lead, in "
                            f"order), or store a 'leads' entry in an .npz; only 12 unnamed leads are taken in the "
                            f"standard order I II III aVR aVL aVF V1-V6.",
                            [f"channel{i + 1}" for i in range(n_leads)])


def _numpy_fs(fs: float | None, stored: float | None, where: str) -> float:
    if fs is not None and stored is not None and abs(fs - stored) > 0.01 * stored:
        raise ECGReadError(f"{where} stores fs={stored:g} Hz but the fs argument says {fs:g} Hz; make them agree.")
    rate = fs if fs is not None else stored
    if rate is None:
        raise ECGReadError(f"{where} does not say its sampling rate; pass fs=500 (Hz) to read_ecg, or store an "
                           f"'fs' entry in an .npz.")
    return float(rate)


# numpy.savez names the arrays passed without a keyword arr_0, arr_1, ...
_UNNAMED_ENTRY = re.compile(r"arr_\d+")
SAVE_NAMED = ("save the archive again with the ECG under the name 'signal' (leads x samples, or samples x leads), "
              "its sampling rate under 'fs' (Hz) and, optionally, its lead names under 'leads' and its units under "
              "'units' ('mV' or 'uV')")


def _no_signal_entry(members: dict[str, bytes], where: str) -> str:
    """What an .npz without a 'signal' entry holds (each array by its shape) and how to save it so that it reads."""
    if not members:
        return f"{where} holds no arrays; {SAVE_NAMED}."

    def described(name: str) -> str:
        try:
            shape, _ = _npy_header(members[name], where)
        except ECGReadError:
            return "not an array of numbers"
        return _shape_words(shape)

    names = sorted(members, key=lambda k: (len(k), k))
    if len(names) == 1 and _UNNAMED_ENTRY.fullmatch(names[0]):
        return (f"{where} holds one array, saved without a name ({described(names[0])}), where the ECG is looked "
                f"for under the name 'signal'; {SAVE_NAMED}.")
    if all(_UNNAMED_ENTRY.fullmatch(k) for k in names):
        arrays = "; ".join(f"the {_ORDINALS[i]} is {described(k)}" for i, k in enumerate(names[:len(_ORDINALS)]))
        more = ", ..." if len(names) > len(_ORDINALS) else ""
        return (f"{where} holds {len(names)} arrays saved without names ({arrays}{more}), so which one is the ECG "
                f"is not known; {SAVE_NAMED}.")
    arrays = ", ".join(f"{k!r} ({described(k)})" for k in names[:6]) + (", ..." if len(names) > 6 else "")
    return f"{where} has entries {arrays}, but none named 'signal'; {SAVE_NAMED}."


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def read_npy(data: bytes, filename: str, lead_names: list[str] | None = None, fs: float | None = None) -> Channels:
    where = f"NumPy file {filename!r}"
    meta = {"source_format": "npy", "record_name": Path(filename).stem, "files": filename}
    # names, rate and length from the header, before the array is loaded
    leads_first, n_leads, n_samples = _checked_layout(data, len(lead_names) if lead_names else None, where)
    names = _numpy_names(n_leads, lead_names, where, meta)
    rate = _numpy_fs(fs, None, where)
    check_fs(rate, where)
    check_length(n_samples, rate, where)
    signals = _as_leads_by_samples(_load_npy(data, where), leads_first)
    signals = apply_inferred_units(signals, meta)
    return Channels(signals, names, rate, meta, where)


def read_npz(data: bytes, filename: str, lead_names: list[str] | None = None, fs: float | None = None) -> Channels:
    where = f"NumPy archive {filename!r}"
    members = {Path(k).stem: v for k, v in unzip(data, filename).items() if k.endswith(".npy")}
    signal_key = next((k for k in ("signal", "signals", "ecg") if k in members), None)
    if signal_key is None:
        raise ECGReadError(_no_signal_entry(members, where))
    signal_where = f"{where} entry {signal_key!r}"
    _npy_header(members[signal_key], signal_where)
    meta = {"source_format": "npz", "record_name": Path(filename).stem, "files": filename}
    stored_fs = None
    if "fs" in members:
        try:
            fs_arr = _load_npy(members["fs"], f"{where} entry 'fs'")
        except ECGReadError:          # text ('500'), or not an array numpy.save wrote
            raise ECGReadError(f"{where}: entry 'fs' must be a single number of Hz, e.g. 500, saved as a number "
                               f"(not as text).") from None
        if fs_arr.size != 1:
            raise ECGReadError(f"{where}: entry 'fs' must be a single number of Hz, got shape {fs_arr.shape}.")
        stored_fs = float(fs_arr.reshape(-1)[0])
    stored_names = None
    if "leads" in members:
        try:
            leads_arr = np.load(io.BytesIO(members["leads"]), allow_pickle=False)
        except Exception:
            raise ECGReadError(f"{where}: entry 'leads' must be a unicode string array, e.g. "
                               f"np.array(['I', 'II']) (an array of Python objects is never unpickled).") from None
        if leads_arr.dtype.kind not in "US" or leads_arr.ndim != 1:
            raise ECGReadError(f"{where}: entry 'leads' must be a 1-D unicode string array, e.g. "
                               f"np.array(['I', 'II']).")
        stored_names = [x.decode() if isinstance(x, bytes) else str(x) for x in leads_arr.tolist()]
    names_in = lead_names if lead_names is not None else stored_names
    from_archive = " in its 'leads' entry" if lead_names is None and stored_names is not None else ""
    leads_first, n_leads, n_samples = _checked_layout(members[signal_key], len(names_in) if names_in else None,
                                                      where, from_archive)
    names = _numpy_names(n_leads, names_in, where, meta)
    rate = _numpy_fs(fs, stored_fs, where)
    check_fs(rate, where)
    check_length(n_samples, rate, where)
    signals = _as_leads_by_samples(_load_npy(members[signal_key], signal_where), leads_first)
    if "units" in members:
        try:
            unit = str(np.load(io.BytesIO(members["units"]), allow_pickle=False).reshape(-1)[0])
        except Exception:
            unit = None
        factor = to_mv_factor(unit)
        if factor is None:
            raise ECGReadError(f"{where}: entry 'units' must be 'mV', 'uV' or 'V', got {unit!r}.")
        signals = signals * factor
        meta["units"] = f"{unit} (declared)"
    else:
        signals = apply_inferred_units(signals, meta)
    return Channels(signals, names, rate, meta, where)
