"""A browser's own work per upload, A/B between source trees; printed, never asserted.

    .venv/bin/python benchmarks/browser_ab.py [TREE ...] [--uploads 12] [--weights DIR] [--paperless TREE ...]

Each TREE is a checkout of the project (default: this one), e.g. a `git worktree add /tmp/old <commit>` of
the code to compare with. One `streamlit run` server per tree and one Chromium tab per server, all at once;
the tabs upload the same LUDB records (from $METS_DATA_DIR, else synthetic CSVs) in turn, the order of the
tabs reversed every round (A B, B A, ...), so that a slow spell of the machine falls on every tree alike. Per
upload, until the page shows the new ECG's title, a ranking and the new ECG's paper (a paper that still draws
the last ECG is waited past: not for a tree named by --paperless, one whose page draws none, a part taken
out), and Streamlit is idle:

  main thread   the CPU seconds the tab's main thread spent (Chrome's own timers, CDP Performance.getMetrics:
                TaskDuration; its JavaScript part, ScriptDuration), the upload and 0.8 s after it (what the
                page still draws once idle);
  wall          seconds from dropping the files to the whole page.

Medians and means per tree, and each tree's median as a ratio to the first tree's. The first upload of each
tab (a fresh page: the chart library's first use) is not counted.

Why: the VM's speed changes from hour to hour by more than most changes to the page (docs/reliability.md),
so two runs made one after the other cannot tell them apart; alternating uploads in one run can. Used to
attribute the browser's work per upload to parts of the page, by trees with one part taken out (stop 25,
docs/reliability.md).
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from dashboard_fixtures import ludb_dir, make_test_weights, synthetic_csv  # noqa: E402
from e2e_server import (CHROMIUM, CHROMIUM_ARGS, IDLE_JS, PAPER_DRAWING, RANK_ROW, RECORD,  # noqa: E402
                        streamlit_server, upload_files)

WAIT_MS = 120_000
SETTLE_MS = 800
# the paper must be this ECG's, not the last one's left standing (a tree that skips the redraw is not faster)
WHOLE_PAGE_JS = f"""([title, paper, drawn_before]) =>
    [...document.querySelectorAll('{RECORD}')].some(e => e.innerText.startsWith(title))
    && document.querySelectorAll('{RANK_ROW}').length > 0
    && (!paper || ((drawn) => drawn !== null && drawn !== drawn_before)(({PAPER_DRAWING})()))
    && ({IDLE_JS[6:]})"""


def main_thread_s(cdp) -> tuple[float, float]:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"], metrics["ScriptDuration"]


def uploads(n: int, folder: Path) -> list[tuple[str, list[str]]]:
    """(title, files) of n + 1 distinct ECGs: LUDB records when the data folder has them, else synthetic CSVs."""
    ludb = ludb_dir()
    if ludb is not None:
        return [(str(i), [str(ludb / f"{i}.hea"), str(ludb / f"{i}.dat")]) for i in range(1, n + 2)]
    out = []
    for i in range(n + 1):                  # distinct lengths: distinct ECGs (the page keeps one per content)
        path = folder / f"synthetic_{i}.csv"
        path.write_bytes(synthetic_csv(seconds=4.0 + 0.25 * i, fs=250))
        out.append((path.stem, [str(path)]))
    return out


def run(trees: list[Path], n: int, weights: Path,
        paperless: set[Path] = frozenset()) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        ecgs = uploads(n, Path(tmp))
        data_dir = str(ludb_dir().parent.parent) if ludb_dir() is not None else None
        urls = [stack.enter_context(streamlit_server(weights, data_dir, tree=tree))[0] for tree in trees]
        p = stack.enter_context(sync_playwright())
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stack.callback(chromium.close)
        tabs = []
        for tree, url in zip(trees, urls):
            page = chromium.new_context(viewport={"width": 1500, "height": 1100}).new_page()
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(url)
            page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
            tabs.append((str(tree), page, cdp, tree not in paperless))
        results = {tree: {"main thread": [], "JavaScript": [], "wall": []} for tree, *_ in tabs}
        drawn = {tree: None for tree, *_ in tabs}              # each tab's paper as last drawn
        for k, (title, files) in enumerate(ecgs):
            for tree, page, cdp, paper in (tabs if k % 2 == 0 else tabs[::-1]):
                page.bring_to_front()
                page.wait_for_timeout(300)
                task0, script0 = main_thread_s(cdp)
                t0 = time.perf_counter()
                upload_files(page, files)
                page.wait_for_function(WHOLE_PAGE_JS, arg=[title, paper, drawn[tree]], timeout=WAIT_MS)
                wall = time.perf_counter() - t0
                drawn[tree] = page.evaluate(PAPER_DRAWING)
                page.wait_for_timeout(SETTLE_MS)
                task1, script1 = main_thread_s(cdp)
                if k == 0:
                    continue                        # a fresh page's first upload: not what is compared
                results[tree]["main thread"].append(task1 - task0)
                results[tree]["JavaScript"].append(script1 - script0)
                results[tree]["wall"].append(wall)
        return results


def report(results: dict[str, dict[str, list[float]]]) -> None:
    first = next(iter(results.values()))
    for tree, r in results.items():
        print(f"{tree}  ({len(r['wall'])} uploads)")
        for what, values in r.items():
            ratio = statistics.median(values) / statistics.median(first[what])
            print(f"  {what:12s} median {statistics.median(values):.3f} s  mean {statistics.mean(values):.3f} s"
                  f"  ({ratio:.2f} x the first tree's median)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trees", nargs="*", type=Path, default=[REPO])
    ap.add_argument("--uploads", type=int, default=12, help="uploads counted per tree")
    ap.add_argument("--paperless", nargs="*", type=Path, default=[],
                    help="trees whose page draws no ECG paper (a part taken out): not waited for")
    ap.add_argument("--weights", type=Path, help="checkpoint folder (default: the repository's weights/, else a "
                                                   "random-init checkpoint made here)")
    args = ap.parse_args()
    weights = args.weights
    with tempfile.TemporaryDirectory() as tmp:
        if weights is None:
            weights = REPO / "weights" if (REPO / "weights" / "config.json").exists() else \
                make_test_weights(Path(tmp) / "weights")
        trees = [t.resolve() for t in args.trees]
        report(run(trees, args.uploads, weights, {t.resolve() for t in args.paperless}))


if __name__ == "__main__":
    main()
