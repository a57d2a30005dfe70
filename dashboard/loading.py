"""Getting ECGs in: uploads (grouped into records), built-in demos, PhysioNet records, corpus thumbnails.

Reading is mets_core's job (`read_ecg`); this module only decides which uploaded files belong together and
turns failures into messages for the page. Uploaded bytes stay in memory.
"""
from __future__ import annotations

import functools
import posixpath
import re
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mets_core.ecg import API_POINTER, ECG, ECGReadError
from mets_core.readers.wfdb_record import STRETCH_HINT

WFDB_KINDS = {"wfdb-header", "wfdb-signal", "annotation"}      # mets_core.readers.kind of a WFDB record's files
NEEDS_RATE = {".csv", ".txt", ".tsv", ".npy", ".npz"}     # formats that may not state a sampling rate
PHYSIONET_TIMEOUT_S = 30.0


@dataclass
class Unnamed:
    """An uploaded record whose channels bear no lead name (a Holter's 'ECG1', 'ECG2'): it opens once the
    reader says which lead each channel is (``read_named``). Its bytes stay in memory, as every upload's."""
    what: str                         # the uploaded files, as messages name them
    name: str
    members: list[tuple[str, bytes]]
    channels: list[str]               # the file's channel names, in order
    fs: float | None                  # the sampling rate it was read with (CSV/NumPy without one)

    @functools.cached_property
    def digest(self) -> str:
        """Its files' names and contents, hashed (once): two uploads of one name (files of two folders) are
        told apart."""
        import hashlib
        h = hashlib.sha256()
        for filename, data in self.members:
            h.update(f"{len(filename)}:{filename}:{len(data)}:".encode())
            h.update(data)
        return h.hexdigest()


@dataclass
class LoadResult:
    ecgs: list[ECG]
    errors: list[tuple[str, str]]     # (what was uploaded, what went wrong)
    beats: list = field(default_factory=list)    # per ECG: mets_core.readers.beat_labels.Beats from its annotation file, or None
    unnamed: list[Unnamed] = field(default_factory=list)


def group_uploads(files: list[tuple[str, bytes]]) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """[(display name, [(filename, bytes), ...])]: the files of one WFDB record grouped by its name, others one
    by one. A WFDB record's files share its name: rec.hea, its signal files (.dat, .mat, PTB-DB's Frank
    leads in .xyz) and its annotation files (.atr, QTDB's .man, .q1c, .qt1, ..., LUDB's per-lead .i ... .v6),
    which is how the readers tell them (``mets_core.readers.kind``); a file of another kind that bears the
    name of an uploaded header joins its record too (a database's own extension, which the record's reader
    leaves alone) unless it is an ECG of its own (a CSV, a zip, ...)."""
    from mets_core.readers import UPLOAD_EXTENSIONS, kind

    named = [(PurePosixPath(str(filename).replace("\\", "/")).name or "upload", data) for filename, data in files]
    headers = {Path(name).stem for name, _ in named if Path(name).suffix.lower() == ".hea"}
    groups: OrderedDict[str, list[tuple[str, bytes]]] = OrderedDict()
    for name, data in named:
        what = kind(name, data)
        suffix = Path(name).suffix.lower()
        wfdb = what in WFDB_KINDS or (what == "unknown" and Path(name).stem in headers
                                       and suffix[1:] not in UPLOAD_EXTENSIONS)
        key = f"wfdb:{Path(name).stem}" if wfdb else f"file:{name}"
        if (name, data) in groups.get(key, []):
            continue                      # the very same file dropped twice (the same name, the same bytes)
        if key.startswith("file:") and key in groups:      # another file of that name: keep both, reader will say
            key = f"{key}#{len(groups)}"
        groups.setdefault(key, []).append((name, data))
    out = []
    for key, members in groups.items():
        if key.startswith("wfdb:"):
            names = [n for n, _ in members]
            if not any(n.lower().endswith(".hea") for n in names):
                # a signal or annotation file alone: let the reader explain (it says a .hea is needed)
                out.append((" + ".join(names), members))
                continue
            out.append((key[5:], members))
        else:
            out.append((members[0][0], members))
    return out


