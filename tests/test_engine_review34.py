"""Review 34 of the dashboard's server-side state (dashboard/engine.py, dashboard/session.py), each proven first,
then fixed; each test fails on the code before:

- a measuring process that died while it measured (out of memory, killed) failed every job it held: the page
  said "Measurements failed (BrokenProcessPool: ...)", and the Batch page listed those ECGs as "not measurable";
- a measuring process that stopped answering (stuck, or stopped) held its page's run for ever, and the pages
  of every other session whose recordings go to that process;
- a checkpoint copied over the old one file by file (config.json first) was loaded half-copied, refused, and
  that refusal was kept until the server restarted (the engine was keyed by the config's time only);
- a session kept the explanation of every page it showed "why" on: paging a long Holter with it on grew
  without bound.
"""
from __future__ import annotations

import contextlib

import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from mets_core.simulate import simulate_ecg

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="finds the measuring processes in /proc")


def _measuring_processes() -> list[int]:
    """The processes the measuring processes' server (a child of this one) started."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    children = {pid for pid, parent in parents.items() if parent == os.getpid()}
    return sorted(pid for pid, parent in parents.items() if parent in children)


@contextlib.contextmanager
def measuring_stopped():
    """The measuring processes stopped for the block (SIGSTOP: alive, but answering nothing), killed after it
    (the server replaces them); yields their ids."""
    stopped = _measuring_processes()
    assert stopped, "no measuring process found to stop"
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield stopped
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _ecgs(n: int, first_seed: int) -> list:
    return [simulate_ecg(duration_s=10, fs=250, heart_rate=60 + 5 * k, seed=first_seed + k) for k in range(n)]


def _within(seconds: float, call):
    """call()'s result or the exception it raised; fails the test (instead of hanging it) after `seconds`."""
    out = {}

    def run():
        try:
            out["value"] = call()
        except Exception as err:  # noqa: BLE001 - handed to the test
            out["error"] = err
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds:.0f} s"
    return out


@needs_proc
def test_ecgs_whose_measuring_process_died_are_measured_in_a_new_one():
    from dashboard import engine as engines
    warm = _ecgs(1, first_seed=1)[0]
    engines.measurements(warm.content_hash(), warm)          # the process is up
    batch = _ecgs(4, first_seed=10)
    for ecg in batch:                                      # as the Batch page asks: all first, then each
        engines.start_measuring(ecg.content_hash(), ecg)
    pids = _measuring_processes()
    assert pids, "no measuring process found to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    measured = [engines.measurements(ecg.content_hash(), ecg) for ecg in batch]
    assert all(m.heart_rate_bpm is not None for m in measured)
    assert [round(m.heart_rate_bpm / 5) * 5 for m in measured] == [60, 65, 70, 75]


@needs_proc
def test_a_measuring_process_that_stops_answering_is_stopped_and_replaced(monkeypatch):
    from dashboard import engine as engines
    monkeypatch.setattr(engines, "STALLED_S", 2.0, raising=False)
    warm = _ecgs(1, first_seed=2)[0]
    engines.measurements(warm.content_hash(), warm)
    with measuring_stopped() as stopped:
        ecg = _ecgs(1, first_seed=20)[0]
        out = _within(30, lambda: engines.measurements(ecg.content_hash(), ecg))
        assert "error" in out, "measured by a stopped process?"
        words = str(out["error"])
        assert "had not finished after 2 s" in words and "measured again" in words, words
        again = _within(60, lambda: engines.measurements(ecg.content_hash(), ecg))
        assert again.get("value") is not None and again["value"].heart_rate_bpm is not None, again
        assert not set(stopped) & set(_measuring_processes())          # the stopped one is gone


def test_a_checkpoint_copied_file_by_file_is_loaded_once_it_is_complete(tmp_path, monkeypatch):
    from dashboard import engine as engines
    from dashboard_fixtures import make_test_weights
    from mets_core import METS
    from mets_core.checkpoint import CONFIG_FILE, WEIGHTS_FILE

    served = make_test_weights(tmp_path / "served")
    newer = tmp_path / "newer"
    METS.random_init(seed=1).save_pretrained(newer)
    monkeypatch.setenv("METS_WEIGHTS", str(served))
    monkeypatch.setenv("METS_THREADS", "0")
    first = engines.get_engine()
    assert first.error is None, first.error
    shutil.copy(newer / CONFIG_FILE, served / CONFIG_FILE)          # the copy has begun ...
    half = engines.get_engine()
    assert half.error is not None                                   # refused: the weights do not match yet
    shutil.copy(newer / WEIGHTS_FILE, served / WEIGHTS_FILE)        # ... and ended
    done = engines.get_engine()
    assert done.error is None, done.error
    assert done.model.weights_sha256 == METS.from_pretrained(newer).weights_sha256 != first.model.weights_sha256


def _explain_every_page(pages: int) -> None:
    """An app: "why" of one phrase on each page of a long recording, as the Reader does while the overlay
    follows the page; writes how many explanations the session then holds."""
    import streamlit as st

    from dashboard import engine as engines
    from dashboard import session
    from mets_core.explain import Saliency
    from mets_core.simulate import simulate_ecg

    import gc

    def alive() -> int:          # Saliency objects alive anywhere in the process (other tests' too: counted before)
        gc.collect()
        return sum(isinstance(o, Saliency) for o in gc.get_objects())
    before = alive()
    rec = session.add_record(simulate_ecg(duration_s=pages * session.PAGE_S, fs=100, leads=("II", "V1"), seed=5),
                             "upload")
    engine = engines.get_engine()
    for k in range(pages):
        session.set_page_start(rec, k * session.PAGE_S)
        session.saliency(engine, rec, "sinus rhythm")

    st.markdown(f"held {alive() - before}")
    st.markdown(f"follows {session.has_saliency(rec, 'sinus rhythm')}")


def test_a_session_keeps_a_bounded_number_of_explanations(weights, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    monkeypatch.setenv("METS_THREADS", "0")
    pages = 40
    at = AppTest.from_function(_explain_every_page, args=(pages,), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    shown = [str(m.value) for m in at.markdown]
    held = int(next(s for s in shown if s.startswith("held ")).split()[1])
    from dashboard.session import SALIENCIES_KEPT
    assert SALIENCIES_KEPT < pages and 0 < held <= SALIENCIES_KEPT, held          # not one per page shown
    assert "follows True" in shown
