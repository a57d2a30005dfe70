"""``read_ecg``: the input gathered (``upload``), its format recognised (``kind``), the format's module
decoding it into ``Channels``, and the shared rules (``channels.to_ecg``) making the one ``ECG``."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..ecg import ECG, ECGReadError, standard_lead
from . import csv_table, dicom, edf, hl7aecg, muse, numpy_array, philips, scp, upload, wfdb_record, xml_safe
from .channels import to_ecg
from .limits import ACCEPTED_FORMATS, MAX_FS, MIN_FS, check_fs, stretch_span

# one reader per single-file format: read(data, filename, lead_names, fs) -> Channels
READERS = {
    "csv": csv_table.read,
    "npy": numpy_array.read_npy,
    "npz": numpy_array.read_npz,
    "dicom": dicom.read,
    "muse": muse.read,
    "philips": philips.read,
    "hl7aecg": hl7aecg.read,
    "edf": edf.read,
    "scp": scp.read,
}
XML_ROOTS = {"RestingECG": "muse", "restingecgdata": "philips", "AnnotatedECG": "hl7aecg"}

_CSV_EXTENSIONS = {".csv", ".tsv", ".txt"}
_DICOM_EXTENSIONS = {".dcm", ".dicom"}
_EDF_EXTENSIONS = {".edf", ".bdf", ".rec"}
_KNOWN_EXTENSIONS = {".hea", ".dat", ".mat", ".zip", ".npy", ".npz", ".xml", ".scp", *_CSV_EXTENSIONS,
                     *_DICOM_EXTENSIONS, *_EDF_EXTENSIONS}
# file extensions an upload widget should offer (the dashboard's list)
UPLOAD_EXTENSIONS = sorted(e.lstrip(".") for e in _KNOWN_EXTENSIONS)
_ANNOTATION_EXTENSIONS = {".atr", ".ann", ".q1c", ".q2c", ".qt1", ".qt2", ".pu", ".pu0", ".pu1", ".man",
                          ".qrs", ".ari"}
# 'NAME[/SEGMENTS] N_SIGNALS [FS[/COUNTER_FS][(BASE)] [N_SAMPLES ...]]', the first line of a WFDB header
_WFDB_RECORD_LINE = re.compile(r"^\s*[^\s,;]+(/\d+)?\s+\d+(\s+\d+(\.\d+)?(/\d+(\.\d+)?)?(\(\d+(\.\d+)?\))?)?(\s|$)")


def read_ecg(source, name: str | None = None, *, lead_names: Sequence[str] | None = None,
             fs: float | None = None, start_s: float = 0.0, end_s: float | None = None) -> ECG:
    """Read one ECG from a path, bytes, or a list of (filename, bytes) pairs.

    ``name``: the ECG's display name; for raw bytes also the file name that tells the format
    (``"rec.csv"``); for an upload holding several records, the record to read.
    ``lead_names``: names for the recorded channels, in order, for files without (usable) names.
    ``fs``: sampling rate in Hz, for formats that do not carry one (CSV without time column, NumPy).
    ``start_s``, ``end_s``: only this stretch of the recording, in seconds (``end_s`` None or past the end:
    to the end), as ``ECG.crop`` gives it. A WFDB record decodes only that stretch (a 10 s strip of a 30-min
    Holter record in ~5 ms instead of 30-70); other formats are read whole, then cropped.
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
        check_fs(fs, "the fs argument")
    files = upload.gather(source, name)
    files = {k: v for k, v in files.items() if not upload.IGNORED_NAMES.match(k)}
    for k in [k for k in files if k.lower().endswith(".hea") and not k.endswith(".hea")]:
        if k[:-4] + ".hea" not in files:         # 'REC.HEA' (DOS-era names): wfdb opens 'REC.hea'
            files[k[:-4] + ".hea"] = files.pop(k)
    if any(k.endswith(".hea") for k in files):
        record, channels = wfdb_record.read(files, name, lead_names, fs, start_s, end_s)
        return to_ecg(channels, _display_name(name) or record)
    filename, data, kind = _one_file(files)
    channels = READERS[kind](data, filename, lead_names, fs)
    channels.metadata = {"record_name": Path(filename).stem, "files": filename, **channels.metadata}
    where = channels.where
    ecg = to_ecg(channels, _display_name(name) or (Path(filename).stem if filename != upload.UNNAMED else "ecg"))
    a, b = stretch_span(start_s, end_s, ecg.fs, ecg.n_samples, where)
    return ecg if (a, b) == (0, ecg.n_samples) else ecg.crop(a / ecg.fs, b / ecg.fs)


