"""Alert channels against real servers on 127.0.0.1: mail handed to an
aiosmtpd server (plain, STARTTLS, implicit TLS), Standard Webhooks POSTs to a
scripted HTTP receiver, Apprise's JSON service to the same receiver, and the
backoff between attempts."""

from __future__ import annotations

import email.utils
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crawler.alerts.channels import (  # noqa: E402
    SendResult,
    SmtpSettings,
    WebhookResult,
    backoff,
    notify_apprise,
    post_webhook,
    send_email,
)
from tests.alert_servers import LOOPBACK, Gate, Reply  # noqa: E402

pytest_plugins = ("tests.alert_servers",)

UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://jobs.example.org/unsubscribe/tok123>, <mailto:unsub@example.org?subject=tok123>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}
TEXT = "New: Staff Engineer at Acme\nhttps://boards.example/acme/1\n"
HTML = "<p>New: <b>Staff Engineer</b> at Acme &amp; Co</p>"


def _settings(port: int, security: str = "none", **kw) -> SmtpSettings:
    return SmtpSettings(host=LOOPBACK, port=port, security=security,  # type: ignore[arg-type]
                        sender="jobdelta <alerts@jobdelta.test>", timeout=kw.pop("timeout", 5.0), **kw)


def _email(settings: SmtpSettings, message_id: str = "dlv-42@jobdelta.test", **kw) -> SendResult:
    return send_email(settings, kw.pop("to", "ana@example.org"), kw.pop("subject", "2 new roles at Acme"),
                      TEXT, HTML, message_id=message_id, headers=kw.pop("headers", UNSUBSCRIBE))


# ---------------------------------------------------------------------------
# Email


def test_email_arrives_as_text_and_html_with_message_id_and_unsubscribe(smtp_server):
    settings = _settings(smtp_server.port, username="alerts", password="s3cret")

    result = send_email(settings, "ana@example.org", "2 new roles\r\nat Acme", TEXT, HTML,
                        message_id="dlv-42@jobdelta.test", headers=UNSUBSCRIBE)

    assert result == SendResult(ok=True)
    [mail] = smtp_server.wait_for(1)
    msg = mail.message
    assert mail.rcpt_tos == ["ana@example.org"]
    assert mail.mail_from == "alerts@jobdelta.test"
    assert smtp_server.logins == [("alerts", "s3cret")] and mail.login == "alerts"
    assert msg.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert msg.get_body(("html",)).get_content().strip() == HTML
    assert msg["Message-ID"] == "<dlv-42@jobdelta.test>"
    assert msg["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Subject"] == "2 new roles at Acme"  # a line break in board text is folded, not refused
    assert msg["To"] == "ana@example.org"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None


def test_a_resent_delivery_carries_the_same_message_id(smtp_server):
    settings = _settings(smtp_server.port)
    assert _email(settings, message_id="<dlv-7@jobdelta.test>").ok
    assert _email(settings, message_id="dlv-7@jobdelta.test").ok
    first, second = smtp_server.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == "<dlv-7@jobdelta.test>"


def test_smtp_server_down_is_retryable(free_port):
    result = _email(_settings(free_port))
    assert not result.ok and result.retryable
    assert result.error == f"SMTP {LOOPBACK}:{free_port}: connection refused"
    assert result.retry_after is None


def test_smtp_4xx_reply_is_retryable_and_5xx_is_permanent(smtp_server):
    smtp_server.reply_with("451 4.3.0 Mailbox busy, try later", "550 5.1.1 No such user here")
    settings = _settings(smtp_server.port)

    busy = _email(settings)
    refused = _email(settings)

    assert not busy.ok and busy.retryable
    assert busy.error == "SMTP message refused: 451 4.3.0 Mailbox busy, try later"
    assert not refused.ok and not refused.retryable
    assert refused.error == "SMTP message refused: 550 5.1.1 No such user here"
    assert smtp_server.messages == []
    assert _email(settings).ok  # the script is used up: the server accepts again
    assert len(smtp_server.wait_for(1)) == 1


