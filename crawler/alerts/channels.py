"""Channels: one delivery attempt to one recipient over SMTP, a Standard
Webhooks POST or Apprise, and the backoff between attempts.

Every function here is synchronous, makes one attempt and returns a result
(``SendResult`` or ``WebhookResult``) instead of raising when delivery fails:
the sender decides from ``retryable``, ``gone`` and ``retry_after`` whether to
try again, when, or to give up. Only programming errors raise (a reserved
header passed as an extra header, a payload that is not JSON).

Reads nothing but its arguments: SMTP settings come as ``SmtpSettings`` (the
password read from the environment by the caller), so the engine does not
import the config loader.
"""

from __future__ import annotations

import binascii
import email.utils
import http.client
import json
import math
import random
import re
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Literal

import apprise
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

SmtpSecurity = Literal["starttls", "ssl", "none"]
SMTP_SECURITY: tuple[str, ...] = ("starttls", "ssl", "none")
USER_AGENT = "jobdelta"
_ERROR_MAX = 300  # characters of one error line
_BODY_SNIPPET = 120  # characters of a refusing receiver's body quoted in the error
_BODY_READ_MAX = 4096  # bytes of a refusing webhook answer read to quote it
_RESERVED_HEADERS = frozenset({
    "from", "to", "cc", "bcc", "subject", "message-id", "date", "sender", "reply-to",
    "mime-version", "content-type", "content-transfer-encoding",
})


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over. ``security``: ``starttls`` (upgrade a
    plain connection, usually port 587; never falls back to plain text),
    ``ssl`` (implicit TLS, usually 465) or ``none`` (plain, for a local relay).
    Certificates are verified against the system's trust store. ``timeout``:
    seconds for the connection and for each reply."""

    host: str
    port: int
    security: SmtpSecurity
    sender: str  # the From header, e.g. "jobdelta <alerts@example.org>"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0  # seconds

    def __post_init__(self) -> None:
        if self.security not in SMTP_SECURITY:
            raise ValueError(f"security: {self.security!r} is not one of {', '.join(SMTP_SECURITY)}")


@dataclass(frozen=True)
class SendResult:
    """One attempt over SMTP or Apprise. ``retryable``: worth trying again
    later (the failure may pass); ``retry_after``: seconds the other side
    asked us to wait, if it said."""

    ok: bool
    retryable: bool = False
    error: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class WebhookResult:
    """One webhook POST. ``status``: the receiver's HTTP status (None when
    there was no answer); ``gone``: 410, the receiver wants no more (the
    caller disables the subscription); ``retry_after``: seconds from the
    answer's ``Retry-After``."""

    ok: bool
    status: int | None = None
    retryable: bool = False
    gone: bool = False
    retry_after: float | None = None
    error: str | None = None


# ---------------------------------------------------------------------------
# Email


def send_email(
    settings: SmtpSettings,
    to: str,
    subject: str,
    text: str,
    html: str,
    *,
    message_id: str,
    headers: dict[str, str],
) -> SendResult:
    """Send one multipart/alternative message (``text`` then ``html``) to
    ``to``. ``message_id`` becomes the Message-ID (angle brackets added when
    missing): the same delivery sent again after a crash carries the same id.
    ``headers`` adds headers such as ``List-Unsubscribe`` and
    ``List-Unsubscribe-Post``; the message's own structural headers (From,
    To, Subject, Message-ID, Date, Content-*) cannot be set through it
    (ValueError).

    Retryable: connection refused or dropped, timeouts, TLS failures
    (including a server that stops offering STARTTLS) and 4xx replies.
    Permanent: 5xx replies, a server without AUTH when a username is set, a
    recipient or header the message cannot carry."""
    reserved = sorted(name for name in headers if name.lower() in _RESERVED_HEADERS)
    if reserved:
        raise ValueError(f"headers: {', '.join(reserved)} cannot be set as extra headers")
    try:
        msg = _build_message(settings.sender, to, subject, text, html, message_id, headers)
    except ValueError as exc:
        return SendResult(ok=False, retryable=False, error=_one_line(f"cannot build message: {exc}"))
    where = f"{settings.host}:{settings.port}"
    try:
        _deliver(settings, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (-1, b""))
        return _smtp_reply_result(f"recipient {to} refused", code, reply)
    except smtplib.SMTPResponseException as exc:
        return _smtp_reply_result(_smtp_stage(exc), exc.smtp_code, exc.smtp_error)
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib reports a reply that timed out as a disconnection.
        cause = exc.__cause__ or exc.__context__
        error = _os_error(cause, settings.timeout) if isinstance(cause, OSError) else str(exc)
        return SendResult(ok=False, retryable=True, error=_one_line(f"SMTP {where}: {error}"))
    except smtplib.SMTPNotSupportedError as exc:
        return SendResult(ok=False, retryable=False, error=_one_line(f"SMTP {where}: {exc}"))
    except _StartTlsMissing:
        return SendResult(ok=False, retryable=True,
                          error=f"SMTP {where}: server does not offer STARTTLS; not sending in plain text")
    except smtplib.SMTPException as exc:
        return SendResult(ok=False, retryable=False, error=_one_line(f"SMTP {where}: {exc}"))
    except OSError as exc:  # refused, timeouts, DNS, TLS (ssl.SSLError is an OSError)
        return SendResult(ok=False, retryable=True,
                          error=_one_line(f"SMTP {where}: {_os_error(exc, settings.timeout)}"))
    return SendResult(ok=True)


