"""Everything METS takes from wfdb, in one place: the package itself and the few private names it needs.

wfdb is the reference decoder of PhysioNet records and its download machinery; METS uses it unmodified.
Four things it offers only under private names (or reaches only from inside) are used here and nowhere
else, so that a wfdb upgrade that moves them breaks one module:

* ``wfdb.io._coreio.CLOUD_PROTOCOLS``: the list of fsspec protocols wfdb passes to ``fsspec.open`` as they
  are. Registering our in-memory upload filesystem there lets ``wfdb.rdrecord`` decode uploads that never
  touch the disk (see ``UploadFileSystem``).
* ``wfdb.io.record.rdheader``, the name ``wfdb.rdrecord`` parses a header through: for a path inside an
  upload whose header was parsed already (``rdheader`` here), it hands back a copy of that parse instead of
  parsing the same bytes again (see ``_rdheader_once``).
* ``wfdb.io._signal``: the table of signal formats and their sample sizes, to check a signal file's size
  against its header before wfdb reads it.
* ``wfdb.io._url``: the byte-range HTTP transfer behind ``wfdb.rdrecord(pn_dir=...)``, used by
  ``mets download`` (``open_range``).

wfdb (and pandas behind it) is imported on first use, so ``import mets_core.readers`` stays light.
"""
from __future__ import annotations

import copy
import io
import threading
import uuid
import warnings
from contextlib import contextmanager
from functools import cache

import fsspec


@cache
def wfdb():
    """The wfdb package, imported once, with the upload filesystem registered."""
    with warnings.catch_warnings():
        # wfdb builds its annotation tables at import with DataFrame.set_index(inplace=True), which pandas
        # >= 3.1 deprecates (one warning per table); nothing of ours can change that call, so only it is silenced.
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.set_index", category=Warning)
        import wfdb as package
        from wfdb.io import _coreio, record
    record.rdheader = _rdheader_once    # the name rdrecord looks up; the package's own wfdb.rdheader stays wfdb's
    protocol = f"{UploadFileSystem.protocol}://"
    if protocol not in _coreio.CLOUD_PROTOCOLS:
        _coreio.CLOUD_PROTOCOLS.append(protocol)        # the same list object wfdb consults
    return package


# ---------------------------------------------------------------------------------------------------
# Uploads served to wfdb from memory

class UploadFileSystem(fsspec.AbstractFileSystem):
    """Read-only fsspec filesystem over in-memory bundles of files, keyed by a random token.

    wfdb opens every header and signal file through ``fsspec.open``; a path of a protocol listed in its
    ``CLOUD_PROTOCOLS`` is passed to fsspec as it is. Each read mounts its own bundle under a fresh token
    and unmounts it when done; nothing else can list the bundles.
    """

    protocol = "metsupload"
    _bundles: dict[str, dict[str, bytes]] = {}
    _headers: dict[str, dict[str, object]] = {}        # token -> {path: wfdb's parse of that header}
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
        """The root path (``metsupload://TOKEN``) under which wfdb finds ``files``."""
        wfdb()
        token = uuid.uuid4().hex
        with cls._lock:
            cls._bundles[token] = files
            cls._headers[token] = {}
        return f"{cls.protocol}://{token}"

    @classmethod
    def unmount(cls, root: str) -> None:
        token = cls._token(root)
        with cls._lock:
            cls._bundles.pop(token, None)
            cls._headers.pop(token, None)

    @classmethod
    def _token(cls, path: str) -> str | None:
        if not path.startswith(f"{cls.protocol}://"):
            return None
        return path.split("://", 1)[1].partition("/")[0]

    @classmethod
    def remember_header(cls, path: str, header) -> None:
        with cls._lock:
            bundle = cls._headers.get(cls._token(path) or "")
            if bundle is not None:
                bundle[path] = header

    @classmethod
    def header_of(cls, path: str):
        """The parse remembered for `path` (None: none, or not a path inside a mounted upload)."""
        with cls._lock:
            return cls._headers.get(cls._token(path) or "", {}).get(path)

    @classmethod
    def mounted(cls) -> int:
        """How many uploads (their files or parsed headers) are held in memory now (0 whenever no read is
        running)."""
        with cls._lock:
            return len(cls._bundles.keys() | cls._headers.keys())


fsspec.register_implementation(UploadFileSystem.protocol, UploadFileSystem, clobber=True)


# ---------------------------------------------------------------------------------------------------
# Each uploaded header parsed once

def rdheader(path: str):
    """``wfdb.rdheader(path)``; for a path inside a mounted upload the parse is remembered until it is
    unmounted, and ``wfdb.rdrecord`` of that record then uses a copy of it. wfdb parses a 12-lead header in
    ~6 ms (a pandas lookup per field and lead), nearly all of the ~6.5 ms that rdrecord takes for a 10 s
    record, and rdrecord parses it again: the reader checks the header before any sample is decoded."""
    header = wfdb().rdheader(path)
    UploadFileSystem.remember_header(path, header)
    return header


def _rdheader_once(record_name, pn_dir=None, rd_segments=False):
    """In ``wfdb.io.record``'s namespace: a copy of the remembered parse (rdrecord changes the header it gets:
    it selects channels, adds the signal), or wfdb's own parse for any other call."""
    known = UploadFileSystem.header_of(record_name) if pn_dir is None and not rd_segments else None
    if known is not None:
        return copy.deepcopy(known)
    return wfdb().rdheader(record_name, pn_dir=pn_dir, rd_segments=rd_segments)


# ---------------------------------------------------------------------------------------------------
# Signal formats

@cache
def _signal():
    wfdb()
    from wfdb.io import _signal as module
    return module


def signal_formats() -> list[str]:
    """Every WFDB signal format wfdb decodes ('16', '212', '508', ...)."""
    return list(_signal().DAT_FMTS)


def is_compressed(fmt: str) -> bool:
    """FLAC formats (508/516/524): no fixed size per sample."""
    return fmt in _signal().COMPRESSED_FMTS


def bytes_per_sample(fmt: str) -> float | None:
    """Bytes one sample of format ``fmt`` takes (1.5 for 212), None where not fixed."""
    return _signal().BYTES_PER_SAMPLE.get(fmt) or None


def required_bytes(fmt: str, n_samples: int) -> int:
    """Bytes a signal file of format ``fmt`` needs to hold ``n_samples`` samples (as wfdb reads it)."""
    return int(_signal()._required_byte_num("read", fmt, n_samples))


# ---------------------------------------------------------------------------------------------------
# HTTP (PhysioNet and its mirrors)

class RemoteFileNotFound(FileNotFoundError):
    """The server answered 404."""


@cache
def _http():
    wfdb()
    from wfdb.io import _url, download
    return _url, download


@contextmanager
def open_range(url: str, start: int, end: int | None):
    """wfdb's byte-range transfer of ``url`` from ``start`` (to ``end``, None: to the end; ``end == 0``
    with ``start == 0``: headers only). Yields an object with ``content()``, ``iter_chunks()`` and
    ``file_size``; a 404 raises ``RemoteFileNotFound``."""
    _url, _ = _http()
    try:
        transfer = _url.RangeTransfer(url, start, end)
    except _url.NetFileNotFoundError:
        raise RemoteFileNotFound(url) from None
    with transfer as xfer:
        yield xfer


def database_index_url() -> str:
    """wfdb's current database index URL (PhysioNet's https://physionet.org/files/ by default)."""
    return _http()[1].config.db_index_url


def set_database_index_url(url: str) -> None:
    _http()[1].set_db_index_url(url)