def test_smtp_server_that_hangs_past_the_timeout_is_retryable(smtp_server):
    gate = Gate()
    smtp_server.hold_next(gate)
    try:
        result = _email(_settings(smtp_server.port, timeout=0.5))
        assert gate.arrived.is_set()  # the message reached DATA and the server sat on it
    finally:
        gate.release()
    assert not result.ok and result.retryable
    assert result.error == f"SMTP {LOOPBACK}:{smtp_server.port}: timed out after 0.5s"


def test_wrong_password_is_permanent(start_smtp_server):
    server = start_smtp_server(credentials=("alerts", "right"))
    result = _email(_settings(server.port, username="alerts", password="wrong"))
    assert not result.ok and not result.retryable
    assert result.error.startswith("SMTP login refused: 535")
    assert server.messages == []


def test_starttls_encrypts_before_login(tls_files, start_smtp_server):
    server = start_smtp_server(tls="starttls", tls_files=tls_files)
    result = _email(_settings(server.port, "starttls", username="alerts", password="s3cret"))
    assert result.ok, result.error
    [mail] = server.wait_for(1)
    assert mail.tls and mail.login == "alerts"
    assert mail.message["Message-ID"] == "<dlv-42@jobdelta.test>"


def test_implicit_tls(tls_files, start_smtp_server):
    server = start_smtp_server(tls="ssl", tls_files=tls_files)
    result = _email(_settings(server.port, "ssl"))
    assert result.ok, result.error
    [mail] = server.wait_for(1)
    assert mail.tls


def test_starttls_missing_never_falls_back_to_plain_text(smtp_server):
    # The server offers no STARTTLS (a misconfiguration or a downgrade in
    # the path): neither the password nor the message may go out in clear.
    result = _email(_settings(smtp_server.port, "starttls", username="alerts", password="s3cret"))
    assert not result.ok and result.retryable
    assert "does not offer STARTTLS" in result.error
    assert smtp_server.logins == [] and smtp_server.messages == []


def test_untrusted_certificate_is_refused(tls_files, start_smtp_server, monkeypatch, tmp_path):
    server = start_smtp_server(tls="ssl", tls_files=tls_files)
    empty = tmp_path / "no-anchors.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))  # this process trusts nothing now
    result = _email(_settings(server.port, "ssl", username="alerts", password="s3cret"))
    assert not result.ok and result.retryable
    assert "TLS certificate not accepted" in result.error
    assert server.logins == [] and server.messages == []


def test_a_recipient_the_message_cannot_carry_is_permanent(smtp_server):
    for to in ("not an address", "ana@example.org\r\nBcc: eve@example.org", "a@x.org, b@y.org"):
        result = _email(_settings(smtp_server.port), to=to)
        assert not result.ok and not result.retryable, to
        assert result.error.startswith("cannot build message:"), result.error
    assert smtp_server.messages == []


def test_structural_headers_cannot_be_overridden(smtp_server):
    with pytest.raises(ValueError, match="Bcc"):
        _email(_settings(smtp_server.port), headers={"Bcc": "eve@example.org"})


def test_smtp_settings_reject_an_unknown_security_and_hide_the_password():
    with pytest.raises(ValueError, match="security"):
        SmtpSettings(host=LOOPBACK, port=25, security="tls", sender="a@b.c")  # type: ignore[arg-type]
    assert "hunter2" not in repr(SmtpSettings(LOOPBACK, 25, "none", "a@b.c", "u", "hunter2"))


# ---------------------------------------------------------------------------
# Webhooks

PAYLOAD = {"type": "posting.new", "data": {"source": "acme", "external_id": "4012", "title": "Ingénieure"}}


def _post(receiver, secret, path="/hooks/jobdelta", **kw) -> WebhookResult:
    return post_webhook(receiver.url + path, secret, PAYLOAD, msg_id=kw.pop("msg_id", "dlv_42"),
                        timeout=kw.pop("timeout", 5.0), **kw)


