"""Dashboard latency in a real browser (Debian chromium via playwright), printed, never asserted.

    .venv/bin/python benchmarks/dashboard.py [--weights DIR] [--repeats 5]

Measured from the user's action until the page shows its answer and Streamlit is idle:

  cold start -> first render      launching `streamlit run dashboard/app.py` until the page's first content,
                                  in a browser already open (Chromium's own start is not timed);
                                  --drop-caches empties the OS file cache first (root; as after a reboot)
  upload -> full page             a new 12-lead ECG dropped on the uploader until its title, the ECG paper,
                                  the measurements, the ranking and the similar reports are all shown;
  prompt edit -> new ranking      never-seen prompts typed (Ctrl+Enter) until they show ranked;
  gain / speed / layout change    a tracing control until the paper is redrawn at the new setting;
  next page (long record)         "Next ▶" on a long recording until the paper, the measurements and the
                                  ranking show the next 10 s;
  30-min record upload            a Holter record (MIT-BIH, 2 leads, with its beat labels; a different one
                                  each time) until its first page is shown whole (no target of its own);
                                  at most 5 (LONG_RECORDS) whatever --repeats, as the output says: a
                                  record uploaded again would be found in the server's caches.

Targets (issue 10): cold start <= 8 s, upload <= 1.5 s, every control <= 0.5 s. The floor, measured in the
same run, is the round trip of the lightest full page (opening the model card from the empty start page):
each measure is also printed as a ratio to it, so a loaded machine shows as a high floor, not a slow app.

Weights: --weights, else $METS_WEIGHTS, else the repository's weights/ if it holds a checkpoint, else a
random-init checkpoint + small index made here (same architecture and text encoder, so the same cost), in a
temporary folder deleted at the end.
Uploads: LUDB WFDB pairs (.hea + .dat) from $METS_DATA_DIR, else synthetic CSVs; the long record is MIT-BIH
208 (30 min, with its beat labels) from $METS_DATA_DIR, else a synthetic 5-minute 2-lead CSV.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from dashboard_fixtures import ludb_dir, make_test_weights, synthetic_csv  # noqa: E402
from e2e_server import (HIT_ROW, IDLE_JS, IS_PAPER, RANK_ROW, RECORD, browser, set_prompts,  # noqa: E402
                        streamlit_server, upload_files)

TARGETS = {"cold start -> first render": 8.0, "upload -> full page": 1.5, "prompt edit -> new ranking": 0.5,
           "gain change -> paper redrawn": 0.5, "speed change -> paper redrawn": 0.5,
           "layout change -> paper redrawn": 0.5, "next page (long record)": 0.5}
FLOOR = "floor: open the model card"
LONG_UPLOAD = "30-min record upload -> full page"     # no target of its own: the upload target is for 10 s ECGs
WAIT_MS = 120_000

# the ECG paper shows `text` in its annotations
PAPER_SAYS_JS = f"""(text) => [...document.querySelectorAll('.js-plotly-plot')].some(e => ({IS_PAPER})(e)
    && (e.layout.annotations || []).some(a => String(a.text).includes(text)))"""
FULL_PAGE_JS = f"""([title, rows]) => {{
    const rec = [...document.querySelectorAll('{RECORD}')].some(e => e.innerText.startsWith(title));
    const ranked = document.querySelectorAll('{RANK_ROW}').length === rows;
    const hits = document.querySelectorAll('{HIT_ROW}[data-kind="ecg"]').length > 0;
    const meas = !!document.querySelector('[data-testid="mets-measurements"]');
    const paper = [...document.querySelectorAll('.js-plotly-plot')].some({IS_PAPER});
    return rec && ranked && hits && meas && paper && ({IDLE_JS[6:]});
}}"""


@contextlib.contextmanager
def weights_folder(arg: str | None):
    """Yields the weights to serve: `arg`, else $METS_WEIGHTS, else the repository's weights/ if it holds a
    checkpoint, else a random-init checkpoint + index made in a temporary folder, deleted on leaving."""
    if arg:
        yield Path(arg)
    elif os.environ.get("METS_WEIGHTS"):
        yield Path(os.environ["METS_WEIGHTS"])
    elif (REPO / "weights" / "config.json").is_file():
        yield REPO / "weights"
    else:
        with tempfile.TemporaryDirectory(prefix="mets_bench_weights_") as tmp:
            print(f"(no trained weights: using a random-init checkpoint + index made in {tmp}, deleted after)")
            yield make_test_weights(Path(tmp))


def _uploads(n: int) -> list:
    ludb = ludb_dir()
    if ludb is not None:
        return [[str(ludb / f"{i}.hea"), str(ludb / f"{i}.dat")] for i in range(10, 10 + n)]
    return [[{"name": f"bench{i}.csv", "mimeType": "text/csv", "buffer": synthetic_csv(seconds=10 - 0.5 * i)}]
            for i in range(n)]


LONG_RECORDS = ("201", "203", "207", "209", "208")     # MIT-BIH, 30 min, with beat labels; 208 last


def long_records(n: int) -> list[tuple[list, str]]:
    """(files, title) of up to n different long records, the last one paged through: MIT-BIH records (30 min,
    with their beat labels, 208 last) from $METS_DATA_DIR, at most the ones of LONG_RECORDS it holds (fewer
    than n when n is more), else n synthetic 5-minute 2-lead CSVs. Different ones, so that no upload finds the
    one before it in the server's caches."""
    data = os.environ.get("METS_DATA_DIR")
    mit = Path(data) / "mitdb" if data else None
    names = [r for r in LONG_RECORDS if mit is not None and (mit / f"{r}.hea").is_file()]
    if names:
        return [([str(mit / f"{r}.{ext}") for ext in ("hea", "dat", "atr")], r) for r in names[-n:]]
    from mets_core.simulate import simulate_ecg
    out = []
    for seed in range(n):
        ecg = simulate_ecg(duration_s=300, fs=250, heart_rate=72, leads=["II", "V5"], seed=3 + seed)
        x = ecg.signal[ecg.lead_mask]
        rows = "\n".join(f"{k / 250:.4f},{a:.4f},{b:.4f}" for k, (a, b) in enumerate(x.T))
        out.append(([{"name": f"long{seed}.csv", "mimeType": "text/csv",
                      "buffer": ("time,II,V5\n" + rows + "\n").encode()}], f"long{seed}"))
    return out


