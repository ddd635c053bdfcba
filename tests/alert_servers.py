"""Real loopback servers for alert tests: an SMTP server (aiosmtpd) that keeps
every message it accepts, and an HTTP receiver whose answers a test scripts
request by request and which checks Standard Webhooks signatures.

Both listen on 127.0.0.1 on a port the kernel picks, in a thread of the test
process; nothing is mocked. Waits are event waits with a deadline, never
sleeps. Use the fixtures from a test module with::

    import pytest

    pytest.register_assert_rewrite("tests.alert_servers")
    from tests.alert_servers import Gate, Reply  # noqa: E402  (only if needed)

    pytest_plugins = ("tests.alert_servers",)

(``register_assert_rewrite`` before the import keeps pytest from warning
that the plugin module was imported before it could rewrite it.)

Fixtures: ``smtp_server`` (plain SMTP, accepts any login), ``tls_files``
(a self-signed certificate for 127.0.0.1 that the test process trusts),
``start_smtp_server`` (a factory for STARTTLS, implicit TLS or a login that
must match), ``webhook_receiver`` (checks signatures with ``webhook_secret``),
``http_receiver`` (checks none), ``webhook_secret``, ``free_port`` (a
loopback port nothing listens on).

A scripted answer can hold the request until the test releases its gate::

    gate = Gate()
    webhook_receiver.script(Reply(200, hold=gate))
    result = post_webhook(..., timeout=0.2)   # the receiver is still holding
    gate.release()
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LOOPBACK = "127.0.0.1"
WAIT = 10.0  # seconds any wait may last before the test fails: a bug, not a slow machine
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class Gate:
    """Holds a scripted answer until the test calls ``release``. ``arrived``
    is set when a request reached the gate, so a test can wait for that."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self._open = threading.Event()

    def release(self) -> None:
        self._open.set()

    def _hold(self) -> None:
        self.arrived.set()
        # Bounded so a forgotten gate cannot keep a server thread forever;
        # the fixtures release every gate at teardown anyway.
        self._open.wait(WAIT * 3)


# ---------------------------------------------------------------------------
# SMTP


@dataclass
class ReceivedMail:
    """One message the SMTP server accepted: the envelope and the parsed
    message (``message["Message-ID"]``, ``message.get_body(("html",))``)."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None  # the user name that logged in for it, if any
    tls: bool  # the session was encrypted (STARTTLS or implicit TLS)


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 in its own thread. ``messages`` fills
    as mail arrives; ``wait_for(n)`` waits for the n-th. ``reply_with`` makes
    the next DATA commands answer with the given SMTP replies (e.g. ``"451
    4.3.0 try later"``) instead of accepting; ``hold_next(gate)`` makes the
    next DATA wait for the gate before it answers (a server that hangs)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None,
                 tls_context: ssl.SSLContext | None = None, require_starttls: bool = False,
                 credentials: tuple[str, str] | None = None) -> None:
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, str]] = []  # every AUTH attempt: (user, password)
        self._replies: list[str] = []
        self._holds: list[Gate] = []
        self._gates: list[Gate] = []
        self._changed = threading.Condition()
        self._credentials = credentials
        self._controller = _LoopbackController(
            _Handler(self),
            ssl_context=ssl_context,
            tls_context=tls_context,
            require_starttls=require_starttls,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        self.host = LOOPBACK
        self.port = self._controller.port

    def reply_with(self, *replies: str) -> None:
        with self._changed:
            self._replies.extend(replies)

    def hold_next(self, gate: Gate) -> None:
        with self._changed:
            self._holds.append(gate)
            self._gates.append(gate)

    def wait_for(self, count: int = 1, timeout: float = WAIT) -> list[ReceivedMail]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"SMTP server got {len(self.messages)} messages, expected {count}")
            return list(self.messages)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        with self._changed:
            gates = list(self._gates)
        for gate in gates:
            gate.release()
        self._controller.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        password = auth_data.password.decode()
        with self._changed:
            self.logins.append((user, password))
        if self._credentials is not None and self._credentials != (user, password):
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=user)

    def _next_reply(self) -> str | None:
        with self._changed:
            return self._replies.pop(0) if self._replies else None

    def _next_hold(self) -> Gate | None:
        with self._changed:
            return self._holds.pop(0) if self._holds else None

    def _store(self, mail: ReceivedMail) -> None:
        with self._changed:
            self.messages.append(mail)
            self._changed.notify_all()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        gate = self._server._next_hold()
        if gate is not None:
            # Off the event loop: the server keeps serving other sessions.
            await asyncio.get_running_loop().run_in_executor(None, gate._hold)
        reply = self._server._next_reply()
        if reply is not None:
            return reply
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self._server._store(ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            message=message,  # type: ignore[arg-type]
            raw=raw,
            login=session.auth_data if session.authenticated else None,
            tls=server.transport.get_extra_info("ssl_object") is not None,
        ))
        return "250 2.0.0 OK: queued"


class _LoopbackController(Controller):
    """aiosmtpd's Controller on a socket bound before start: the kernel picks
    a free port and nothing can take it in between."""

    def __init__(self, handler, **kwargs) -> None:  # noqa: ANN001
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, 0))
        super().__init__(handler, hostname=LOOPBACK, port=self._socket.getsockname()[1], **kwargs)

    def _create_server(self):  # noqa: ANN202
        return self.loop.create_server(self._factory_invoker, sock=self._socket, ssl=self.ssl_context)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP on 127.0.0.1 that accepts any login and every message."""
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, trusted by this test process
    (``SSL_CERT_FILE`` points at it, which ``ssl.create_default_context``
    reads) and by nothing else."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jobdelta test loopback")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "loopback.crt", tmp_path / "loopback.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return TlsFiles(cert_path, key_path)


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """A factory: ``start_smtp_server(tls=None | "starttls" | "ssl",
    tls_files=..., credentials=("user", "pass"))``; every server it starts
    is stopped after the test. ``"starttls"`` requires STARTTLS before MAIL."""
    servers: list[SmtpServer] = []

    def start(*, tls: str | None = None, tls_files: TlsFiles | None = None,
              credentials: tuple[str, str] | None = None) -> SmtpServer:
        if tls and tls_files is None:
            raise ValueError("tls needs tls_files (the tls_files fixture)")
        context = tls_files.server_context() if tls_files else None
        server = SmtpServer(
            ssl_context=context if tls == "ssl" else None,
            tls_context=context if tls == "starttls" else None,
            require_starttls=tls == "starttls",
            credentials=credentials,
        ).start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def free_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, never listening,
    until the test ends: a connection is refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        yield sock.getsockname()[1]