def reader_failure(err: Exception) -> str:
    """What to say of an upload whose reader failed with something other than ECGReadError (its refusal in
    words): running out of memory, or a fault of the reader."""
    if isinstance(err, MemoryError):
        return ("is too large to read in the memory the server has free; cut the recording into shorter files "
                "(or downsample it) and upload those")
    from mets_core.readers import ACCEPTED_FORMATS
    return (f"could not be read: the reader failed on this file ({type(err).__name__}), a fault of this program, "
            f"not necessarily of the file. Accepted: {ACCEPTED_FORMATS}. If it is one of these, export it again "
            f"from the device, or save it as CSV with a header row of lead names and upload that.")


def read_uploads(files: list[tuple[str, bytes]], fs: float | None = None) -> LoadResult:
    """Read every record in an upload; a bad one gives a message and does not stop the others; one whose
    channels bear no lead name waits in ``unnamed`` for the reader to name them."""
    from mets_core import UnnamedLeadsError

    result = LoadResult([], [])
    for name, members in group_uploads(files):
        suffix = Path(members[0][0]).suffix.lower()
        rate = fs if (fs and len(members) == 1 and suffix in NEEDS_RATE) else None
        what = " + ".join(n for n, _ in members)
        try:
            ecg, beats = _read_record(name, members, rate)
        except UnnamedLeadsError as err:
            upload = Unnamed(what, name, members, err.channel_names, rate)
            problem = _readable_once_named(upload)
            if problem is None:
                result.unnamed.append(upload)
            else:                        # the names are not all that is wrong: say what else is
                result.errors.append((what, problem))
            continue
        except ECGReadError as err:
            result.errors.append((what, str(err)))
            continue
        except Exception as err:   # a reader bug must not take the page down; say what kind of failure
            result.errors.append((what, reader_failure(err)))
            continue
        result.ecgs.append(ecg)
        result.beats.append(beats)
    return result


def read_named(upload: Unnamed, leads: list[str | None]):
    """(ECG, beat labels or None) of an ``Unnamed`` upload with the leads the reader gave its channels (one
    per channel, in order; None leaves a channel out). The ECG says which names were given on the page."""
    if len(leads) != len(upload.channels) or not any(leads):
        raise ECGReadError("choose a lead for at least one channel")
    chosen = [lead for lead in leads if lead]
    twice = sorted({lead for lead in chosen if chosen.count(lead) > 1})
    if twice:
        raise ECGReadError(f"{', '.join(twice)} was chosen for two channels: each lead can be given once")
    # a channel left out keeps its own name, which is no lead name (that is why it is asked): it is dropped
    names = [lead or channel for lead, channel in zip(leads, upload.channels)]
    ecg, beats = _read_record(upload.name, upload.members, upload.fs, names)
    ecg.metadata["lead_names_given"] = ", ".join(f"{channel} as {lead}" for channel, lead in zip(upload.channels, leads)
                                                 if lead) + " (named on this page: the file does not say)"
    return ecg, beats


def channels_words(metadata: dict) -> str:
    """What the page must say of the file's channels beside its leads: names given on the page (the file gave
    none) and channels not drawn (a second channel for a lead already drawn; channels that are no lead)."""
    words = []
    if metadata.get("lead_names_given"):
        words.append(f"Lead names: {metadata['lead_names_given']}.")
    from mets_core.ecg import standard_lead
    sources = dict(s.split("=", 1) for s in metadata.get("lead_sources", "").split() if "=" in s)
    dropped = metadata.get("dropped_leads", "").split()
    # a dropped channel that names a lead already drawn is a second channel for it (ECG.from_leads keeps the first)
    second = [(name, standard_lead(name)) for name in dropped if standard_lead(name) in sources]
    others = [name for name in dropped if standard_lead(name) not in sources]
    if second:
        words.append("Not drawn: " + "; ".join(f"channel {name}, a second {lead} ({lead} is drawn from "
                                                f"{sources.get(lead, 'another channel')})" for name, lead in second)
                     + ".")
    if others:
        why = "left out when the leads were named" if metadata.get("lead_names_given") else \
            "not one of the twelve standard leads"
        words.append(f"Not drawn: {', '.join(others)} ({why}).")
    from mets_core.readers import filled_stretches, leads_left_out_for_gaps

    from .plotting import absent_label, absent_words, hms
    gappy = leads_left_out_for_gaps(metadata)
    if gappy:            # in the paper's own words for such a lead (its cell, the PDF's scale line)
        words.append("Not drawn: " + "; ".join(absent_label(lead, absent_words(gappy, lead)) for lead in gappy) + ".")
    gaps = filled_stretches(metadata)
    if gaps:
        words.append("Samples missing at " + ", ".join(f"{hms(a)}–{hms(b)}" for a, b in gaps)
                     + ": left blank on the paper (filled by a straight line for measuring and the model); "
                       "a pause or a rhythm there is not real.")
    return " ".join(words)