def fewer_long_records_note(repeats: int, titles: list[str]) -> str | None:
    """What the output says when fewer long records were uploaded (`titles`) than --repeats asked for."""
    if len(titles) >= repeats:
        return None
    return (f"{LONG_UPLOAD}: {len(titles)} different record{'s' * (len(titles) != 1)} ({', '.join(titles)}), "
            f"not --repeats {repeats}: "
            f"the ones of MIT-BIH {', '.join(LONG_RECORDS)} in $METS_DATA_DIR/mitdb; one uploaded again would "
            "come from the server's caches")


def _title_of(files) -> str:
    return Path(files[0]).stem if isinstance(files[0], str) else Path(files[0]["name"]).stem


def _until(page, js: str, arg=None) -> None:
    page.wait_for_function(js, arg=arg, timeout=WAIT_MS, polling="raf")


def _idle(page) -> None:
    page.wait_for_timeout(250)
    _until(page, IDLE_JS)


def _timed(page, action, js: str, arg=None) -> float:
    t0 = time.perf_counter()
    action()
    _until(page, js, arg)
    return time.perf_counter() - t0


GAIN = re.compile(r"^Gain \(mm")        # "Gain (mm/mV)", or "Gain (mm per lead range)" for data not in mV


def _radio(page, group, option: str) -> None:
    page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_caches_refusal() -> str | None:
    """Why --drop-caches cannot empty the OS file cache here (None when it can)."""
    if os.geteuid() != 0:
        return (f"--drop-caches empties the OS file cache by writing {DROP_CACHES}, which needs root: "
                "run the benchmark as root (e.g. sudo), or leave --drop-caches out")
    if not os.access(DROP_CACHES, os.W_OK):
        return (f"--drop-caches cannot write {DROP_CACHES} (read-only here, as in most containers): run it on "
                "the machine itself as root, or leave --drop-caches out")
    return None


