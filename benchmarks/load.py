"""Load: N concurrent clinicians, in real browser sessions or as protocol clients; printed, never asserted.

    .venv/bin/python benchmarks/load.py [--clients browser|protocol|mixed] [--sessions 8] [--rounds 3]
                                        [--think 0] [--weights DIR] [--json out.json]

Two kinds of client do the same things, in the same session loop, alone or mixed:

  browser   (the default) one Chromium, N contexts: the server's answer *and* each page's drawing. Here the
            N browsers run on the server's own 2 cores, which a clinic's own computers would not;
  protocol  N sessions that speak Streamlit's own websocket protocol (tests/streamlit_protocol.py) from this
            process and draw nothing: the server's answer time, as N clinicians' computers would get it
            before drawing. Each browser's drawing comes on top: for context the run also times one browser
            tab alone (with its page's main-thread timers) unless --no-browser-floor;
  mixed     one browser tab (session 0) and N - 1 protocol clients: what one clinician sees, the server's
            answer under the others' load plus this browser's own drawing (the headline row; the protocol
            clients' row beside it). The one browser still draws on the server's 2 cores, the conservative
            side of what a clinician's own computer would give. With --think 0 the sessions act in step (each
            action starts when every session has finished its previous one): the protocol clients, faster,
            would otherwise run out of rounds and leave the browser's later rounds to a quiet server. And
            the browser tab takes every place in the queue in turn: in round r it acts once r * N / rounds
            of the others have sent theirs (its upload, through Chromium, had always reached the server
            last: the worst place, not the median session's). Use --rounds N for every place once.

Each session opens the page and waits until it has settled (as a clinician does before choosing a file),
then, for each round, uploads an ECG no other session sees (LUDB WFDB pairs from $METS_DATA_DIR, else
distinct synthetic CSVs) and then types a prompt set no other session types. With --think 0 (the default)
every session acts the moment its previous answer is shown: all 8 hit the server at once, a stress test.
With --think S each session first reads for a random 0.5 S - 1.5 S seconds (seeded), as people do. It records

  upload -> ranking   from dropping the files until the whole page is there: this ECG's title, a ranking of
                      the prompts in the box (the previous round's, or the default preset), this ECG's
                      paper (not the last one's left standing), nothing left from the previous run and
                      Streamlit idle (see PAGE_IDLE);
  prompts -> ranking  from typing the new prompts (Ctrl+Enter) until exactly those prompts are ranked, the
                      page as above;

(for a protocol client: until the server has finished the script run whose page holds them), when the ranking
rows themselves were there (shown; sent, for a protocol client) and, for a browser tab, when the whole page was
drawn; and reads every ranking off the page (prompt order and the printed cosines; a protocol client reads the
same rows' data-prompt and data-similarity from the markdown the server sent). Afterwards this process loads the
same weights with METS, reads the same bytes with the dashboard's own reader (dashboard.loading) and ranks the
same prompts: every page must show the answer for its own ECG and prompts (top prompt, order, cosines to the
printed 3 decimals). Any difference is cross-talk (or a wrong answer) and is counted, as are error messages and
tracebacks on any page. Server memory: VmRSS sampled every 0.25 s and VmHWM (peak resident set since start) of
the `streamlit run` process, from /proc. CPU: the seconds the server, the Chromium processes and this process
(the protocol clients) used during the concurrent phase, each per action of the sessions it serves (the server:
all; the browsers: the browser tabs'; this process: the protocol clients').
Loopback only (127.0.0.1); bounded by --rounds and --time-limit.

tests/test_reliability_load.py runs this with 8 sessions x 2 rounds, with each kind of client and mixed, and
asserts correctness (not speed).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from dashboard_fixtures import ludb_dir, make_test_weights, synthetic_csv  # noqa: E402
from e2e_server import CHROMIUM, CHROMIUM_ARGS, PAPER_DRAWING, PROMPTS_BOX, RANK_ROW, RECORD, UPLOAD_INPUT  # noqa: E402
from reliability_support import CpuMeter, in_process_tree, proc_memory, served  # noqa: E402

WAIT_MS = 240_000
TARGET_MEDIAN_S = 1.5          # issue 10: 8 concurrent sessions get a median answer within 1.5 s
CLIENTS = ("browser", "protocol", "mixed")
PROMPT_POOL = [
    "sinus rhythm", "atrial fibrillation", "left bundle branch block", "right bundle branch block",
    "sinus bradycardia", "sinus tachycardia", "first degree AV block", "left ventricular hypertrophy",
    "ST elevation", "inferior myocardial infarction", "premature ventricular contractions", "atrial flutter",
    "paced rhythm", "normal ECG", "T wave inversion", "left axis deviation", "anterior myocardial infarction",
    "low QRS voltage", "incomplete right bundle branch block", "early repolarisation",
]


@dataclass
class Upload:
    title: str                                   # the ECG's name on the page
    files: list[tuple[str, bytes]]               # as the browser sends them

    def payload(self) -> list[dict]:
        return [{"name": n, "mimeType": "application/octet-stream", "buffer": b} for n, b in self.files]


@dataclass
class Observation:
    session: int
    round: int
    step: str                                    # "upload" | "prompts"
    upload: int                                  # index into the uploads
    prompts: list[str]
    seconds: float                               # until the answer (see the module's docstring)
    # seconds until this ECG's title and exactly these prompts ranked were there (sent by the server, for a
    # protocol client; shown on the page, for a browser tab), in the run answering the action, which may
    # still be going (the upload's run ends with the paper, which waits for the measurements)
    ranking_shown_s: float
    page_drawn_s: float | None                   # browser tabs: until the whole page was drawn (see PAGE_DRAWN)
    shown: list[tuple[str, float]]               # (prompt, printed cosine), in page order
    errors: list[str] = field(default_factory=list)
    client: str = "browser"                      # the kind of tab that acted: "browser" | "protocol"
    place: int | None = None                     # mixed, all at once: how many others had sent theirs first


def make_uploads(n: int) -> list[Upload]:
    """n different ECGs: LUDB records 1..n (WFDB .hea + .dat), else synthetic CSVs of different lengths."""
    ludb = ludb_dir()
    if ludb is not None and n <= 200:
        return [Upload(str(i), [(f"{i}.hea", (ludb / f"{i}.hea").read_bytes()),
                                (f"{i}.dat", (ludb / f"{i}.dat").read_bytes())]) for i in range(1, n + 1)]
    return [Upload(f"load{i}", [(f"load{i}.csv", synthetic_csv(seconds=4.0 + 0.25 * i, fs=250))]) for i in range(n)]


def prompt_sets(n: int, size: int = 3) -> list[list[str]]:
    """n different prompt sets (no two equal as sets), spread over the pool."""
    combos = list(itertools.combinations(PROMPT_POOL, size))
    step = max(1, len(combos) // n)
    return [list(combos[(k * step + k * 7) % len(combos)]) for k in range(n)]


# ------------------------------------------------------------------------- the browser's page

# The ranking's three stages on a browser page. RANKING_SHOWN: this ECG's title and exactly these prompts
# ranked, none of it left from the previous run. PAGE_DRAWN: and the whole page of the run answering the
# action is there: no element left from the previous run (stale) and the ECG paper drawn (the empty page
# before the first ECG has none to leave stale). PAGE_IDLE: and Streamlit's running indicator gone, as
# tests/e2e_server.py's IDLE_JS; the timed answer. The indicator alone is no end-of-run signal: it shows
# only once a run has lasted 0.5 s and fades out over 0.2 s after it, so a page whose ranking came sooner
# had counted as done while its paper was still coming
RANKING_SHOWN, PAGE_DRAWN, PAGE_IDLE = range(3)
JS_RANKED = ("""([title, want, stage, drawn_before]) => {
    const titles = [...document.querySelectorAll('RECORD')].map(e => e.innerText.trim().split(/\\s+/)[0]);
    if (!titles.includes(title)) return false;
    if (document.querySelector('[data-stale="true"] RANK_ROW')) return false;
    if (stage >= 1) {
        if (document.querySelector('[data-stale="true"]')) return false;
        const drawn = (PAPER_DRAWING)();          // this ECG's paper, not the last upload's left standing
        if (drawn === null || drawn === drawn_before) return false;
    }
    if (stage >= 2 && document.querySelector('[data-testid="stStatusWidget"]')) return false;
    const rows = [...document.querySelectorAll('RANK_ROW')].map(e => e.dataset.prompt);
    return rows.length === want.length && want.every(p => rows.includes(p));
}""").replace("RECORD", RECORD).replace("RANK_ROW", RANK_ROW).replace("PAPER_DRAWING", PAPER_DRAWING)
JS_READ = f"""() => [...document.querySelectorAll('{RANK_ROW}')].map(r => [r.dataset.prompt, r.dataset.similarity])"""
JS_ERRORS = """() => [
    ...[...document.querySelectorAll('[data-testid="stException"]')].map(e => 'exception: ' + e.innerText),
    ...[...document.querySelectorAll('[data-testid="stAlert"]')].map(e => e.innerText)
        .filter(t => /could not|went wrong|unavailable|error/i.test(t)).map(t => 'alert: ' + t),
    ...(document.body.innerText.includes('Traceback') ? ['Traceback on the page'] : [])]"""


async def _read(page) -> list[tuple[str, float]]:
    rows = await page.evaluate(JS_READ)
    return [(p, float(c)) for p, c in rows]


JS_SETTLED = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !!document.querySelector('.st-key-chart_library_preload .js-plotly-plot')"""


