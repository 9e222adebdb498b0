"""The SDK's side of public results: EventSender publishes and withdraws, Client reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from phanhoi import Client, EventSender
from phanhoi.errors import NotFoundError


def test_sender_publishes_and_withdraws_client_reads(app: Any, live_relay: str, site: Any) -> None:
    secret = app.config["CENTRAL_EVENTS_SECRET"]
    with EventSender(live_relay, secret) as sender, Client(base_url=live_relay) as client:
        sent = sender.publish_result(
            "TH-2026-001", title="Cột điện nghiêng ở xã Đông Tiến", answer="Điện lực đã dựng lại cột.",
            category="dien-luc-vien-thong", agency="ubnd-xa",
            received_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            answered_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC), deadline=dt.date(2026, 11, 18))
        assert sent.status_code == 200 and sent.body["applied"] is True
        page = client.results(q="cot dien", since=dt.date(2026, 11, 1))
        assert [i["id"] for i in page["items"]] == ["TH-2026-001"]
        assert client.result("TH-2026-001")["on_time"] is True
        board = client.scoreboard(since="2026-01-01", until="2026-12-31")
        assert board["agencies"][0]["code"] == "ubnd-xa" and board["agencies"][0]["answered"] == 1
        assert sender.withdraw_result("TH-2026-001").body["applied"] is True
        assert client.results()["items"] == []
        with pytest.raises(NotFoundError):
            client.result("TH-2026-001")


def test_sender_refuses_a_result_without_its_public_text() -> None:
    sender = EventSender("http://127.0.0.1:9", "whsec_" + "A" * 32)
    with pytest.raises(ValueError):
        sender.publish_result("TH-1", title="", answer="x")
    sender.close()


def test_client_asks_for_what_it_is_given_even_dots(app: Any, live_relay: str) -> None:
    """``..`` reaches the relay as a code or an id, not as the path's dots (which would ask for
    another address); an empty one is refused before anything is sent."""
    with Client(base_url=live_relay, max_retries=0) as client:
        with pytest.raises(NotFoundError) as err:
            client.result("..")
        assert err.value.problem is not None and err.value.problem.type.endswith("/result-not-found")
        with pytest.raises(NotFoundError) as err:
            client.status(".", "0912345678")
        assert err.value.problem is not None and err.value.problem.type.endswith("/submission-not-found")
        for call in (lambda: client.status("", "0912345678"), lambda: client.rate("", "0912345678", True),
                     lambda: client.result("")):
            with pytest.raises(ValueError, match="empty"):
                call()
