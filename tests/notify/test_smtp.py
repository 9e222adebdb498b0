"""The SMTP adapter against a real SMTP server on loopback: STARTTLS, AUTH, refusals."""

from __future__ import annotations

import pytest

from tests.notify.conftest import free_port
from widget_server.delivery.destinations.base import Event
from widget_server.delivery.destinations.smtp import SmtpDestination


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
