"""Uploaded ECGs are patient data: never written to disk, never logged, comments shown only on request.

A WFDB record is uploaded whose file names carry one random marker and whose header comments carry another
(as a name and a birth date would). A full dashboard session follows (ranking typed prompts, saliency
overlay, retrieval by ECG and by text, batch table, model card, showing the comments on request), once
through Streamlit's AppTest (the real file-uploader widget and its callback) and once in a real browser
against `streamlit run`. Afterwards neither marker may appear in any file written during the test under:
the temp dir (tempfile.gettempdir()) and /dev/shm, the working tree, the Streamlit server's cwd,
~/.streamlit, ~/.cache, ~/.config, ~/.local; nor in the server's stdout/stderr, nor in anything logged.
Before the user asks, the comment marker is nowhere on the page (not merely collapsed).

The one exclusion: the browser test's own Chromium profile (playwright's temp folders). That is the
clinician's browser, on the clinician's machine; the server never writes there.
"""
from __future__ import annotations

import gc
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import wfdb

from dashboard_fixtures import go_to, loaded, ludb_dir, new_app, upload
from reliability_support import REPO, files_containing, served

COMMENT_MARKER = "CMT" + uuid.uuid4().hex[:20].upper()      # in the header comments (a "name")
NAME_MARKER = "FN" + uuid.uuid4().hex[:20].upper()          # in the file names (and so the record name)
STEM = f"Doe_Jane_{NAME_MARKER}"
PROMPTS = ["atrial fibrillation", "sinus rhythm", "left bundle branch block"]


def marked_upload() -> list[tuple[str, bytes]]:
    """A WFDB record (LUDB record 1, or a synthetic one) renamed to STEM, with identifying comments added.
    The marked bytes exist only in memory."""
    ludb = ludb_dir()
    if ludb is not None:
        hea, dat = (ludb / "1.hea").read_bytes(), (ludb / "1.dat").read_bytes()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            t = np.arange(5000) / 500
            sig = np.stack([np.sin(2 * np.pi * 1.2 * t + k) * 0.5 for k in range(12)], axis=1)
            wfdb.wrsamp("1", fs=500, units=["mV"] * 12, sig_name=["I", "II", "III", "aVR", "aVL", "aVF",
                                                                   "V1", "V2", "V3", "V4", "V5", "V6"],
                        d_signal=np.round(sig * 1000).astype(int), fmt=["16"] * 12, adc_gain=[1000.0] * 12,
                        baseline=[0] * 12, write_dir=tmp, comments=["Rhythm: Sinus rhythm."])
            hea, dat = (Path(tmp) / "1.hea").read_bytes(), (Path(tmp) / "1.dat").read_bytes()
    lines = hea.decode().splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#"))
    lines[first] = " ".join([STEM, *lines[first].split()[1:]])
    lines = [" ".join([f"{STEM}.dat", *ln.split()[1:]]) if ln.split()[:1] == ["1.dat"] else ln for ln in lines]
    lines += [f"# Patient: Doe^Jane {COMMENT_MARKER}", f"# DOB: 1950-01-01 MRN {COMMENT_MARKER}"]
    return [(f"{STEM}.hea", ("\n".join(lines) + "\n").encode()), (f"{STEM}.dat", dat)]


def scan_roots(*extra: Path) -> list[Path]:
    home = Path.home()
    return [Path(tempfile.gettempdir()), Path("/dev/shm"), REPO, home / ".streamlit", home / ".cache",
            home / ".config", home / ".local", *extra]


def leaked_files(since: float, *extra: Path, skip=()) -> dict[str, list[str]]:
    roots = scan_roots(*extra)
    skip = [REPO / ".git", *skip]
    found = {m: files_containing(m, roots, since=since, skip=skip) for m in (COMMENT_MARKER, NAME_MARKER)}
    return {m: hits for m, hits in found.items() if hits}


def test_the_leak_scan_finds_what_it_looks_for(tmp_path):
    """The scan must be able to fail: a marker written during the test is found, in UTF-8 or UTF-16, in a
    file's bytes or in its name."""
    since = time.time() - 1
    marker = "SCAN" + uuid.uuid4().hex.upper()
    (tmp_path / "a.log").write_bytes(b"x" * (3 << 20) + marker.encode() + b"y")      # past the first read block
    (tmp_path / "b.bin").write_bytes(marker.encode("utf-16-le"))
    (tmp_path / f"{marker}.txt").write_bytes(b"")
    hits = files_containing(marker, [Path(tempfile.gettempdir())], since=since)
    assert sorted(Path(h).name for h in hits) == sorted(["a.log", "b.bin", f"{marker}.txt"])


