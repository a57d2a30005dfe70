"""Uploads through read_ecg (``mets_core/readers/upload.py``): bytes, (filename, bytes) pairs and zips read
exactly like the path of the same record, in memory only, one record chosen among several, folder entries
and archivers' extras ignored, concurrent uploads kept apart.
"""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import wfdb

from mets_core import ECGReadError, read_ecg

from helpers import assert_same_ecg, record_files, zip_bytes

# ---------------------------------------------------------------------------------------------------
# Bytes equal paths

ONE_PER_DATABASE = ["ludb/data/1", "ptbdb/s0014lre", "ptbxl/records500/06000/06002_hr", "challenge2021/HR06001",
                    "mitdb/203", "qtdb/sel102", "cinc2017/A00004", "cpsc2021/data_101_6"]


@pytest.mark.parametrize("record", ONE_PER_DATABASE)
def test_bytes_equal_path(data_dir, record):
    path = data_dir / record
    from_path = read_ecg(path)
    files = record_files(path)          # header, signal file(s) and annotations, as a browser uploads them
    assert_same_ecg(read_ecg(files), from_path)
    assert_same_ecg(read_ecg(dict(files)), from_path)
    assert_same_ecg(read_ecg(zip_bytes(files)), from_path)                        # raw zip bytes, no name
    assert_same_ecg(read_ecg(zip_bytes(files, prefix=f"{path.name}/")), from_path)  # zipped inside a folder
    assert_same_ecg(read_ecg([("upload.zip", zip_bytes(files))]), from_path)


def test_bytes_never_touch_the_disk(data_dir, monkeypatch):
    """Uploads are decoded in memory: no file may be opened (read or written) while reading bytes."""
    import builtins
    import os
    import tempfile

    from fsspec.implementations.local import LocalFileSystem

    files = record_files(data_dir / "mitdb" / "203")
    csv_bytes = b"time,I,II\n" + b"".join(f"{i / 500},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n".encode()
                                          for i in range(1000))
    read_ecg(files)           # warm any lazy imports before the guard goes up

    def forbidden(*args, **kwargs):
        raise AssertionError(f"file access during an in-memory read: {args[:1]}")

    for target, attr in [(builtins, "open"), (io, "open"), (os, "open"), (tempfile, "mkstemp"),
                         (tempfile, "NamedTemporaryFile"), (tempfile, "TemporaryFile"),
                         (LocalFileSystem, "_open"), (np, "fromfile")]:
        monkeypatch.setattr(target, attr, forbidden)
    assert read_ecg(files).leads == ["II", "V1"]
    assert read_ecg(zip_bytes(files)).leads == ["II", "V1"]
    assert read_ecg(csv_bytes, name="x.csv").leads == ["I", "II"]


def test_upload_with_several_records_needs_a_choice(data_dir):
    files = record_files(data_dir / "cpsc2021" / "data_101_6") + record_files(data_dir / "cpsc2021" / "data_101_8")
    with pytest.raises(ECGReadError, match=r"2 WFDB records \(data_101_6, data_101_8\).*name="):
        read_ecg(files)
    assert read_ecg(files, name="data_101_8").n_samples == wfdb.rdheader(
        str(data_dir / "cpsc2021" / "data_101_8")).sig_len


def test_zip_with_folder_entries(data_dir):
    """Archivers (zip -r, Finder, Windows) store folder entries too."""
    files = record_files(data_dir / "cpsc2021" / "data_101_6")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("upload/"), b"")
        zf.writestr(zipfile.ZipInfo("upload/record/"), b"")
        for name, data in files:
            zf.writestr(f"upload/record/{name}", data)
        zf.writestr("__MACOSX/upload/._data_101_6.hea", b"\0\5\x16\7")
    assert_same_ecg(read_ecg(buf.getvalue()), read_ecg(data_dir / "cpsc2021" / "data_101_6"))


def test_concurrent_uploads_do_not_mix(data_dir):
    """Dashboard sessions read uploads in parallel threads; each read sees only its own files, and no
    upload stays in memory after its read, whether it succeeded or failed."""
    from concurrent.futures import ThreadPoolExecutor

    from mets_core.readers.wfdb_adapter import UploadFileSystem

    records = ["ludb/data/1", "mitdb/203", "cpsc2021/data_101_6", "challenge2021/HR06001"]
    expected = {r: read_ecg(data_dir / r) for r in records}
    uploads = {r: record_files(data_dir / r) for r in records}

    def read(record):
        if record == "broken":
            with pytest.raises(ECGReadError):
                read_ecg([(n, d[:100]) for n, d in uploads["ludb/data/1"]])
            return None
        return record, read_ecg(uploads[record])

    with ThreadPoolExecutor(4) as pool:
        for result in pool.map(read, (records + ["broken"]) * 3):
            if result:
                assert_same_ecg(result[1], expected[result[0]])
    assert UploadFileSystem.mounted() == 0
