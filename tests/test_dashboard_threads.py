"""The dashboard's numerical libraries use one thread each unless METS_THREADS says otherwise (dashboard.threads:
with more, their worker threads spin against the other sessions on a small server). Each case runs in a
fresh interpreter, so that pytest's own process keeps its libraries' defaults. The number of measuring
processes follows METS_MEASURING_PROCESSES."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

REPORT = """
import json, numpy, threadpoolctl, torch
print(json.dumps({"blas": max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"),
                  "torch": torch.get_num_threads()}))
"""


def threads_after(setup: str, env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("METS_THREADS", "OMP_NUM_THREADS",
                                                            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    if env_value is not None:
        env["METS_THREADS"] = env_value
    done = subprocess.run([sys.executable, "-c", "import numpy, torch\n" + setup + REPORT], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def defaults() -> dict:
    found = threads_after("", None)
    if found["blas"] <= 1 and found["torch"] <= 1:
        pytest.skip("this machine's libraries already use one thread: nothing to limit")
    return found


def test_the_server_uses_one_thread_for_torch_and_blas(defaults):
    assert threads_after("from dashboard import threads; threads.limit_torch()", None) == {"blas": 1, "torch": 1}


def test_measuring_processes_use_one_blas_thread(defaults):
    # what every measuring process runs first (dashboard.engine starts them with it)
    assert threads_after("from dashboard import measure_worker; measure_worker.start_process()", None)["blas"] == 1


def test_mets_threads_sets_the_number_and_zero_leaves_the_defaults(defaults):
    assert threads_after("from dashboard import threads; threads.limit_torch()", "0") == defaults
    two = threads_after("from dashboard import threads; threads.limit_torch()", "2")
    assert two["torch"] == 2 and two["blas"] == min(2, defaults["blas"])


@pytest.mark.parametrize("value, expected", [("3", 3), ("1", 1), ("0", 1), ("many", None), (None, None)])
def test_the_number_of_measuring_processes_follows_the_setting(monkeypatch, value, expected):
    """METS_MEASURING_PROCESSES sets how many measuring processes the server starts (at least one); without
    it, or unreadable, one per core beside the server's own."""
    from dashboard import engine
    if value is None:
        monkeypatch.delenv(engine.MEASURING_PROCESSES_ENV, raising=False)
    else:
        monkeypatch.setenv(engine.MEASURING_PROCESSES_ENV, value)
    default = min(4, max(1, (os.cpu_count() or 2) - 1))
    assert engine.measuring_processes() == (default if expected is None else expected)


def test_a_page_is_measured_while_the_whole_recording_is_searched_for_beats():
    """The overview's beats of a long recording (~10 s for a day) are found in a process of their own: the page
    on screen, and the next one, are measured meanwhile instead of waiting behind that search."""
    import time

    import numpy as np

    from dashboard import engine
    from mets_core.ecg import ECG
    from mets_core.simulate import simulate_ecg

    minute = simulate_ecg(duration_s=60, fs=360, heart_rate=72, leads=["II", "V1"], seed=4)

    def repeated(times: int) -> ECG:                 # only the recorded rows written, as a reader makes them
        signal = np.zeros((12, times * minute.n_samples), dtype=np.float32)
        signal[minute.lead_mask] = np.tile(minute.signal[minute.lead_mask], (1, times))
        return ECG(signal, minute.fs, minute.lead_mask, name=f"{times} minutes")
    hours = repeated(180)
    key = hours.content_hash()
    half_hour = repeated(30)
    assert engine.overview_wait_s(half_hour) == engine.OVERVIEW_WAIT_S > 0    # ~0.3 s: the page waits for it
    assert engine.overview_wait_s(hours) == 0.0                               # longer than the wait anyway
    engine.start_trend(key, hours)
    time.sleep(0.2)                                   # the search has begun
    for start in (600.0, 610.0):
        m = engine.measurements(key, hours, start, 10.0)
        assert m.heart_rate_bpm == pytest.approx(72, abs=3) and m.start_s == start
        assert engine.heart_rate_trend(key, hours, wait_s=0.0) is None, "the page waited for the whole search"
    trend = engine.heart_rate_trend(key, hours)
    assert len(trend.beat_s) > 12_000 and np.nanmedian(trend.bpm) == pytest.approx(72, abs=3)
