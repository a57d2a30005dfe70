"""Start the real dashboard (`streamlit run dashboard/app.py`) on 127.0.0.1 and drive Debian chromium.

Shared by tests/test_e2e_browser.py and benchmarks/dashboard.py. Never runs `playwright install`: the
browser is /usr/bin/chromium.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
UPLOAD_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'
PROMPTS_BOX = 'textarea[aria-label^="Prompts, one per line"]'
# the page's public contract (data-testid attributes written by the dashboard's panels)
RANK_ROW = '[data-testid="mets-rank-row"]'
HIT_ROW = '[data-testid="mets-hit"]'
RECORD = '[data-testid="mets-record"]'
# the ECG paper among the page's Plotly charts: the one whose y axis is locked to x (boxes stay square)
IS_PAPER = "e => e.layout && e.layout.yaxis && e.layout.yaxis.scaleanchor === 'x'"
# what the paper draws, in short (trace sizes, and each drawn path's length and start), or null when no paper
# is there: two ECGs draw two different papers, so a page that still shows the last ECG's paper (a chart
# the browser kept instead of redrawing) is told from a redrawn one; cheap enough to poll
PAPER_DRAWING = ("() => { const e = [...document.querySelectorAll('.js-plotly-plot')].find(IS_PAPER); "
                 "return e ? JSON.stringify([(e.data || []).map(t => [t.x && t.x.length, t.y && t.y.length]), "
                 "(e.layout.shapes || []).map(s => s.path ? s.path.length + s.path.slice(0, 48) : '')]) : null; }"
                 ).replace("IS_PAPER", IS_PAPER)
# Streamlit is idle: no script running, no stale (greyed) element left
IDLE_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') "
           "&& !document.querySelector('[data-stale=\"true\"]')")

# Each visible element's text against what is behind it, as the eye sees it: its colour's alpha and every
# opacity above it (Streamlit fades captions to 60 %) blend it into the background. Returns {sel, part (the
# dashboard's part it is in, data-testid="mets-...", else Streamlit's element: "stCaptionContainer",
# "stWidgetLabel" ...), text, px, ratio} per visible element of `selectors` with text.
CONTRAST_JS = """
(selectors) => {
  const lum = (rgb) => { const c = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                         return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const parse = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const p = parse(getComputedStyle(e).backgroundColor);
                               if (p.length >= 3 && (p.length < 4 || p[3] > 0.5)) return p.slice(0, 3); } return [255, 255, 255]; };
  const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; };
  const out = [];
  for (const sel of selectors) for (const el of document.querySelectorAll(sel)) {
    if (!el.innerText || !el.innerText.trim() || el.offsetParent === null) continue;
    const st = getComputedStyle(el); const c = parse(st.color); const bg = background(el);
    const alpha = (c.length > 3 ? c[3] : 1) * opacity(el);
    const fg = [0, 1, 2].map(i => alpha * c[i] + (1 - alpha) * bg[i]);
    const a = lum(fg), b = lum(bg);
    const part = el.closest('[data-testid^="mets-"]') || el.closest('[data-testid]:not([data-testid="stMarkdownContainer"])');
    out.push({sel, part: part ? part.dataset.testid : '', text: el.innerText.slice(0, 30), px: parseFloat(st.fontSize),
              ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
  }
  return out;
}
"""


def contrast(rgb_a: str, rgb_b: str) -> float:
    """WCAG contrast ratio of two CSS colours given as "rgb(r, g, b)" (the alpha, if any, ignored)."""
    import re

    def lum(css: str) -> float:
        c = [float(v) / 255 for v in re.findall(r"[\d.]+", css)[:3]]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    a, b = lum(rgb_a), lum(rgb_b)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def holter_files(folder: Path) -> list[str]:
    """A 60 s two-lead WFDB record with its beat labels (.atr: five V beats from 20 s on), written to `folder`:
    a long recording that pages, with the heart-rate overview and its beat marks."""
    import numpy as np
    import wfdb

    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(duration_s=60, fs=250, heart_rate=60, leads=["II", "V5"], seed=1)
    wfdb.wrsamp("holter", fs=250, units=["mV", "mV"], sig_name=["II", "V5"],
                p_signal=ecg.signal[ecg.lead_mask].T.astype(np.float64), fmt=["16", "16"], write_dir=str(folder))
    beat_s = np.arange(0.5, 59.5, 1.0)
    wfdb.wrann("holter", "atr", (beat_s * 250).astype(int), symbol=["V" if 20 <= t < 25 else "N" for t in beat_s],
               write_dir=str(folder))
    return [str(folder / f"holter.{ext}") for ext in ("hea", "dat", "atr")]


def browser_skip_reason() -> str | None:
    """Why real-browser tests cannot run here (None when they can)."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing: install Debian chromium (apt-get install chromium); never `playwright install`"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None

ARTIFACTS = Path(os.environ.get("METS_SCREENSHOTS") or REPO / "artifacts" / "e2e")   # screenshots, server logs


def served_test_weights(tmp_path_factory, tag: str, card: str | None = None):
    """A module fixture's body (``yield from``): the dashboard served on a random-init checkpoint made here
    (with `card` as its MODEL_CARD.md when given), its log in ARTIFACTS/streamlit_{tag}.log; yields its URL.
    Skips the module when there is no browser to drive."""
    import pytest
    from dashboard_fixtures import make_test_weights
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    weights = make_test_weights(tmp_path_factory.mktemp(f"{tag}_weights"))
    if card is not None:
        (weights / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(weights, data_dir=os.environ.get("METS_DATA_DIR"),
                          log_path=ARTIFACTS / f"streamlit_{tag}.log") as (url, _):
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(weights: Path, data_dir: str | None = None, timeout_s: float = 120.0,
                     log_path: Path | None = None, tree: Path = REPO):
    """Yields (url, seconds until the server answered its health check). The server's output goes to
    log_path when given (it never contains uploaded data: the app logs none). Started as
    `python -m streamlit run dashboard/app.py` from the root of `tree` (this checkout, or another one, e.g. a
    `git worktree` of an older commit to compare with), so that tree's own `dashboard` and `mets_core` are
    the ones imported (python -m puts the working folder first on the path)."""
    port = free_port()
    env = dict(os.environ, METS_WEIGHTS=str(weights), PYTHONUNBUFFERED="1")
    if data_dir:
        env["METS_DATA_DIR"] = data_dir
    else:
        env.pop("METS_DATA_DIR", None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(Path(tree) / "dashboard" / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    t0 = time.perf_counter()
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                out = Path(log_path).read_text(errors="replace")[-3000:] if log_path else "(no log_path given)"
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{out}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"streamlit did not answer on {url} within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield url, time.perf_counter() - t0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)     # the group we started (start_new_session), nothing else
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if log_path:
            log.close()


@contextlib.contextmanager
def browser(width: int = 1500, height: int = 1100):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = b.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            b.close()


def upload_files(page, paths_or_payloads) -> None:
    """Drop files on the (current) uploader. Items: paths, or dicts {name, mimeType, buffer}."""
    page.locator(UPLOAD_INPUT).first.set_input_files(paths_or_payloads)


def open_one_ecg(page, url: str, files=None, timeout_ms: int = 120_000) -> None:
    """Open the app at `url` and upload `files`, by default one 12-lead ECG (LUDB record 1 when the data folder
    has it, else a synthetic CSV); return once its ranking is on the page and Streamlit is idle."""
    from dashboard_fixtures import ludb_dir, synthetic_csv
    ludb = ludb_dir()
    files = files or ([str(ludb / "1.hea"), str(ludb / "1.dat")] if ludb is not None else
                      [{"name": "synthetic.csv", "mimeType": "text/csv", "buffer": synthetic_csv()}])
    page.goto(url)
    page.get_by_text("Open an ECG to begin").wait_for(timeout=timeout_ms)
    upload_files(page, files)
    page.locator(RANK_ROW).first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def set_prompts(page, prompts: list[str]) -> None:
    box = page.locator(PROMPTS_BOX).first
    box.fill("\n".join(prompts))
    box.press("Control+Enter")


def paper(page, timeout_ms: int = 120_000):
    """The ECG paper's chart (a locator), once it has rendered."""
    found = page.wait_for_function(
        f"() => {{ const i = [...document.querySelectorAll('.js-plotly-plot')].findIndex({IS_PAPER}); "
        f"return i >= 0 ? i + 1 : 0; }}", timeout=timeout_ms)
    return page.locator(".js-plotly-plot").nth(int(found.json_value()) - 1)


def wait_rows(page, selector: str, n: int, timeout_ms: int = 120_000) -> None:
    """Until exactly `n` elements match `selector` and none of them is in a stale (re-running) block."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n "
        "&& !document.querySelector('[data-stale=\"true\"] ' + sel)", arg=[selector, n], timeout=timeout_ms)


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def drag_caliper(page, chart, x_frac: float = 0.3, y_frac: float = 0.8, dx_frac: float = 0.1,
                 dy_frac: float = 0.05, timeout_ms: int = 120_000) -> None:
    """Pick Plotly's box tool on `chart` and drag a box from (x_frac, y_frac) of the chart by (dx_frac,
    dy_frac), as a user measuring an interval would; returns once the caliper readout is on the page."""
    chart.scroll_into_view_if_needed()
    chart.hover()
    chart.locator('[data-title="Box Select"]').click()
    box = chart.bounding_box()
    x0, y0 = box["x"] + box["width"] * x_frac, box["y"] + box["height"] * y_frac
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["width"] * dx_frac, y0 + box["height"] * dy_frac, steps=12)
    page.mouse.up()
    page.get_by_text("Caliper:").wait_for(timeout=timeout_ms)


def click_overview(page, t_s: float, timeout_ms: int = 120_000) -> None:
    """Click the heart-rate overview's point nearest `t_s` (s into the recording), as a user opening that moment
    would (the point's place from the chart's own axes), and return once the page has answered."""
    x, y = page.evaluate("""(t) => {
        const gd = [...document.querySelectorAll('.js-plotly-plot')]
            .find(e => e.closest('[class*="st-key-hr_overview"]'));
        const trace = gd._fullData[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        let i = 0;
        trace.x.forEach((x, j) => { if (Math.abs(x - t) < Math.abs(trace.x[i] - t)) i = j; });
        const box = gd.getBoundingClientRect();
        return [box.left + xa._offset + xa.l2p(trace.x[i]), box.top + ya._offset + ya.l2p(trace.y[i])]; }""", t_s)
    page.mouse.click(x, y)
    page.wait_for_timeout(500)
    wait_idle(page, timeout_ms)


def page_start(page) -> str:
    """Where the page on screen starts (s, as the page writes it)."""
    return page.locator('[data-testid="mets-page-span"]').get_attribute("data-start-s")


def rank_count(page) -> int:
    return page.locator(RANK_ROW).count()


def full_screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside its main block: grow the viewport to the content, then shoot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], section.main, "
        "[data-testid=\"stAppViewContainer\"]')].map(e => e.scrollHeight), document.body.scrollHeight)")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(6000, max(size["height"], int(height) + 40))})
    page.wait_for_timeout(600)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
