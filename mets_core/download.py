"""`mets download DB --to DIR`: PhysioNet databases through wfdb's download machinery, resumable, verified.

Where files come from: wfdb's database index URL (`wfdb.io.download.config.db_index_url`, PhysioNet's
https://physionet.org/files/ unless changed with `wfdb.set_db_index_url` or `--base-url`), laid out as
PhysioNet publishes: `<index>/<slug>/<version>/<path>`. Transfers use wfdb's HTTP layer (a requests session
with byte-range support, reached through `mets_core.readers.wfdb_adapter.open_range`), so a mirror that works
for `wfdb.rdrecord(pn_dir=...)` works here.

Which files: every file of the database's published `SHA256SUMS.txt` (minus `--exclude` globs; `*.zip`
bundles are excluded by default), each verified against its published checksum. A database (or mirror)
without SHA256SUMS.txt falls back to wfdb's own listing -- RECORDS, each record's header for its signal
files, ANNOTATORS for the annotation files -- and sizes are compared instead of checksums.

Resumable: a file already present with the right checksum (or size) is skipped without transferring it; an
interrupted transfer leaves `<file>.part`, which the next run continues with a byte-range request (or
restarts, if the server ignores ranges). A file only gets its final name once verified.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .readers import wfdb_adapter

# name -> (PhysioNet slug, version, what it is)
DATABASES: dict[str, tuple[str, str, str]] = {
    "ptbxl": ("ptb-xl", "1.0.3", "PTB-XL, 21,837 12-lead ECGs with reports (records100/ and records500/)"),
    "mitdb": ("mitdb", "1.0.0", "MIT-BIH Arrhythmia Database, 48 two-lead 30 min records, beat annotations"),
    "ludb": ("ludb", "1.0.1", "Lobachevsky University ECG Database, 200 12-lead records, wave annotations"),
    "qtdb": ("qtdb", "1.0.0", "QT Database, 105 two-lead 15 min records, wave boundaries"),
    "ptbdb": ("ptbdb", "1.0.0", "PTB Diagnostic ECG Database, 549 15-lead records, clinical summaries"),
    "cinc2017": ("challenge-2017", "1.0.0", "PhysioNet/CinC Challenge 2017 AF classification (training/)"),
}
DEFAULT_EXCLUDE = ("*.zip",)
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download failed; the message is one line that says what failed and what to do."""


@dataclass
class DownloadSummary:
    database: str
    url: str
    folder: Path
    verified_by: str                   # "SHA256SUMS.txt" or "size"
    downloaded: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes: int = 0

    def line(self) -> str:
        return (f"{self.database}: {len(self.downloaded)} files downloaded ({self.bytes / 1e6:.1f} MB, "
                f"{len(self.resumed)} resumed), {len(self.skipped)} already complete; verified by "
                f"{self.verified_by}; in {self.folder}")


def index_url() -> str:
    """wfdb's current database index URL."""
    return wfdb_adapter.database_index_url()


def _network_error(err: BaseException, url: str) -> DownloadError:
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "Connection refused" in reason or "Failed to establish" in reason or "Max retries" in reason:
        reason = "connection refused or no network"
    return DownloadError(f"cannot reach {url} ({reason}); `mets download` needs network access to PhysioNet, "
                         f"or --base-url pointing at a mirror laid out as <url>/<slug>/<version>/...")


def _get(url: str) -> bytes | None:
    """The whole resource, or None on 404."""
    import requests
    try:
        with wfdb_adapter.open_range(url, 0, None) as xfer:
            return xfer.content()[1]
    except wfdb_adapter.RemoteFileNotFound:
        return None
    except (requests.exceptions.RequestException, OSError) as err:
        raise _network_error(err, url) from None


def _remote_size(url: str) -> int | None:
    import requests
    try:
        with wfdb_adapter.open_range(url, 0, 0) as xfer:      # HEAD
            return xfer.file_size
    except wfdb_adapter.RemoteFileNotFound:
        raise DownloadError(f"{url} does not exist on the server (404)") from None
    except (requests.exceptions.RequestException, OSError) as err:
        raise _network_error(err, url) from None