# Chrome's own main-thread timers (CDP Performance.getMetrics, cumulative seconds): what a page's main
# thread did, beside the process CPU the meters read from /proc. They are wall time: a task that waited
# for a core counts its waiting too
MAIN_THREAD = {"TaskDuration": "all tasks", "ScriptDuration": "JavaScript", "RecalcStyleDuration": "style",
               "LayoutDuration": "layout"}


async def _main_thread(cdp) -> dict[str, float]:
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    return {k: metrics.get(k, 0.0) for k in MAIN_THREAD}


def _add_main_thread(into: dict, what: str, start: dict[str, float], end: dict[str, float]) -> None:
    """into[what] += end - start, per timer (what: "all", the whole concurrent phase, or an action's step)."""
    sums = into.setdefault(what, {})
    for k in MAIN_THREAD:
        sums[k] = sums.get(k, 0.0) + end[k] - start[k]


@dataclass
class Answer:
    """When (perf_counter) an action started, its ranking was there (sent by the server, for a protocol
    client; shown, for a browser tab), the whole page was drawn (browser tabs) and the answer was done."""
    start: float
    shown: float
    drawn: float | None
    done: float


# ---------------------------------------------------------------------------------- the two kinds of tab

class BrowserTab:
    """A session in a real browser tab (one context of the shared Chromium): the server's answer and the
    page's drawing, on this machine's cores."""
    kind = "browser"

    def __init__(self, browser, url: str, main_thread: dict | None = None):
        self.browser, self.url, self.main_thread = browser, url, main_thread
        self.context = self.page = self.cdp = self.start = None
        self.drawn = None                    # the paper as the last upload left it (PAPER_DRAWING)

    async def open(self) -> None:
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = await self.context.new_page()
        self.cdp = await self.context.new_cdp_session(self.page)
        await self.cdp.send("Performance.enable")
        await self.page.goto(self.url)
        await self.page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
        await self.page.wait_for_function(JS_SETTLED, timeout=WAIT_MS, polling=100)    # the page has settled

    async def begin(self) -> None:
        """The concurrent phase starts: the page's main-thread timers count from here."""
        self.start = await _main_thread(self.cdp)

    async def _answer(self, step: str, act, title: str, want: list[str], drawn_before: str | None = None) -> Answer:
        """Do `act`, wait through the three stages until the page is idle with the ranking shown (and a paper
        that is not `drawn_before`); the page's main-thread timers are added up per step (read outside the
        timed span)."""
        before = await _main_thread(self.cdp)
        start, stages = time.perf_counter(), []
        await act()
        for stage in (RANKING_SHOWN, PAGE_DRAWN, PAGE_IDLE):
            await self.page.wait_for_function(JS_RANKED, arg=[title, want, stage, drawn_before], timeout=WAIT_MS,
                                              polling=100)
            stages.append(time.perf_counter())
        if self.main_thread is not None:
            _add_main_thread(self.main_thread, step, before, await _main_thread(self.cdp))
        return Answer(start, *stages)

    async def upload(self, upload: Upload, want: list[str]) -> Answer:
        answer = await self._answer("upload", lambda: self.page.locator(UPLOAD_INPUT).first.set_input_files(
            upload.payload()), upload.title, want, self.drawn)
        self.drawn = await self.page.evaluate(PAPER_DRAWING)
        return answer

    async def type_prompts(self, title: str, prompts: list[str]) -> Answer:
        async def act():
            box = self.page.locator(PROMPTS_BOX).first
            await box.fill("\n".join(prompts))
            await box.press("Control+Enter")
        return await self._answer("prompts", act, title, prompts)

    async def read(self) -> tuple[list[tuple[str, float]], list[str]]:
        return await _read(self.page), await self.page.evaluate(JS_ERRORS)

    async def close(self) -> None:
        if self.context is None:
            return
        if self.start is not None and self.main_thread is not None:
            _add_main_thread(self.main_thread, "all", self.start, await _main_thread(self.cdp))
        await self.context.close()


