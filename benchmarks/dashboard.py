"""Dashboard latency in a real browser (Debian chromium via playwright), printed, never asserted.

    .venv/bin/python benchmarks/dashboard.py [--weights DIR] [--repeats 5]

1. cold start -> first render: from launching `streamlit run dashboard/app.py` to the page's first content
   in the browser (also: until the model is loaded and the page is idle);
2. upload -> ranking visible: a new 12-lead ECG dropped on the uploader until its ranked prompts show;
3. prompt edit -> new ranking: new, never-seen prompts typed (Ctrl+Enter) until they show ranked.
Targets: <= 8 s, <= 1.5 s, <= 0.5 s.

Weights: --weights, else $METS_WEIGHTS, else the repository's weights/ if it holds a checkpoint, else a
random-init checkpoint + small index made here (same architecture and text encoder, so the same cost).
Uploads: LUDB WFDB pairs (.hea + .dat) from $METS_DATA_DIR, else synthetic CSVs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from dashboard_fixtures import ludb_dir, make_test_weights, synthetic_csv  # noqa: E402
from e2e_server import browser, set_prompts, streamlit_server, upload_files  # noqa: E402

TARGETS = {"cold start -> first render": 8.0, "upload -> ranking visible": 1.5, "prompt edit -> new ranking": 0.5}
WAIT_MS = 120_000


def _weights(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if os.environ.get("METS_WEIGHTS"):
        return Path(os.environ["METS_WEIGHTS"])
    if (REPO / "weights" / "config.json").is_file():
        return REPO / "weights"
    folder = Path(tempfile.mkdtemp(prefix="mets_bench_weights_"))
    print(f"(no trained weights: using a random-init checkpoint + index in {folder})")
    return make_test_weights(folder)


def _uploads(n: int) -> list:
    ludb = ludb_dir()
    if ludb is not None:
        return [[str(ludb / f"{i}.hea"), str(ludb / f"{i}.dat")] for i in range(10, 10 + n)]
    return [[{"name": f"bench{i}.csv", "mimeType": "text/csv", "buffer": synthetic_csv(seconds=10 - 0.5 * i)}]
            for i in range(n)]


def _wait_ranked(page, prompts: list[str] | None = None, count: int | None = None) -> None:
    page.wait_for_function(
        """([want, count]) => {
            if (document.querySelector('[data-stale="true"] .rank-row')) return false;
            const rows = [...document.querySelectorAll('.rank-row .rank-prompt')].map(e => e.innerText);
            if (want) return rows.length === want.length && want.every(p => rows.includes(p));
            return rows.length === count;
        }""", arg=[prompts, count], timeout=WAIT_MS, polling="raf")


def _wait_title(page, title: str) -> None:
    try:
        page.wait_for_function(
            "t => [...document.querySelectorAll('.rec-title')].some(e => e.innerText.startsWith(t))",
            arg=title, timeout=WAIT_MS, polling="raf")
    except Exception:
        shot = REPO / "artifacts" / "benchmark_failure.png"
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shot))
        print(f"waiting for {title!r} failed; screenshot: {shot}; titles: "
              f"{page.locator('.rec-title').all_inner_texts()}", file=sys.stderr)
        raise


def _idle(page) -> None:
    page.wait_for_timeout(250)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    weights = _weights(args.weights)
    from mets_core.prompts import PRESETS
    n_default = len(PRESETS["Rhythm"])
    results: dict[str, list[float]] = {k: [] for k in TARGETS}
    extra: dict[str, float] = {}

    t_launch = time.perf_counter()
    with streamlit_server(weights, data_dir=os.environ.get("METS_DATA_DIR")) as (url, t_health):
        with browser() as page:
            page.goto(url)
            page.locator(".brand").first.wait_for(timeout=WAIT_MS)
            results["cold start -> first render"].append(time.perf_counter() - t_launch)
            page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
            _idle(page)
            extra["cold start -> model loaded, page idle"] = time.perf_counter() - t_launch
            extra["server health check answered"] = t_health

            uploads = _uploads(args.repeats + 1)
            for k, files in enumerate(uploads):
                title = Path(files[0]).stem if isinstance(files[0], str) else Path(files[0]["name"]).stem
                t0 = time.perf_counter()
                upload_files(page, files)
                _wait_title(page, title)
                _wait_ranked(page, count=n_default if k == 0 else 3)
                dt = time.perf_counter() - t0
                _idle(page)
                if k == 0:
                    extra["first upload (warms measurement code)"] = dt
                    set_prompts(page, ["sinus rhythm", "atrial fibrillation", "left bundle branch block"])
                    _wait_ranked(page, count=3)
                    _idle(page)
                else:
                    results["upload -> ranking visible"].append(dt)

            for k in range(args.repeats):
                prompts = [f"sinus rhythm with finding {k}a", f"atrial fibrillation variant {k}b",
                           f"ST change pattern {k}c"]
                t0 = time.perf_counter()
                set_prompts(page, prompts)
                _wait_ranked(page, prompts=prompts)
                results["prompt edit -> new ranking"].append(time.perf_counter() - t0)
                _idle(page)

    print(f"\nDashboard latency in chromium (weights: {weights}; uploads: "
          f"{'LUDB WFDB pairs' if ludb_dir() else 'synthetic CSV'}; {os.cpu_count()} CPUs)")
    print(f"{'measure':36s} {'median':>8s} {'max':>8s} {'target':>8s}  n")
    for name, values in results.items():
        med, worst = statistics.median(values), max(values)
        ok = "ok" if med <= TARGETS[name] else "MISSED"
        print(f"{name:36s} {med:7.2f}s {worst:7.2f}s {TARGETS[name]:7.1f}s  {len(values)}  {ok}")
    for name, value in extra.items():
        print(f"  {name:34s} {value:7.2f}s")


if __name__ == "__main__":
    main()