def parse_sha256sums(text: str) -> dict[str, str]:
    """"<hex>  <path>" lines (sha256sum format, optional '*' binary marker) -> {path: hex}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name:
            raise DownloadError(f"SHA256SUMS.txt has a malformed line: {line[:80]!r}")
        if name.startswith("/") or ".." in Path(name).parts:
            raise DownloadError(f"SHA256SUMS.txt names a path outside the database: {name!r}")
        out[name] = digest.lower()
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _wfdb_file_list(db_dir: str) -> list[str]:
    """wfdb's listing of a database without SHA256SUMS.txt: RECORDS, the headers' signal files and the
    ANNOTATORS' annotation files (what `wfdb.dl_database` downloads)."""
    wfdb = wfdb_adapter.wfdb()
    download = wfdb.io.download
    records = download.get_record_list(db_dir)
    nested: list[str] = []
    for rec in records:
        if rec.endswith("/"):
            nested += [posixpath.join(rec, sub) for sub in download.get_record_list(posixpath.join(db_dir, rec))]
        else:
            nested.append(rec)
    annotators = download.get_annotators(db_dir, "all") or []
    files = [f for f in ("RECORDS", "ANNOTATORS") if _exists(posixpath.join(index_url(),
                                                                               db_dir, f))]
    for rec in nested:
        folder, base = posixpath.split(rec)
        files.append(rec + ".hea")
        header = wfdb.rdheader(base, pn_dir=posixpath.join(db_dir, folder))
        if isinstance(header, wfdb.MultiRecord):
            for seg in header.seg_name:
                if seg == "~":
                    continue
                files.append(posixpath.join(folder, seg + ".hea"))
                if not seg.endswith("_layout"):
                    seg_header = wfdb.rdheader(seg, pn_dir=posixpath.join(db_dir, folder))
                    files += [posixpath.join(folder, f) for f in seg_header.file_name or []]
        else:
            files += [posixpath.join(folder, f) for f in header.file_name or []]
        for ann in annotators:
            if _exists(posixpath.join(index_url(), db_dir, f"{rec}.{ann}")):
                files.append(f"{rec}.{ann}")
    return list(dict.fromkeys(files))


def _exists(url: str) -> bool:
    try:
        with wfdb_adapter.open_range(url, 0, 0):
            return True
    except wfdb_adapter.RemoteFileNotFound:
        return False


def _selected(path: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatch(path, g) for g in include):
        return False
    return not any(fnmatch.fnmatch(path, g) for g in exclude)


def _fetch(url: str, dest: Path, expected_sha: str | None, expected_size: int | None, on_bytes) -> str:
    """Download url -> dest via dest.part (continued if present). Returns "downloaded" or "resumed"."""
    import requests
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    status = "resumed" if offset else "downloaded"
    try:
        with wfdb_adapter.open_range(url, offset, None) as xfer:
            with open(part, "r+b" if offset else "wb") as fh:
                first = True
                for start, chunk in xfer.iter_chunks():
                    if first:
                        if start != offset:              # the server ignored the range: start over
                            fh.seek(start)
                            fh.truncate()
                            status = "downloaded"
                        else:
                            fh.seek(offset)
                        first = False
                    fh.write(chunk)
                    on_bytes(len(chunk))
    except wfdb_adapter.RemoteFileNotFound:
        raise DownloadError(f"{url} is listed but does not exist on the server (404)") from None
    except (requests.exceptions.RequestException, OSError) as err:
        raise _network_error(err, url) from None
    if expected_sha is not None:
        got = sha256_of(part)
        if got != expected_sha:
            part.unlink()
            raise DownloadError(
                f"{dest.name}: SHA256 mismatch (published {expected_sha[:16]}..., downloaded {got[:16]}...); "
                f"the transfer or the mirror is corrupt -- the bad copy was deleted, run the command again")
    elif expected_size is not None and part.stat().st_size != expected_size:
        raise DownloadError(f"{dest.name}: got {part.stat().st_size} bytes, the server says {expected_size}; "
                            f"run the command again to continue")
    os.replace(part, dest)
    return status