def parse_args(argv=None) -> argparse.Namespace:
    """The command line, checked before anything is loaded or started (a usage error, exit status 2)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights")
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed repeats of each measure (at least 1); the 30-min uploads are at most "
                         f"{len(LONG_RECORDS)} different records")
    ap.add_argument("--drop-caches", action="store_true",
                    help="empty the OS file cache before the cold start (needs root), as on a machine just booted")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1 (got {args.repeats}): each measure is a median of its repeats")
    if args.drop_caches and (why := drop_caches_refusal()):
        ap.error(why)
    return args


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    try:
        DROP_CACHES.write_text("3\n")
    except OSError as e:
        sys.exit(f"dashboard.py: --drop-caches could not write {DROP_CACHES} ({e.strerror}): run it as root on "
                 "the machine itself, or leave --drop-caches out")


def main(argv=None) -> None:
    args = parse_args(argv)
    with weights_folder(args.weights) as weights:
        run(args, weights)


def run(args: argparse.Namespace, weights: Path) -> None:
    from dashboard.plotting import hms           # the paper's footer says which page, in h:mm:ss
    from mets_core.prompts import PRESETS
    n_default = len(PRESETS["Rhythm"])
    results: dict[str, list[float]] = {k: [] for k in [FLOOR, *TARGETS, LONG_UPLOAD]}
    extra: dict[str, float] = {}
    notes: list[str] = []

    # the browser is started (and has drawn a page) before the server: a clinician's browser is already open,
    # and Chromium's own cold start (seconds on a machine whose disk cache is empty) is not the dashboard's
    with browser() as page:
        page.goto("about:blank")
        if args.drop_caches:
            drop_caches()
        t_launch = time.perf_counter()
        with streamlit_server(weights, data_dir=os.environ.get("METS_DATA_DIR")) as (url, t_health):
            page.goto(url)
            page.get_by_text("METS").first.wait_for(timeout=WAIT_MS)
            results["cold start -> first render"].append(time.perf_counter() - t_launch)
            page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
            _idle(page)
            extra["cold start -> model loaded, page idle"] = time.perf_counter() - t_launch
            extra["server health check answered"] = t_health

            for _ in range(args.repeats):             # the floor: the lightest full page, and back
                results[FLOOR].append(_timed(
                    page, lambda: page.get_by_role("link", name="Model card").click(),
                    "() => document.body.innerText.includes('Research use only. Not a medical device.') "
                    "&& " + IDLE_JS[6:]))
                page.get_by_role("link", name="Reader").click()
                page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
                _idle(page)

            for k, files in enumerate(_uploads(args.repeats + 1)):
                rows = n_default if k == 0 else 3
                dt = _timed(page, lambda: upload_files(page, files), FULL_PAGE_JS, [_title_of(files), rows])
                if k == 0:
                    extra["first upload (warms measurement code)"] = dt
                    set_prompts(page, ["sinus rhythm", "atrial fibrillation", "left bundle branch block"])
                    _until(page, f"() => document.querySelectorAll('{RANK_ROW}').length === 3")
                    _idle(page)
                else:
                    results["upload -> full page"].append(dt)

            for k in range(args.repeats):
                prompts = [f"sinus rhythm with finding {k}a", f"atrial fibrillation variant {k}b",
                           f"ST change pattern {k}c"]
                want = f"""() => {{ const r = [...document.querySelectorAll('{RANK_ROW}')].map(e => e.dataset.prompt);
                    return {prompts!r}.every(p => r.includes(p)) && r.length === 3 && ({IDLE_JS[6:]}); }}"""
                results["prompt edit -> new ranking"].append(_timed(page, lambda: set_prompts(page, prompts), want))

            for k in range(args.repeats):
                for gain in ("20", "10"):
                    results["gain change -> paper redrawn"].append(_timed(
                        page, lambda: _radio(page, GAIN, gain),       # mm/mV, or mm per SD / lead range
                        f"() => ({PAPER_SAYS_JS})(' {gain} mm') && " + IDLE_JS[6:]))
                for speed in ("50", "25"):
                    results["speed change -> paper redrawn"].append(_timed(
                        page, lambda: _radio(page, "Speed (mm/s)", speed),
                        f"() => ({PAPER_SAYS_JS})('{speed} mm/s') && " + IDLE_JS[6:]))
                for layout, leads in (("12×1", 12), ("3×4 + rhythm strip", 13)):
                    results["layout change -> paper redrawn"].append(_timed(
                        page, lambda: _radio(page, "Layout", layout),
                        f"""() => [...document.querySelectorAll('.js-plotly-plot')].some(e => ({IS_PAPER})(e)
                            && (e.layout.annotations || []).filter(a => String(a.text).startsWith('<b>')).length
                            === {leads}) && """ + IDLE_JS[6:]))

            longs = long_records(args.repeats)
            if note := fewer_long_records_note(args.repeats, [title for _, title in longs]):
                notes.append(note)
            for long_files, long_title in longs:
                results[LONG_UPLOAD].append(_timed(page, lambda: upload_files(page, long_files), FULL_PAGE_JS,
                                                   [long_title, 3]))
            for k in range(args.repeats):
                start = 10 * (k + 1)
                results["next page (long record)"].append(_timed(
                    page, lambda: page.get_by_role("button", name="Next ▶").click(),
                    f"""() => !!document.querySelector('[data-testid="mets-page-span"][data-start-s="{start}"]')
                        && ({PAPER_SAYS_JS})('{hms(start)}–{hms(start + 10)} of') && """ + IDLE_JS[6:]))

    floor = statistics.median(results[FLOOR])
    print(f"\nDashboard latency in chromium (weights: {weights}; uploads: "
          f"{'LUDB WFDB pairs' if ludb_dir() else 'synthetic CSV'}; {os.cpu_count()} CPUs)")
    print(f"{'measure':36s} {'median':>8s} {'max':>8s} {'target':>8s} {'x floor':>8s}  n")
    for name, values in results.items():
        med, worst = statistics.median(values), max(values)
        target = TARGETS.get(name)
        verdict = "" if target is None else ("ok" if med <= target else "MISSED")
        print(f"{name:36s} {med:7.2f}s {worst:7.2f}s {'' if target is None else f'{target:7.1f}s':>8s} "
              f"{med / floor:8.1f}  {len(values)}  {verdict}")
    for name, value in extra.items():
        print(f"  {name:44s} {value:7.2f}s")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