def _testid(selector: str) -> str:
    """'[data-testid="x"]' -> 'x': the protocol tab finds the same elements the browser's selectors do."""
    return re.fullmatch(r'\[data-testid="([^"]+)"\]', selector).group(1)


class ProtocolTab:
    """A session that speaks Streamlit's websocket protocol (tests/streamlit_protocol.py) and draws
    nothing: the server's own answer time. The same actions as BrowserTab, the same conditions read off the
    page the server described (the ECG's title in the record header, exactly the wanted prompts ranked, in
    a finished run, so nothing stale), the same ranking rows (data-prompt, data-similarity)."""
    kind = "protocol"
    UPLOADER = "Upload ECG files"                           # UPLOAD_INPUT.first: the sidebar's uploader
    PROMPTS_LABEL = re.search(r'aria-label\^="([^"]+)"', PROMPTS_BOX).group(1)

    def __init__(self, url: str):
        from streamlit_protocol import ProtocolSession
        self.session = ProtocolSession(url)
        self.on_sent = None                 # awaited once an action has been sent (Places)

    async def open(self) -> None:
        await self.session.open()
        await self.session.until(lambda page: any("Open an ECG to begin" in b for b in page.bodies()),
                                 0, WAIT_MS / 1000)

    async def begin(self) -> None:
        pass

    @staticmethod
    def _ranked(title: str, want: list[str]):
        def ready(page) -> bool:
            titles = [(text.split() or [""])[0] for _, text in page.tagged(_testid(RECORD))]
            rows = [attrs.get("data-prompt") for attrs, _ in page.tagged(_testid(RANK_ROW))]
            return title in titles and len(rows) == len(want) and all(p in rows for p in want)
        return ready

    async def _act(self, act, ready) -> Answer:
        """Do `act`, wait until a finished run shows `ready`; `shown`: when the server had sent all of it, in
        the run answering the action, which may have gone on after that (nothing is drawn)."""
        start, finished, runs, sent = time.perf_counter(), self.session.finished, self.session.runs_started, []

        def watch(run, page):
            if not sent and run > runs and ready(page):
                sent.append(time.perf_counter())
        self.session.watch = watch
        try:
            await act()
            if self.on_sent is not None:
                await self.on_sent()
            await self.session.until(ready, finished, WAIT_MS / 1000)
        finally:
            self.session.watch = None
        done = time.perf_counter()
        return Answer(start, sent[0] if sent else done, None, done)

    async def upload(self, upload: Upload, want: list[str]) -> Answer:
        return await self._act(lambda: self.session.upload(upload.files, self.UPLOADER),
                               self._ranked(upload.title, want))

    async def type_prompts(self, title: str, prompts: list[str]) -> Answer:
        return await self._act(lambda: self.session.type_text(self.PROMPTS_LABEL, "\n".join(prompts)),
                               self._ranked(title, prompts))

    async def read(self) -> tuple[list[tuple[str, float]], list[str]]:
        page = self.session.page
        return ([(a["data-prompt"], float(a["data-similarity"])) for a, _ in page.tagged(_testid(RANK_ROW))],
                page.errors())

    async def close(self) -> None:
        await self.session.close()


