"""A PhysioNet-like file server on 127.0.0.1 for tests: static files laid out as PhysioNet's file index
(<root>/files/<slug>/<version>/<path>), with single byte-range requests as PhysioNet's server answers them
(wfdb reads headers and signals that way). Every request is logged."""
from __future__ import annotations

import contextlib
import http.server
import io
import threading
from pathlib import Path


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single byte-range support; logs every request on the server."""

    def log_message(self, *args):          # quiet
        pass

    def send_head(self):
        self.server.requests.append((self.command, self.path, self.headers.get("Range")))
        spec = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not spec or not path.is_file():
            return super().send_head()
        start = int(spec.split("=")[1].split("-")[0])
        data = path.read_bytes()
        if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            return None
        body = data[start:]
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@contextlib.contextmanager
def physionet_mirror(root: Path):
    """Serve `root` while the block runs; yields (the file index URL, as wfdb's db_index_url: '.../files/',
    the list of (method, path, Range header) requests)."""
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/files/", httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def physionet_is(root: Path):
    """PhysioNet, for wfdb and the app, is a mirror of `root` on 127.0.0.1 while the block runs (wfdb's database
    index URL set to it, and back after); yields its request log."""
    from mets_core.readers.wfdb_adapter import database_index_url, set_database_index_url
    before = database_index_url()
    with physionet_mirror(root) as (base, requests):
        set_database_index_url(base)
        try:
            yield requests
        finally:
            set_database_index_url(before)