def download_database(name: str, to: str | Path, *, version: str | None = None, base_url: str | None = None,
                      include: list[str] | None = None, exclude: list[str] | None = None, jobs: int = 2,
                      progress: bool = True) -> DownloadSummary:
    """Download one database into `to/<name>/` (see the module docstring). Raises DownloadError."""
    from tqdm import tqdm

    if name not in DATABASES:
        raise DownloadError(f"unknown database {name!r}; available: {', '.join(DATABASES)}")
    slug, default_version, _ = DATABASES[name]
    db_dir = f"{slug}/{version or default_version}"
    previous = wfdb_adapter.database_index_url()
    if base_url:
        wfdb_adapter.set_database_index_url(base_url.rstrip("/") + "/")
    try:
        root = wfdb_adapter.database_index_url().rstrip("/")
        url = f"{root}/{db_dir}"
        folder = Path(to).expanduser() / name
        include = list(include or [])
        exclude = list(DEFAULT_EXCLUDE if exclude is None else exclude)
        sums_text = _get(f"{url}/SHA256SUMS.txt")
        if sums_text is not None:
            sums = parse_sha256sums(sums_text.decode("utf-8", errors="replace"))
            files = [f for f in sums if _selected(f, include, exclude)]
            verified_by = "SHA256SUMS.txt"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "SHA256SUMS.txt").write_bytes(sums_text)
        else:
            sums = {}
            import requests
            try:
                files = [f for f in _wfdb_file_list(db_dir) if _selected(f, include, exclude)]
            except (FileNotFoundError, ValueError) as err:
                raise DownloadError(f"{url}: no SHA256SUMS.txt and no RECORDS file ({err}); is the database "
                                    f"name/version right?") from None
            except (requests.exceptions.RequestException, OSError) as err:
                raise _network_error(err, url) from None
            verified_by = "size"
        summary = DownloadSummary(database=name, url=url, folder=folder, verified_by=verified_by)
        lock = threading.Lock()

        def count_bytes(n: int) -> None:
            with lock:
                summary.bytes += n

        def one(rel: str) -> tuple[str, str]:
            dest = folder / rel
            expected = sums.get(rel)
            if dest.is_file():
                if expected is not None and sha256_of(dest) == expected:
                    return rel, "skipped"
                if expected is None and dest.stat().st_size == _remote_size(f"{url}/{rel}"):
                    return rel, "skipped"
                dest.unlink()                        # wrong content: fetch again
            size = None if expected is not None else _remote_size(f"{url}/{rel}")
            return rel, _fetch(f"{url}/{rel}", dest, expected, size, count_bytes)

        with tqdm(total=len(files), unit="file", desc=f"{name} {db_dir}", disable=not progress,
                  file=sys.stderr) as bar, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            try:
                for rel, status in pool.map(one, files):
                    if status == "skipped":
                        summary.skipped.append(rel)
                    else:
                        summary.downloaded.append(rel)
                        if status == "resumed":
                            summary.resumed.append(rel)
                    bar.update(1)
                    bar.set_postfix_str(f"{summary.bytes / 1e6:.1f} MB", refresh=False)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)     # stop at the first failure
                raise
        return summary
    finally:
        wfdb_adapter.set_database_index_url(previous)


# ------------------------------------------------------------------------------------------- CLI

def register(subparsers) -> None:
    names = ", ".join(f"{k} ({v[0]} {v[1]})" for k, v in DATABASES.items())
    p = subparsers.add_parser(
        "download", help="download PhysioNet databases (resumable, SHA256-verified)",
        description=f"Download PhysioNet databases into DIR/<name>/ through wfdb. Databases: {names}. "
                    f"Files are verified against the database's SHA256SUMS.txt; re-running skips complete "
                    f"files and continues interrupted ones.")
    p.add_argument("databases", nargs="+", choices=sorted(DATABASES), metavar="DB",
                   help=f"one or more of: {', '.join(DATABASES)}")
    p.add_argument("--to", required=True, metavar="DIR", help="target folder (each database in DIR/<name>/)")
    p.add_argument("--version", help="database version (default: the one the project was built on)")
    p.add_argument("--base-url", help="database index URL (default: wfdb's, https://physionet.org/files/)")
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="only files matching (repeatable), e.g. 'records100/*' for PTB-XL at 100 Hz")
    p.add_argument("--exclude", action="append", default=None, metavar="GLOB",
                   help="skip files matching (repeatable; default '*.zip')")
    p.add_argument("--jobs", type=int, default=2, help="parallel transfers (default 2, like wfdb)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_download)


def cmd_download(args) -> int:
    status = 0
    for name in args.databases:
        try:
            summary = download_database(name, args.to, version=args.version, base_url=args.base_url,
                                        include=args.include, exclude=args.exclude, jobs=args.jobs,
                                        progress=not args.no_progress)
        except DownloadError as err:
            print(f"mets download: {name}: {err}", file=sys.stderr)
            status = 1
            continue
        except OSError as err:                       # e.g. --to not writable, disk full
            print(f"mets download: {name}: cannot write into {args.to}: {err}", file=sys.stderr)
            status = 1
            continue
        print(summary.line())
    return status