# ---------------------------------------------------------------------------
# HTTP receiver


@dataclass
class Reply:
    """One scripted answer: status, headers (e.g. ``{"Retry-After": "30"}``),
    body, and an optional gate that holds the answer until released."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hold: Gate | None = None


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    signature_ok: bool | None  # Standard Webhooks check; None when the receiver has no secret
    signature_error: str | None

    def json(self) -> object:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every request (before it
    answers) and answers from a script, then with ``default`` (200).

    With ``secret`` set, each request's Standard Webhooks signature is
    checked on arrival (``signature_ok``); ``verify(request)`` checks again
    and returns the payload."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.default = Reply(200)
        self.requests: list[ReceivedRequest] = []
        self._script: list[Reply] = []
        self._gates: list[Gate] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _make_http_handler(self))
        self._server.daemon_threads = True
        self.host = LOOPBACK
        self.port = self._server.server_address[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        # serve_forever checks for shutdown this often (seconds): only how
        # long stop() takes, never how soon a request is answered.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="webhook-receiver", daemon=True)

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order."""
        with self._changed:
            for reply in replies:
                if reply.hold is not None:
                    self._gates.append(reply.hold)
            self._script.extend(replies)

    def wait_for(self, count: int = 1, timeout: float = WAIT) -> list[ReceivedRequest]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"receiver got {len(self.requests)} requests, expected {count}")
            return list(self.requests)

    def verify(self, request: ReceivedRequest, secret: str | None = None) -> object:
        """The payload, after ``standardwebhooks`` verified the request
        (raises ``WebhookVerificationError`` otherwise)."""
        return Webhook(secret or self.secret).verify(request.body, request.headers)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            gates = list(self._gates)
        for gate in gates:
            gate.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT)

    def _record(self, request: ReceivedRequest) -> Reply:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
            return self._script.pop(0) if self._script else self.default


def _make_http_handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            ok: bool | None = None
            error: str | None = None
            if receiver.secret is not None:
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    ok = True
                except (WebhookVerificationError, ValueError) as exc:
                    ok, error = False, str(exc)
            reply = receiver._record(ReceivedRequest(self.command, self.path, headers, body, ok, error))
            if reply.hold is not None:
                reply.hold._hold()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test): expected
            self.close_connection = True

        do_POST = do_GET = do_PUT = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output for failures

    return Handler


@pytest.fixture
def http_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A receiver on 127.0.0.1 that checks no signature (Apprise JSON, plain
    HTTP clients). Proxy variables are cleared as for ``webhook_receiver``."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def webhook_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@pytest.fixture
def webhook_receiver(webhook_secret: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A receiver on 127.0.0.1 that checks signatures with ``webhook_secret``.
    Proxy variables are cleared so clients (urllib, requests) reach it
    directly, never through a proxy."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    receiver = WebhookReceiver(webhook_secret).start()
    try:
        yield receiver
    finally:
        receiver.stop()


@contextlib.contextmanager
def running_receiver(secret: str | None = None) -> Iterator[WebhookReceiver]:
    """The receiver outside pytest fixtures (benchmarks, drills)."""
    receiver = WebhookReceiver(secret).start()
    try:
        yield receiver
    finally:
        receiver.stop()
