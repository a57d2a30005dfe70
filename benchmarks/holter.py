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
"""
from __future__ import annotations

import argparse
import os
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


def write_holter(folder: Path, hours: float) -> list[str]:
    """A 2-lead WFDB record `hours` long at 250 Hz (16-bit), built from one simulated minute."""
    import numpy as np
    import wfdb

    from mets_core.simulate import simulate_ecg
    minute = simulate_ecg(duration_s=60, fs=250, heart_rate=68, leads=["II", "V1"], seed=7)
    one = minute.signal[minute.lead_mask].T.astype(np.float64)
    day = np.tile(one, (int(round(hours * 60)), 1))
    wfdb.wrsamp("holter", fs=250, units=["mV", "mV"], sig_name=["II", "V1"], p_signal=day, fmt=["16", "16"],
                write_dir=str(folder))
    return [str(folder / "holter.hea"), str(folder / "holter.dat")]


def pss_mib(pids) -> float:
    """Proportional set size of these processes together, MiB (Linux /proc/PID/smaps_rollup)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def server_pids(port: str) -> list[int]:
    """The `streamlit run` process listening on `port` and every process it started."""
    root = next(pid for pid in cpu_by_process(lambda pid, cmd: "streamlit run" in cmd and f"--server.port {port}" in cmd))
    return list(cpu_by_process(in_process_tree(root)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights")
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args()
    weights = Path(args.weights or os.environ.get("METS_WEIGHTS") or REPO / "weights")
    with tempfile.TemporaryDirectory() as tmp:
        if not (weights / "config.json").is_file():
            weights = make_test_weights(Path(tmp) / "weights")
        files = write_holter(Path(tmp), args.hours)
        size_mb = Path(files[1]).stat().st_size / 1e6
        times, memory = {}, {}
        with streamlit_server(weights) as (url, _):
            port = url.rsplit(":", 1)[1]
            with browser() as page:
                page.goto(url)
                page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
                page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
                time.sleep(15)                    # the model's background warm-up is done: a clinician's pace
                memory["before the upload"] = pss_mib(server_pids(port))
                peak, sampling = [0.0], [True]

                def sample():
                    while sampling[0]:
                        peak[0] = max(peak[0], pss_mib(server_pids(port)))
                        time.sleep(0.25)
                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                t0 = time.perf_counter()
                upload_files(page, files)
                page.wait_for_function(
                    f"""() => [...document.querySelectorAll('{RECORD}')].some(e => e.innerText.startsWith('holter'))
                        && document.querySelectorAll('{RANK_ROW}').length > 0
                        && !!document.querySelector('[data-testid="mets-measurements"]')
                        && !!document.querySelector('[data-testid="mets-hit"]') && ({IDLE_JS[6:]})""",
                    timeout=WAIT_MS, polling=100)
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
                sampling[0] = False
                sampler.join()
                memory["peak, upload to overview"] = peak[0]
                memory["after"] = pss_mib(server_pids(port))
                t2 = time.perf_counter()
                page.get_by_text("Whole-recording summary").click()
                page.wait_for_timeout(300)
                page.wait_for_function(IDLE_JS, timeout=WAIT_MS, polling=100)
                times["whole-recording summary switched on"] = time.perf_counter() - t2
                memory["after the whole-recording summary"] = pss_mib(server_pids(port))
    print(f"\nA {args.hours:g}-hour 2-lead Holter (250 Hz, {size_mb:.0f} MB WFDB upload) in chromium "
          f"(weights: {weights}; {os.cpu_count()} CPUs)")
    for name, value in times.items():
        print(f"  {name:46s} {value:7.2f} s")
    print("  (targets for a 10 s ECG: upload -> full page <= 1.5 s, any control <= 0.5 s)")
    print("memory of the server and its measuring processes (PSS):")
    for name, value in memory.items():
        print(f"  {name:46s} {value:7.0f} MiB")


if __name__ == "__main__":
    main()
