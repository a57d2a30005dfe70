"""A dashboard session without a browser: it speaks Streamlit's own websocket protocol, as the browser's
frontend does, and keeps the page the server described, so benchmarks/load.py (`--clients protocol`) can time
what the *server* answers without each session's drawing (which in a clinic runs on the reader's own computer).

What it sends, as the frontend of streamlit 1.67 does (read from streamlit's server code and the compiled
frontend in streamlit/static; protobufs from streamlit.proto):

- GET /_stcore/health, which sets the `_streamlit_xsrf` cookie; then the websocket /_stcore/stream with the
  subprotocols ["streamlit", <that cookie>] and a same-origin Origin header;
- BackMsg.rerun_script (a ClientState: page, query string, the widget values it holds, the fragment of the
  widget that changed) on connecting and after each change;
- for an upload: BackMsg.file_urls_request -> ForwardMsg.file_urls_response (an upload URL per file) -> one
  HTTP PUT per file (multipart, the file under its own name; header X-Xsrftoken = the cookie) -> a rerun
  whose file-uploader state lists every file uploaded so far (a multi-file uploader keeps earlier files).

What it keeps: the page as the frontend would show it, from the deltas (path -> element, with each element's
fragment); when a run finishes, elements that run did not send again are dropped, as the frontend drops
stale elements (the whole page after a full run, the run's fragments after a fragment run). Widget ids come
from the elements the server sends, never written here. Widgets this client never touched are not sent: the
server keeps their previous values (session_state falls back to its old state), which the browser would
have sent unchanged.

Tied to Streamlit's wire protocol, which is internal: an upgrade may rename or reorder it (e.g. the upload
route, the subprotocol tokens, run identities on lifecycle messages); the load test then fails loudly.
"""
from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

import aiohttp
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_RUN = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
SIDEBAR = 1                      # RootContainer.SIDEBAR: the first number of a delta path
ERROR_WORDS = re.compile(r"could not|went wrong|unavailable|error", re.I)   # as load.py's JS_ERRORS


# ----------------------------------------------------------------------------- reading markdown bodies

class _Tagged(HTMLParser):
    """The elements of an HTML body that carry a data-testid: (testid, attributes, inner text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict, list[str]]] = []
        self._open: list[tuple[str, list[str] | None]] = []      # (tag, text sink of a tagged element)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        sink = None
        if "data-testid" in attrs:
            sink = []
            self.found.append((attrs["data-testid"], attrs, sink))
        if tag not in ("br", "img", "input", "hr", "meta", "link", "wbr"):
            self._open.append((tag, sink))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, sink in self._open:
            if sink is not None:
                sink.append(data)


def tagged_elements(body: str) -> list[tuple[str, dict, str]]:
    """(data-testid, attributes, inner text with spaces collapsed) of each tagged element of an HTML body."""
    parser = _Tagged()
    parser.feed(body)
    parser.close()
    return [(tid, attrs, " ".join("".join(text).split())) for tid, attrs, text in parser.found]


# --------------------------------------------------------------------------------------------- the page

@dataclass
class _Shown:
    element: object                  # streamlit.proto.Element
    fragment_id: str
    run: int                         # which run sent it (this client's count)


@dataclass
class Page:
    """What the frontend would show: delta path -> element."""
    elements: dict[tuple, _Shown] = field(default_factory=dict)

    def apply(self, msg: ForwardMsg, run: int) -> None:
        path, delta = tuple(msg.metadata.delta_path), msg.delta
        kind = delta.WhichOneof("type")
        if kind == "new_transient":          # spinners and toasts: never part of what a reader reads
            return
        for p in [p for p in self.elements if p[:len(path)] == path and p != path]:
            del self.elements[p]             # an element replaces a block; a block's children are re-sent
        if kind == "new_element":
            self.elements[path] = _Shown(delta.new_element, delta.fragment_id, run)
        else:
            self.elements.pop(path, None)

    def drop_stale(self, run: int, fragment_ids: list[str]) -> None:
        """After a finished run: what it did not send again is gone (in its fragments only, for a fragment
        run), as the frontend's clearStaleNodes does."""
        for path, shown in list(self.elements.items()):
            if shown.run != run and (not fragment_ids or shown.fragment_id in fragment_ids):
                del self.elements[path]

    def as_if_finished(self, run: int, fragment_ids: list[str]) -> Page:
        """The page as it would be if the run going now ended here: what it has sent so far, nothing stale."""
        page = Page(dict(self.elements))
        page.drop_stale(run, fragment_ids)
        return page

    def in_order(self):
        """Elements in the page's reading order: the sidebar first (it comes first in the frontend's DOM),
        then the main area, each by path."""
        return [s for _, s in sorted(self.elements.items(), key=lambda kv: (kv[0][0] != SIDEBAR, kv[0]))]

    def bodies(self) -> list[str]:
        out = []
        for shown in self.in_order():
            el = shown.element
            kind = el.WhichOneof("type")
            if kind in ("markdown", "alert", "text", "heading"):
                out.append(getattr(el, kind).body)
        return out

    def tagged(self, testid: str) -> list[tuple[dict, str]]:
        """(attributes, inner text) of every element with this data-testid in the page's markdown."""
        return [(attrs, text) for body in self.bodies() if testid in body
                for tid, attrs, text in tagged_elements(body) if tid == testid]

    def widget(self, kind: str, label_prefix: str = "") -> tuple[object, str]:
        """(the widget's proto, its fragment id): the first of this kind whose label starts so."""
        for shown in self.in_order():
            if shown.element.WhichOneof("type") == kind:
                proto = getattr(shown.element, kind)
                if proto.label.startswith(label_prefix):
                    return proto, shown.fragment_id
        raise LookupError(f"no {kind} labelled {label_prefix!r}... on the page")

    def errors(self) -> list[str]:
        """As load.py's JS_ERRORS reads a browser page: exceptions, alerts that say something failed, and any
        traceback."""
        out = []
        for shown in self.in_order():
            el = shown.element
            kind = el.WhichOneof("type")
            if kind == "exception":
                out.append(f"exception: {el.exception.type}: {el.exception.message}")
            elif kind == "alert" and ERROR_WORDS.search(el.alert.body):
                out.append("alert: " + el.alert.body)
        if any("Traceback" in text for text in self.bodies() + [m[len("exception: "):] for m in out
                                                                if m.startswith("exception: ")]):
            out.append("Traceback on the page")
        return out