# --------------------------------------------------------------------------------------- one session

class Places:
    """Mixed, all at once: the browser tab's place among the sessions' actions. Its upload goes through
    Chromium and reached the server after the protocol clients' (sent from this process at once), so it was
    always last in the server's queue, where the measurements run one ECG at a time: the worst of the N
    places, not the median session's. Here every protocol client tells when it has sent its action, and in
    round r the browser tab acts once ``place(r)`` of them have: over the rounds it takes places from first
    to last (all N with N rounds)."""

    def __init__(self, others: int, rounds: int):
        self.others, self.rounds = others, rounds
        self._sent: dict[tuple[int, str], int] = {}
        self._changed = asyncio.Condition()
        self._broken = False

    def place(self, rnd: int) -> int:
        return min(self.others, rnd * (self.others + 1) // max(1, self.rounds))

    async def sent(self, rnd: int, step: str) -> None:
        async with self._changed:
            self._sent[rnd, step] = self._sent.get((rnd, step), 0) + 1
            self._changed.notify_all()

    async def turn(self, rnd: int, step: str) -> int:
        """Wait until place(rnd) of the others have sent this action; returns that place."""
        place = self.place(rnd)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: self._broken or self._sent.get((rnd, step), 0) >= place), WAIT_MS / 1000)
        if self._broken:
            raise asyncio.BrokenBarrierError("another session failed before sending its action")
        return place

    async def abort(self) -> None:
        """A session failed: whoever waits for its action stops waiting."""
        async with self._changed:
            self._broken = True
            self._changed.notify_all()


async def _session(tab, index: int, plan: list[tuple[int, list[str]]], uploads: list[Upload],
                   default_prompts: list[str], out: list[Observation], deadline: float, think_s: float = 0.0,
                   opened: asyncio.Barrier | None = None, meters: dict | None = None,
                   in_step: asyncio.Barrier | None = None, places: Places | None = None) -> None:
    """One clinician's rounds. in_step (all at once, with tabs of different speeds): each action waits until
    every session has finished its previous one, so that a slower tab never acts alone while the faster
    ones have run out of rounds. places (with in_step): where the browser tab's action lands among the
    others' (Places)."""
    import random
    rng = random.Random(index)

    async def before_acting(rnd: int, step: str) -> int | None:
        if think_s > 0:
            await asyncio.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))
        if in_step is not None:
            await in_step.wait()
        if places is None:
            return None
        if tab.kind == "browser":
            return await places.turn(rnd, step)
        tab.on_sent = lambda: places.sent(rnd, step)
        return None

    try:
        await tab.open()
        if opened is not None:
            await opened.wait()              # every session open: the concurrent phase starts together
        await tab.begin()
        current = list(default_prompts)
        for rnd, (u, prompts) in enumerate(plan):
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {index}: time limit reached before round {rnd}")
            place = await before_acting(rnd, "upload")
            answer = await tab.upload(uploads[u], current)
            out.append(Observation(index, rnd, "upload", u, list(current), *_seconds(answer), *await tab.read(),
                                   client=tab.kind, place=place))
            place = await before_acting(rnd, "prompts")
            answer = await tab.type_prompts(uploads[u].title, prompts)
            out.append(Observation(index, rnd, "prompts", u, list(prompts), *_seconds(answer), *await tab.read(),
                                   client=tab.kind, place=place))
            current = list(prompts)
    except BaseException:
        for barrier in (opened, in_step, places):    # the other sessions would wait for this one for ever
            if barrier is not None:
                await barrier.abort()
        raise
    finally:
        for meter in (meters or {}).values():      # before a browser context's processes end with it
            meter.sample()
        await tab.close()


def _seconds(answer: Answer) -> tuple[float, float, float | None]:
    """(seconds to the answer, to the ranking, to the whole page drawn) from the action's start."""
    return (answer.done - answer.start, answer.shown - answer.start,
            None if answer.drawn is None else answer.drawn - answer.start)


async def _alone(tab, upload: Upload, default_prompts: list[str]) -> float:
    """One session alone: open the page, then time upload -> ranking once (an ECG no session uploads)."""
    try:
        await tab.open()
        await tab.begin()
        return _seconds(await tab.upload(upload, default_prompts))[0]
    finally:
        await tab.close()


def _is_browser(pid: int, cmd: str) -> bool:
    return "chrom" in cmd.split(" ", 1)[0]


# Chromium's processes by kind: the pages' renderers (JavaScript, style, layout, paint, raster), the GPU
# process (here, without a GPU: compositing the frames in software), the browser process, the rest
CHROMIUM_KINDS = {"renderers": "--type=renderer", "GPU process (software compositing)": "--type=gpu-process",
                  "browser process": None, "other (network, storage)": "--type="}


