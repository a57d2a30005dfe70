"""A day-long Holter in the dashboard (real browser, Debian chromium via playwright), printed, never asserted.

    .venv/bin/python benchmarks/holter.py [--weights DIR] [--hours 24]

The recording: 2 leads (II, V1) at 250 Hz, `--hours` long (24 h: 21.6 M samples per lead, an 86 MB WFDB
signal file, just under the 100 MB upload limit), a simulated minute (mets_core.simulate) repeated, written
to a temporary folder and uploaded as a clinician would drop it. Measured from dropping the files:

  page usable           the title, the paper, the page's measurements, the ranking and the similar reports
                        shown and Streamlit idle (the overview may still be on its way);
  next page meanwhile   "Next ▶" clicked at once, until the measurements say 0:00:10-0:00:20: the page is
                        measured while the whole recording's beats are still being found;
  overview shown        until the heart-rate overview of the whole recording is drawn (it appears by itself);
  whole-recording view  the "Whole-recording summary" switch until the page is idle again;

and the memory of the server and its measuring processes (proportional set size, PSS, so that pages the
processes share are counted once): before the upload, the peak while it is read, measured and searched
(sampled every 0.25 s), and after. The targets of 10 s ECGs are printed beside (no day-long target of its own).

The floors, measured in the same run, in the same page, before the Holter: the time is also printed as a
multiple of a 10 s upload of the same kind of signal (2 leads, 250 Hz, WFDB; the median of REFERENCE_UPLOADS
different ones, after one untimed upload that warms the measuring code), and the memory as a multiple of the
server's memory just before the Holter is dropped; so that a loaded machine shows as a high floor, not a slow
app.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from dashboard_fixtures import make_test_weights  # noqa: E402
from e2e_server import IDLE_JS, RANK_ROW, RECORD, browser, streamlit_server, upload_files  # noqa: E402
from reliability_support import cpu_by_process, in_process_tree  # noqa: E402

WAIT_MS = 600_000
FS = 250
LEADS = ["II", "V1"]
REFERENCE_S = 10.0          # the reference upload's length: the ECG the dashboard's targets are set for
REFERENCE_UPLOADS = 3       # timed, each a different signal (no upload finds the one before in the caches)
SAMPLE_EVERY_S = 0.25


def record_bytes(seconds: float) -> int:
    """The size of the WFDB signal file `write_record` writes for `seconds` (16-bit samples, every lead)."""
    return int(round(seconds * FS)) * len(LEADS) * 2


def write_record(folder: Path, name: str, seconds: float, seed: int = 7) -> list[str]:
    """A 2-lead WFDB record NAME (.hea + .dat) `seconds` long at 250 Hz (16-bit), one simulated minute
    repeated (seeded: records of different seeds are different signals); returns the two paths."""
    import numpy as np
    import wfdb

    from mets_core.simulate import simulate_ecg
    minute = simulate_ecg(duration_s=60, fs=FS, heart_rate=68, leads=LEADS, seed=seed)
    one = minute.signal[minute.lead_mask].T.astype(np.float64)
    n = int(round(seconds * FS))
    signal = np.tile(one, (-(-n // len(one)), 1))[:n]
    wfdb.wrsamp(name, fs=FS, units=["mV"] * len(LEADS), sig_name=LEADS, p_signal=signal,
                fmt=["16"] * len(LEADS), write_dir=str(folder))
    return [str(folder / f"{name}.hea"), str(folder / f"{name}.dat")]


def pss_mib(pids) -> float:
    """Proportional set size of these processes together, MiB (Linux /proc/PID/smaps_rollup); a process that
    is gone meanwhile counts 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def server_root_pid(port) -> int:
    """The `streamlit run ... --server.port PORT` process (not one of the processes it forked, whose command
    line is the same). Raises RuntimeError, saying so, when there is none."""
    def is_server(_pid, cmd):
        # cmd ends with a space (each argument is NUL-ended): the port is matched whole, 85 is not 8501
        return "streamlit run" in cmd and f"--server.port {port} " in cmd + " "
    found = list(cpu_by_process(is_server))
    roots = [pid for pid in found if not any(other != pid and in_process_tree(other)(pid, "") for other in found)]
    if not roots:
        raise RuntimeError(f"no `streamlit run ... --server.port {port}` process is running: the server this "
                           "benchmark started has exited (its output says why), so its memory cannot be measured")
    return min(roots)


def server_pids(port) -> list[int]:
    """The `streamlit run` process listening on `port` and every process it started."""
    return list(cpu_by_process(in_process_tree(server_root_pid(port))))


def tree_pss_mib(root: int) -> float:
    """The PSS of process `root` and every process it started, MiB. Raises RuntimeError when `root` is gone
    or its memory cannot be read (a 0 would read as a server that uses no memory)."""
    pids = list(cpu_by_process(in_process_tree(root)))
    if root not in pids:
        raise RuntimeError(f"the server (process {root}) is gone: it stopped while its memory was measured")
    try:
        with open(f"/proc/{root}/smaps_rollup"):
            pass
    except OSError as e:
        raise RuntimeError(f"cannot read the server's memory from /proc/{root}/smaps_rollup ({e.strerror}): "
                           "this benchmark needs Linux 4.14 or later and to run as the server's user") from e
    return pss_mib(pids)


