"""Every input format -> one ``ECG``.

``read_ecg(source)`` accepts a filesystem path, raw bytes, or a list of ``(filename, bytes)`` pairs
(several files uploaded together, e.g. a ``.hea`` with its ``.dat``). Formats:

* WFDB records (``.hea`` + ``.dat`` in any format wfdb reads; PhysioNet Challenge ``.hea`` + ``.mat``),
  always decoded by wfdb itself. Uploaded bytes stay in memory: they are served to ``wfdb.rdrecord``
  through a private in-memory fsspec filesystem (see ``_UploadFileSystem``), never written to disk.
* a ``.zip`` holding one record (or one file of another format);
* CSV: a header row of lead names, an optional time column, mV or µV;
* NumPy ``.npy`` / ``.npz`` (never unpickled);
* DICOM 12-lead ECG waveform files (pydicom);
* hospital and device exports, one module each in ``mets_core.formats``: GE MUSE XML, Philips Sierra XML
  (incl. XLI-compressed), HL7 aECG XML (XML parsed with entities and external references refused),
  EDF/EDF+/BDF (edfio).

Every failure is an ``ECGReadError`` (a ``ValueError``) whose message says what was wrong and what is
accepted; errors of wfdb, zipfile, numpy and pydicom on bad input are wrapped, never leaked. Nothing read
is logged (pydicom's value-quoting validation warnings are switched off while an upload is decoded).

Rules the readers apply (so that nothing is guessed silently):

* Limits, checked before anything large is read or allocated: each uploaded file and the whole upload at
  most ``MAX_UPLOAD_BYTES`` (files read from a path: ``MAX_FILE_BYTES``, so that a 24-hour Holter in
  16-bit samples opens); a sampling rate in [``MIN_FS``, ``MAX_FS``] Hz; at least 2 samples; at most
  ``MAX_CHANNELS`` channels, ``MAX_TOTAL_SAMPLES`` recorded samples and ``MAX_SAMPLES_PER_LEAD`` samples per
  lead (memory: an ``ECG`` holds twelve float32 rows, 1.1 GB at that length; a 24-hour Holter at 250 Hz has
  21.6 M); ``MAX_DURATION_S`` is only an outer bound on plausible recordings (14 days); a WFDB
  header at most ``MAX_HEADER_BYTES`` with at most ``MAX_CHANNELS`` signal lines (``MAX_SEGMENTS`` segment
  lines), checked before wfdb parses it.
* Units. WFDB and DICOM declare their units, which are converted to mV. CSV columns may carry a unit
  suffix (``II (uV)``, ``V1_mV``, ``I [µV]``), a ``# units=uV`` comment, or a units row under the header;
  NPZ files a ``units`` entry. Without any of these the numbers are taken as mV unless their typical peak
  amplitude (median over leads of the 99th percentile of ``|x - median(x)|``) exceeds
  ``UV_AMPLITUDE_THRESHOLD`` (20): no surface ECG reaches 20 mV (QRS complexes are below ~5 mV) while
  every ECG stored in µV does (QRS complexes are above ~100 µV). Such data are read as µV; the metadata
  key ``units`` says which rule decided.
* Sampling rate. WFDB and DICOM carry it. CSV: the ``fs=`` keyword, a ``# fs=500`` comment, a time
  column (seconds, or ms when the column is named so), or the file name (``rec_500hz.csv``). NumPy:
  ``fs=`` or an ``fs`` entry in the ``.npz``. It is never guessed.
* Missing samples (NaN/inf, or WFDB's invalid-sample code). A lead with no finite sample, or with more
  than ``MAX_MISSING_FRACTION`` of its samples missing, is treated as absent (masked); shorter gaps are
  filled by linear interpolation and counted in ``metadata["interpolated_samples"]``. If no lead is
  left the input is refused.
* Amplitudes: after unit conversion no value may exceed ``MAX_ABS_MV`` (a wrong gain or unit, not an ECG).
* Lead names are mapped by ``mets_core.ecg.LEAD_ALIASES``; non-standard leads (Frank X/Y/Z, QTDB's
  ``ECG1``/``D4``/``V1-V2``) are dropped. ``lead_names=`` renames the recorded channels in order. A
  WFDB signal file named by the header but absent is refused if it holds a standard lead, and skipped
  (``metadata["missing_signal_files"]``) if it holds only non-standard ones (PTB's ``.xyz`` Frank leads).
  DICOM channels that are not voltages (respiration, pressure) are left out.
* Metadata: ``source_format``, ``record_name``, ``files``, ``units``, ``comments`` (WFDB header comments),
  ``lead_sources``/``dropped_leads`` (from ``ECG.from_leads``) and the notes above. No patient identifiers
  are copied from DICOM files.
* NumPy arrays without lead names are accepted only with exactly twelve leads, taken in the standard
  order I II III aVR aVL aVF V1-V6 (the convention of PTB-XL and the PhysioNet Challenges).
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
import threading
import uuid
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import fsspec
import numpy as np

with warnings.catch_warnings():
    # wfdb builds its annotation tables at import with DataFrame.set_index(inplace=True), which pandas >= 3.1
    # deprecates (one warning per table); nothing of ours can change that call, so only it is silenced.
    warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.set_index", category=Warning)
    import wfdb
    from wfdb.io import _coreio
    from wfdb.io import _signal as _wfdb_signal

from .ecg import ECG, ECGReadError, STANDARD_LEADS, standard_lead

MAX_UPLOAD_BYTES = 100 * 1024 * 1024     # per file and per upload (also the cap on a zip's unpacked size)
MAX_FILE_BYTES = 256 * 1024 * 1024       # per file and per record read from a path (24 h x 3 leads x 250 Hz x 2 B)
MIN_FS, MAX_FS = 50.0, 10_000.0          # Hz
MAX_DURATION_S = 14 * 24 * 3600.0        # outer bound (patch Holters record up to 14 days); samples cap first
MAX_CHANNELS = 64                        # channels in one record (PTB has 15, 12-lead Holters 12)
MAX_TOTAL_SAMPLES = 80_000_000           # recorded channels x samples (3 leads, 24 h at 250 Hz = 64.8 M)
MAX_SAMPLES_PER_LEAD = 24_000_000        # 24 h at 250 Hz = 21.6 M; the ECG's 12 float32 rows take 1.15 GB
MAX_ZIP_ENTRIES = 1000
MAX_HEADER_BYTES = 1024 * 1024           # a WFDB header is a few kB of text (PTB's, with its clinical notes, 3 kB)
MAX_SEGMENTS = 1000                      # segments of one multi-segment WFDB record
MAX_MISSING_FRACTION = 0.10              # a lead missing more than this is treated as absent
UV_AMPLITUDE_THRESHOLD = 20.0            # see module docstring
MAX_ABS_MV = 10_000.0                    # 10 V: beyond any ECG, even with a DC electrode offset

ACCEPTED_FORMATS = (
    "WFDB record (.hea with its .dat, or PhysioNet Challenge .hea with its .mat), a .zip holding one, "
    "CSV with a header row of lead names, NumPy .npy/.npz, DICOM 12-lead ECG waveform (.dcm), "
    "GE MUSE / Philips / HL7 aECG XML (.xml), EDF/EDF+/BDF (.edf/.bdf)")
ACCEPTED_LEAD_NAMES = (
    "I II III aVR aVL aVF V1-V6 and spellings such as i, DI, D3, avr, AVR, MLII, CM5, ECG "
    "(see mets_core.ecg.LEAD_ALIASES)")

# 'NAME[/SEGMENTS] N_SIGNALS [FS[/COUNTER_FS][(BASE)] [N_SAMPLES ...]]', the first line of a WFDB header
_WFDB_RECORD_LINE = re.compile(r"^\s*[^\s,;]+(/\d+)?\s+\d+(\s+\d+(\.\d+)?(/\d+(\.\d+)?)?(\(\d+(\.\d+)?\))?)?(\s|$)")
_UNNAMED = "uploaded data"       # file name of raw bytes given without a name
_CSV_EXTENSIONS = {".csv", ".tsv", ".txt"}
_DICOM_EXTENSIONS = {".dcm", ".dicom"}
_XML_EXTENSIONS = {".xml"}
_EDF_EXTENSIONS = {".edf", ".bdf", ".rec"}
_KNOWN_EXTENSIONS = {".hea", ".dat", ".mat", ".zip", ".npy", ".npz", *_CSV_EXTENSIONS, *_DICOM_EXTENSIONS,
                     *_XML_EXTENSIONS, *_EDF_EXTENSIONS}
# file extensions an upload widget should offer (the dashboard's list)
UPLOAD_EXTENSIONS = sorted(e.lstrip(".") for e in _KNOWN_EXTENSIONS)
_ANNOTATION_EXTENSIONS = {".atr", ".ann", ".q1c", ".q2c", ".qt1", ".qt2", ".pu", ".pu0", ".pu1", ".man",
                          ".qrs", ".ari"}
# Files that travel with WFDB records (annotations, lists, checksums) and are ignored when reading signals.
_IGNORED_NAMES = re.compile(r"(^\.|^__MACOSX$|^RECORDS$|^ANNOTATORS$|^SHA256SUMS|^LICENSE|^README)", re.I)


def read_ecg(source, name: str | None = None, *, lead_names: Sequence[str] | None = None,
             fs: float | None = None) -> ECG:
    """Read one ECG from a path, bytes, or a list of (filename, bytes) pairs.

    ``name``: the ECG's display name; for raw bytes also the file name that tells the format
    (``"rec.csv"``); for an upload holding several records, the record to read.
    ``lead_names``: names for the recorded channels, in order, for files without (usable) names.
    ``fs``: sampling rate in Hz, for formats that do not carry one (CSV without time column, NumPy).
    """
    if lead_names is not None:
        if isinstance(lead_names, (str, bytes)) or not all(isinstance(n, str) for n in lead_names):
            raise ECGReadError("lead_names must be a list of strings, e.g. ['I', 'II', 'V1']")
        lead_names = list(lead_names)
    if fs is not None:
        try:
            fs = float(fs)
        except (TypeError, ValueError):
            raise ECGReadError(f"fs must be a number of Hz between {MIN_FS:g} and {MAX_FS:g}, got {fs!r}") from None
        _check_fs(fs, "the fs argument")
    files = _expand_archives(_collect(source, name))
    return _read_files(files, name, lead_names, fs)


# --------------------------------------------------------------------------------------------------
# Gathering the input into {file name: bytes}

def _collect(source, name: str | None) -> dict[str, bytes]:
    if isinstance(source, (str, os.PathLike)):
        return _collect_path(Path(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        _check_size(len(source), "the upload")
        # raw bytes: the name (if it has an extension) tells the format, else the content does
        filename = _safe_basename(name) if name and Path(name).suffix else _UNNAMED
        return {filename: bytes(source)}
    if isinstance(source, Mapping):
        source = list(source.items())
    if isinstance(source, Sequence):
        files: dict[str, bytes] = {}
        total = 0
        for item in source:
            if (not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str)
                    or not isinstance(item[1], (bytes, bytearray, memoryview))):
                raise ECGReadError("a list source must hold (filename, bytes) pairs, e.g. "
                                   "[('rec.hea', hea_bytes), ('rec.dat', dat_bytes)]")
            filename = _safe_basename(item[0])
            if filename in files:
                raise ECGReadError(f"the file name {filename!r} appears twice in the upload")
            total += len(item[1])
            _check_size(total, "the upload")
            files[filename] = bytes(item[1])
        if not files:
            raise ECGReadError(f"no files were given; accepted: {ACCEPTED_FORMATS}")
        return files
    raise ECGReadError(f"cannot read a {type(source).__name__}: give a file path, bytes, or a list of "
                       f"(filename, bytes) pairs holding a {ACCEPTED_FORMATS}")


def _collect_path(path: Path) -> dict[str, bytes]:
    """Read a path (and, for WFDB, the files its header names) into memory, size-checked first."""
    suffix = path.suffix.lower()
    if not path.exists() and not path.suffix and path.with_name(path.name + ".hea").is_file():
        suffix, path = ".hea", path.with_name(path.name + ".hea")       # record name without extension
    if not path.exists():
        raise ECGReadError(f"no such file: {str(path)!r}")
    if not path.is_file():
        raise ECGReadError(f"{str(path)!r} is not a file; give a {ACCEPTED_FORMATS}")
    if suffix in (".dat", ".mat") and path.with_suffix(".hea").is_file():
        path, suffix = path.with_suffix(".hea"), ".hea"                  # signal file -> its header
    first = path.stem + ".hea" if suffix == ".hea" else path.name     # 'REC.HEA' is read as 'REC.hea'
    files = {first: _read_file(path)}
    if suffix != ".hea":
        return files
    # a header: also read the files it names (signal files; segment headers and theirs), size-checked
    total, pending = len(files[first]), [first]
    while pending:
        for needed in _wfdb_files_named(files, pending.pop()):
            sibling = path.parent / needed
            if needed in files or needed != PurePosixPath(needed).name or not sibling.is_file():
                continue    # missing or not a plain name: reported when the record is read
            files[needed] = _read_file(sibling)
            total += len(files[needed])
            _check_size(total, f"record {path.stem!r}", MAX_FILE_BYTES)
            if needed.lower().endswith(".hea"):
                pending.append(needed)
    return files


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        _check_size(size, f"file {path.name!r}", MAX_FILE_BYTES)
        with open(path, "rb") as f:
            # read(n) allocates n bytes up front: ask for the stated size, then go on in small steps
            # (a file that grew since stat, or one that states 0 bytes) until EOF or just over the limit
            chunks = [f.read(size + 1)]
            total = len(chunks[0])
            while total <= MAX_FILE_BYTES and (chunk := f.read(min(1 << 20, MAX_FILE_BYTES + 1 - total))):
                chunks.append(chunk)
                total += len(chunk)
    except OSError as e:
        raise ECGReadError(f"cannot read {str(path)!r}: {e.strerror or e}") from None
    _check_size(total, f"file {path.name!r}", MAX_FILE_BYTES)
    return b"".join(chunks)


def _check_size(n_bytes: int, what: str, limit: int = MAX_UPLOAD_BYTES) -> None:
    if n_bytes > limit:
        raise ECGReadError(f"{what} is {n_bytes / 2**20:.0f} MB; at most {limit / 2**20:.0f} MB is accepted"
                           + (" in an upload (read longer records from a file path, e.g. with the mets command)"
                              if limit == MAX_UPLOAD_BYTES else ""))


def _check_safe_path(filename: str) -> list[str]:
    """The parts of a relative path; absolute paths and paths that climb out of their folder are refused."""
    parts = filename.replace("\\", "/").split("/")
    if filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", filename) or ".." in parts:
        raise ECGReadError(f"unsafe file name {filename!r} (absolute or containing '..'); "
                           f"file names must be plain names such as 'rec.hea'")
    return parts


def _safe_basename(filename: str) -> str:
    """The file name without folders (see _check_safe_path)."""
    base = _check_safe_path(filename)[-1].strip()
    if not base:
        raise ECGReadError(f"empty file name {filename!r}")
    return base


def _is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _is_npz(filename: str, data: bytes) -> bool:
    if Path(filename).suffix.lower() == ".npz":
        return True
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except Exception:
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


def _expand_archives(files: dict[str, bytes]) -> dict[str, bytes]:
    """Unpack uploaded zips (one level: a zip inside a zip is refused); .npz stays whole."""
    out: dict[str, bytes] = {}
    for filename, data in files.items():
        if data and (_is_zip(data) or filename.lower().endswith(".zip")) and not _is_npz(filename, data):
            for inner_name, inner in _unzip(data, filename).items():
                if _is_zip(inner) and not _is_npz(inner_name, inner):
                    raise ECGReadError(f"{filename!r} contains another zip archive ({inner_name!r}); "
                                       f"nested archives are not accepted: zip the record files directly")
                _add_unique(out, inner_name, inner)
        else:
            _add_unique(out, filename, data)
    return out


def _add_unique(files: dict[str, bytes], filename: str, data: bytes) -> None:
    if filename in files:
        raise ECGReadError(f"two files are named {filename!r}; upload one record at a time")
    files[filename] = data


def _unzip(data: bytes, archive: str) -> dict[str, bytes]:
    """Members of a zip, checked before extraction: names, symlinks, encryption, declared sizes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as e:      # zipfile raises several types on garbage
        raise ECGReadError(f"{archive!r} is not a readable zip archive ({_brief(e)}); "
                           f"accepted: {ACCEPTED_FORMATS}") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ECGReadError(f"{archive!r} holds {len(infos)} entries; at most {MAX_ZIP_ENTRIES} are accepted")
    wanted, total = [], 0
    for info in infos:
        _check_safe_path(info.filename)               # refuses ../ and absolute names
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ECGReadError(f"{archive!r} contains a symbolic link ({info.filename!r}); links are not accepted")
        if info.is_dir():
            continue
        base = _safe_basename(info.filename)
        if info.filename.startswith("__MACOSX/") or _IGNORED_NAMES.match(base):
            continue
        if info.flag_bits & 0x1:
            raise ECGReadError(f"{archive!r} is encrypted ({info.filename!r}); upload an unencrypted zip")
        total += info.file_size
        if total > MAX_UPLOAD_BYTES:
            raise ECGReadError(f"{archive!r} unpacks to more than {MAX_UPLOAD_BYTES / 2**20:.0f} MB "
                               f"(declared sizes); at most that much is accepted")
        wanted.append((info, base))
    out: dict[str, bytes] = {}
    try:
        for info, base in wanted:
            with zf.open(info) as member:
                content = member.read(info.file_size + 1)
            if len(content) != info.file_size:
                raise ECGReadError(f"{archive!r}: member {info.filename!r} does not match its declared size")
            _add_unique(out, base, content)
    except ECGReadError:
        raise
    except Exception as e:      # zipfile, zlib, bz2 and lzma each raise their own errors on damaged data
        raise ECGReadError(f"{archive!r} is a damaged zip archive ({_brief(e)}); upload an "
                           f"intact .zip") from None
    if not out:
        raise ECGReadError(f"{archive!r} is empty; it must hold a {ACCEPTED_FORMATS}")
    return out


