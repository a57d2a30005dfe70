"""Gathering the input into ``{file name: bytes}``: a path (with the files a WFDB header names), raw bytes,
or ``(filename, bytes)`` pairs; zips unpacked one level, after their names, links, encryption and declared
sizes are checked. Sizes are checked before anything is read into memory (``limits.py``)."""
from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from ..ecg import ECGReadError
from . import wfdb_record
from .limits import ACCEPTED_FORMATS, MAX_FILE_BYTES, MAX_UPLOAD_BYTES, MAX_ZIP_ENTRIES, brief, check_size

UNNAMED = "uploaded data"       # file name of raw bytes given without a name
# Files that travel with WFDB records (annotations, lists, checksums) and are ignored when reading signals.
IGNORED_NAMES = re.compile(r"(^\.|^__MACOSX$|^RECORDS$|^ANNOTATORS$|^SHA256SUMS|^LICENSE|^README)", re.I)


def gather(source, name: str | None) -> dict[str, bytes]:
    """Every file of the input, zips unpacked, in memory."""
    return _expand_archives(_collect(source, name))


def _collect(source, name: str | None) -> dict[str, bytes]:
    if isinstance(source, (str, os.PathLike)):
        return _collect_path(Path(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        check_size(len(source), "the upload")
        # raw bytes: the name (if it has an extension) tells the format, else the content does
        filename = safe_basename(name) if name and Path(name).suffix else UNNAMED
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
            filename = safe_basename(item[0])
            if filename in files:
                raise ECGReadError(f"the file name {filename!r} appears twice in the upload")
            total += len(item[1])
            check_size(total, "the upload")
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
        for needed in wfdb_record.files_named(files, pending.pop()):
            sibling = path.parent / needed
            if needed in files or needed != PurePosixPath(needed).name or not sibling.is_file():
                continue    # missing or not a plain name: reported when the record is read
            files[needed] = _read_file(sibling)
            total += len(files[needed])
            check_size(total, f"record {path.stem!r}", MAX_FILE_BYTES)
            if needed.lower().endswith(".hea"):
                pending.append(needed)
    return files


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        check_size(size, f"file {path.name!r}", MAX_FILE_BYTES)
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
    check_size(total, f"file {path.name!r}", MAX_FILE_BYTES)
    return b"".join(chunks)


def _check_safe_path(filename: str) -> list[str]:
    """The parts of a relative path; absolute paths and paths that climb out of their folder are refused."""
    parts = filename.replace("\\", "/").split("/")
    if filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", filename) or ".." in parts:
        raise ECGReadError(f"unsafe file name {filename!r} (absolute or containing '..'); "
                           f"file names must be plain names such as 'rec.hea'")
    return parts


def safe_basename(filename: str) -> str:
    """The file name without folders (absolute names and '..' refused)."""
    base = _check_safe_path(filename)[-1].strip()
    if not base:
        raise ECGReadError(f"empty file name {filename!r}")
    return base


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_npz(filename: str, data: bytes) -> bool:
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
        if data and (is_zip(data) or filename.lower().endswith(".zip")) and not is_npz(filename, data):
            for inner_name, inner in unzip(data, filename).items():
                if is_zip(inner) and not is_npz(inner_name, inner):
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


def unzip(data: bytes, archive: str) -> dict[str, bytes]:
    """Members of a zip, checked before extraction: names, symlinks, encryption, declared sizes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as e:      # zipfile raises several types on garbage
        raise ECGReadError(f"{archive!r} is not a readable zip archive ({brief(e)}); "
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
        base = safe_basename(info.filename)
        if info.filename.startswith("__MACOSX/") or IGNORED_NAMES.match(base):
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
        raise ECGReadError(f"{archive!r} is a damaged zip archive ({brief(e)}); upload an "
                           f"intact .zip") from None
    if not out:
        raise ECGReadError(f"{archive!r} is empty; it must hold a {ACCEPTED_FORMATS}")
    return out
