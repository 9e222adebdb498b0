"""The SMTP adapter against a real SMTP server on loopback: STARTTLS, AUTH, refusals."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from tests.notify.conftest import free_port
from widget_server.delivery.destinations import deadline
from widget_server.delivery.destinations.base import Event
from widget_server.delivery.destinations.smtp import LOST_AFTER_HANDOVER, STEPS_PER_NOTICE, SmtpDestination


def _event(**data):
    body = {"to": "cong.dan@example.vn", "subject": "Phản ánh PH-AAAA-BBBBC đã có trả lời",
            "text": "Mã PH-AAAA-BBBBC\n.\n.dòng bắt đầu bằng dấu chấm", "html": "<p>Mã PH-AAAA-BBBBC</p>"}
    return Event(id="msg_test0001", type="notice.send", data={**body, **data})


def _adapter(server, **kwargs):
    url = kwargs.pop("url", None) or server.url()
    return SmtpDestination(url, sender="Phản hồi <no-reply@relay.test>", timeout=5,
                           ssl_context=server.client_context(), **kwargs)


def test_starttls_and_login_then_one_message_with_a_stable_message_id(smtp_server):
    handed = []
    event = _event()
    event = Event(id=event.id, type=event.type, data=event.data, handover=lambda: handed.append(1) or True)
    result = _adapter(smtp_server).deliver(event)
    assert result.outcome == "delivered", result
    assert handed == [1]
    [msg] = smtp_server.inbox.messages
    assert msg["Message-ID"] == "<msg_test0001@relay.test>"
    assert msg["To"] == "cong.dan@example.vn"
    assert str(msg["Subject"]) == "Phản ánh PH-AAAA-BBBBC đã có trả lời"
    assert msg["Auto-Submitted"] == "auto-generated"
    plain = msg.get_body(("plain",)).get_content()
    assert plain.splitlines()[1:3] == [".", ".dòng bắt đầu bằng dấu chấm"]  # dot-stuffing undone
    assert "<p>Mã PH-AAAA-BBBBC</p>" in msg.get_body(("html",)).get_content()


def test_a_refused_login_pauses_the_destination(smtp_server):
    result = _adapter(smtp_server, url=smtp_server.url(password="sai")).deliver(_event())
    assert result.outcome == "pause" and result.status == 535
    assert smtp_server.inbox.messages == []


@pytest.mark.parametrize(("reply", "outcome"), [
    ("550 5.1.1 <cong.dan@example.vn>: Recipient address rejected", "rejected"),
    ("553 5.1.3 mailbox name not allowed", "rejected"),
    ("450 4.2.0 <cong.dan@example.vn>: Greylisted, try again", "retry"),
    ("421 4.3.2 service shutting down", "retry"),
])
def test_permanent_refusals_are_dead_at_once_temporary_ones_retry(smtp_server, reply, outcome):
    smtp_server.inbox.rcpt_reply = reply
    result = _adapter(smtp_server).deliver(_event())
    assert result.outcome == outcome
    assert result.status == int(reply[:3])
    assert result.error.startswith(f"SMTP {reply[:3]} ")
    assert "cong.dan" not in result.error  # the reason is kept and logged: no address in it
    assert smtp_server.inbox.messages == []


def test_a_refusal_of_the_message_itself_is_dead_with_its_reason(smtp_server):
    smtp_server.inbox.data_reply = "554 5.7.1 message refused"
    result = _adapter(smtp_server).deliver(_event())
    assert (result.outcome, result.error) == ("rejected", "SMTP 554 5.7.1 message refused")


@pytest.mark.parametrize("reply", [
    "554 5.7.1 message refused: spam-like content (liên hệ 0912 345 678)",
    "550 5.7.1 bị từ chối, nội dung có số +84 912.345.678 và CCCD 038095001234",
])
def test_a_servers_reason_keeps_no_phone_number_or_id_number(smtp_server, reply):
    # The reason is logged by the worker and kept in ``outbox.last_error``: a server quoting the
    # message back must not put a citizen's phone or ID number there.
    smtp_server.inbox.data_reply = reply
    result = _adapter(smtp_server).deliver(_event(text="Gọi lại 0912 345 678"))
    assert result.outcome == "rejected" and result.error.startswith("SMTP 5")
    digits = "".join(ch for ch in result.error if ch.isdigit())
    assert "912345678" not in digits and "038095001234" not in digits, result.error
    assert "message refused" in result.error or "bị từ chối" in result.error


def test_no_server_is_a_retry():
    adapter = SmtpDestination(f"smtp://127.0.0.1:{free_port()}", sender="no-reply@relay.test", timeout=2)
    result = adapter.deliver(_event())
    assert result.outcome == "retry" and result.error.startswith("SMTP ")


def test_a_lost_lease_before_the_final_dot_sends_nothing(smtp_server):
    event = _event()
    event = Event(id=event.id, type=event.type, data=event.data, handover=lambda: False)
    result = _adapter(smtp_server).deliver(event)
    assert result.outcome == "retry"
    assert smtp_server.inbox.messages == []


def test_an_untrusted_certificate_is_not_accepted(smtp_server):
    adapter = SmtpDestination(smtp_server.url(), sender="no-reply@relay.test", timeout=5)  # system CAs only
    assert adapter.deliver(_event()).outcome == "retry"
    assert smtp_server.inbox.messages == []


@pytest.mark.parametrize("url", ["smtp://u:p@mail.example:25", "http://mail.example", "smtp://",
                                 "smtps://u:m%E1%BA%ADt@mail.example"])
def test_credentials_never_go_in_clear_and_urls_are_checked(url):
    with pytest.raises(ValueError):
        SmtpDestination(url, sender="no-reply@relay.test")


class _Tarpit:
    """An SMTP server on loopback that keeps one reply going a line at a time, never ending it:
    at the greeting's ``EHLO`` (``at="ehlo"``) or at the message's final "." (``at="dot"``)."""

    def __init__(self, at: str) -> None:
        self.at = at
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        while not self.stop.wait(0.2):
            conn.sendall(b"250-still working\r\n")

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 tarpit.test ESMTP\r\n")
            in_data = False
            for line in lines:
                if in_data:
                    if line == b".\r\n":
                        self._trickle(conn)
                        return
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO" and self.at == "ehlo":
                    self._trickle(conn)
                    return
                in_data = verb == b"DATA"
                conn.sendall(b"354 go on\r\n" if in_data else b"250 OK\r\n")

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def _timed(adapter: SmtpDestination, event: Event, bound: float | None = None) -> tuple[Any, float]:
    """The adapter's result and its seconds, from a thread: a notice that never ends fails the
    test instead of hanging it."""
    out: list[Any] = []

    def run() -> None:
        if bound is None:
            out.append(adapter.deliver(event))
        else:
            with deadline.at_most(bound):
                out.append(adapter.deliver(event))

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "the notice was still going after 20 s"
    return out[0], time.monotonic() - started


@pytest.mark.parametrize("at", ["ehlo", "dot"])
def test_a_reply_kept_going_line_by_line_ends_at_the_notices_deadline(at: str) -> None:
    tarpit = _Tarpit(at)
    try:
        handed: list[int] = []
        event = _event()
        event = Event(id=event.id, type=event.type, data=event.data,
                      handover=lambda: handed.append(1) or True)
        # Each step may take 1 s; a line comes every 0.2 s, so no single read ever times out.
        adapter = SmtpDestination(f"smtp://127.0.0.1:{tarpit.port}", sender="no-reply@relay.test", timeout=1)
        result, seconds = _timed(adapter, event)
    finally:
        tarpit.close()
    assert seconds < 1 * STEPS_PER_NOTICE + 2, seconds
    if at == "ehlo":
        assert (result.outcome, result.error, handed) == ("retry", "SMTP timeout", [])
    else:  # handed over: the server may deliver it, so it is not sent again blindly
        assert (result.outcome, result.error, handed) == ("rejected", LOST_AFTER_HANDOVER, [1])


class _HandshakeTarpit:
    """A server on loopback that answers a TLS ClientHello with a record announced 16 KB long
    and then sends its bytes one at a time, 0.2 s apart: the handshake never ends, and no single
    read waits long enough to time out."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(4096)  # the ClientHello
            conn.sendall(b"\x16\x03\x03\x40\x00\x02")  # a handshake record, a ServerHello begun
            while not self.stop.wait(0.2):
                conn.sendall(b"\x00")

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_an_implicit_tls_handshake_kept_going_never_outlasts_the_rows_lease() -> None:
    # A handshake is bounded by one step's timeout (5 s here); the row's lease ends sooner.
    tarpit = _HandshakeTarpit()
    try:
        adapter = SmtpDestination(f"smtps://127.0.0.1:{tarpit.port}", sender="no-reply@relay.test", timeout=5)
        result, seconds = _timed(adapter, _event(), bound=1.0)
    finally:
        tarpit.close()
    assert seconds < 3, seconds
    assert (result.outcome, result.error) == ("retry", "SMTP timeout")


