"""A local HTTP server that replays saved board responses.

Used by ``jobdelta demo`` and by the tests: it serves a mapping of paths to
canned replies on 127.0.0.1, answers conditional requests (ETag) with 304,
and can be switched to another set of replies between crawl rounds. It
never reaches beyond loopback.

A reply can be held by a :class:`Gate` until the test lets it through: the
test waits until the request arrived (the crawl is provably in progress),
does what must happen meanwhile, then releases the gate. Ordering never
depends on how fast the machine is.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class Gate:
    """Holds the answers of the replies that carry it until released.

    Every request that reaches a gated reply counts as an arrival
    (``wait_arrived`` waits for the n-th), then waits until ``release()``
    opens the gate for good or ``let_through(n)`` lets n requests pass."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = False
        self._passes = 0
        self.arrivals = 0  # requests that reached the gate
        self.passed = 0  # requests it let through

    def wait_arrived(self, count: int = 1, timeout: float = 60) -> bool:
        """Wait until ``count`` requests have reached the gate; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.arrivals >= count, timeout)

    def release(self) -> None:
        """Open the gate: held requests are answered, later ones pass at once."""
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def let_through(self, count: int = 1) -> None:
        """Let the next ``count`` requests (held now or arriving later) pass."""
        with self._cond:
            self._passes += count
            self._cond.notify_all()

    def hold(self) -> None:
        """Called by the server for each request: count it, wait for a pass."""
        with self._cond:
            self.arrivals += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._open or self._passes > 0)
            if not self._open:
                self._passes -= 1
            self.passed += 1
            self._cond.notify_all()


@dataclass
class Reply:
    """One canned response."""

    body: bytes | str = b""
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without an answer
    gate: Gate | None = None  # hold the answer until the test releases the gate

    @property
    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


Route = Reply | Callable[[str, dict[str, str]], Reply]
ROBOTS_ALLOW_ALL = Reply("User-agent: *\nAllow: /\n", content_type="text/plain")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        # POST APIs (Workday) vary by body only: routes see it as a header
        self.headers["X-Replay-Body"] = self.rfile.read(length).decode("utf-8", "replace")
        self._answer()

    def _answer(self) -> None:
        replay = self.server.replay
        headers = {k.lower(): v for k, v in self.headers.items()}
        replay.requests.append((self.command, self.path, headers))
        route = replay.lookup(self.path)
        reply = route(self.path, headers) if callable(route) else route
        if reply is None:
            reply = Reply("not found", status=404, content_type="text/plain")
        if reply.gate is not None:
            with replay.lock:
                replay.gates.add(reply.gate)  # released by stop(), so no thread stays held
            reply.gate.hold()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = reply.data
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if reply.status == 200 and headers.get("if-none-match") == etag:
            replay.not_modified.append(self.path)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        if reply.status == 200:
            self.send_header("ETag", etag)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away while its answer was held (a crawl that
        # was stopped) is not an error of the server
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ReplayServer:
    """Serve ``routes`` (path, or path with query, to a Reply or a callable)
    on 127.0.0.1 in a background thread."""

    def __init__(self, routes: dict[str, Route] | None = None, port: int = 0):
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.not_modified: list[str] = []  # paths answered 304
        self.gates: set[Gate] = set()  # gates that held a request
        self.lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.replay = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def lookup(self, path: str) -> Route | None:
        if path in self.routes:
            return self.routes[path]
        bare = urlsplit(path).path
        if bare in self.routes:
            return self.routes[bare]
        if bare == "/robots.txt":
            return ROBOTS_ALLOW_ALL
        return None

    def set_routes(self, routes: dict[str, Route]) -> None:
        self.routes = dict(routes)

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            gates = list(self.gates)
        for gate in gates:
            gate.release()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