def test_webhook_is_signed_so_standard_webhooks_verifies_it(webhook_receiver, webhook_secret):
    result = _post(webhook_receiver, webhook_secret)

    assert result == WebhookResult(ok=True, status=200)
    [request] = webhook_receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/hooks/jobdelta"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "jobdelta"
    assert request.headers["webhook-id"] == "dlv_42"
    assert Webhook(webhook_secret).verify(request.body, request.headers) == PAYLOAD
    assert request.signature_ok is True
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(request.body, request.headers)


def test_webhook_timestamp_is_now_in_unix_seconds_whatever_its_zone(webhook_receiver, webhook_secret):
    now = datetime.now(timezone(timedelta(hours=2))).replace(microsecond=0)
    assert _post(webhook_receiver, webhook_secret, now=now).ok
    [request] = webhook_receiver.wait_for(1)
    assert request.headers["webhook-timestamp"] == str(math.floor(now.timestamp()))
    assert webhook_receiver.verify(request) == PAYLOAD  # signed over that same timestamp


def test_webhook_500_is_retryable(webhook_receiver, webhook_secret):
    webhook_receiver.script(Reply(500, body=b"<h1>Internal\nError</h1>"))
    result = _post(webhook_receiver, webhook_secret)
    assert result == WebhookResult(ok=False, status=500, retryable=True, retry_after=None,
                                   error="HTTP 500 Internal Server Error: <h1>Internal Error</h1>")


def test_webhook_429_and_503_carry_retry_after_in_seconds_or_as_a_date(webhook_receiver, webhook_secret):
    now = datetime.now(UTC).replace(microsecond=0)
    webhook_receiver.script(
        Reply(429, {"Retry-After": "120"}),
        Reply(503, {"Retry-After": email.utils.format_datetime(now + timedelta(seconds=90), usegmt=True)}),
        Reply(503, {"Retry-After": email.utils.format_datetime(now - timedelta(hours=1), usegmt=True)}),
        Reply(429, {"Retry-After": "soon"}),
        Reply(408),
    )
    results = [_post(webhook_receiver, webhook_secret, now=now) for _ in range(5)]
    assert [(r.status, r.retryable, r.retry_after) for r in results] == [
        (429, True, 120.0), (503, True, 90.0), (503, True, 0.0), (429, True, None), (408, True, None)]
    assert not any(r.ok or r.gone for r in results)
    assert results[0].error == "HTTP 429 Too Many Requests"


def test_webhook_receiver_hanging_past_the_timeout_is_retryable(webhook_receiver, webhook_secret):
    gate = Gate()
    webhook_receiver.script(Reply(200, hold=gate))
    try:
        result = _post(webhook_receiver, webhook_secret, timeout=0.5)
        assert gate.arrived.is_set()  # it did reach the receiver, which sat on it
    finally:
        gate.release()
    assert result.retryable and not result.ok and result.status is None
    assert result.error == f"webhook http://{LOOPBACK}:{webhook_receiver.port}: timed out after 0.5s"


def test_webhook_redirect_is_not_followed(webhook_receiver, webhook_secret):
    webhook_receiver.script(Reply(301, {"Location": webhook_receiver.url + "/moved"}))
    result = _post(webhook_receiver, webhook_secret)
    assert not result.ok and not result.retryable and not result.gone and result.status == 301
    assert "not followed" in result.error and f"{webhook_receiver.url}/moved" in result.error
    # Had the redirect been followed, its request would be recorded by now:
    # the receiver records each request before it answers.
    assert [r.path for r in webhook_receiver.requests] == ["/hooks/jobdelta"]


def test_webhook_410_is_gone(webhook_receiver, webhook_secret):
    webhook_receiver.script(Reply(410))
    result = _post(webhook_receiver, webhook_secret)
    assert result == WebhookResult(ok=False, status=410, gone=True, retryable=False, error="HTTP 410 Gone")