def _readable_once_named(upload: Unnamed) -> str | None:
    """None when the upload reads with its channels named (a trial with stand-in names), else what else is
    wrong with it: the reader is asked to name the channels only of a file that then opens."""
    from mets_core.ecg import STANDARD_LEADS
    stand_in = [STANDARD_LEADS[i] if i < len(STANDARD_LEADS) else channel for i, channel in enumerate(upload.channels)]
    try:
        _read_record(upload.name, upload.members, upload.fs, stand_in)
    except ECGReadError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - as read_uploads says of a reader's bug
        return reader_failure(err)
    return None


def _read_record(name: str, members: list[tuple[str, bytes]], rate: float | None, lead_names=None):
    """(ECG, its annotation file's beat labels or None) of one grouped upload."""
    from mets_core import read_ecg

    from mets_core.readers.beat_labels import beat_labels_of
    ecg = read_ecg(members if len(members) > 1 else members[0][1],
                   name=name if len(members) > 1 else members[0][0], fs=rate, lead_names=lead_names)
    if len(members) == 1 and ecg.name in ("", "ecg", None):
        ecg.name = Path(members[0][0]).stem
    ecg.metadata.setdefault("uploaded_files", " + ".join(n for n, _ in members))
    return ecg, (beat_labels_of(members) if len(members) > 1 else None)


# Readers speak to programmers ("pass fs=500 to read_ecg"); the page speaks to the person at the screen.
_CLINICIAN_WORDS = (
    (r"pass fs=500 \(Hz\) to read_ecg", "set the sampling rate in the sidebar (Settings: “Sampling rate for "
                                        "CSV/NumPy files”), e.g. 500"),
    (r"pass fs=500 to read_ecg", "set the sampling rate in the sidebar (Settings: “Sampling rate for CSV/NumPy "
                                 "files”), e.g. 500"),
    (r"drop the time column and pass fs=", "remove the time column and set the sampling rate in the sidebar "
                                          "(Settings)"),
    (r"\.? ?Pass lead_names=\[\.\.\.\] to read_ecg to name the channels \(one name per recorded channel, in "
     r"order\)", ". Rename the channels in the file to standard lead names (I, II, III, aVR, aVL, aVF, V1–V6)"),
    (r"pass lead_names=\[\.\.\.\] \(one per lead, in order\)", "give the leads names (I, II, III, aVR, aVL, "
                                                          "aVF, V1–V6) in the file"),
    (r"or pass lead_names=\[\.\.\.\] to name the signal columns", "or rename those columns to lead names (I, "
                                                                "II, …, V6)"),
    (r"pass lead_names=\[\.\.\.\]", "name the columns after the leads (I, II, …, V6)"),
    (r"\bthe fs argument\b", "the sampling rate set in the sidebar"),
    (API_POINTER.pattern, ""),
    # a record too long to read whole (mets_core.readers.wfdb_record): a page cannot read a stretch of a file
    (", or " + re.escape(STRETCH_HINT),
     " (shorter files can be uploaded here), or read it a stretch at a time with the mets command's --start and "
     "--end"),
    # a zip of several records (mets_core.readers.wfdb_record): a browser has no name= to pass
    (r"(\d+) WFDB records \(([^;]*)\); upload one record, or pass its name as name=",
     r"\1 records (\2): upload them as loose files (all of them at once is fine), or one zip per record"),
    # a library's own advice to programmers ("Use force=True to force reading.") and its exception's class name
    (r"(?<=[.!?:])\s*[A-Z][^.;()]*\b[A-Za-z_]\w*=(?:True|False|None)\b[^.;()]*\.?", ""),
    (r"File is missing DICOM File Meta Information header or the 'DICM' prefix is missing from the header\.?",
     "it has no DICOM header, so it is not a DICOM file or it is damaged"),
    (r"\b[A-Z]\w*(?:Error|Exception|Warning):\s*", ""),
    (r" ?\(\)", ""),
)