class PeakMemory:
    """The highest PSS of a process tree (`tree_pss_mib`), sampled in a thread every `every_s` from `start()`
    until `stop()`, which returns it. When a sample fails (the server gone), the sampling stops, says so on
    stderr at once, and `stop()` raises it: a peak that silently stayed at what it was is never printed."""

    def __init__(self, root: int, every_s: float = SAMPLE_EVERY_S):
        self.root, self.every_s = root, every_s
        self.peak, self.error = 0.0, None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, tree_pss_mib(self.root))
            except Exception as e:              # noqa: BLE001 - any failure ends the measure, reported
                self.error = e
                print(f"holter.py: the memory sampling stopped: {e}", file=sys.stderr, flush=True)
                return
            if self._stopping.wait(self.every_s):
                return

    def start(self) -> "PeakMemory":
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stopping.set()
        self._thread.join()
        if self.error is not None:
            raise RuntimeError(f"the peak memory was not measured: {self.error}") from self.error
        return self.peak


def usable_js(title: str) -> str:
    """The page shows the record `title` usable: its title, a ranking, the measurements, a similar report, idle."""
    return f"""() => [...document.querySelectorAll('{RECORD}')].some(e => e.innerText.startsWith('{title}'))
        && document.querySelectorAll('{RANK_ROW}').length > 0
        && !!document.querySelector('[data-testid="mets-measurements"]')
        && !!document.querySelector('[data-testid="mets-hit"]') && ({IDLE_JS[6:]})"""


def parse_args(argv=None) -> argparse.Namespace:
    from mets_core.readers import MAX_UPLOAD_BYTES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights")
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args(argv)
    if not args.hours > 0:
        ap.error(f"--hours must be more than 0 (got {args.hours:g}): the length of the recording to upload")
    if record_bytes(args.hours * 3600) > MAX_UPLOAD_BYTES:
        most = MAX_UPLOAD_BYTES / record_bytes(3600)
        ap.error(f"--hours {args.hours:g} makes a {record_bytes(args.hours * 3600) / 1e6:.0f} MB signal file, "
                 f"over the dashboard's upload limit ({MAX_UPLOAD_BYTES / 1e6:.0f} MB): give at most {most:.1f}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    weights = Path(args.weights or os.environ.get("METS_WEIGHTS") or REPO / "weights")
    with tempfile.TemporaryDirectory() as tmp:
        if not (weights / "config.json").is_file():
            weights = make_test_weights(Path(tmp) / "weights")
        files = write_record(Path(tmp), "holter", args.hours * 3600)
        warm_up, *references = [write_record(Path(tmp), f"reference{k}", REFERENCE_S, seed=11 + k)
                                for k in range(REFERENCE_UPLOADS + 1)]
        size_mb = Path(files[1]).stat().st_size / 1e6
        times, memory, reference_s = {}, {}, []
        with streamlit_server(weights) as (url, _):
            root = server_root_pid(url.rsplit(":", 1)[1])
            with browser() as page:
                page.goto(url)
                page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
                page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
                time.sleep(15)                    # the model's background warm-up is done: a clinician's pace
                for k, ref in enumerate([warm_up, *references]):
                    t0 = time.perf_counter()
                    upload_files(page, ref)
                    page.wait_for_function(usable_js(Path(ref[0]).stem), timeout=WAIT_MS, polling=100)
                    if k:
                        reference_s.append(time.perf_counter() - t0)
                page.wait_for_timeout(1000)       # any work the last page started in the background is done
                page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
                memory["before the upload (the floor)"] = tree_pss_mib(root)
                peak = PeakMemory(root).start()
                t0 = time.perf_counter()
                upload_files(page, files)
                page.wait_for_function(usable_js("holter"), timeout=WAIT_MS, polling=100)
                times["upload -> page usable"] = time.perf_counter() - t0
                overview_yet = page.get_by_text("Heart rate over the whole recording").count() > 0
                t1 = time.perf_counter()
                page.get_by_role("button", name="Next ▶").click()
                page.wait_for_function("() => document.body.innerText.includes('Measured on 0:00:10–0:00:20')",
                                       timeout=WAIT_MS, polling=100)
                times["next page (while the beats are found)" if not overview_yet else
                      "next page (the overview was already there)"] = time.perf_counter() - t1
                page.get_by_text("Heart rate over the whole recording").wait_for(timeout=WAIT_MS)
                times["upload -> overview shown"] = time.perf_counter() - t0
                page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
                memory["peak, upload to overview"] = peak.stop()
                memory["after"] = tree_pss_mib(root)
                t2 = time.perf_counter()
                page.get_by_text("Whole-recording summary").click()
                page.wait_for_timeout(300)
                page.wait_for_function(IDLE_JS, timeout=WAIT_MS, polling=100)
                times["whole-recording summary switched on"] = time.perf_counter() - t2
                memory["after the whole-recording summary"] = tree_pss_mib(root)
    floor_s, floor_mib = statistics.median(reference_s), memory["before the upload (the floor)"]
    print(f"\nA {args.hours:g}-hour 2-lead Holter (250 Hz, {size_mb:.0f} MB WFDB upload) in chromium "
          f"(weights: {weights}; {os.cpu_count()} CPUs)")
    print(f"  {'floor: a ' + f'{REFERENCE_S:g} s upload -> page usable (median)':46s} {floor_s:7.2f} s   "
          f"(of {len(reference_s)}: {', '.join(f'{t:.2f}' for t in reference_s)} s)")
    for name, value in times.items():
        print(f"  {name:46s} {value:7.2f} s  {value / floor_s:6.1f} x floor")
    print("  (targets for a 10 s ECG: upload -> full page <= 1.5 s, any control <= 0.5 s)")
    print("memory of the server and its measuring processes (PSS):")
    for name, value in memory.items():
        print(f"  {name:46s} {value:7.0f} MiB {value / floor_mib:5.2f} x floor")


if __name__ == "__main__":
    main()