# --------------------------------------------------------------------------------------------------
# Dispatch

def _read_files(files: dict[str, bytes], name: str | None, lead_names: list[str] | None,
                fs: float | None) -> ECG:
    files = {k: v for k, v in files.items() if not _IGNORED_NAMES.match(k)}
    for k in [k for k in files if k.lower().endswith(".hea") and not k.endswith(".hea")]:
        if k[:-4] + ".hea" not in files:         # 'REC.HEA' (DOS-era names): wfdb opens 'REC.hea'
            files[k[:-4] + ".hea"] = files.pop(k)
    headers = sorted(k for k in files if k.endswith(".hea"))
    if headers:
        record = _choose_record(files, headers, name)
        return _read_wfdb(files, record, _display_name(name) or record, lead_names, fs)
    data_files = [k for k in files if _kind(k, files[k]) != "annotation"]
    if len(data_files) != 1:
        listed = ", ".join(sorted(files)[:10]) or "none"
        raise ECGReadError(f"expected one ECG file, got {len(data_files)} ({listed}); accepted: "
                           f"{ACCEPTED_FORMATS}")
    filename = data_files[0]
    data = files[filename]
    display = _display_name(name) or (Path(filename).stem if filename != _UNNAMED else "ecg")
    kind = _kind(filename, data)
    if not data:
        raise ECGReadError(f"{filename!r} is empty (0 bytes); accepted: {ACCEPTED_FORMATS}")
    if kind == "wfdb-signal":
        raise ECGReadError(f"{filename!r} is a WFDB signal file without its header: it needs "
                           f"{Path(filename).stem + '.hea'!r} beside it (in the same folder, the same upload, "
                           f"or one .zip)")
    if kind == "wfdb-header":
        raise ECGReadError(f"{filename!r} looks like a WFDB header, which needs its signal file "
                           f"(.dat/.mat) beside it")
    if kind == "xml-unknown":
        raise ECGReadError(f"{filename!r} is an XML file but not a GE MUSE (<RestingECG>), Philips "
                           f"(<restingecgdata>) or HL7 aECG (<AnnotatedECG>) ECG; accepted: {ACCEPTED_FORMATS}")
    if kind in _FORMAT_MODULES:
        return _read_format(kind, data, filename, display, lead_names, fs)
    readers = {"csv": _read_csv, "npy": _read_npy, "npz": _read_npz, "dicom": _read_dicom}
    if kind not in readers:
        what = (f"file type {Path(filename).suffix!r} of {filename!r} is not supported" if Path(filename).suffix
                else f"the format of {filename!r} is not recognised (not a zip, .npy, DICOM, XML, EDF or "
                     f"text file)")
        raise ECGReadError(f"{what}; accepted: {ACCEPTED_FORMATS}")
    return readers[kind](data, filename, display, lead_names, fs)