def _chromium_kind(kind: str):
    flag = CHROMIUM_KINDS[kind]

    def match(pid: int, cmd: str) -> bool:
        if not _is_browser(pid, cmd):
            return False
        if flag is None:
            return "--type=" not in cmd
        if kind.startswith("other"):
            return "--type=" in cmd and not any(f and f in cmd for f in CHROMIUM_KINDS.values() if f != flag)
        return flag in cmd
    return match


def _is_this_process(pid: int, cmd: str) -> bool:
    return pid == os.getpid()


def tab_kinds(clients: str, sessions: int) -> list[str]:
    """The kind of tab each session uses: "mixed" is one browser tab (session 0) among protocol clients."""
    if clients == "mixed":
        return ["browser"] + ["protocol"] * (sessions - 1)
    return [clients] * sessions


async def _drive(url: str, sessions: int, rounds: int, uploads: list[Upload], sets: list[list[str]],
                 default_prompts: list[str], pid: int, time_limit_s: float, think_s: float = 0.0,
                 clients: str = "browser", browser_floor: bool = True) -> tuple[list[Observation], dict]:
    kinds = tab_kinds(clients, sessions)
    browser_floor = browser_floor or "browser" in kinds
    memory = {"rss_samples": [], "floors_s": {}}
    stop = asyncio.Event()

    meters: dict[str, CpuMeter] = {}
    main_thread: dict[str, dict[str, float]] = {}          # "all" and per step, summed over the browser tabs

    async def sample():
        while not stop.is_set():
            try:
                memory["rss_samples"].append(proc_memory(pid)["VmRSS"])
            except OSError:
                pass
            for meter in meters.values():
                meter.sample()
            await asyncio.sleep(0.25)

    observations: list[Observation] = []
    deadline = time.monotonic() + time_limit_s
    async with contextlib.AsyncExitStack() as stack:
        browser = None
        if browser_floor:
            from playwright.async_api import async_playwright
            p = await stack.enter_async_context(async_playwright())
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            stack.push_async_callback(browser.close)

        def tab(kind: str, timers: dict | None = None):
            return BrowserTab(browser, url, timers) if kind == "browser" else ProtocolTab(url)

        # warm the server up as a clinic's is warm: the model loaded and one ECG read, measured and ranked (a
        # server's first upload pays one-off costs, ~1-2 s here, that no session should carry), by a protocol
        # tab, which needs no browser; then the floors: the same step by one session alone, in a fresh tab,
        # for each kind of tab in the run (a browser tab also for context, unless told not to) and what the
        # browser page's main thread did for that upload (its drawing)
        await _alone(ProtocolTab(url), uploads[-3], default_prompts)
        if "protocol" in kinds:
            memory["floors_s"]["protocol"] = await _alone(tab("protocol"), uploads[-1], default_prompts)
        if browser is not None:
            memory["browser_floor_main_thread_s"] = {}
            memory["floors_s"]["browser"] = await _alone(tab("browser", memory["browser_floor_main_thread_s"]),
                                                         uploads[-2], default_prompts)
        memory["rss_before_load"] = proc_memory(pid)["VmRSS"]
        plans = [[(s + sessions * r, sets[s + sessions * r]) for r in range(rounds)] for s in range(sessions)]
        opened = asyncio.Barrier(sessions + 1)
        # tabs of different speeds acting all at once act in step: else the protocol clients would run out
        # of rounds and leave the browser tab's later rounds to a quiet server
        in_step = asyncio.Barrier(sessions) if len(set(kinds)) > 1 and think_s == 0 else None
        places = Places(kinds.count("protocol"), rounds) if in_step is not None and "browser" in kinds else None
        tasks = [asyncio.create_task(_session(tab(kinds[s], main_thread), s, plans[s], uploads, default_prompts,
                                              observations, deadline, think_s, opened, meters, in_step, places))
                 for s in range(sessions)]
        await asyncio.wait_for(opened.wait(), timeout=WAIT_MS / 1000)     # all pages open and settled
        meters["server"] = CpuMeter(in_process_tree(pid))
        if "browser" in kinds:
            meters.update(browsers=CpuMeter(_is_browser),
                          **{kind: CpuMeter(_chromium_kind(kind)) for kind in CHROMIUM_KINDS})
        if "protocol" in kinds:
            meters["clients"] = CpuMeter(_is_this_process)
        sampler = asyncio.create_task(sample())
        t0 = time.perf_counter()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        memory["wall_s"] = time.perf_counter() - t0
        stop.set()
        await sampler
        memory["cpu_s"] = {name: meter.seconds() for name, meter in meters.items()}
        memory["main_thread_s"] = dict(main_thread)
        memory["in_step"] = in_step is not None
    memory["failures"] = [f"{type(r).__name__}: {str(r)[:300]}" for r in results if isinstance(r, BaseException)]
    return observations, memory
# ------------------------------------------------------------------------------------- verification

def expected_rankings(weights: Path, observations: list[Observation], uploads: list[Upload]) -> dict:
    """(upload, prompts) -> [(prompt, cosine)] computed here with METS on the same bytes, best first."""
    from dashboard.loading import read_uploads
    from mets_core import METS

    model = METS.from_pretrained(weights)
    ecgs: dict[int, object] = {}
    out = {}
    for ob in observations:
        if ob.upload not in ecgs:
            result = read_uploads(uploads[ob.upload].files)
            assert not result.errors and len(result.ecgs) == 1, result.errors
            ecgs[ob.upload] = result.ecgs[0]
        key = (ob.upload, tuple(ob.prompts))
        if key not in out:
            out[key] = [(m.prompt, m.similarity) for m in model.rank(ecgs[ob.upload], ob.prompts)]
    return out


