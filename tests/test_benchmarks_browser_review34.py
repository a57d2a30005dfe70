"""Review 34 of the browser benchmarks (benchmarks/holter.py, benchmarks/dashboard.py): their command lines and
the logic around the browser (fast; no browser, no dashboard server is started here)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e_server import free_port
from helpers import benchmark

@pytest.fixture(scope="module")
def holter():
    return benchmark("holter")


@pytest.fixture(scope="module")
def dashboard_bench():
    return benchmark("dashboard")


def _usage_error(main, argv, monkeypatch, capsys) -> str:
    """Run a benchmark's main() on `argv`, expecting a usage error (exit 2) before anything starts."""
    monkeypatch.setattr(sys, "argv", ["bench.py", *argv])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    return capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ holter.py

@pytest.fixture
def fake_server():
    """A sleeping process whose command line reads as the dashboard's server on a free port (the benchmark
    finds its server by that command line), with one child; yields (process, port). Killed at the end."""
    port = free_port()
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", child, "streamlit", "run", "app.py",
                             "--server.port", str(port)], start_new_session=True)
    deadline = time.monotonic() + 30                    # until its child has started (a loaded machine is slow)
    while not _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield proc, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)         # the group started here, its child too
        proc.wait(timeout=10)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_holter_finds_the_server_and_the_processes_it_started(holter, fake_server):
    proc, port = fake_server
    pids = holter.server_pids(str(port))
    assert proc.pid in pids and set(_children(proc.pid)) <= set(pids) and len(pids) >= 2
    assert holter.pss_mib(pids) > 0
    # a port that is only the start of this one's is another server
    assert holter.server_root_pid(str(port)) == proc.pid
    with pytest.raises(RuntimeError):
        holter.server_root_pid(str(port)[:-1])


def test_holter_says_when_the_server_is_not_there(holter):
    # before: StopIteration, which in the sampling thread ended it silently with a peak of 0
    with pytest.raises(RuntimeError, match="no `streamlit run .* process is running"):
        holter.server_pids(str(free_port()))


def test_holter_peak_memory_is_the_highest_sample(holter, fake_server):
    proc, _ = fake_server
    peak = holter.PeakMemory(proc.pid, every_s=0.05).start()
    time.sleep(0.3)
    highest = peak.stop()
    assert highest > 0 and highest >= holter.pss_mib([proc.pid])


def test_holter_peak_memory_fails_clearly_when_the_server_goes(holter, fake_server, capsys):
    proc, _ = fake_server
    peak = holter.PeakMemory(proc.pid, every_s=0.05).start()
    time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(0.3)
    with pytest.raises(RuntimeError, match=f"peak memory was not measured: the server \\(process {proc.pid}\\) is gone"):
        peak.stop()
    assert "memory sampling stopped" in capsys.readouterr().err       # said at once, not only at the end


def test_holter_records_are_as_long_as_asked(holter, tmp_path):
    import wfdb
    hea, dat = holter.write_record(tmp_path, "ten", 10.0, seed=1)
    record = wfdb.rdrecord(hea[:-4])
    assert record.sig_len == 2500 and record.fs == 250 and record.sig_name == ["II", "V1"]
    assert Path(dat).stat().st_size == holter.record_bytes(10.0)
    # different seeds, different signals: the reference uploads do not find each other in the caches
    other = wfdb.rdrecord(holter.write_record(tmp_path, "other", 10.0, seed=2)[0][:-4])
    assert (record.p_signal != other.p_signal).any()


@pytest.mark.parametrize("hours, says", [("0", "--hours must be more than 0"),
                                         ("-1", "--hours must be more than 0"),
                                         ("40", "over the dashboard's upload limit")])
def test_holter_refuses_recordings_it_cannot_upload(holter, hours, says, monkeypatch, capsys):
    assert says in _usage_error(holter.main, ["--hours", hours], monkeypatch, capsys)


def test_holter_default_day_is_under_the_upload_limit(holter):
    from mets_core.readers import MAX_UPLOAD_BYTES
    assert holter.record_bytes(24 * 3600) < MAX_UPLOAD_BYTES
    assert holter.parse_args([]).hours == 24


# --------------------------------------------------------------------------------------------- dashboard.py

@pytest.mark.parametrize("repeats", ["0", "-2"])
def test_dashboard_refuses_no_repeats_before_starting_anything(dashboard_bench, repeats, monkeypatch, capsys):
    # before: the browser and the server ran, then the empty median raised StatisticsError
    assert "--repeats must be at least 1" in _usage_error(dashboard_bench.main, ["--repeats", repeats],
                                                          monkeypatch, capsys)


def test_dashboard_drop_caches_says_it_needs_root(dashboard_bench, monkeypatch, capsys):
    # before: a bare PermissionError from writing /proc/sys/vm/drop_caches, after the browser had started
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    err = _usage_error(dashboard_bench.main, ["--drop-caches"], monkeypatch, capsys)
    assert "needs root" in err and "leave --drop-caches out" in err


def test_dashboard_drop_caches_says_when_the_file_is_read_only(dashboard_bench, monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("os.access", lambda path, mode: False)
    assert "cannot write /proc/sys/vm/drop_caches" in _usage_error(dashboard_bench.main, ["--drop-caches"],
                                                                   monkeypatch, capsys)


def test_dashboard_random_weights_folder_is_deleted_after(dashboard_bench, monkeypatch):
    monkeypatch.delenv("METS_WEIGHTS", raising=False)
    monkeypatch.setattr(dashboard_bench, "REPO", Path("/nonexistent-repo"))         # no weights/ there
    made = []

    def fake_weights(folder):            # the real one builds a model and an index: seconds, not the point here
        (Path(folder) / "config.json").write_text("{}")
        made.append(Path(folder))
        return Path(folder)
    monkeypatch.setattr(dashboard_bench, "make_test_weights", fake_weights)
    with dashboard_bench.weights_folder(None) as weights:
        assert (weights / "config.json").is_file()
    assert made and not made[0].exists()


def test_dashboard_given_weights_are_left_alone(dashboard_bench, tmp_path):
    with dashboard_bench.weights_folder(str(tmp_path)) as weights:
        assert weights == tmp_path
    assert tmp_path.is_dir()


def test_dashboard_long_records_are_different_and_at_most_the_listed_ones(dashboard_bench, tmp_path,
                                                                          monkeypatch):
    mit = tmp_path / "mitdb"
    mit.mkdir()
    for name in dashboard_bench.LONG_RECORDS:
        (mit / f"{name}.hea").write_text("")
    monkeypatch.setenv("METS_DATA_DIR", str(tmp_path))
    eight = dashboard_bench.long_records(8)
    titles = [title for _, title in eight]
    assert titles == list(dashboard_bench.LONG_RECORDS) and len(set(titles)) == len(titles)
    assert [title for _, title in dashboard_bench.long_records(2)] == ["209", "208"]     # 208 last, paged


def test_dashboard_says_when_fewer_long_uploads_than_repeats(dashboard_bench, monkeypatch, capsys):
    note = dashboard_bench.fewer_long_records_note(8, ["201", "203", "207", "209", "208"])
    assert "5 different records" in note and "not --repeats 8" in note
    assert dashboard_bench.fewer_long_records_note(5, ["201", "203", "207", "209", "208"]) is None
    # and the help says so before a run
    monkeypatch.setattr(sys, "argv", ["dashboard.py", "--help"])
    with pytest.raises(SystemExit):
        dashboard_bench.main()
    assert f"at most {len(dashboard_bench.LONG_RECORDS)} different records" in " ".join(capsys.readouterr().out.split())
