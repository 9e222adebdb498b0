"""The SMS adapter against the reference gateway (examples/sms_gateway) on loopback, and the text."""

from __future__ import annotations

import time

import pytest
import requests

import sms_gateway
from tests.e2e.conftest import LiveServer
from widget_server.delivery.destinations.base import Event
from widget_server.delivery.destinations.sms import SmsGatewayDestination
from widget_server.notify import content

CODE = "PH-7K3M-9XQD$"


def _event(msg_id="msg_sms0001", text="Phan anh PH-7K3M-9XQD$ da co tra loi."):
    return Event(id=msg_id, type="notice.send", data={"to": "+84912345678", "text": text})


def _sent(gateway):
    return gateway.app.extensions["sms_gateway"]


def test_sent_once_even_when_the_attempt_is_repeated(sms_gateway):
    adapter = SmsGatewayDestination(sms_gateway.url + "/messages", token="gateway-token")
    first = adapter.deliver(_event())
    again = adapter.deliver(_event())  # a worker that died before recording tries again
    assert (first.outcome, first.status, again.outcome, again.status) == ("delivered", 201, "delivered", 200)
    assert first.remote_id == again.remote_id
    [message] = _sent(sms_gateway)
    assert (message["to"], message["reference"], message["segments"]) == ("+84912345678", "msg_sms0001", 1)


def test_a_wrong_token_pauses_and_a_bad_number_is_dead(sms_gateway):
    assert SmsGatewayDestination(sms_gateway.url + "/messages", token="x").deliver(_event()).outcome == "pause"
    bad = Event(id="msg_2", type="notice.send", data={"to": "0912", "text": "x"})
    assert SmsGatewayDestination(sms_gateway.url + "/messages", token="gateway-token").deliver(bad).outcome == "rejected"
    assert _sent(sms_gateway) == []


def test_a_gateway_that_times_out_is_retried_and_sends_once():
    app = sms_gateway.create_app()
    inner = app.wsgi_app
    slow = {"first": True}

    def stall_once(environ, start_response):
        body = b"".join(inner(environ, start_response))  # the gateway has it …
        if slow.pop("first", False):
            time.sleep(1.5)  # … but answers after the relay stopped waiting
        return [body]

    app.wsgi_app = stall_once
    server = LiveServer(app)
    try:
        adapter = SmsGatewayDestination(server.url + "/messages", timeout=(1.0, 0.5))
        assert adapter.deliver(_event()).error == "timeout"
        assert adapter.deliver(_event()).outcome == "delivered"
        assert len(app.extensions["sms_gateway"]) == 1
    finally:
        server.stop()


def test_the_gateway_refuses_a_key_reused_for_another_text(sms_gateway):
    url, headers = sms_gateway.url + "/messages", {"Authorization": "Bearer gateway-token", "Idempotency-Key": "k"}
    assert requests.post(url, json={"to": "+84912345678", "text": "a"}, headers=headers, timeout=5).status_code == 201
    assert requests.post(url, json={"to": "+84912345678", "text": "b"}, headers=headers, timeout=5).status_code == 422


ARTICLE = "https://baothanhhoa.example/thoi-su/rac-thai-ton-dong-o-cho-vuon-hoa-123.html"


@pytest.mark.parametrize("status", ["answered", "rejected", "accepted", "published"])
@pytest.mark.parametrize(("public_url", "article", "expect"), [
    ("https://phanhoi.baothanhhoa.vn", ARTICLE, "article"),
    ("https://phanhoi.baothanhhoa.vn", ARTICLE.replace("123", "x" * 90), "relay"),
    ("https://" + "r" * 120 + ".vn", ARTICLE.replace("123", "x" * 90), "none"),
])
def test_one_sms_segment_in_gsm7_whatever_the_link(status, public_url, article, expect):
    links = [content.track_link(public_url=public_url, site_key="pk_abc", code=CODE, article=article),
             content.relay_link(public_url=public_url, site_key="pk_abc", code=CODE)]
    text = content.sms(status=status, code=CODE, site_name="Báo Thanh Hóa", links=links)
    assert content.gsm7_septets(text) is not None and content.gsm7_septets(text) <= 160
    assert sms_gateway.segments(text) == 1  # counted again by the gateway's own code
    assert text.startswith(f"Phan anh {CODE} da ")
    assert {"article": links[0], "relay": links[1], "none": None}[expect] in (text.split("Xem: ")[1:] or [None])


def test_diacritics_would_not_fit_one_segment():
    """Why the SMS is unaccented: the same sentence with diacritics and a short link is UCS-2."""
    text = f"Phản ánh {CODE} đã có trả lời. Xem: https://baothanhhoa.vn/t/{CODE}"
    assert content.gsm7_septets(text) is None and content.sms_segments(text) == 2
    assert content.unaccented("Phản ánh đã có trả lời. ĐƯỜNG Hóa") == "Phan anh da co tra loi. DUONG Hoa"