def verify(observations: list[Observation], expected: dict, tol: float = 1.5e-3) -> list[str]:
    """Mismatches between what each page showed and what METS gives for that session's own ECG + prompts."""
    problems = []
    for ob in observations:
        want = expected[(ob.upload, tuple(ob.prompts))]
        where = f"session {ob.session} round {ob.round} ({ob.step}, ECG #{ob.upload})"
        if [p for p, _ in ob.shown] != [p for p, _ in want]:
            # equal cosines to 3 decimals may legitimately swap places; anything else is a wrong answer
            if sorted(p for p, _ in ob.shown) != sorted(p for p, _ in want) or any(
                    abs(c - dict(want)[p]) > tol for p, c in ob.shown):
                problems.append(f"{where}: shown order {[p for p, _ in ob.shown]} != expected {[p for p, _ in want]}")
                continue
        for p, c in ob.shown:
            if abs(c - dict(want)[p]) > tol:
                problems.append(f"{where}: {p!r} shown cos {c:+.3f}, expected {dict(want)[p]:+.4f}")
        problems += [f"{where}: {e[:200]}" for e in ob.errors]
    return problems


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _timings(observations: list[Observation]) -> dict:
    """Median, p95, max and n of one kind of tab's answers."""
    def spread(values: list[float]) -> dict | None:
        return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "max": max(values, default=0),
                "n": len(values)} if values else None

    up = [o.seconds for o in observations if o.step == "upload"]
    return {
        "upload_to_ranking_s": spread(up),
        "prompts_to_ranking_s": spread([o.seconds for o in observations if o.step == "prompts"]),
        # a tab's first ECG costs its browser about twice a later one (code loaded and compiled on first use)
        "upload_to_ranking_p50_by_round_s": {
            "first (a fresh tab)": percentile([o.seconds for o in observations
                                               if o.step == "upload" and o.round == 0], 0.5),
            "later": percentile([o.seconds for o in observations if o.step == "upload" and o.round > 0], 0.5)},
        # when the upload's ranking itself was there (its run then goes on to the paper)
        "upload_ranking_shown_s": spread([o.ranking_shown_s for o in observations if o.step == "upload"]),
        "upload_page_drawn_s": spread([o.page_drawn_s for o in observations
                                       if o.step == "upload" and o.page_drawn_s is not None]),
    }


def run_load(weights: Path, sessions: int = 8, rounds: int = 3, time_limit_s: float = 900.0,
             data_dir: str | None = None, log_path: Path | None = None, think_s: float = 0.0,
             clients: str = "browser", browser_floor: bool = False) -> dict:
    """Start the dashboard, drive `sessions` x `rounds` with `clients` ("browser": Chromium tabs; "protocol":
    Streamlit's websocket protocol, no drawing; "mixed": one browser tab and sessions - 1 protocol clients),
    verify every ranking; returns the figures, the headline row being the browser tabs' (the protocol
    clients' when there are none). browser_floor: also time one browser tab alone, for the drawing a browser
    adds (always, where the run has a browser tab)."""
    if clients not in CLIENTS:
        raise ValueError(f"clients must be one of {CLIENTS}, not {clients!r}")
    from mets_core.prompts import PRESETS
    from dashboard.panels.prompts import DEFAULT_PRESET

    uploads = make_uploads(sessions * rounds + 3)          # the last three: the warm-up and the floors
    sets = prompt_sets(sessions * rounds)
    default_prompts = list(PRESETS[DEFAULT_PRESET])
    log_path = log_path or Path(tempfile.mkdtemp(prefix="mets_load_")) / "server.log"
    with served(weights, log_path, data_dir=data_dir) as server:
        observations, memory = asyncio.run(_drive(server.url, sessions, rounds, uploads, sets, default_prompts,
                                                  server.pid, time_limit_s, think_s, clients, browser_floor))
        memory.update(server.memory())
        startup_s = server.startup_s
        server_log = server.log()
    expected = expected_rankings(weights, observations, uploads)
    problems = verify(observations, expected)
    kinds = sorted(set(tab_kinds(clients, sessions)))         # "browser" first: the headline
    actions = {kind: sum(o.client == kind for o in observations) for kind in kinds}
    # CPU per action of whom it serves: the server all sessions, the browsers their own tabs, this process
    # the protocol clients
    per = {"server": len(observations), "clients": actions.get("protocol", 0)}
    browser_actions = {"all": actions.get("browser", 0), **{step: sum(o.client == "browser" and o.step == step
                                                                    for o in observations)
                                                            for step in ("upload", "prompts")}}
    return {
        "clients": clients, "sessions": sessions, "rounds": rounds,
        "tabs": {kind: tab_kinds(clients, sessions).count(kind) for kind in kinds},
        "uploads": "LUDB WFDB pairs" if ludb_dir() else "synthetic CSV",
        "observations": len(observations), "expected_observations": 2 * sessions * rounds,
        **_timings([o for o in observations if o.client == kinds[0]]),
        "by_client": {kind: _timings([o for o in observations if o.client == kind]) for kind in kinds},
        "in_step": memory.get("in_step", False),
        "answers": [{"session": o.session, "round": o.round, "step": o.step, "client": o.client,
                     "seconds": o.seconds, "ranking_shown_s": o.ranking_shown_s, "page_drawn_s": o.page_drawn_s,
                     "place": o.place} for o in observations],
        "wall_s": memory.get("wall_s"), "think_s": think_s,
        "cpu_s_per_action": {k: v / max(1, per.get(k, actions.get("browser", 0)))
                             for k, v in memory.get("cpu_s", {}).items()},
        # the browser tabs' pages: over the concurrent phase per action ("all"), and per upload / prompts
        "main_thread_s_per_action": {what: {MAIN_THREAD[k]: v / max(1, browser_actions[what]) for k, v in sums.items()}
                                     for what, sums in memory.get("main_thread_s", {}).items()},
        "floor_upload_to_ranking_s": memory["floors_s"],
        "browser_floor_main_thread_s": {MAIN_THREAD[k]: v for k, v in
                                        memory.get("browser_floor_main_thread_s", {}).get("all", {}).items()},
        "server_startup_s": startup_s,
        "server_rss_before_load_mib": memory.get("rss_before_load", 0) / 2**20,
        "server_rss_peak_sampled_mib": max(memory["rss_samples"], default=0) / 2**20,
        "server_vmhwm_mib": memory.get("VmHWM", 0) / 2**20,
        "server_rss_end_mib": memory.get("VmRSS", 0) / 2**20,
        "problems": problems, "session_failures": memory["failures"],
        "traceback_in_server_log": "Traceback" in server_log,
        "cpus": os.cpu_count(),
        "_observations": observations, "_expected": expected,     # for tests; not written to --json
    }


