"""`mets download` against a PhysioNet-like mirror served on 127.0.0.1 (built here from METS_DATA_DIR).

The mirror is laid out as PhysioNet's file index: <base>/files/<slug>/<version>/<path>. LUDB keeps its
published SHA256SUMS.txt lines verbatim (a subset: 3 records), so verification checks PhysioNet's own
checksums; MIT-BIH has no SHA256SUMS.txt here, which exercises wfdb's RECORDS/header/ANNOTATORS listing.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mets_core import cli
from mets_core.download import DownloadError, download_database, parse_sha256sums, sha256_of

from helpers import data_dir_or_none, needs_data
from physionet_mirror import physionet_mirror

DATA = data_dir_or_none("ludb", "mitdb")
LUDB_RECORDS = ("1", "2", "3")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    with physionet_mirror(root) as (base, requests):
        yield root, base, requests


def _ludb_mirror(root: Path) -> dict[str, str]:
    src = Path(DATA) / "ludb"
    sums = parse_sha256sums((src / "SHA256SUMS.txt").read_text())
    # the copy in METS_DATA_DIR has a few top-level text files that differ from the published ones
    # (README, LICENSE.txt, ANNOTATORS): the mirror serves only files whose published checksum holds
    keep = {p: h for p, h in sums.items()
            if ("/" not in p or any(p.startswith(f"data/{r}.") for r in LUDB_RECORDS)) and sha256_of(src / p) == h}
    assert sum(p.startswith("data/") for p in keep) == 12 * len(LUDB_RECORDS) + 2 * len(LUDB_RECORDS)
    dst = root / "files" / "ludb" / "1.0.1"
    for rel in keep:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
    published = (src / "SHA256SUMS.txt").read_text().splitlines()
    (dst / "SHA256SUMS.txt").write_text("\n".join(l for l in published if l.split()[-1] in keep) + "\n")
    return keep


@needs_data("ludb", "mitdb")
def test_downloads_verifies_and_skips_complete_files(server, tmp_path):
    root, base, requests = server
    keep = _ludb_mirror(root)
    out = tmp_path / "out"
    summary = download_database("ludb", out, base_url=base, progress=False)
    assert summary.verified_by == "SHA256SUMS.txt"
    assert sorted(summary.downloaded) == sorted(keep) and not summary.skipped
    for rel in keep:
        assert (out / "ludb" / rel).read_bytes() == (Path(DATA) / "ludb" / rel).read_bytes()
    assert not list((out / "ludb").rglob("*.part"))
    # the records read back with wfdb
    import wfdb
    assert wfdb.rdheader(str(out / "ludb" / "data" / "1")).n_sig == 12

    requests.clear()
    again = download_database("ludb", out, base_url=base, progress=False)
    assert sorted(again.skipped) == sorted(keep) and not again.downloaded
    assert [p for _, p, _ in requests] == ["/files/ludb/1.0.1/SHA256SUMS.txt"]   # nothing re-transferred


@needs_data("ludb", "mitdb")
def test_resumes_a_partial_file_with_a_range_request(server, tmp_path):
    root, base, requests = server
    _ludb_mirror(root)
    out = tmp_path / "out"
    full = (Path(DATA) / "ludb" / "data" / "2.dat").read_bytes()
    part = out / "ludb" / "data" / "2.dat.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(full[:1000])
    summary = download_database("ludb", out, base_url=base, progress=False)
    assert summary.resumed == ["data/2.dat"]
    assert (out / "ludb" / "data" / "2.dat").read_bytes() == full
    assert ("GET", "/files/ludb/1.0.1/data/2.dat", "bytes=1000-") in requests


@needs_data("ludb", "mitdb")
def test_corrupted_file_is_a_clear_checksum_error(server, tmp_path, capsys):
    root, base, _ = server
    _ludb_mirror(root)
    bad = root / "files" / "ludb" / "1.0.1" / "data" / "3.dat"
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(DownloadError, match=r"3\.dat: SHA256 mismatch"):
        download_database("ludb", out, base_url=base, progress=False, jobs=1)
    assert not (out / "ludb" / "data" / "3.dat").exists() and not (out / "ludb" / "data" / "3.dat.part").exists()
    code = cli.main(["download", "ludb", "--to", str(out), "--base-url", base, "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "SHA256 mismatch" in err[0]


@needs_data("ludb", "mitdb")
def test_database_without_sha256sums_uses_wfdb_listing(server, tmp_path):
    root, base, _ = server
    dst = root / "files" / "mitdb" / "1.0.0"
    dst.mkdir(parents=True)
    for ext in ("hea", "dat", "atr"):
        shutil.copyfile(Path(DATA) / "mitdb" / f"101.{ext}", dst / f"101.{ext}")
    (dst / "RECORDS").write_text("101\n")
    (dst / "ANNOTATORS").write_text("atr\treference beat, rhythm, and signal quality annotations\n")
    out = tmp_path / "out"
    summary = download_database("mitdb", out, base_url=base, progress=False)
    assert summary.verified_by == "size"
    assert sorted(summary.downloaded) == ["101.atr", "101.dat", "101.hea", "ANNOTATORS", "RECORDS"]
    import wfdb
    ann = wfdb.rdann(str(out / "mitdb" / "101"), "atr")
    assert len(ann.sample) > 1000
    again = download_database("mitdb", out, base_url=base, progress=False)
    assert len(again.skipped) == 5 and not again.downloaded


def test_offline_is_one_clear_line_and_nonzero_exit(tmp_path, capsys):
    import socket
    with socket.socket() as s:              # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = cli.main(["download", "mitdb", "--to", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}/files/",
                     "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "cannot reach" in err[0] and "network" in err[0]


def test_sha256sums_parsing_rejects_paths_outside():
    assert parse_sha256sums("a" * 64 + "  data/1.hea\n" + "b" * 64 + " *RECORDS\n") == {
        "data/1.hea": "a" * 64, "RECORDS": "b" * 64}
    with pytest.raises(DownloadError, match="outside"):
        parse_sha256sums("a" * 64 + "  ../etc/passwd\n")
    with pytest.raises(DownloadError, match="malformed"):
        parse_sha256sums("xyz  file\n")
