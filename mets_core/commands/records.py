"""RECORD arguments -> the record files to read, checked before any model loads.

A record is named as a file, a WFDB record name (``ludb/data/1``), a folder (searched recursively for
``RECORD_SUFFIXES``; the .npz files `mets embed` wrote are not records), a glob pattern (``'data/**/*.xml'``)
or a list file (``@records.txt``, or a PhysioNet ``RECORDS`` file: one record per line, relative to the list's
folder). A name that matches nothing is one error line; the others go on.
"""
from __future__ import annotations

import os
from pathlib import Path

# files taken from a folder: one per record (a WFDB record by its header; CSV and NumPy files are taken
# only when named or matched by a glob, since data folders hold CSV tables that are not ECGs)
RECORD_SUFFIXES = (".hea", ".xml", ".edf", ".bdf", ".scp", ".dcm", ".npz")


def record_identity(name: str) -> str:
    """The file a record name stands for, as one string: a WFDB record named without its suffix ('ludb/1') and by
    its header ('ludb/1.hea'), relatively or not, are the same record. Records are told apart by this, not by how
    they were named, both among the RECORD arguments and against the rows --resume keeps."""
    path = Path(name)
    if not path.is_file() and path.with_name(path.name + ".hea").is_file():
        path = path.with_name(path.name + ".hea")
    return str(path.resolve())


def row_name(name: str) -> str:
    """How an --out row names a record found: by its full path, written as it was named ('data/1' run in /work is
    '/work/data/1'), so that --resume knows the record from any working folder (`record_identity`): a relative
    name was only the same record when the next run started in the same folder."""
    return os.path.abspath(name)


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _segment_headers(folder_headers: list[Path]) -> set[Path]:
    """Headers that are segments (or layouts) of a multi-segment WFDB record in the same folder."""
    segments: set[Path] = set()
    for hea in folder_headers:
        try:
            with open(hea, "rb") as f:
                first = f.readline(4096).split()
                if not first or b"/" not in first[0]:
                    continue
                lines = f.read(1 << 20).decode("ascii", "ignore").splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts and not parts[0].startswith("#") and parts[0] != "~":
                segments.add(hea.with_name(parts[0] + ".hea"))
    return segments


def _written_by_embed(path: Path) -> bool:
    """Whether a .npz is the output of `mets embed` (its arrays 'embeddings' and 'records'), not an ECG: written
    into the data folder (`mets embed DATA/ --out DATA/emb.npz`), it was read as a record by the next run over
    the folder and failed with a hint to save it again as an ECG."""
    import zipfile
    if path.suffix.lower() != ".npz":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return {"embeddings.npy", "records.npy"} <= set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False          # read as a record: its reader says what is wrong with it


def _records_in_folder(folder: Path) -> list[str]:
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in RECORD_SUFFIXES and p.is_file()
                   and not p.name.startswith("."))
    headers = [p for p in found if p.suffix.lower() == ".hea"]
    skip = _segment_headers(headers)
    return [str(p) for p in found if p not in skip and not _written_by_embed(p)]


def _read_list(spec: str) -> tuple[Path, list[str]]:
    path = Path(spec[1:] if spec.startswith("@") else spec)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    names = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return path.parent, names


def expand_records(specs: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(records found, [(name, why not found)]) for the RECORD arguments, in order, without duplicates."""
    import glob
    found: list[str] = []
    missing: list[tuple[str, str]] = []

    def one(name: str, base: Path | None = None) -> None:
        path = Path(name)
        if base is not None and not path.is_absolute() and not path.exists() and (base / path).exists() \
                or base is not None and not path.is_absolute() and (base / (name + ".hea")).is_file():
            path = base / path
        if path.is_dir():
            inside = _records_in_folder(path)
            if not inside:
                missing.append((name, f"folder holds no ECG records ({', '.join(RECORD_SUFFIXES)})"))
            found.extend(inside)
        elif path.is_file() and path.name == "RECORDS" and base is None:
            list_dir, names = _read_list(str(path))
            for n in names:
                one(n, list_dir)
        elif path.is_file() or path.with_name(path.name + ".hea").is_file():
            found.append(str(path))
        elif _has_glob(name) and base is None:
            matches = sorted(glob.glob(name, recursive=True))
            # 'data/**/*.hea' matches the segment headers of a multi-segment record too: as in a folder, the
            # record is read once, by its own header (a segment matched without its record's header is read)
            segments = _segment_headers([Path(m) for m in matches if Path(m).suffix.lower() == ".hea"])
            before = len(found)
            for m in matches:       # a folder it matches is searched as a folder named is ('records500/0*')
                if Path(m).is_file() and Path(m) not in segments:
                    one(m, None)
                elif Path(m).is_dir():
                    found.extend(_records_in_folder(Path(m)))
            if not matches:
                missing.append((name, "the pattern matches no file"))
            elif len(found) == before:
                missing.append((name, f"the pattern matches no ECG record (only folders without "
                                      f"{', '.join(RECORD_SUFFIXES)} files)"))
        else:
            hint = ("; if this is a prompt, give each prompt its own --prompt flag"
                    if " " in name or (not path.suffix and os.sep not in name) else "")
            missing.append((name, f"no such file or folder{hint}"))

    for spec in specs:
        if spec.startswith("@") and len(spec) > 1:
            try:
                list_dir, names = _read_list(spec)
            except OSError as e:
                missing.append((spec, f"cannot read the list file ({e.strerror or e})"))
                continue
            if not names:
                missing.append((spec, "the list file names no records"))
            for n in names:
                one(n, list_dir)
        else:
            one(spec)
    first_names: dict[str, str] = {}       # a record named twice is read once, by the name it was first given
    for name in found:
        first_names.setdefault(record_identity(name), name)
    return list(first_names.values()), missing