_FORMAT_MODULES = ("muse", "philips", "hl7aecg", "edf")


def _read_format(kind: str, data: bytes, filename: str, display: str, lead_names: list[str] | None,
                 fs: float | None) -> ECG:
    """A format of ``mets_core.formats``: decoded there, finished here under the shared rules."""
    from .formats import read
    channels = read(kind, data, filename)
    where = f"{filename!r}"
    _check_fs(channels.fs, where)
    _check_agrees(fs, channels.fs, where)
    _check_channels(len(channels.names), channels.signals.shape[1], where)
    names = _override_names(channels.names, lead_names, len(channels.names), where)
    meta = {"record_name": Path(filename).stem, "files": filename, **channels.metadata}
    return _finish(channels.signals, names, channels.fs, display, meta, where)


def _display_name(name: str | None) -> str | None:
    """The ECG's name: the caller's name, without the extension when it is a file name we read."""
    if name and Path(name).suffix.lower() in _KNOWN_EXTENSIONS:
        return Path(name).stem
    return name


def _kind(filename: str, data: bytes) -> str:
    """What a file is, by extension first and by content for unknown or missing extensions."""
    ext = Path(filename).suffix.lower()
    if ext == ".hea":
        return "wfdb-header"
    if ext in (".dat", ".mat", ".xyz"):
        return "wfdb-signal"
    if ext in _ANNOTATION_EXTENSIONS or (ext and standard_lead(ext[1:]) is not None):
        return "annotation"     # WFDB annotations (.atr, .q1c, LUDB's per-lead .i ... .v6) travel with records
    if ext in _CSV_EXTENSIONS:
        return "csv"
    if ext == ".npy":
        return "npy"
    if ext == ".npz":
        return "npz"
    if ext in _DICOM_EXTENSIONS:
        return "dicom"
    if ext in _XML_EXTENSIONS or ext in _EDF_EXTENSIONS:
        from .formats import sniff
        found = sniff(filename, data)
        if ext in _EDF_EXTENSIONS:
            return "edf"        # edfio says what is wrong with a damaged header
        return found or "xml-unknown"
    if ext and ext != ".bin":
        return "unknown"
    # no extension (raw bytes): sniff the content
    from .formats import sniff
    found = sniff(filename, data)
    if found:
        return found
    if data[:6] == b"\x93NUMPY":
        return "npy"
    if _is_zip(data):
        return "npz"
    if data[128:132] == b"DICM":
        return "dicom"
    text = _as_text(data[:4096])
    if text is None:
        return "unknown"
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if _WFDB_RECORD_LINE.match(first):
        return "wfdb-header"
    return "csv"


def _as_text(data: bytes) -> str | None:
    if b"\x00" in data[:4096]:
        return None
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


# --------------------------------------------------------------------------------------------------
# Common finishing: limits, missing samples, lead mapping

def _brief(error: Exception) -> str:
    """A library's error, shortened for our message (it may quote file content at length)."""
    text = str(error)
    return f"{type(error).__name__}: {text[:200]}{'...' if len(text) > 200 else ''}"


def _check_fs(fs: float, where: str) -> None:
    if not np.isfinite(fs) or not (MIN_FS <= fs <= MAX_FS):
        raise ECGReadError(f"{where} gives a sampling rate of {fs:g} Hz; accepted rates are "
                           f"{MIN_FS:g} Hz to {MAX_FS:g} Hz")


def _check_length(n_samples: int, fs: float, where: str) -> None:
    if n_samples < 2:
        what = "no samples" if n_samples <= 0 else "a single sample"
        raise ECGReadError(f"{where} holds {what}; an ECG needs at least 2 samples "
                           f"(accepted: {MIN_FS:g}-{MAX_FS:g} Hz, up to {MAX_SAMPLES_PER_LEAD:,} samples per lead)")
    if n_samples > MAX_SAMPLES_PER_LEAD or n_samples / fs > MAX_DURATION_S:
        raise ECGReadError(f"{where} is {n_samples / fs / 3600:.2f} h long ({n_samples:,} samples per lead at "
                           f"{fs:g} Hz); at most {MAX_SAMPLES_PER_LEAD:,} samples per lead are accepted (24 h "
                           f"at 250 Hz): cut or downsample the record first")


def _check_channels(n_channels: int, n_samples: int, where: str) -> None:
    if n_channels < 1:
        raise ECGReadError(f"{where} declares no signals; an ECG needs at least one lead")
    if n_channels > MAX_CHANNELS:
        raise ECGReadError(f"{where} declares {n_channels} channels; at most {MAX_CHANNELS} are accepted")
    if n_channels * n_samples > MAX_TOTAL_SAMPLES:
        raise ECGReadError(f"{where} declares {n_channels} x {n_samples} samples; at most "
                           f"{MAX_TOTAL_SAMPLES:,} samples in all are accepted")