def _sentence(words: str) -> str:
    """`words` ended with a full stop where they end without one (a reader's message may not)."""
    words = words.rstrip()
    return words if words.endswith((".", "!", "?")) else words + "."


def not_opened(what: str, why: str) -> str:
    """The page's sentence (Markdown) for an upload that could not be opened: its name, then why."""
    return f"**{what}** could not be opened. {_sentence(why)}"


NAMES_SHOWN = 3        # a reason shared by many uploads names this many of them, then how many more


def not_opened_messages(errors: list[tuple[str, str]]) -> list[str]:
    """The last load's messages as the page shows them (``not_opened``'s sentences): one per reason, so that
    uploads failing alike (a folder of NumPy files that state no rate) make one message that names them and says
    how many, instead of a box each that pushes the ECG off the screen. Two reasons are alike when they differ
    only in the upload's name."""
    alike: dict[str, list[tuple[str, str]]] = {}
    for what, why in errors:
        reason = why
        for name in sorted({what, *what.split(" + ")}, key=len, reverse=True):
            reason = reason.replace(name, "\0")
        alike.setdefault(reason, []).append((what, why))
    messages = []
    for same in alike.values():
        what, why = same[0]
        if len(same) > 1:
            names = [w for w, _ in same]
            more = len(names) - NAMES_SHOWN
            what = (f"{len(names)} uploads ({', '.join(names[:NAMES_SHOWN])}"
                    f"{f' and {more} more' if more > 0 else ''})")
            why = _sentence(why) + f" The same holds for {'both' if len(names) == 2 else f'all {len(names)}'}"
        messages.append(not_opened(what, why))
    return messages


def for_clinicians(message: str) -> str:
    """A reader's error message with programming advice replaced by what to do on this page."""
    for pattern, words in _CLINICIAN_WORDS:
        message = re.sub(pattern, words, message)
    return message


# ----------------------------------------------------------------------------------------- PhysioNet

def split_physionet(database: str, record: str) -> tuple[str, str, str]:
    """('ludb/1.0.1', 'data', '1') from database 'ludb/1.0.1/data' (or 'ludb') and record '1'
    (or 'data/1'). The version is resolved by wfdb when the database has none."""
    db = database.strip().strip("/")
    rec = record.strip().strip("/")
    if not db or not rec:
        raise ValueError("give a database (e.g. ludb, mitdb, ptb-xl/1.0.3) and a record (e.g. data/1, 100)")
    if ".." in db.split("/") or ".." in rec.split("/"):
        raise ValueError("database and record names cannot contain '..'")
    parts = db.split("/")
    rec_dir, rec_name = posixpath.split(rec)
    if len(parts) > 2:                       # 'ludb/1.0.1/data' -> folder inside the database
        rec_dir = posixpath.join(*parts[2:], rec_dir) if rec_dir else posixpath.join(*parts[2:])
        parts = parts[:2]
    return "/".join(parts), rec_dir, rec_name


