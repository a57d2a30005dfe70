"""Load: 8 concurrent sessions, each uploading its own ECG and ranking its own prompts for 2 rounds; every
session must get the answer for its own ECG and prompts. Run three times: with real browser tabs (one
Chromium, 8 contexts), with protocol clients (Streamlit's websocket protocol, tests/streamlit_protocol.py: no
drawing, no browser needed) and mixed (one browser tab among 7 protocol clients, acting in step).

The work is benchmarks/load.py (run_load): it starts the dashboard with tests/e2e_server.py on 127.0.0.1,
drives the sessions concurrently, reads each ranking off its page (or, for a protocol client, off the page
the server described) and compares it with METS run in this process on the same bytes and prompts. Here
the figures are printed and correctness is asserted; speed and memory are reported by the benchmark
(docs/reliability.md), never asserted.
"""
from __future__ import annotations

import copy
import os

import pytest

from helpers import benchmark

SESSIONS, ROUNDS = 8, 2


@pytest.fixture(scope="module", params=[pytest.param("browser", marks=pytest.mark.browser), "protocol",
                                                     pytest.param("mixed", marks=pytest.mark.browser)])
def load_run(request, weights, tmp_path_factory):
    clients = request.param
    if clients != "protocol":
        from e2e_server import CHROMIUM
        if not os.path.exists(CHROMIUM):
            pytest.skip(f"{CHROMIUM} is missing: install Debian chromium (apt-get install chromium); never "
                        f"`playwright install`")
        pytest.importorskip("playwright", reason="the playwright Python package is not installed")
    bench = benchmark("load")
    res = bench.run_load(weights, sessions=SESSIONS, rounds=ROUNDS, time_limit_s=720,
                         data_dir=os.environ.get("METS_DATA_DIR"),
                         log_path=tmp_path_factory.mktemp("load_log") / "server.log", clients=clients)
    up, pr = res["upload_to_ranking_s"], res["prompts_to_ranking_s"]
    print(f"\n{SESSIONS} {clients} sessions x {ROUNDS} rounds ({res['uploads']}): upload->ranking p50 "
          f"{up['p50']:.2f} s p95 {up['p95']:.2f} s; prompts->ranking p50 {pr['p50']:.2f} s p95 {pr['p95']:.2f} s; "
          f"server VmHWM {res['server_vmhwm_mib']:.0f} MiB")
    return bench, res


def test_every_session_gets_the_answer_for_its_own_ecg_and_prompts(load_run):
    bench, res = load_run
    assert not res["session_failures"], res["session_failures"]
    assert res["observations"] == res["expected_observations"] == 2 * SESSIONS * ROUNDS
    kinds = {s: {o.client for o in res["_observations"] if o.session == s} for s in range(SESSIONS)}
    want = bench.tab_kinds(res["clients"], SESSIONS)
    assert [k for s, k in sorted(kinds.items())] == [{k} for k in want]   # each session acted in its own kind
    if res["clients"] == "mixed":
        assert want.count("browser") == 1 and res["in_step"]
        assert res["by_client"]["browser"]["upload_to_ranking_s"]["n"] == ROUNDS
    uploads = {(o.session, o.round): o.upload for o in res["_observations"]}
    assert len(set(uploads.values())) == SESSIONS * ROUNDS             # every session had its own ECGs
    prompts = {tuple(sorted(o.prompts)) for o in res["_observations"] if o.step == "prompts"}
    assert len(prompts) == SESSIONS * ROUNDS                           # and its own prompt sets
    assert not res["problems"], "\n".join(res["problems"][:20])
    assert not res["traceback_in_server_log"]


def test_the_check_would_see_cross_talk(load_run):
    """The verification must be able to fail: swapping two sessions' pages (what a shared cache keyed on the
    wrong thing would do) is reported. In the mixed run, sessions 0 and 1 are the browser tab and a protocol
    client."""
    bench, res = load_run
    obs = copy.deepcopy(res["_observations"])
    a = next(o for o in obs if o.session == 0 and o.step == "prompts")
    b = next(o for o in obs if o.session == 1 and o.step == "prompts")
    a.shown, b.shown = b.shown, a.shown
    assert len(bench.verify(obs, res["_expected"])) >= 2
    obs = copy.deepcopy(res["_observations"])
    c = next(o for o in obs if o.session == 2 and o.step == "upload" and o.round == 1)
    d = next(o for o in obs if o.session == 3 and o.step == "upload" and o.round == 1)
    c.shown, d.shown = d.shown, c.shown                                 # same prompts, other ECG
    assert bench.verify(obs, res["_expected"])