# ------------------------------------------------------------------------------------------- a session

class ProtocolSession:
    """One browser tab's conversation with the server, without the drawing."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.page = Page()
        self.session_id = ""
        self.page_script_hash = ""
        self.widgets: dict[str, WidgetState] = {}          # the widget values this client holds
        self.uploaded: list[UploadedFileInfo] = []          # the uploader keeps earlier files listed
        self._http: aiohttp.ClientSession | None = None
        self._ws = None
        self._reader: asyncio.Task | None = None
        self.runs_started = 0                               # runs started (this client's count)
        self._run_fragments: list[str] = []
        self.finished = 0                                   # runs finished (successfully)
        self._changed = asyncio.Condition()
        self._url_answers: dict[str, asyncio.Future] = {}
        self._failure: BaseException | None = None
        # called with (run count, the page as if that run ended now) after each delta, while set
        self.watch = None

    # ---- connection

    async def open(self) -> None:
        """Connect as a new tab does and start the first run (the caller waits for it with `until`)."""
        # aiohttp's default jar refuses cookies from IP addresses; the server runs on 127.0.0.1
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with self._http.get(f"{self.url}/_stcore/health") as resp:
            resp.raise_for_status()
        xsrf = self._xsrf()
        # no size limit on a message (aiohttp's default is 4 MiB; a page's paper alone is ~0.4 MB); compression
        # offered as browsers do (the server declines unless server.enableWebsocketCompression)
        self._ws = await self._http.ws_connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream", origin=self.url, max_msg_size=0, compress=15,
            protocols=["streamlit", xsrf or "PLACEHOLDER_AUTH_TOKEN"])
        self._reader = asyncio.create_task(self._read_messages())
        await self.rerun()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def _xsrf(self) -> str | None:
        for cookie in self._http.cookie_jar:
            if cookie.key == "_streamlit_xsrf":
                return cookie.value
        return None

    async def _send(self, msg: BackMsg) -> None:
        await self._ws.send_bytes(msg.SerializeToString())

    async def rerun(self, fragment_id: str = "") -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.page_script_hash
        state.fragment_id = fragment_id
        state.widget_states.widgets.extend(self.widgets.values())
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = self.url + "/"
        await self._send(msg)

    # ---- what the server sends

    async def _read_messages(self) -> None:
        try:
            async for frame in self._ws:
                if frame.type != aiohttp.WSMsgType.BINARY:
                    if frame.type == aiohttp.WSMsgType.ERROR:
                        raise ConnectionError(f"websocket error: {self._ws.exception()}")
                    continue
                msg = ForwardMsg()
                msg.ParseFromString(frame.data)
                await self._handle(msg)
        except BaseException as err:      # noqa: BLE001 - handed to whoever waits, not lost in a task
            self._failure = err
        finally:
            if self._failure is None and not self._ws.closed:
                self._failure = ConnectionError("the server closed the websocket")
            async with self._changed:
                self._changed.notify_all()

    async def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            raise RuntimeError("the server sent a cached-message reference; this client caches nothing")
        if kind == "new_session":              # every run, full or fragment, starts with one
            self.runs_started += 1
            self._run_fragments = list(msg.metadata.run.fragment_ids)
            self.session_id = msg.new_session.initialize.session_id or self.session_id
            self.page_script_hash = msg.new_session.page_script_hash
        elif kind == "delta":
            self.page.apply(msg, self.runs_started)
            if self.watch is not None:
                self.watch(self.runs_started, self.page.as_if_finished(self.runs_started, self._run_fragments))
            self._follow_server_value(msg)
        elif kind == "file_urls_response":
            answer = self._url_answers.pop(msg.file_urls_response.response_id, None)
            if answer is not None and not answer.done():
                answer.set_result(msg.file_urls_response)
        elif kind == "script_finished":
            if msg.script_finished in FINISHED_RUN:
                self.page.drop_stale(self.runs_started, self._run_fragments)
                async with self._changed:
                    self.finished += 1
                    self._changed.notify_all()

    def _follow_server_value(self, msg: ForwardMsg) -> None:
        """A widget value the app set (e.g. st.session_state["prompts_text"] = ...) comes back with
        set_value; the frontend then holds and sends that value, so this client does too."""
        el = msg.delta.new_element
        kind = el.WhichOneof("type") if msg.delta.WhichOneof("type") == "new_element" else None
        proto = getattr(el, kind, None) if kind else None
        wid = getattr(proto, "id", "")
        if (wid in self.widgets and getattr(proto, "set_value", False) and proto.HasField("value")
                and self.widgets[wid].WhichOneof("value") == "string_value"):
            self.widgets[wid].string_value = proto.value

    async def until(self, ready, after: int, timeout_s: float) -> None:
        """Wait until a run that finished after run count `after` leaves a page for which ready(page) holds."""
        async def wait():
            seen = after
            async with self._changed:
                while True:
                    if self._failure is not None:
                        raise ConnectionError(f"session lost: {self._failure!r}") from self._failure
                    if self.finished > seen:
                        seen = self.finished
                        if ready(self.page):
                            return
                    await self._changed.wait()
        await asyncio.wait_for(wait(), timeout_s)

    # ---- what a reader does

    async def upload(self, files: list[tuple[str, bytes]], label: str = "") -> None:
        """Drop `files` on the page's first file uploader (labelled `label`...), as the frontend does."""
        uploader, fragment_id = self.page.widget("file_uploader", label)
        request_id = uuid.uuid4().hex
        answer = asyncio.get_running_loop().create_future()
        self._url_answers[request_id] = answer
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.session_id = self.session_id
        msg.file_urls_request.file_names.extend(name for name, _ in files)
        await self._send(msg)
        urls = await asyncio.wait_for(answer, 60)
        if urls.error_msg:
            raise RuntimeError(f"file_urls_request refused: {urls.error_msg}")
        await asyncio.gather(*(self._put(u.upload_url, name, data) for u, (name, data) in zip(urls.file_urls, files)))
        for u, (name, data) in zip(urls.file_urls, files):
            info = UploadedFileInfo(name=name, size=len(data), file_id=u.file_id)
            info.file_urls.CopyFrom(u)
            self.uploaded.append(info)
        state = WidgetState(id=uploader.id)
        state.file_uploader_state_value.uploaded_file_info.extend(self.uploaded)
        self.widgets[uploader.id] = state
        await self.rerun(fragment_id)

    async def _put(self, upload_url: str, name: str, data: bytes) -> None:
        form = aiohttp.FormData()
        form.add_field(name, data, filename=name, content_type="application/octet-stream")
        url = upload_url if upload_url.startswith("http") else self.url + upload_url
        headers = {"X-Xsrftoken": x} if (x := self._xsrf()) else {}
        async with self._http.put(url, data=form, headers=headers) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"upload of {name} answered {resp.status}: {(await resp.text())[:200]}")

    async def type_text(self, label_prefix: str, text: str) -> None:
        """Type `text` into the text area labelled `label_prefix`... and commit it (Ctrl+Enter)."""
        area, fragment_id = self.page.widget("text_area", label_prefix)
        self.widgets[area.id] = WidgetState(id=area.id, string_value=text)
        await self.rerun(fragment_id)