def test_marked_upload_reads_with_its_comments():
    from mets_core import read_ecg
    ecg = read_ecg(marked_upload())
    assert ecg.name == STEM and COMMENT_MARKER in ecg.metadata["comments"]


def test_streamlit_usage_statistics_are_off():
    import tomllib
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] in ("none", False)     # no tracebacks in the browser


# ------------------------------------------------------------------------------------------- AppTest

def _page_text(at) -> str:
    """Everything the script sent to the page (every element's protobuf), as text."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return "\n".join(out)


def test_apptest_session_writes_and_logs_nothing_and_hides_comments(weights, monkeypatch, caplog, capfd):
    since = time.time() - 1
    caplog.set_level("DEBUG")
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    at = new_app()
    upload(at, marked_upload())
    assert not at.error, [e.value for e in at.error]
    assert len(loaded(at)) == 1
    page = _page_text(at)
    assert NAME_MARKER in page                       # the clinician's own file name is the ECG's title
    assert COMMENT_MARKER not in page, "header comments reached the page without being asked for"
    assert "header comment lines hidden" in page

    at.text_area(key="prompts_text").input("\n".join(PROMPTS)).run()
    at.toggle(key="why_overlay").set_value(True).run()
    at.text_input(key="corpus_query").input("sinus rhythm").run()
    for view in ("batch", "model_card", "reader"):
        go_to(at, view)
        assert COMMENT_MARKER not in _page_text(at)
    next(t for t in at.toggle if t.label == "Show header comments").set_value(True).run()     # the user asks
    assert COMMENT_MARKER in _page_text(at)
    assert not at.exception and not at.error

    del at
    gc.collect()
    captured = capfd.readouterr()
    for marker in (COMMENT_MARKER, NAME_MARKER):
        assert marker not in caplog.text, "an upload's content or name was logged"
        assert marker not in captured.out + captured.err, "an upload's content or name was printed"
    assert not leaked_files(since)


# ------------------------------------------------------------------------------------------- browser

def _chromium_missing() -> str | None:
    from e2e_server import browser_skip_reason
    return browser_skip_reason()


@pytest.mark.browser
def test_browser_session_writes_and_logs_nothing_and_hides_comments(weights, tmp_path):
    reason = _chromium_missing()
    if reason:
        pytest.skip(reason)
    from e2e_server import RANK_ROW, RECORD, browser, set_prompts, upload_files, wait_idle, wait_rows
    WAIT_MS = 120_000

    since = time.time() - 1
    server_cwd: list[Path] = []
    profiles_before = set(Path(tempfile.gettempdir()).glob("playwright*"))
    with served(weights, tmp_path / "server.log", data_dir=os.environ.get("METS_DATA_DIR"),
                cwd_probe=server_cwd) as server, browser() as page:
        page.goto(server.url)
        page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
        upload_files(page, [{"name": n, "mimeType": "application/octet-stream", "buffer": b}
                            for n, b in marked_upload()])
        page.wait_for_function("([sel, t]) => [...document.querySelectorAll(sel)].some(e => e.innerText.includes(t))",
                               arg=[RECORD, NAME_MARKER], timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        set_prompts(page, PROMPTS)
        wait_rows(page, RANK_ROW, 3, WAIT_MS)
        wait_idle(page, WAIT_MS)
        page.get_by_text("Show on the tracing (saliency overlay)").click()
        page.get_by_text("Orange shading: where the input").wait_for(timeout=WAIT_MS)   # the tracing's note
        wait_idle(page, WAIT_MS)
        assert COMMENT_MARKER not in page.content(), "header comments reached the browser without being asked for"
        page.get_by_text("Recording details from the file").click()
        page.get_by_text("header comment lines hidden").wait_for(timeout=WAIT_MS)
        assert COMMENT_MARKER not in page.content()
        page.get_by_text("Show header comments").click()                 # the user asks
        page.get_by_text(COMMENT_MARKER).first.wait_for(timeout=WAIT_MS)
        for view in ("Batch", "Model card"):
            page.get_by_text(view, exact=True).click()
            wait_idle(page, WAIT_MS)
        assert "Traceback" not in page.content()
        server_log = server.log()
    assert server_log.strip(), "the server log was not captured"
    for marker in (COMMENT_MARKER, NAME_MARKER):
        assert marker not in server_log, "the server printed or logged an upload's content or name"
    chromium_profiles = set(Path(tempfile.gettempdir()).glob("playwright*")) - profiles_before
    assert not leaked_files(since, *server_cwd, skip=chromium_profiles)