def fetch_physionet(database: str, record: str, timeout_s: float = PHYSIONET_TIMEOUT_S):
    """Download a PhysioNet record (header through wfdb, signal files by URL, and its reference beat
    annotations (.atr) when the database has them, all in memory) and read it with read_ecg. Returns
    (ECG, mets_core.readers.beat_labels.Beats or None, mets_core.file_labels.FileLabels or None): the last,
    what the database says of the record beside its files (PTB-XL's table of statements, fetched once per
    server; None when it cannot be had: the record opens without it). Raises ECGReadError with a clear
    message when offline or when the record is unknown."""
    db, rec_dir, rec_name = split_physionet(database, record)
    try:
        files, db = _in_time(timeout_s, _download_record, db, rec_dir, rec_name)
    except FutureTimeout:
        raise ECGReadError(f"PhysioNet did not answer within {timeout_s:.0f} s; check the internet connection, "
                           f"or download the record and upload its .hea and .dat files") from None
    except ECGReadError:
        raise
    except FileNotFoundError:      # wfdb's answer to PhysioNet's 404 for the header (or the database's page)
        raise ECGReadError(f"PhysioNet has no record {posixpath.join(rec_dir, rec_name)} in {db}. Check the "
                           f"database and the record as PhysioNet's page of the database names them (e.g. "
                           f"database ludb/1.0.1/data with record 1, or mitdb with record 100).") from None
    except Exception as err:
        text = str(err)
        if any(s in text for s in ("resolve", "Connection", "Max retries", "timed out", "Network")):
            raise ECGReadError(f"{OFFLINE} (no internet connection?). Download the record "
                               "elsewhere and upload its .hea and .dat files, or use a built-in demo.") from None
        raise ECGReadError(f"could not open {db}/{posixpath.join(rec_dir, rec_name)} on PhysioNet: "
                           f"{type(err).__name__}: {text[:300]}") from None
    from mets_core import read_ecg

    from mets_core.readers.beat_labels import beat_labels_of
    signal_files = [f for f in files if not f[0].endswith(".atr")]
    ecg = read_ecg(signal_files, name=rec_name)
    labels = _ptbxl_labels_from_physionet(ecg, db, timeout_s)       # before the name takes the database's path
    ecg.name = f"{db.split('/')[0]}/{posixpath.join(rec_dir, rec_name)}"
    ecg.metadata["source"] = f"PhysioNet {db}"
    return ecg, beat_labels_of(files), labels


OFFLINE = "PhysioNet cannot be reached"       # the start of fetch_physionet's message when it is offline


def open_from_data_folder(folder: Path | None, database: str, record: str):
    """(ECG, beat labels or None) of a PhysioNet record from the user's copy of its database in `folder`
    (<folder>/mitdb/100.hea for mitdb 100; ptb-xl is the folder ptbxl, as `mets download` lays it out), or None
    when the folder does not hold it: what "Open a PhysioNet record" opens when PhysioNet cannot be reached."""
    import glob

    from mets_core import read_ecg
    from mets_core.readers.beat_labels import ANNOTATION_EXTENSIONS, beat_labels_of
    if folder is None:
        return None
    db, rec_dir, rec_name = split_physionet(database, record)
    found = resolve_source(folder, f"{db.split('/')[0].replace('-', '')}/{posixpath.join(rec_dir, rec_name)}")
    if found is None:
        return None
    header = found[0]
    ecg = read_ecg(str(header.with_suffix("")), name=rec_name)
    annotations = [(Path(p).name, Path(p).read_bytes())
                   for p in glob.glob(glob.escape(str(header.with_suffix(""))) + ".*")
                   if p.lower().endswith(ANNOTATION_EXTENSIONS)]
    ecg.metadata["source"] = f"the data folder's copy of {db}"
    return ecg, beat_labels_of(annotations)