def _one_file(files: dict[str, bytes]) -> tuple[str, bytes, str]:
    """(file name, bytes, format) of the one ECG file of an upload without a WFDB header."""
    data_files = [k for k in files if kind(k, files[k]) != "annotation"]
    if files and not data_files:               # only a record's labels: say what they need
        names = sorted(files)
        one = len(names) == 1
        what, whose = ("is an annotation file", "it belongs") if one else ("are annotation files", "they belong")
        raise ECGReadError(f"{', '.join(map(repr, names))} {what} (labels of beats or waves), not an ECG: {whose} "
                           f"with the record's header {Path(names[0]).stem + '.hea'!r} and its signal file (.dat); "
                           f"upload them together (or in one .zip)")
    if len(data_files) != 1:
        listed = ", ".join(sorted(files)[:10]) or "none"
        raise ECGReadError(f"expected one ECG file, got {len(data_files)} ({listed}); accepted: "
                           f"{ACCEPTED_FORMATS}")
    filename = data_files[0]
    data = files[filename]
    found = kind(filename, data)
    if not data:
        raise ECGReadError(f"{filename!r} is empty (0 bytes); accepted: {ACCEPTED_FORMATS}")
    if found == "wfdb-signal":
        raise ECGReadError(f"{filename!r} is a WFDB signal file without its header: it needs "
                           f"{Path(filename).stem + '.hea'!r} beside it (in the same folder, the same upload, "
                           f"or one .zip)")
    if found == "wfdb-header":
        raise ECGReadError(f"{filename!r} looks like a WFDB header, which needs its signal file "
                           f"(.dat/.mat) beside it")
    if found == "xml-unknown":
        raise ECGReadError(f"{filename!r} is an XML file but not a GE MUSE (<RestingECG>), Philips "
                           f"(<restingecgdata>) or HL7 aECG (<AnnotatedECG>) ECG; accepted: {ACCEPTED_FORMATS}")
    if found not in READERS:
        what = (f"file type {Path(filename).suffix!r} of {filename!r} is not supported" if Path(filename).suffix
                else f"the format of {filename!r} is not recognised (not a zip, .npy, DICOM, XML, EDF, SCP-ECG "
                     f"or text file)")
        raise ECGReadError(f"{what}; accepted: {ACCEPTED_FORMATS}")
    return filename, data, found


def _display_name(name: str | None) -> str | None:
    """The ECG's name: the caller's name, without the extension when it is a file name we read."""
    if name and Path(name).suffix.lower() in _KNOWN_EXTENSIONS:
        return Path(name).stem
    return name


def sniff(data: bytes) -> str | None:
    """A hospital format recognised by content ('muse', 'philips', 'hl7aecg', 'edf', 'scp'), or None."""
    if data[:8] == b"0       " or data[:8] == b"\xffBIOSEMI":
        return "edf"
    if scp.looks_like_scp(data):
        return "scp"
    if xml_safe.looks_like_xml(data):               # UTF-8, or UTF-16 with its byte-order mark
        return XML_ROOTS.get(xml_safe.root_name(data) or "")
    return None


def kind(filename: str, data: bytes) -> str:
    """What a file is, by extension first and by content for unknown or missing extensions: a key of
    ``READERS``, or 'wfdb-header', 'wfdb-signal', 'annotation', 'xml-unknown', 'unknown'."""
    ext = Path(filename).suffix.lower()
    if ext == ".hea":
        return "wfdb-header"
    if ext in (".dat", ".mat", ".xyz"):
        return "wfdb-signal"
    if ext in _ANNOTATION_EXTENSIONS or (ext and standard_lead(ext[1:]) is not None):
        return "annotation"     # WFDB annotations (.atr, .q1c, LUDB's per-lead .i ... .v6) travel with records
    if ext in _CSV_EXTENSIONS:
        return "csv"
    if ext in (".npy", ".npz"):
        return ext[1:]
    if ext in _DICOM_EXTENSIONS:
        return "dicom"
    if ext in _EDF_EXTENSIONS:
        return "edf"            # edfio says what is wrong with a damaged header
    if ext == ".scp":
        return "scp"
    if ext == ".xml":
        return sniff(data) or "xml-unknown"
    if ext and ext != ".bin":
        return "unknown"
    # no extension (raw bytes): sniff the content
    found = sniff(data)
    if found:
        return found
    if data[:6] == b"\x93NUMPY":
        return "npy"
    if upload.is_zip(data):
        return "npz"
    if data[128:132] == b"DICM":
        return "dicom"
    text = csv_table.as_text(data[:4096])
    if text is None:
        return "unknown"
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if _WFDB_RECORD_LINE.match(first):
        return "wfdb-header"
    return "csv"