def test_a_notice_never_outlasts_the_rows_lease() -> None:
    tarpit = _Tarpit("ehlo")
    try:
        adapter = SmtpDestination(f"smtp://127.0.0.1:{tarpit.port}", sender="no-reply@relay.test", timeout=5)
        result, seconds = _timed(adapter, _event(), bound=1.0)
    finally:
        tarpit.close()
    assert (result.outcome, result.error) == ("retry", "SMTP timeout")
    assert seconds < 3, seconds


def test_implicit_tls_from_the_first_byte_delivers_with_login(ca: Any) -> None:
    """``smtps://``: TLS before the greeting (port 465 style), the socket watched as STARTTLS's is."""
    import ssl

    from aiosmtpd.controller import Controller

    from tests.notify.conftest import PASSWORD, USER, Inbox, _authenticate

    inbox = Inbox()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_ctx,
                            authenticator=_authenticate, auth_require_tls=False)
    controller.start()
    try:
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        adapter = SmtpDestination(f"smtps://{USER}:{PASSWORD.replace('/', '%2F').replace(':', '%3A')}@127.0.0.1:{port}",
                                  sender="no-reply@relay.test", timeout=5, ssl_context=client_ctx)
        result = adapter.deliver(_event())
    finally:
        controller.stop()
    assert result.outcome == "delivered", result
    [msg] = inbox.messages
    assert msg["Message-ID"] == "<msg_test0001@relay.test>"