def _finish(signals: np.ndarray, names: list[str], fs: float, name: str, meta: dict[str, str],
            where: str) -> ECG:
    """(n_leads, n_samples) mV -> ECG: missing samples handled, names mapped, limits checked."""
    _check_fs(fs, where)
    _check_length(signals.shape[1], fs, where)
    signals = np.asarray(signals, dtype=np.float64)
    finite = np.isfinite(signals)
    peak = float(np.max(np.abs(signals), where=finite, initial=0.0))
    if peak > MAX_ABS_MV:
        raise ECGReadError(f"{where} holds values up to {peak:.3g} mV after unit "
                           f"conversion, which no ECG reaches (accepted: within +-{MAX_ABS_MV:g} mV); check the "
                           f"units (mV or uV) or the gain in the header")
    if not finite.all():
        signals = signals.copy()                     # filled in place below
        keep, absent, filled = [], [], []
        for row, ok, lead in zip(signals, finite, names):
            n_missing = int((~ok).sum())
            if n_missing == 0:
                keep.append(True)
                continue
            if n_missing > MAX_MISSING_FRACTION * row.size:
                absent.append(f"{lead}:{n_missing}/{row.size}")
                keep.append(False)
                continue
            idx = np.arange(row.size)
            row[~ok] = np.interp(idx[~ok], idx[ok], row[ok])
            filled.append(f"{lead}:{n_missing}")
            keep.append(True)
        if not any(keep):
            raise ECGReadError(f"{where} has no usable lead: every lead is missing (NaN/inf) in more than "
                               f"{MAX_MISSING_FRACTION:.0%} of its samples; accepted: finite numbers, "
                               f"with short gaps (they are interpolated)")
        if absent:
            meta["absent_leads_missing_data"] = " ".join(absent)
        if filled:
            meta["interpolated_samples"] = " ".join(filled)
        signals = signals[np.array(keep)]
        names = [n for n, k in zip(names, keep) if k]
    try:
        return ECG.from_leads(signals.astype(np.float32), names, fs, name=name, metadata=meta)
    except ECGReadError as e:
        if not any(standard_lead(n) for n in names):
            raise ECGReadError(f"{where}: {e}. Pass lead_names=[...] to read_ecg to name the channels "
                               f"(one name per recorded channel, in order)") from None
        raise


def _to_mv_factor(unit: str | None) -> float | None:
    """Multiplier from a declared voltage unit to mV; None if the unit is not a voltage."""
    u = (unit or "").strip().lower().replace("μ", "u").replace("µ", "u")
    return {"mv": 1.0, "millivolt": 1.0, "millivolts": 1.0, "uv": 1e-3, "microvolt": 1e-3,
            "microvolts": 1e-3, "v": 1e3, "volt": 1e3, "volts": 1e3, "nv": 1e-6}.get(u)


def _infer_uv(signals: np.ndarray) -> bool:
    """True if unit-less numbers are µV rather than mV (rule in the module docstring)."""
    amps = []
    for row in signals:
        row = row[np.isfinite(row)]
        if row.size:
            amps.append(np.percentile(np.abs(row - np.median(row)), 99))
    return bool(amps) and float(np.median(amps)) > UV_AMPLITUDE_THRESHOLD


def _apply_inferred_units(signals: np.ndarray, meta: dict[str, str]) -> np.ndarray:
    if _infer_uv(signals):
        meta["units"] = f"uV (inferred: typical amplitude above {UV_AMPLITUDE_THRESHOLD:g})"
        with np.errstate(invalid="ignore", over="ignore"):   # non-finite samples are judged after scaling
            return signals * 1e-3
    meta["units"] = f"mV (inferred: typical amplitude at most {UV_AMPLITUDE_THRESHOLD:g})"
    return signals


def _check_agrees(fs_given: float | None, fs: float, where: str) -> None:
    """The fs argument is for formats without a rate; where the file has one, they must agree."""
    if fs_given is not None and abs(fs_given - fs) > 0.01 * fs:
        raise ECGReadError(f"{where} is sampled at {fs:g} Hz but the fs argument says {fs_given:g} Hz; "
                           f"leave fs out for formats that carry their sampling rate")


def _override_names(names: list[str], lead_names: list[str] | None, n_channels: int, where: str) -> list[str]:
    if lead_names is None:
        return names
    if len(lead_names) != n_channels:
        raise ECGReadError(f"lead_names has {len(lead_names)} names but {where} has {n_channels} channels; "
                           f"give one name per channel, in order")
    return lead_names


# --------------------------------------------------------------------------------------------------
# WFDB, through wfdb, from memory

class _UploadFileSystem(fsspec.AbstractFileSystem):
    """Read-only fsspec filesystem over in-memory bundles of files, keyed by a random token.

    wfdb opens every header and signal file through ``fsspec.open``; paths of a protocol listed in
    wfdb's ``CLOUD_PROTOCOLS`` are passed to fsspec as they are. Registering this protocol there lets
    the unmodified ``wfdb.rdrecord`` decode uploads that never touch the disk. Each read gets its own
    token and removes its bundle when done; nothing else can list the bundles.
    """

    protocol = "metsupload"
    _bundles: dict[str, dict[str, bytes]] = {}
    _lock = threading.Lock()

    def _data(self, path: str) -> bytes:
        token, _, filename = self._strip_protocol(path).partition("/")
        try:
            return self._bundles[token][filename]
        except KeyError:
            raise FileNotFoundError(filename) from None

    def _open(self, path, mode="rb", **kwargs):
        if mode != "rb":
            raise PermissionError("uploads are read-only")
        return io.BytesIO(self._data(path))

    def info(self, path, **kwargs):
        return {"name": path, "size": len(self._data(path)), "type": "file"}

    @classmethod
    def mount(cls, files: dict[str, bytes]) -> str:
        token = uuid.uuid4().hex
        with cls._lock:
            cls._bundles[token] = files
        return f"{cls.protocol}://{token}"

    @classmethod
    def unmount(cls, root: str) -> None:
        with cls._lock:
            cls._bundles.pop(root.split("://", 1)[1], None)


fsspec.register_implementation(_UploadFileSystem.protocol, _UploadFileSystem, clobber=True)
if f"{_UploadFileSystem.protocol}://" not in _coreio.CLOUD_PROTOCOLS:
    _coreio.CLOUD_PROTOCOLS.append(f"{_UploadFileSystem.protocol}://")   # the same list object wfdb consults


def _header_bundle(files: dict[str, bytes]) -> dict[str, bytes]:
    """Headers decoded the way wfdb decodes local ones (ASCII, undecodable bytes dropped), each checked
    for size and number of lines first: wfdb parses signal lines slowly (about 0.2 ms each), so a header
    of a million lines would hold a server thread for minutes."""
    out = {}
    for k, v in files.items():
        if k.lower().endswith(".hea"):
            _check_header_size(k, v)
            v = v.decode("ascii", errors="ignore").encode("ascii")
        out[k] = v
    return out


