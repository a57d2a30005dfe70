"""Helpers shared by the reliability tests (tests/test_reliability_*.py) and benchmarks/load.py.

- ``bounded_case``: run one fuzz case under a watchdog (SIGALRM for a clean failure, faulthandler as a
  hard backstop for a hang inside C code) and a memory bound (tracemalloc peak; numpy reports its buffers
  to tracemalloc).
- ``served``: tests/e2e_server.streamlit_server (the dashboard engineer's helper, not a second one), with
  the server's stdout/stderr going to a log file the tests can read and the server's pid for /proc memory.
- ``files_containing``: which files under some folders hold a marker string.
"""
from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------- watchdog

class CaseTimeout(BaseException):
    """A fuzz case ran past its time bound. A BaseException, so that no reader's `except Exception`
    can turn a hang into an ECGReadError."""


class CaseMemoryBlowup(AssertionError):
    pass


@dataclass
class CaseReport:
    seconds: float = 0.0
    peak_bytes: int = 0


@contextlib.contextmanager
def bounded_case(time_s: float, max_bytes: int):
    """Run the body under a time bound and a memory bound; yields a CaseReport filled in on exit."""
    report = CaseReport()

    def on_alarm(signum, frame):
        raise CaseTimeout(f"fuzz case still running after {time_s:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    # backstop: a hang inside C code never returns to the interpreter, so SIGALRM's handler cannot run;
    # faulthandler dumps every thread's stack and ends the process instead of letting CI hang
    faulthandler.dump_traceback_later(max(30.0, 6 * time_s), exit=True)
    tracing = not tracemalloc.is_tracing()
    if tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, time_s)
    try:
        yield report
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        report.seconds = time.perf_counter() - t0
        report.peak_bytes = tracemalloc.get_traced_memory()[1]
        if tracing:
            tracemalloc.stop()
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)
    if report.seconds > time_s:
        raise CaseTimeout(f"fuzz case took {report.seconds:.1f} s (bound {time_s:g} s)")
    if report.peak_bytes > max_bytes:
        raise CaseMemoryBlowup(f"fuzz case allocated {report.peak_bytes / 2**20:.0f} MiB at its peak "
                               f"(bound {max_bytes / 2**20:.0f} MiB)")


def max_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports KiB)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -------------------------------------------------------------------------------- server processes

def proc_memory(pid: int) -> dict[str, int]:
    """Current and peak resident memory of a process (VmRSS, VmHWM) in bytes, from /proc."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def cpu_by_process(match) -> dict[int, float]:
    """{pid: user + system CPU seconds used so far} of the live processes for which `match(pid, command
    line)` is true (e.g. every Chromium process of a benchmark), from /proc."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if not match(int(pid), cmd):
                continue
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:            # gone meanwhile
            continue
        out[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def in_process_tree(root: int):
    """A `cpu_by_process` match for `root` and every process it started, and they started (e.g. a server's
    worker processes)."""
    def parent(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return 0

    def match(pid: int, _cmd: str) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parent(pid)
        return False
    return match


class CpuMeter:
    """CPU seconds used by matching processes since the meter started, including processes that start or
    end meanwhile (sample it often enough: a process's use after its last sample is not seen)."""

    def __init__(self, match):
        self.match = match
        self.first = cpu_by_process(match)
        self.last = dict(self.first)

    def sample(self) -> None:
        self.last.update(cpu_by_process(self.match))

    def seconds(self) -> float:
        return sum(v - self.first.get(pid, 0.0) for pid, v in self.last.items())


@dataclass
class Server:
    url: str
    pid: int
    log_path: Path
    startup_s: float

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def memory(self) -> dict[str, int]:
        return proc_memory(self.pid)


@contextlib.contextmanager
def served(weights: Path, log_path: Path, data_dir: str | None = None, cwd_probe: list | None = None):
    """tests/e2e_server.streamlit_server with the server's output captured in `log_path`.

    The helper pipes the server's output and reads it only when startup fails; here its one Popen call is
    wrapped (for that call only) so that the output goes to `log_path` instead, which the patient-data test
    searches and which cannot fill a pipe during a long load run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import e2e_server

    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen_once(cmd, *args, **kwargs):
        subprocess.Popen = real_popen            # restore at once: playwright starts its driver with Popen
        kwargs["stdout"], kwargs["stderr"] = log, subprocess.STDOUT
        proc = real_popen(cmd, *args, **kwargs)
        started.append(proc)
        return proc

    subprocess.Popen = popen_once
    try:
        with e2e_server.streamlit_server(weights, data_dir=data_dir) as (url, startup_s):
            subprocess.Popen = real_popen
            server = Server(url, started[0].pid, log_path, startup_s)
            if cwd_probe is not None:
                cwd_probe.append(Path(os.readlink(f"/proc/{server.pid}/cwd")))
            yield server
    finally:
        subprocess.Popen = real_popen
        log.close()


# ---------------------------------------------------------------------------------- marker search

def files_containing(marker: str, roots, since: float | None = None, skip=()) -> list[str]:
    """Files under `roots` whose bytes contain `marker` (as UTF-8, UTF-16-LE or latin-1), or whose path
    does. `since`: only files modified at or after this time (older files cannot hold a fresh marker).
    Symlinks are not followed; unreadable files are skipped. Returns the offending paths."""
    needles = {marker.encode("utf-8"), marker.encode("utf-16-le"), marker.encode("latin-1", "ignore")}
    needles.discard(b"")
    hits, seen = [], set()
    skip = [Path(s).resolve() for s in skip]
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(dirpath)
            if any(here == s or s in here.parents for s in skip):
                dirnames[:] = []
                continue
            if marker in dirpath:
                hits.append(dirpath)
            for name in filenames:
                path = here / name
                if marker in name:
                    hits.append(str(path))
                    continue
                try:
                    st = path.lstat()
                except OSError:
                    continue
                import stat as stat_mod
                if not stat_mod.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                if since is not None and st.st_mtime < since and st.st_ctime < since:
                    continue
                if _file_contains(path, needles):
                    hits.append(str(path))
    return hits


def _file_contains(path: Path, needles: set[bytes]) -> bool:
    overlap = max(len(n) for n in needles) - 1
    try:
        with open(path, "rb") as f:
            tail = b""
            while chunk := f.read(1 << 20):
                block = tail + chunk
                if any(n in block for n in needles):
                    return True
                tail = block[-overlap:] if overlap else b""
    except OSError:
        return False
    return False