def test_webhook_other_4xx_is_permanent(webhook_receiver, webhook_secret):
    webhook_receiver.script(Reply(401, body=b"bad signature"))
    result = _post(webhook_receiver, webhook_secret)
    assert result == WebhookResult(ok=False, status=401, error="HTTP 401 Unauthorized: bad signature")


def test_webhook_connection_refused_is_retryable(free_port, webhook_secret):
    result = post_webhook(f"http://{LOOPBACK}:{free_port}/hook?token=abc", webhook_secret, PAYLOAD,
                          msg_id="dlv_1", timeout=5.0)
    assert result == WebhookResult(ok=False, retryable=True,
                                   error=f"webhook http://{LOOPBACK}:{free_port}: connection refused")
    assert "token" not in result.error  # a URL's path and query may hold a secret


def test_webhook_only_posts_to_http_urls(webhook_secret, tmp_path):
    target = tmp_path / "target"
    for url in (f"file://{target}", "ftp://127.0.0.1/x", "127.0.0.1:8080/hook"):
        result = post_webhook(url, webhook_secret, PAYLOAD, msg_id="dlv_1", timeout=1.0)
        assert not result.ok and not result.retryable and "not an http(s) URL" in result.error
    assert not target.exists()


def test_webhook_with_an_empty_secret_is_permanent(webhook_receiver):
    result = _post(webhook_receiver, "")
    assert not result.ok and not result.retryable
    assert result.error.startswith("webhook secret is not a Standard Webhooks key")
    assert webhook_receiver.requests == []


# ---------------------------------------------------------------------------
# Apprise

# apprise's own import of a module Python 3.13 removes: not ours to fix.
_apprise_warnings = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")



@_apprise_warnings
def test_apprise_json_reaches_a_local_receiver(http_receiver):
    url = f"json://{LOOPBACK}:{http_receiver.port}/alerts"
    result = notify_apprise(url, "2 new roles at Acme", "Staff Engineer\nPlatform Engineer")
    assert result == SendResult(ok=True)
    [request] = http_receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/alerts"
    payload = request.json()
    assert payload["title"] == "2 new roles at Acme"
    assert payload["message"] == "Staff Engineer\nPlatform Engineer"


@_apprise_warnings
def test_apprise_failed_delivery_is_retryable(http_receiver):
    http_receiver.script(Reply(500))
    result = notify_apprise(f"json://{LOOPBACK}:{http_receiver.port}/alerts", "t", "b")
    assert not result.ok and result.retryable
    assert result.error.startswith("apprise: ") and "500" in result.error


@_apprise_warnings
def test_apprise_url_it_does_not_know_is_permanent():
    result = notify_apprise("nosuchservice://127.0.0.1/x", "t", "b")
    assert not result.ok and not result.retryable and "URL not recognised" in result.error


# ---------------------------------------------------------------------------
# Backoff


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
        draws = [backoff(attempt, 2.0, None, 60.0, rng) for _ in range(300)]
        assert all(0.0 <= d <= ceiling for d in draws), attempt
        # full jitter: spread over the whole range, not bunched at the top
        assert min(draws) < ceiling * 0.1 and max(draws) > ceiling * 0.9, attempt


def test_backoff_never_below_retry_after_and_capped():
    rng = random.Random(1)
    assert all(backoff(1, 1.0, 30.0, 60.0, rng) == 30.0 for _ in range(50))  # jitter is at most 1 s
    assert all(30.0 <= backoff(8, 1.0, 30.0, 60.0, rng) <= 60.0 for _ in range(50))
    # the server's Retry-After wins over our own cap
    assert backoff(3, 1.0, 900.0, 60.0, rng) == 900.0
    assert all(backoff(10_000, 1.0, None, 60.0, rng) <= 60.0 for _ in range(50))  # no overflow
    assert 0.0 <= backoff(1, 1.0, None, 60.0) <= 1.0  # default random source
    with pytest.raises(ValueError):
        backoff(0, 1.0, None, 60.0)