def median_when_served_in_turn(n: int, cores: int, cpu_s: float) -> float:
    """The median finish time of n identical actions of cpu_s seconds each, all asked for at once and served
    `cores` at a time, one after another: no order of service gives a lower median (sharing the cores
    finishes every one of them later than that)."""
    import statistics
    return statistics.median((k // max(1, cores) + 1) * cpu_s for k in range(n))


def _main_thread_words(main: dict) -> str:
    other = main["all tasks"] - main["JavaScript"] - main["style"] - main["layout"]
    return (f"{main['all tasks']:.2f} s = JavaScript {main['JavaScript']:.2f} + style {main['style']:.2f} + layout "
            f"{main['layout']:.2f} + other {other:.2f} (paint, parsing, GC, messages)")


def _print_row(label: str, res: dict, kind: str, indent: str = "  ") -> None:
    """One kind of tab's answers against the target, each against that kind's floor (one session alone)."""
    timings, floor = res["by_client"][kind], res["floor_upload_to_ranking_s"].get(kind)
    if label:
        print(f"{indent[:-2]}{label}")
    for name in ("upload_to_ranking_s", "prompts_to_ranking_s"):
        v = timings[name]
        verdict = "ok" if v["p50"] <= TARGET_MEDIAN_S else "MISSED"
        against_floor = f"p50/floor {v['p50'] / floor:.1f}   " if floor and name.startswith("upload") else ""
        print(f"{indent}{name[:-2].replace('_to_', ' -> '):19s} p50 {v['p50']:.2f} s   p95 {v['p95']:.2f} s   max "
              f"{v['max']:.2f} s   n={v['n']}   {against_floor}target median <= {TARGET_MEDIAN_S:.1f} s: {verdict}")
    def spread(v: dict) -> str:
        return f"p50 {v['p50']:.2f} s, p95 {v['p95']:.2f} s, max {v['max']:.2f} s"
    rows = spread(timings["upload_ranking_shown_s"])
    if kind == "browser":
        print(f"{indent}  (the upload's ranking rows themselves were shown after {rows}; the whole page, paper "
              f"included, drawn after {spread(timings['upload_page_drawn_s'])}; then until Streamlit's running "
              f"indicator has gone: the run's end, and the indicator, shown once a run has lasted 0.5 s, fades over "
              f"0.2 s)")
    else:
        print(f"{indent}  (the upload's ranking rows themselves were sent after {rows}; its run then goes on until "
              f"the paper, which waits for the measurements)")
    print(f"{indent}upload -> ranking p50 by round: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in timings["upload_to_ranking_p50_by_round_s"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", choices=CLIENTS, default="browser",
                    help="browser: Chromium tabs (the server's answer and each page's drawing, on these cores); "
                         "protocol: Streamlit's websocket protocol, no drawing (the server's answer time); "
                         "mixed: one browser tab among sessions - 1 protocol clients (what one clinician sees "
                         "while the others act)")
    ap.add_argument("--no-browser-floor", action="store_true",
                    help="with --clients protocol: skip timing one browser tab alone (the drawing it adds)")
    ap.add_argument("--weights", help="checkpoint folder (default: $METS_WEIGHTS, weights/, else a random-init "
                                      "checkpoint + index made here: same architecture, same cost)")
    ap.add_argument("--time-limit", type=float, default=900.0, help="seconds for all sessions together")
    ap.add_argument("--think", type=float, default=0.0, help="mean seconds each session reads before each action "
                                                             "(0: all act at once, a stress test)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    have_browser = os.path.exists(CHROMIUM)
    if args.clients != "protocol" and not have_browser:
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    scratch = tempfile.TemporaryDirectory(prefix="mets_load_")      # made-up weights and the server log
    weights = Path(args.weights or os.environ.get("METS_WEIGHTS") or "")
    if not args.weights and not os.environ.get("METS_WEIGHTS"):
        weights = REPO / "weights"
        if not (weights / "config.json").is_file():
            weights = make_test_weights(Path(scratch.name) / "weights")
            print("(no trained weights: a random-init checkpoint + index, same architecture and cost)")
    with scratch:
        res = run_load(weights, args.sessions, args.rounds, args.time_limit, data_dir=os.environ.get("METS_DATA_DIR"),
                       log_path=Path(scratch.name) / "server.log", think_s=args.think, clients=args.clients,
                       browser_floor=have_browser and not args.no_browser_floor)
    pacing = (f"each reads {0.5 * args.think:g}-{1.5 * args.think:g} s before acting" if args.think
              else "all act at once, no reading time: a stress test")
    if res["in_step"]:
        pacing += "; in step: each action starts when every session has finished its previous one"
    n, tabs = res["sessions"], res["tabs"]
    where = f"{res['uploads']}; {res['cpus']} CPUs; loopback; {pacing}"
    if res["clients"] == "browser":
        print(f"\n{n} concurrent browser sessions x {res['rounds']} rounds ({where}; one Chromium, {n} contexts)")
        _print_row("", res, "browser")
    elif res["clients"] == "protocol":
        print(f"\n{n} concurrent protocol clients x {res['rounds']} rounds (no drawing: the server's answer time; each "
              f"browser's own drawing, measured in browser mode with one session, comes on top)\n  ({where}; "
              f"Streamlit's websocket protocol from this process)")
        _print_row("", res, "protocol")
    else:
        print(f"\n{n} concurrent sessions x {res['rounds']} rounds: 1 browser tab + {tabs['protocol']} protocol "
              f"clients ({where})\n  the browser tab draws on the server's own {res['cpus']} cores: the conservative "
              f"side of what a clinician's own computer would give")
        _print_row("the browser tab (what one clinician sees, drawing included):", res, "browser", "    ")
        placed = sorted((a["place"], a["seconds"]) for a in res["answers"]
                        if a["client"] == "browser" and a["step"] == "upload" and a["place"] is not None)
        if placed:
            print("      its uploads by place (after how many of the others' had been sent): "
                  + ", ".join(f"{p}: {sec:.2f} s" for p, sec in placed))
        _print_row(f"the {tabs['protocol']} protocol clients (the server's answer to the others, no drawing):", res,
                   "protocol", "    ")
    floors = res["floor_upload_to_ranking_s"]
    print("  floors, one session alone in a fresh tab (same server, warmed up by one upload, same minute), upload -> "
          "ranking: " + ", ".join(f"{kind} {floors[kind]:.2f} s" for kind in sorted(floors)))
    if "browser" in floors:
        print(f"    the browser tab's page main thread for that upload: "
              f"{_main_thread_words(res['browser_floor_main_thread_s'])}: the drawing a browser adds")
    print(f"  wall time {res['wall_s']:.1f} s; server start {res['server_startup_s']:.1f} s")
    cpu = res["cpu_s_per_action"]
    if cpu:
        words = [f"server (with its measuring processes) {cpu['server']:.2f} s per action of all {n} sessions"]
        if "browsers" in cpu:
            words.append(f"the {tabs['browser']} browser{'s' if tabs['browser'] > 1 else ''} {cpu['browsers']:.2f} s "
                         f"per browser action")
        if "clients" in cpu:
            words.append(f"this process (the {tabs['protocol']} protocol clients, with its own /proc sampling) "
                         f"{cpu['clients']:.2f} s per protocol action")
        print("  CPU: " + "; ".join(words) + f" (all on the server's {res['cpus']} cores)")
        if "browsers" in cpu:
            print("    browsers by process: " + ", ".join(f"{kind} {cpu[kind]:.2f} s" for kind in CHROMIUM_KINDS))
        if tabs.get("browser", 0) == n and n > 1:
            each = cpu["browsers"] + cpu["server"]
            print(f"    the least median these {n} sessions could get on {res['cpus']} cores with the CPU their actions "
                  f"took ({cpu['browsers']:.2f} + {cpu['server']:.2f} s each): "
                  f"{median_when_served_in_turn(n, res['cpus'], each):.2f} s (all acting at once, served "
                  f"{res['cpus']} at a time, one after another)")
        main = res["main_thread_s_per_action"]
        if main:
            print("    pages' main threads, Chrome's timers (wall time of their tasks, so it includes waiting for a "
                  "core): per browser action " + _main_thread_words(main["all"]))
            for step, words in (("upload", "each upload"), ("prompts", "each prompt edit")):
                print(f"      within {words}'s timed span: {_main_thread_words(main[step])}")
    print(f"  server memory: {res['server_rss_before_load_mib']:.0f} MiB before load, peak sampled "
          f"{res['server_rss_peak_sampled_mib']:.0f} MiB, VmHWM {res['server_vmhwm_mib']:.0f} MiB, "
          f"end {res['server_rss_end_mib']:.0f} MiB")
    print(f"  answers checked against METS in this process: {res['observations']} of "
          f"{res['expected_observations']}; problems: {len(res['problems'])}; failed sessions: "
          f"{len(res['session_failures'])}; traceback in server log: {res['traceback_in_server_log']}")
    for p in res["problems"][:20] + res["session_failures"]:
        print("   ", p)
    if args.json:
        Path(args.json).write_text(json.dumps({k: v for k, v in res.items() if not k.startswith("_")}, indent=1) + "\n")


if __name__ == "__main__":
    main()