def _in_time(timeout_s: float, fn, *args):
    """fn(*args), or concurrent.futures.TimeoutError after `timeout_s`: a download that hangs is left to
    finish in its own thread instead of holding the page."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args).result(timeout=timeout_s)
    finally:
        pool.shutdown(wait=False)


def _download_record(db: str, rec_dir: str, rec_name: str) -> tuple[list[tuple[str, bytes]], str]:
    """(the record's files, the database with its version: 'ptb-xl/1.0.3')."""
    import requests
    import wfdb
    from wfdb.io import download

    if len(db.split("/")) == 1:
        db = f"{db}/{download.get_version(db)}"
    pn_dir = posixpath.join(db, rec_dir) if rec_dir else db
    header = wfdb.rdheader(rec_name, pn_dir=pn_dir)              # wfdb parses the header
    base = posixpath.join(download.config.db_index_url, pn_dir)
    names = [f"{rec_name}.hea"] + sorted({f for f in (header.file_name or []) if f})
    files = []
    for fname in names:
        resp = requests.get(posixpath.join(base, fname), timeout=20)
        if resp.status_code == 404:
            raise ECGReadError(f"PhysioNet has no file {pn_dir}/{fname}")
        resp.raise_for_status()
        files.append((fname, resp.content))
    resp = requests.get(posixpath.join(base, f"{rec_name}.atr"), timeout=20)    # beat labels, where there are
    if resp.status_code == 200:
        files.append((f"{rec_name}.atr", resp.content))
    return files, db


def _ptbxl_labels_from_physionet(ecg, db: str, timeout_s: float):
    """PTB-XL's statements, age and sex for a record of PhysioNet's PTB-XL (its WFDB headers carry none), from
    the database's own ptbxl_database.csv (~6.5 MB, fetched once per server and version); when the table
    cannot be fetched in time, no labels and the words that say so; None for other databases or names, or a
    record the table does not list."""
    from mets_core.file_labels import PTBXL_TABLE, FileLabels, ptbxl_labels_in, ptbxl_record_id
    from mets_core.readers.wfdb_adapter import database_index_url
    if db.split("/")[0] != "ptb-xl" or ptbxl_record_id(ecg) is None:
        return None
    try:
        rows = _in_time(timeout_s, _physionet_ptbxl_rows, posixpath.join(database_index_url(), db, PTBXL_TABLE))
    except Exception:  # noqa: BLE001 - the table is a convenience: the record itself has been read
        return FileLabels(origin=f"PTB-XL's own files carry no labels, and its table of statements ({PTBXL_TABLE}) "
                                 f"could not be fetched from PhysioNet's {db}: open the record again later, or put "
                                 f"PTB-XL's table in your data folder (ptbxl/{PTBXL_TABLE}).")
    return ptbxl_labels_in(ecg, rows, f"PhysioNet's {db}")


@functools.lru_cache(maxsize=2)
def _physionet_ptbxl_rows(url: str) -> dict:
    """ecg_id -> PTB-XL's columns for the labels, from the table at `url` (kept: one download per server)."""
    import requests

    from mets_core.file_labels import ptbxl_table_rows
    resp = requests.get(url, timeout=20)
    resp.raise_for_status()
    return ptbxl_table_rows(resp.content.decode("utf-8", errors="replace").splitlines())


# --------------------------------------------------------------------------- corpus ECG thumbnails

def resolve_source(data_dir: Path | None, source_id: str) -> tuple[Path, float] | None:
    """(header file, start second) of a corpus record in the user's data folder, or None.

    Source ids (`mets_core.index.parse_source_id`) are '<database>/<record path>' (e.g. 'ludb/1', 'mitdb/100',
    'ptbxl/6000' with PTB-XL's ecg_id), optionally with the window's start as ':<seconds>'. Looked up as
    <data>/<database>/<record path>.hea, then by record name anywhere under <data>/<database>/ (PTB-XL ids
    also as the native '06000_hr' / '06000_lr' names)."""
    from mets_core.index import parse_source_id
    if data_dir is None or not source_id:
        return None
    database, record, start = parse_source_id(source_id)
    start = start or 0.0
    parts = [p for p in f"{database}/{record}".replace("\\", "/").split("/") if p and p not in ("..", ".")]
    if len(parts) < 2:
        return None
    db = Path(data_dir) / parts[0]
    if not db.is_dir():
        return None
    direct = db.joinpath(*parts[1:])
    direct = direct.with_name(direct.name + ".hea")
    if direct.is_file():
        return direct, start
    name = parts[-1]
    names = [name]
    if name.isdigit():
        names += [f"{int(name):05d}_hr", f"{int(name):05d}_lr"]
    index = _headers(str(db))
    for candidate in names:
        if index.get(candidate):
            return Path(index[candidate][0]), start
    return None


_HEADER_CACHE: dict[str, dict[str, list[str]]] = {}


def _headers(db_dir: str) -> dict[str, list[str]]:
    """Record name -> header paths in a database folder (scanned once per server)."""
    if db_dir not in _HEADER_CACHE:
        found: dict[str, list[str]] = {}
        for path in Path(db_dir).rglob("*.hea"):
            found.setdefault(path.stem, []).append(str(path))
        _HEADER_CACHE[db_dir] = found
    return _HEADER_CACHE[db_dir]