class _StartTlsMissing(Exception):
    pass


def _build_message(sender: str, to: str, subject: str, text: str, html: str,
                   message_id: str, headers: dict[str, str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    addresses = msg["To"].addresses
    if len(addresses) != 1 or not _is_address(addresses[0]):
        raise ValueError(f"recipient {to!r} is not one email address")
    # A subject built from board text may hold line breaks: fold them to
    # spaces rather than refuse the alert.
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    # RFC 3834: no vacation auto-replies to an automatic message.
    if not any(name.lower() == "auto-submitted" for name in headers):
        msg["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _is_address(address: Address) -> bool:
    return bool(address.username) and bool(address.domain)


def _deliver(settings: SmtpSettings, msg: EmailMessage) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise _StartTlsMissing
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(msg)
    except BaseException:
        # No polite QUIT after a failure: a server that just timed out would
        # hold us for another timeout.
        smtp.close()
        raise
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()  # the message was accepted; a lost goodbye changes nothing


def _smtp_stage(exc: smtplib.SMTPResponseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "login refused"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "sender refused"
    if isinstance(exc, smtplib.SMTPDataError):
        return "message refused"
    if isinstance(exc, smtplib.SMTPConnectError):
        return "connection refused by server"
    if isinstance(exc, smtplib.SMTPHeloError):
        return "greeting refused"
    return "server replied"


def _smtp_reply_result(stage: str, code: int, reply: bytes | str) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    # 5xx is the server's final word on this message; 4xx (and a reply
    # without a usable code) may pass.
    permanent = 500 <= code < 600
    return SendResult(ok=False, retryable=not permanent, error=_one_line(f"SMTP {stage}: {code} {text}"))


# ---------------------------------------------------------------------------
# Webhooks


def post_webhook(
    url: str,
    secret: str,
    payload: dict,
    *,
    msg_id: str,
    timeout: float,
    now: datetime | None = None,
) -> WebhookResult:
    """POST ``payload`` as JSON to ``url``, signed as Standard Webhooks
    (``webhook-id`` = ``msg_id``, ``webhook-timestamp``, ``webhook-signature``
    with ``secret``, a ``whsec_``-prefixed base64 key). ``now`` is the clock
    (signing time, and the base for an HTTP-date ``Retry-After``); a naive
    ``now`` is read as UTC. ``timeout``: seconds for connecting and for each
    read of the answer.

    Redirects are not followed (a 3xx is a permanent failure naming where it
    pointed). Retryable: timeouts, connection errors, 408, 429 and 5xx, with
    ``retry_after`` from ``Retry-After``. ``gone``: 410. Other answers are
    permanent failures. A payload that is not JSON raises TypeError."""
    now = _utc(now or datetime.now(UTC))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return WebhookResult(ok=False, error=_one_line(f"webhook URL {url!r} is not an http(s) URL"))
    try:
        signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body)
    except (EmptyWebhookSecretError, binascii.Error, ValueError) as exc:
        return WebhookResult(ok=False, error=_one_line(f"webhook secret is not a Standard Webhooks key: {exc}"))
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(now.timestamp())),
        "webhook-signature": signature,
    })
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            snippet = b"" if 200 <= response.status < 300 else _read_snippet(response)
            return _webhook_answer(response.status, response.reason, response.headers, snippet, now)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, OSError):
            error = _os_error(reason, timeout)
        else:
            error = str(reason)
        return WebhookResult(ok=False, retryable=True, error=_one_line(f"webhook {_origin(parts)}: {error}"))
    except (OSError, http.client.HTTPException) as exc:  # timeouts and drops after connecting
        return WebhookResult(ok=False, retryable=True,
                             error=_one_line(f"webhook {_origin(parts)}: {_os_error(exc, timeout)}"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


class _EveryAnswer(urllib.request.HTTPErrorProcessor):
    """Hands every answer back as it is: no HTTPError, no redirect handling."""

    def http_response(self, request, response):  # noqa: ANN001, ANN201
        return response

    https_response = http_response


_OPENER = urllib.request.build_opener(_NoRedirect, _EveryAnswer)


def _webhook_answer(status: int, reason: str, headers, snippet: bytes,  # noqa: ANN001
                    now: datetime) -> WebhookResult:
    if 200 <= status < 300:
        return WebhookResult(ok=True, status=status)
    if 300 <= status < 400:
        location = headers.get("Location") or "nowhere"
        return WebhookResult(ok=False, status=status, error=_one_line(
            f"HTTP {status} {reason}: redirect to {location} not followed (update the webhook URL)"))
    error = f"HTTP {status} {reason}"
    text = " ".join(snippet.decode("utf-8", "replace").split())[:_BODY_SNIPPET]
    if text:
        error += f": {text}"
    if status == 410:
        return WebhookResult(ok=False, status=status, gone=True, error=_one_line(error))
    if status in (408, 429) or 500 <= status < 600:
        return WebhookResult(ok=False, status=status, retryable=True, error=_one_line(error),
                             retry_after=_retry_after(headers.get("Retry-After"), now))
    return WebhookResult(ok=False, status=status, error=_one_line(error))


def _read_snippet(response: http.client.HTTPResponse) -> bytes:
    # Only to quote the refusal: a body that stalls must not turn a clear
    # status into a timeout.
    try:
        return response.read(_BODY_READ_MAX)
    except (OSError, http.client.HTTPException):
        return b""


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` value: delta-seconds or an HTTP-date
    (a date in the past is 0). Anything else is None."""
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (_utc(when) - now).total_seconds())


def _origin(parts: urllib.parse.SplitResult) -> str:
    # Never the path or query: they may carry a token.
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


# ---------------------------------------------------------------------------
# Apprise


def notify_apprise(url: str, title: str, body: str) -> SendResult:
    """Send ``title`` and ``body`` through one Apprise URL (Slack, Discord,
    Matrix, ntfy, JSON, ...). A URL Apprise does not accept is a permanent
    failure; a failed delivery is retryable (Apprise does not say why)."""
    service = apprise.Apprise()
    if not service.add(url):
        return SendResult(ok=False, retryable=False,
                          error="apprise: URL not recognised or incomplete (check its scheme and tokens)")
    result = service.notify(body=body, title=title)
    if result:
        return SendResult(ok=True)
    # apprise >= 2 says why in the result's log; 1.x only says False.
    logs = [entry.message for entry in result.logs()] if hasattr(result, "logs") else []
    detail = logs[-1] if logs else "delivery failed"
    return SendResult(ok=False, retryable=True, error=_one_line(f"apprise: {detail}"))


# ---------------------------------------------------------------------------
# Backoff


_RNG = random.Random()


def backoff(attempt: int, base: float, retry_after: float | None, cap: float,
            rng: random.Random | None = None) -> float:
    """Seconds to wait before the next try after ``attempt`` failed tries
    (1 for the first): exponential backoff with full jitter, a uniform draw in
    [0, min(cap, base * 2**(attempt - 1))]. A ``Retry-After`` the other side
    gave is a floor that wins over ``cap`` (retrying sooner than asked only
    earns another refusal); the caller gives up by its own deadline."""
    if attempt < 1:
        raise ValueError(f"attempt must be at least 1, not {attempt}")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    ceiling = cap if attempt > 64 else min(cap, base * 2.0 ** (attempt - 1))
    delay = (rng or _RNG).uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


# ---------------------------------------------------------------------------
# Helpers


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _os_error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return f"timed out after {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"host not found: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _ERROR_MAX else line[: _ERROR_MAX - 1] + "…"