def _check_header_size(filename: str, header: bytes) -> None:
    if len(header) > MAX_HEADER_BYTES:
        raise ECGReadError(f"{filename!r} is {len(header) / 2**20:.1f} MB; a WFDB header is a short text file "
                           f"(at most {MAX_HEADER_BYTES // 2**20} MB is accepted)")
    lines = [ln for ln in header.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#")]
    segmented = bool(lines) and re.match(rb"^\s*[^\s/]+/\d+", lines[0]) is not None
    limit = MAX_SEGMENTS if segmented else MAX_CHANNELS
    if len(lines) - 1 > limit:
        raise ECGReadError(f"{filename!r} has {len(lines) - 1} {'segment' if segmented else 'signal'} lines; at "
                           f"most {limit} {'segments' if segmented else 'channels'} are accepted")


def _rdheader(root: str, record: str, rd_segments: bool = False):
    try:
        return wfdb.rdheader(f"{root}/{record}", rd_segments=rd_segments)
    except FileNotFoundError as e:
        raise ECGReadError(f"record {record!r}: the header names the segment file {str(e)!r}, which is "
                           f"missing; every file of the record is needed (in the same folder, the same upload, "
                           f"or one .zip)") from None
    except Exception as e:  # wfdb raises bare Exception/IndexError/ValueError on bad headers
        raise ECGReadError(f"{record + '.hea'!r} is not a valid WFDB header ({_brief(e)}); "
                           f"a WFDB header starts with a record line 'NAME N_SIGNALS FS N_SAMPLES' "
                           f"followed by one line per signal") from None


def _wfdb_files_named(files: dict[str, bytes], header_name: str) -> list[str]:
    """Names of the files a header refers to (signal files, segment headers and their signal files)."""
    record = header_name[: -len(".hea")]
    if not files.get(header_name, b"").strip():
        return []           # an empty header names nothing; reading it says that it is empty
    root = _UploadFileSystem.mount(_header_bundle(files))
    try:
        hdr = _rdheader(root, record)
        names = list(dict.fromkeys(getattr(hdr, "file_name", None) or []))
        for seg in getattr(hdr, "seg_name", None) or []:
            if seg and seg != "~":
                names.append(seg + ".hea")
        return [n for n in names if n]
    finally:
        _UploadFileSystem.unmount(root)


def _choose_record(files: dict[str, bytes], headers: list[str], name: str | None) -> str:
    records = [h[: -len(".hea")] for h in headers]
    if len(records) == 1:
        return records[0]
    # segment headers of a multi-segment record are not records of their own
    segments: set[str] = set()
    for h in headers:
        segments.update(n[: -len(".hea")] for n in _wfdb_files_named(files, h) if n.endswith(".hea"))
    top = [r for r in records if r not in segments]
    if len(top) == 1:
        return top[0]
    if name and (name in top or name.removesuffix(".hea") in top):
        return name.removesuffix(".hea")
    raise ECGReadError(f"the upload holds {len(top)} WFDB records ({', '.join(top[:10])}"
                       f"{', ...' if len(top) > 10 else ''}); upload one record, or pass its name as name=")


def _read_wfdb(files: dict[str, bytes], record: str, display: str, lead_names: list[str] | None,
               fs_given: float | None) -> ECG:
    where = f"WFDB record {record!r}"
    if not files[record + ".hea"].strip():
        raise ECGReadError(f"{record + '.hea'!r} is empty (0 bytes); a WFDB header starts with a record line "
                           f"'NAME N_SIGNALS FS N_SAMPLES' followed by one line per signal")
    _check_record_line(files[record + ".hea"], record)
    root = _UploadFileSystem.mount(_header_bundle(files))
    try:
        hdr = _rdheader(root, record, rd_segments=True)
        single = isinstance(hdr, wfdb.Record)
        signal_headers = [hdr] if single else [s for s in hdr.segments if s is not None]
        n_sig = int(hdr.n_sig or 0)
        fs = float(hdr.fs) if hdr.fs is not None else float("nan")
        _check_fs(fs, f"the header of {where}")
        _check_agrees(fs_given, fs, where)
        if hdr.sig_len is None and single:
            hdr.sig_len = _infer_sig_len(files, hdr, where)
        sig_len = int(hdr.sig_len or 0)
        _check_length(sig_len, fs, f"{where} (as declared in its header)")
        spf = max([max(s.samps_per_frame or [1]) for s in signal_headers] or [1])
        _check_channels(n_sig, sig_len * spf, where)
        for seg in signal_headers:
            if len(seg.file_name or []) != int(seg.n_sig or 0):
                raise ECGReadError(f"{where}: the header declares {seg.n_sig} signals but has "
                                   f"{len(seg.file_name or [])} signal lines; a WFDB header needs one line per "
                                   f"signal after its record line")
        missing = set().union(*(_check_signal_files(files, seg, where) for seg in signal_headers))
        channels = list(range(n_sig))
        if missing:
            # A missing file that holds only non-standard channels (PTB's .xyz Frank leads) is skipped and
            # noted; one that holds a standard lead is an upload mistake and refused.
            if not single:
                _missing_signal_file(sorted(missing)[0], where)
            names = _override_names([str(n or "") for n in (hdr.sig_name or [])], lead_names, n_sig, where)
            lost = [c for c in channels if hdr.file_name[c] in missing]
            needed = [hdr.file_name[c] for c in lost if standard_lead(names[c]) is not None]
            if needed or len(lost) == n_sig:
                _missing_signal_file((needed or sorted(missing))[0], where)
            channels = [c for c in channels if c not in lost]
        try:
            if not single and getattr(hdr, "layout", None) == "fixed" and any(s is None for s in hdr.segments):
                rec = _rdrecord_fixed_with_gaps(root, hdr, n_sig)
            else:
                rec = wfdb.rdrecord(f"{root}/{record}", m2s=True, channels=channels)
        except Exception as e:
            raise ECGReadError(f"wfdb could not decode {where} ({_brief(e)}); accepted: "
                               f"{ACCEPTED_FORMATS}") from None
    finally:
        _UploadFileSystem.unmount(root)
    if rec.p_signal is None or rec.p_signal.ndim != 2 or rec.p_signal.shape[1] == 0:
        raise ECGReadError(f"{where} holds no signals")
    names = [str(n) if n is not None else "" for n in (rec.sig_name or [""] * rec.p_signal.shape[1])]
    if lead_names is not None:
        names = [_override_names(names, lead_names, n_sig, where)[c] for c in channels]
    signals = rec.p_signal.T.astype(np.float64)
    units = list(rec.units or ["mV"] * len(names))
    for i, unit in enumerate(units):
        factor = _to_mv_factor(unit or "mV")
        if factor is not None and factor != 1.0:
            signals[i] *= factor
    fmts = sorted({str(f) for s in signal_headers for f in (s.fmt or [])})
    meta = {"source_format": "wfdb", "record_name": record, "wfdb_format": ",".join(fmts),
            "units": " ".join(str(u) for u in units), "comments": "\n".join(rec.comments or []),
            "files": " ".join(_files_used(record, hdr, signal_headers, files))}
    if missing:
        meta["missing_signal_files"] = " ".join(sorted(missing))
    return _finish(signals, names, fs, display, meta, where)


def _rdrecord_fixed_with_gaps(root: str, hdr, n_sig: int):
    """A fixed-layout multi-segment record with null segments ('~'), which wfdb cannot combine: the
    segments one after the other, each null segment a gap of missing samples (NaN) of its length, so the
    one missing-sample rule of ``_finish`` applies (short gaps interpolated, leads mostly missing masked)."""
    from types import SimpleNamespace
    parts, first = [], None
    for seg_name, seg_len in zip(hdr.seg_name, hdr.seg_len):
        if seg_name == "~":
            parts.append(np.full((int(seg_len), n_sig), np.nan))
            continue
        seg = wfdb.rdrecord(f"{root}/{seg_name}")
        if seg.p_signal is None or seg.p_signal.shape[1] != n_sig:
            raise ValueError(f"segment {seg_name!r} does not hold the record's {n_sig} signals")
        first = first or seg
        parts.append(seg.p_signal[: int(seg_len)])
    if first is None:
        raise ValueError("every segment is a null segment ('~'): the record holds no samples")
    return SimpleNamespace(p_signal=np.concatenate(parts), sig_name=first.sig_name, units=first.units,
                           comments=list(hdr.comments or []))


_RECORD_LINE_FIELDS = [re.compile(p) for p in (
    r"[^\s/]+(/\d+)?",                                     # record name [/number of segments]
    r"\d+",                                                # number of signals
    r"\d+(\.\d*)?(e\d+)?(/\d+(\.\d*)?)?(\(-?\d+(\.\d*)?\))?",  # fs [/counter fs [(base counter)]]
    r"\d+",                                                # number of samples
)]


def _check_record_line(header: bytes, record: str) -> None:
    """wfdb fills fields it cannot parse with defaults (e.g. 250 Hz); a garbled record line must not
    silently become a valid record, so its numeric fields are checked to be numbers first."""
    lines = [ln.strip() for ln in header.decode("ascii", errors="ignore").splitlines()]
    line = next((ln for ln in lines if ln and not ln.startswith("#")), "")
    fields = line.split()
    bad = [f for f, pattern in zip(fields, _RECORD_LINE_FIELDS) if not pattern.fullmatch(f)]
    if len(fields) < 2 or bad:
        raise ECGReadError(f"{record + '.hea'!r} is not a valid WFDB header: its record line {line[:80]!r} "
                           f"{'has the malformed field ' + repr(bad[0]) if bad else 'is incomplete'}; a WFDB "
                           f"header starts with a record line 'NAME N_SIGNALS FS N_SAMPLES' followed by one "
                           f"line per signal")


def _files_used(record: str, hdr, signal_headers, files: dict[str, bytes]) -> list[str]:
    used = {record + ".hea"}
    used.update(s + ".hea" for s in (getattr(hdr, "seg_name", None) or []) if s + ".hea" in files)
    used.update(f for seg in signal_headers for f in (seg.file_name or []) if f in files)
    return sorted(used)


def _infer_sig_len(files: dict[str, bytes], hdr, where: str) -> int:
    """Length of a record whose header omits it, from its first signal file's size (as wfdb does)."""
    if not hdr.file_name or not hdr.fmt:
        raise ECGReadError(f"{where}: the header has no signal lines (and no number of samples); a WFDB header "
                           f"needs one line per signal after its record line")
    fname, fmt = hdr.file_name[0], str(hdr.fmt[0])
    if fname not in files:
        _missing_signal_file(fname, where)
    spf = sum(s or 1 for f, s in zip(hdr.file_name, hdr.samps_per_frame) if f == fname)
    if not _wfdb_signal.BYTES_PER_SAMPLE.get(fmt) or spf <= 0:      # FLAC (508/516/524) has no fixed size
        raise ECGReadError(f"{where}: the header gives no length and format {fmt} has no fixed sample size; "
                           f"add the number of samples to the record line")
    data_bytes = len(files[fname]) - int(hdr.byte_offset[0] or 0)
    return int(data_bytes / (_wfdb_signal.BYTES_PER_SAMPLE[fmt] * spf))


def _missing_signal_file(fname: str, where: str) -> None:
    raise ECGReadError(f"{where}: the header names the signal file {fname!r}, which is missing; the .hea needs "
                       f"its signal file(s) beside it (in the same folder, the same upload, or one .zip)")


def _check_signal_files(files: dict[str, bytes], hdr, where: str) -> set[str]:
    """The signal files a header names that are missing; those present must have a known format and hold
    every declared sample."""
    sig_len = int(hdr.sig_len or 0)
    missing = set()
    by_file: dict[str, list[int]] = {}
    for i, fname in enumerate(hdr.file_name or []):
        by_file.setdefault(fname, []).append(i)
    for fname, chans in by_file.items():
        if fname == "~":
            continue    # WFDB's "no file": the signal lines of a layout header, or a null signal
        if fname != PurePosixPath(fname).name or fname in ("", ".", ".."):
            raise ECGReadError(f"{where}: the header names the signal file {fname!r}; only plain file names "
                               f"in the same folder as the header are accepted")
        if fname not in files:
            missing.add(fname)
            continue
        fmt = str(hdr.fmt[chans[0]])
        if fmt not in _wfdb_signal.DAT_FMTS:
            raise ECGReadError(f"{where}: signal format {fmt!r} is not a WFDB format; accepted: "
                               f"{', '.join(_wfdb_signal.DAT_FMTS)}")
        if fmt in _wfdb_signal.COMPRESSED_FMTS:
            continue   # FLAC: size is not fixed; wfdb checks the stream itself
        spf = sum(int(hdr.samps_per_frame[c] or 1) for c in chans)
        needed = int(hdr.byte_offset[chans[0]] or 0) + _wfdb_signal._required_byte_num("read", fmt, sig_len * spf)
        have = len(files[fname])
        if have < needed:
            raise ECGReadError(f"{where}: signal file {fname!r} is truncated: the header declares {sig_len} "
                               f"samples of {len(chans)} channel(s) in format {fmt} ({needed} bytes) but the "
                               f"file has {have} bytes; the complete file is needed")
    return missing


# --------------------------------------------------------------------------------------------------
# CSV

_TIME_NAMES = {"time", "t", "second", "seconds", "sec", "secs", "s", "timestamp", "elapsedtime",
               "times", "ms", "msec", "millisecond", "milliseconds", "timems", "tms"}
_MS_TIME_NAMES = {"ms", "msec", "millisecond", "milliseconds", "timems", "tms"}
_INDEX_NAMES = {"sample", "samples", "index", "idx", "n", "#", "samplenumber", "sampleindex", "samplenr",
                "unnamed:0", ""}
_TIME_UNITS = {"s", "sec", "seconds", "ms", "msec", "hh:mm:ss.mmm", "hh:mm:ss", "mm:ss.mmm"}
_UNIT_SUFFIX = re.compile(r"^(?P<base>.*?)[\s_-]*(?:[(\[]\s*(?P<u1>[^)\]]*?)\s*[)\]]|_(?P<u2>mv|uv|µv|μv|ms))$",
                          re.I)
_FS_COMMENT = re.compile(r"\b(?:fs|sampling[\s_-]*(?:rate|frequency)|sample[\s_-]*rate)\s*[=:]?\s*"
                         r"(?P<fs>\d+(?:\.\d+)?)", re.I)
_UNITS_COMMENT = re.compile(r"\bunits?\s*[=:]\s*(?P<u>[a-zµμ]+)", re.I)
_FS_FILENAME = re.compile(r"(?:^|[^a-z0-9])(?:fs[_-]?(?P<a>\d+(?:\.\d+)?)|(?P<b>\d+(?:\.\d+)?)[_-]?hz)"
                          r"(?:$|[^a-z0-9])", re.I)
_TIME_STRING = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")
_MISSING_CELLS = {"", "nan", "na", "n/a", "-", "null"}

ACCEPTED_CSV = (
    "a header row of lead names (" + ACCEPTED_LEAD_NAMES + "), optionally with a unit suffix such as "
    "'II (uV)' or 'V1_mV'; an optional time column (time, t, seconds, s in seconds; ms, time_ms, "
    "'time (ms)' in milliseconds) or sample index column (sample, index)")


def _unquote(cell: str) -> str:
    return cell.strip().strip("'\"").strip()


def _is_voltage_or_time_unit(unit: str) -> bool:
    return _to_mv_factor(unit) is not None or unit.lower() in _TIME_UNITS


def _split_unit(column: str) -> tuple[str, str | None]:
    """'II (uV)' -> ('II', 'uV'); 'V1_mV' -> ('V1', 'mV'); 'aVR' -> ('aVR', None)."""
    column = _unquote(column)
    m = _UNIT_SUFFIX.match(column)
    if m:
        unit = (m.group("u1") or m.group("u2") or "").strip()
        if unit and _is_voltage_or_time_unit(unit):
            return m.group("base").strip(), unit
    return column, None


def _classify(column: str) -> tuple[str, str | None, str]:
    """(role, unit, base name) of a CSV header cell; role is 'time', 'index', 'lead' or 'unknown'."""
    base, unit = _split_unit(column)
    key = re.sub(r"[\s._-]", "", base).lower()
    if key in _TIME_NAMES:
        return "time", unit or ("ms" if key in _MS_TIME_NAMES else "s"), base
    if key in _INDEX_NAMES:
        return "index", unit, base
    if standard_lead(base) is not None:
        return "lead", unit, base
    return "unknown", unit, base


def _is_number(cell: str) -> bool:
    cell = _unquote(cell)
    if cell.lower() in _MISSING_CELLS or _TIME_STRING.match(cell):
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _parse_time(cells: list[str], unit: str | None, where: str) -> np.ndarray:
    """Seconds from a time column: numbers (s, or ms) or h:mm:ss.mmm strings (PhysioNet exports)."""
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        cell = _unquote(cell)
        m = _TIME_STRING.match(cell)
        try:
            out[i] = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else float(cell)
        except ValueError:
            raise ECGReadError(f"{where}: time value {cell!r} (data row {i + 1}) is neither a number nor "
                               f"h:mm:ss.mmm; accepted: {ACCEPTED_CSV}") from None
    scale = 1e-3 if (unit or "").lower() in ("ms", "msec") else 1.0
    return out * scale


def _fs_from_time(t: np.ndarray, where: str) -> float:
    if not np.isfinite(t).all():
        raise ECGReadError(f"{where}: the time column must hold a finite time in every row")
    if np.any(np.diff(t) <= 0):
        raise ECGReadError(f"{where}: the time column must increase from row to row")
    fs = (t.size - 1) / (t[-1] - t[0])
    if abs(fs - round(fs)) <= 1e-3 * fs:
        fs = float(round(fs))
    if np.max(np.abs(t - (t[0] + np.arange(t.size) / fs))) > 0.5 / fs:
        raise ECGReadError(f"{where}: the time column is not evenly spaced (sampling must be uniform); "
                           f"resample the recording, or drop the time column and pass fs=")
    return fs


def _csv_rows(text: str, where: str) -> tuple[list[str], list[list[str]]]:
    """Comment lines (without '#') and the cells of the other non-empty lines."""
    lines = text.splitlines()
    comments = [ln.lstrip()[1:].strip() for ln in lines if ln.lstrip().startswith(("#", "%"))]
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    if not body:
        raise ECGReadError(f"{where} holds no data rows; expected {ACCEPTED_CSV}")
    delimiter = max([",", ";", "\t"], key=lambda d: body[0].count(d))
    if body[0].count(delimiter) == 0:
        return comments, [ln.split() for ln in body]       # whitespace-separated, or a single column
    try:
        return comments, list(csv.reader(body, delimiter=delimiter, skipinitialspace=True))
    except csv.Error as e:
        raise ECGReadError(f"{where} is not valid CSV ({_brief(e)}); expected {ACCEPTED_CSV}") from None


def _csv_rate(fs: float | None, comments: list[str], time: np.ndarray | None, filename: str, where: str) -> float:
    """The sampling rate from every source the CSV offers; sources that disagree are an error."""
    sources: dict[str, float] = {}
    if fs is not None:
        sources["the fs argument"] = fs
    fs_comment = next((m for c in comments if (m := _FS_COMMENT.search(c))), None)
    if fs_comment:
        sources["the '# fs=' comment"] = float(fs_comment.group("fs"))
    if time is not None:
        sources["the time column"] = _fs_from_time(time, where)
    from_name = _FS_FILENAME.search(Path(filename).stem)
    if from_name and not sources:
        sources["the file name"] = float(from_name.group("a") or from_name.group("b"))
    if not sources:
        raise ECGReadError(f"{where}: the sampling rate is unknown; add a time column (seconds, or ms if named "
                           f"'ms'/'time_ms'), a comment line '# fs=500', or pass fs=500 to read_ecg")
    (first, rate), *others = sources.items()
    for src, other in others:
        if abs(other - rate) > 0.01 * rate:
            raise ECGReadError(f"{where}: {first} says {rate:g} Hz but {src} says {other:g} Hz; make them agree")
    if first == "the time column" and rate < MIN_FS <= rate * 1000 <= MAX_FS:
        raise ECGReadError(f"{where}: the time column gives {rate:g} Hz if it is in seconds, outside the "
                           f"accepted {MIN_FS:g} Hz to {MAX_FS:g} Hz; if it is in milliseconds, name it "
                           f"'time_ms' or 'ms'")
    _check_fs(rate, f"{where} ({first})")
    return rate


def _read_csv(data: bytes, filename: str, display: str, lead_names: list[str] | None, fs: float | None) -> ECG:
    where = f"CSV file {filename!r}"
    text = _as_text(data)
    if text is None:
        raise ECGReadError(f"{filename!r} is not a text CSV file (binary content); accepted: {ACCEPTED_FORMATS}")
    comments, rows = _csv_rows(text, where)
    header = None if all(_is_number(c) for c in rows[0]) else rows[0]
    data_rows = rows[1:] if header is not None else rows
    units_row = None
    if header is not None and data_rows and all(
            not _unquote(c) or _is_voltage_or_time_unit(_unquote(c)) for c in data_rows[0]) and \
            not all(_is_number(c) for c in data_rows[0]):
        units_row, data_rows = [_unquote(c) for c in data_rows[0]], data_rows[1:]   # PhysioNet export style
    if header is None and lead_names is None:
        raise ECGReadError(f"{where} has no header row of lead names; add one (e.g. 'time,I,II,V1') or pass "
                           f"lead_names=[...]; accepted: {ACCEPTED_CSV}")
    n_cols = len(header) if header is not None else len(rows[0])
    roles = [_classify(c) for c in header] if header is not None else [("lead", None, "")] * n_cols
    if units_row is not None:
        roles = [(role, unit or (units_row[i] if i < len(units_row) and units_row[i] else None), base)
                 for i, (role, unit, base) in enumerate(roles)]
    signal_cols = [i for i, r in enumerate(roles) if r[0] in ("lead", "unknown")]
    if lead_names is not None:
        names = _override_names([], lead_names, len(signal_cols), where + " (its signal columns)")
        roles = [("lead", roles[i][1], names[signal_cols.index(i)]) if i in signal_cols else roles[i]
                 for i in range(n_cols)]
    unknown = [_unquote(header[i]) for i, r in enumerate(roles) if r[0] == "unknown"]
    if unknown:
        raise ECGReadError(f"{where} has column(s) that are not ECG leads: {', '.join(map(repr, unknown))}; "
                           f"accepted: {ACCEPTED_CSV}; or pass lead_names=[...] to name the signal columns")
    time_cols = [i for i, r in enumerate(roles) if r[0] == "time"]
    if len(time_cols) > 1:
        raise ECGReadError(f"{where} has {len(time_cols)} time columns; give at most one")
    if not signal_cols:
        raise ECGReadError(f"{where} has no lead columns; accepted: {ACCEPTED_CSV}")
    if len(data_rows) < 2:
        raise ECGReadError(f"{where} holds {'a single sample' if data_rows else 'no samples'}; an ECG needs "
                           f"at least 2 samples")
    _check_channels(len(signal_cols), len(data_rows), where)
    values = np.empty((len(signal_cols), len(data_rows)))
    for r, row in enumerate(data_rows):
        if len(row) != n_cols:
            raise ECGReadError(f"{where}: data row {r + 1} has {len(row)} cells but the header has {n_cols}; "
                               f"every row needs one cell per column")
        for j, c in enumerate(signal_cols):
            cell = row[c].strip()
            try:
                values[j, r] = np.nan if cell.lower() in _MISSING_CELLS else float(cell)
            except ValueError:
                raise ECGReadError(f"{where}: data row {r + 1} holds {cell!r}, which is not a number; lead "
                                   f"columns must hold numbers (empty or NaN for a missing sample)") from None
    time = None
    if time_cols:
        time = _parse_time([row[time_cols[0]] for row in data_rows], roles[time_cols[0]][1], where)
    rate = _csv_rate(fs, comments, time, filename, where)
    meta = {"source_format": "csv", "comments": "\n".join(comments), "record_name": Path(filename).stem,
            "files": filename}
    comment_unit = next((m.group("u") for c in comments if (m := _UNITS_COMMENT.search(c))), None)
    col_units = [roles[c][1] or comment_unit for c in signal_cols]
    if any(u is not None for u in col_units):
        for j, unit in enumerate(col_units):
            factor = _to_mv_factor(unit or "mV")
            if factor is None:
                raise ECGReadError(f"{where}: unknown unit {unit!r} for a lead column; accepted: mV, uV (µV), V")
            values[j] *= factor
        meta["units"] = " ".join(u or "mV" for u in col_units) + " (declared)"
    else:
        values = _apply_inferred_units(values, meta)
    return _finish(values, [roles[c][2] for c in signal_cols], rate, display, meta, where)


# --------------------------------------------------------------------------------------------------
# NumPy

ACCEPTED_NUMPY = ("a numeric 2-D array, (leads, samples) or (samples, leads) with at most 12 leads; "
                  ".npz entries 'signal' (that array), 'fs' (Hz), optional 'leads' (names, a unicode array) "
                  "and 'units' ('mV' or 'uV'); files are never unpickled")


def _load_npy(data: bytes, where: str) -> np.ndarray:
    """One .npy array, its header checked against the data size before numpy allocates it."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except Exception as e:
        raise ECGReadError(f"{where} is not a valid .npy array ({_brief(e)}); accepted: {ACCEPTED_NUMPY}") from None
    if dtype.hasobject or dtype.kind not in "iuf" or dtype.fields is not None:
        raise ECGReadError(f"{where} holds an array of dtype {dtype}; accepted: {ACCEPTED_NUMPY}")
    n_items = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if n_items * dtype.itemsize > len(data) - fp.tell():
        raise ECGReadError(f"{where} is truncated: its header declares shape {shape} but the data are shorter")
    if n_items > MAX_TOTAL_SAMPLES:
        raise ECGReadError(f"{where} declares {n_items:,} values; at most {MAX_TOTAL_SAMPLES:,} are accepted")
    fp.seek(0)
    try:
        return np.load(fp, allow_pickle=False)
    except Exception as e:
        raise ECGReadError(f"{where} could not be loaded ({_brief(e)}); accepted: {ACCEPTED_NUMPY}") from None


def _orient(arr: np.ndarray, n_names: int | None, where: str) -> np.ndarray:
    """(leads, samples) from either orientation."""
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ECGReadError(f"{where} holds an array of shape {arr.shape}; accepted: {ACCEPTED_NUMPY}")
    a, b = arr.shape
    if n_names is not None:
        if a == n_names and b != n_names:
            return arr
        if b == n_names and a != n_names:
            return arr.T
        if a == b == n_names:
            raise ECGReadError(f"{where}: the array is {a} x {b}, so it is unclear which axis holds the leads; "
                               f"give more samples than leads")
        raise ECGReadError(f"{where}: {n_names} lead names given but the array has shape {arr.shape}")
    if a <= 12 < b:
        return arr
    if b <= 12 < a:
        return arr.T
    raise ECGReadError(f"{where}: an array of shape {arr.shape} is not (leads, samples) or (samples, leads) "
                       f"with at most 12 leads and more samples than leads; accepted: {ACCEPTED_NUMPY}")


def _numpy_names(n_leads: int, lead_names: list[str] | None, where: str, meta: dict[str, str]) -> list[str]:
    if lead_names is not None:
        return _override_names([], lead_names, n_leads, where)
    if n_leads == len(STANDARD_LEADS):
        meta["lead_order"] = "assumed standard order I II III aVR aVL aVF V1-V6 (no names in the file)"
        return list(STANDARD_LEADS)
    raise ECGReadError(f"{where} holds {n_leads} leads without names; pass lead_names=[...] (one per lead, in "
                       f"order), or store a 'leads' entry in an .npz; only 12 unnamed leads are taken in the "
                       f"standard order I II III aVR aVL aVF V1-V6")


def _numpy_fs(fs: float | None, stored: float | None, where: str) -> float:
    if fs is not None and stored is not None and abs(fs - stored) > 0.01 * stored:
        raise ECGReadError(f"{where} stores fs={stored:g} Hz but the fs argument says {fs:g} Hz; make them agree")
    rate = fs if fs is not None else stored
    if rate is None:
        raise ECGReadError(f"{where} does not say its sampling rate; pass fs=500 (Hz) to read_ecg, or store an "
                           f"'fs' entry in an .npz")
    return float(rate)


def _read_npy(data: bytes, filename: str, display: str, lead_names: list[str] | None, fs: float | None) -> ECG:
    where = f"NumPy file {filename!r}"
    arr = _load_npy(data, where)
    meta = {"source_format": "npy", "record_name": Path(filename).stem, "files": filename}
    signals = _orient(arr, len(lead_names) if lead_names else None, where).astype(np.float64)
    names = _numpy_names(signals.shape[0], lead_names, where, meta)
    rate = _numpy_fs(fs, None, where)
    _check_fs(rate, where)
    _check_length(signals.shape[1], rate, where)
    signals = _apply_inferred_units(signals, meta)
    return _finish(signals, names, rate, display, meta, where)


def _read_npz(data: bytes, filename: str, display: str, lead_names: list[str] | None, fs: float | None) -> ECG:
    where = f"NumPy archive {filename!r}"
    members = {Path(k).stem: v for k, v in _unzip(data, filename).items() if k.endswith(".npy")}
    signal_key = next((k for k in ("signal", "signals", "ecg") if k in members), None)
    if signal_key is None:
        raise ECGReadError(f"{where} has entries {sorted(members)}; expected {ACCEPTED_NUMPY}")
    arr = _load_npy(members[signal_key], f"{where} entry {signal_key!r}")
    meta = {"source_format": "npz", "record_name": Path(filename).stem, "files": filename}
    stored_fs = None
    if "fs" in members:
        fs_arr = _load_npy(members["fs"], f"{where} entry 'fs'")
        if fs_arr.size != 1:
            raise ECGReadError(f"{where}: entry 'fs' must be a single number of Hz, got shape {fs_arr.shape}")
        stored_fs = float(fs_arr.reshape(-1)[0])
    stored_names = None
    if "leads" in members:
        try:
            leads_arr = np.load(io.BytesIO(members["leads"]), allow_pickle=False)
        except Exception as e:
            raise ECGReadError(f"{where}: entry 'leads' must be a unicode string array, e.g. "
                               f"np.array(['I', 'II']) ({_brief(e)})") from None
        if leads_arr.dtype.kind not in "US" or leads_arr.ndim != 1:
            raise ECGReadError(f"{where}: entry 'leads' must be a 1-D unicode string array, e.g. np.array(['I', 'II'])")
        stored_names = [x.decode() if isinstance(x, bytes) else str(x) for x in leads_arr.tolist()]
    names_in = lead_names if lead_names is not None else stored_names
    signals = _orient(arr, len(names_in) if names_in else None, where).astype(np.float64)
    names = _numpy_names(signals.shape[0], names_in, where, meta)
    rate = _numpy_fs(fs, stored_fs, where)
    _check_fs(rate, where)
    _check_length(signals.shape[1], rate, where)
    if "units" in members:
        try:
            unit = str(np.load(io.BytesIO(members["units"]), allow_pickle=False).reshape(-1)[0])
        except Exception:
            unit = None
        factor = _to_mv_factor(unit)
        if factor is None:
            raise ECGReadError(f"{where}: entry 'units' must be 'mV', 'uV' or 'V', got {unit!r}")
        signals = signals * factor
        meta["units"] = f"{unit} (declared)"
    else:
        signals = _apply_inferred_units(signals, meta)
    return _finish(signals, names, rate, display, meta, where)


# --------------------------------------------------------------------------------------------------
# DICOM

def _dicom_label(channel) -> str:
    """Lead name of a DICOM channel: 'Lead I', 'Lead aVR (Einthoven)', ... -> 'I', 'aVR'."""
    def clean(label) -> str:
        label = re.sub(r"\(.*?\)", "", str(label or ""))
        return re.sub(r"^\s*lead\s+", "", label, flags=re.I).strip()

    source = channel.get("ChannelSourceSequence")
    label = clean(source[0].get("CodeMeaning", "")) if source else ""
    if standard_lead(label) is None and channel.get("ChannelLabel"):
        label = clean(channel.ChannelLabel)
    return label


_DICOM_LOCK = threading.Lock()


def _read_dicom(data: bytes, filename: str, display: str, lead_names: list[str] | None, fs: float | None) -> ECG:
    """pydicom reports invalid values by logging and warning them, values included; uploads are never
    logged, so its reading validation is switched off (under a lock: it is a global setting) while an
    upload is decoded, and any other warning is silenced."""
    try:
        import pydicom
    except ImportError:  # pragma: no cover - pydicom is a dependency
        raise ECGReadError("reading DICOM needs pydicom (pip install pydicom)") from None
    settings = pydicom.config.settings
    with _DICOM_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved, settings.reading_validation_mode = settings.reading_validation_mode, pydicom.config.IGNORE
        try:
            return _decode_dicom(data, filename, display, lead_names, fs)
        except ECGReadError:
            raise
        except Exception as e:     # pydicom raises many types on damaged files, often only on element access
            raise ECGReadError(f"DICOM file {filename!r} could not be decoded ({_brief(e)}); accepted: "
                               f"DICOM ECG waveform files (12-lead, general or ambulatory ECG)") from None
        finally:
            settings.reading_validation_mode = saved


def _decode_dicom(data: bytes, filename: str, display: str, lead_names: list[str] | None,
                  fs: float | None) -> ECG:
    import pydicom
    from pydicom.waveforms.numpy_handler import multiplex_array

    where = f"DICOM file {filename!r}"
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        groups = list(ds.get("WaveformSequence") or [])
    except Exception as e:
        raise ECGReadError(f"{filename!r} is not a readable DICOM file ({_brief(e)}); "
                           f"accepted: {ACCEPTED_FORMATS}") from None
    if not groups:
        raise ECGReadError(f"{where} has no waveform (WaveformSequence); only DICOM ECG waveform files "
                           f"(12-lead, general or ambulatory ECG) are accepted")
    # the rhythm (full-length) group, not the median beats; else the longest group
    labels = [str(g.get("MultiplexGroupLabel", "")).upper() for g in groups]
    index = labels.index("RHYTHM") if "RHYTHM" in labels else int(
        np.argmax([int(g.get("NumberOfWaveformSamples", 0) or 0) for g in groups]))
    group = groups[index]
    try:
        n_ch = int(group.NumberOfWaveformChannels)
        n_samp = int(group.NumberOfWaveformSamples)
        rate = float(group.SamplingFrequency)
        bits = int(group.WaveformBitsAllocated)
        channels = list(group.ChannelDefinitionSequence)
        n_bytes = len(group.WaveformData)
    except Exception as e:
        raise ECGReadError(f"{where}: waveform group {index} lacks a required element ({_brief(e)}); a DICOM ECG needs "
                           f"NumberOfWaveformChannels, NumberOfWaveformSamples, SamplingFrequency, "
                           f"WaveformBitsAllocated, ChannelDefinitionSequence and WaveformData") from None
    _check_fs(rate, where)
    _check_agrees(fs, rate, where)
    _check_length(n_samp, rate, where)
    _check_channels(n_ch, n_samp, where)
    if len(channels) != n_ch:
        raise ECGReadError(f"{where}: {n_ch} channels declared but {len(channels)} channel definitions given")
    if n_bytes < n_ch * n_samp * bits // 8:
        raise ECGReadError(f"{where}: waveform data are truncated ({n_bytes} bytes for {n_ch} channels x "
                           f"{n_samp} samples of {bits} bits)")
    try:
        arr = multiplex_array(ds, index, as_raw=False).T.astype(np.float64)    # (channels, samples)
    except Exception as e:
        raise ECGReadError(f"{where}: the waveform could not be decoded ({_brief(e)})") from None
    names = _override_names([_dicom_label(ch) for ch in channels], lead_names, n_ch, where)
    units = []
    for i, ch in enumerate(channels):
        seq = ch.get("ChannelSensitivityUnitsSequence")
        units.append(str(seq[0].get("CodeValue", "")) if seq else "uV")   # DICOM ECG default: microvolts
    voltage = [i for i, unit in enumerate(units) if _to_mv_factor(unit) is not None]
    if not voltage:
        raise ECGReadError(f"{where}: no channel is a voltage (units {', '.join(map(repr, sorted(set(units))))}); "
                           f"an ECG's channels are in mV, uV or V")
    for i in voltage:
        arr[i] *= _to_mv_factor(units[i])
    meta = {"source_format": "dicom", "record_name": Path(filename).stem, "files": filename,
            "units": " ".join(units), "dicom_group": labels[index] or str(index)}
    if len(voltage) < n_ch:    # e.g. respiration or blood pressure recorded beside the leads
        meta["non_voltage_channels"] = " ".join(f"{names[i]}({units[i]})" for i in range(n_ch) if i not in voltage)
    return _finish(arr[voltage], [names[i] for i in voltage], rate, display, meta, where)