def test_a_protocol_client_never_reads_a_stale_ranking():
    """The protocol client's page: a full run that no longer draws the ranking leaves none (the frontend
    drops what a finished run did not send again), and a fragment run keeps what lies outside its fragment.
    Without this, a protocol session could report a ranking left over from the previous ECG."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit_protocol import Page

    bench = benchmark("load")

    def delta(path, body, fragment=""):
        msg = ForwardMsg()
        msg.metadata.delta_path.extend(path)
        msg.delta.fragment_id = fragment
        msg.delta.new_element.markdown.body = body
        return msg

    def ranking(prompts):
        return "".join(f'<div data-testid="mets-rank-row" data-prompt="{p}" data-similarity="0.1"></div>'
                       for p in prompts)

    record = ('<div data-testid="mets-record"><div><span data-testid="mets-record-title">{}</span> '
              '<span>upload</span></div></div>')
    page, a, b = Page(), ["sinus rhythm", "atrial flutter"], ["paced rhythm"]
    page.apply(delta((0, 1), record.format("7")), run=1)
    page.apply(delta((0, 2), ranking(a), "ranking"), run=1)
    page.drop_stale(1, [])
    assert bench.ProtocolTab._ranked("7", a)(page)
    assert not bench.ProtocolTab._ranked("8", a)(page)              # another ECG's title
    assert not bench.ProtocolTab._ranked("7", b)(page)              # other prompts
    page.apply(delta((0, 1), record.format("8")), run=2)          # a full run without the ranking
    page.drop_stale(2, [])
    assert not bench.ProtocolTab._ranked("8", a)(page)
    page.apply(delta((0, 2), ranking(b), "ranking"), run=3)       # the ranking's fragment alone
    page.drop_stale(3, ["ranking"])
    assert bench.ProtocolTab._ranked("8", b)(page)                  # the record outside it stays


def test_a_failing_session_releases_the_others_acting_in_step():
    """Acting in step (mixed, all at once), each action waits for every session: a session that fails must
    break that wait for the others, not leave them waiting for ever (the run would hang, not fail)."""
    import asyncio
    import time

    bench = benchmark("load")

    class Tab:
        kind = "protocol"

        def __init__(self, fails: bool):
            self.fails = fails

        async def open(self):
            pass

        begin = close = open

        async def read(self):
            return [], []

        async def upload(self, upload, want):
            if self.fails:
                raise RuntimeError("this session's upload failed")
            now = time.perf_counter()
            return bench.Answer(now, now, None, now)

        type_prompts = upload

    async def run():
        in_step, out = asyncio.Barrier(2), []
        uploads = [bench.Upload(str(i), []) for i in range(4)]
        plan = [(0, ["a"]), (1, ["b"])]
        return await asyncio.wait_for(asyncio.gather(
            bench._session(Tab(fails=False), 0, plan, uploads, ["x"], out, time.monotonic() + 60, in_step=in_step),
            bench._session(Tab(fails=True), 1, plan, uploads, ["x"], out, time.monotonic() + 60, in_step=in_step),
            return_exceptions=True), timeout=10)

    healthy, failed = asyncio.run(run())
    assert isinstance(failed, RuntimeError)
    assert isinstance(healthy, asyncio.BrokenBarrierError)


def test_a_failing_session_releases_the_browser_tab_waiting_for_its_place():
    """Mixed, all at once, the browser tab waits for its place (how many protocol clients have sent their
    action): a protocol client that fails before sending must release it, not leave it waiting."""
    import asyncio

    bench = benchmark("load")

    async def run():
        places = bench.Places(others=1, rounds=1)
        places.place = lambda rnd: 1                # wait for the one other session's action
        waiting = asyncio.create_task(places.turn(0, "upload"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await places.abort()
        return await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), timeout=5)

    (result,) = asyncio.run(run())
    assert isinstance(result, asyncio.BrokenBarrierError)


def test_the_browser_tab_takes_every_place_over_the_rounds():
    """With N sessions and N rounds the browser tab acts after 0, 1, ... N - 1 of the others."""
    bench = benchmark("load")
    assert [bench.Places(others=7, rounds=8).place(r) for r in range(8)] == list(range(8))
    assert [bench.Places(others=7, rounds=4).place(r) for r in range(4)] == [0, 2, 4, 6]
