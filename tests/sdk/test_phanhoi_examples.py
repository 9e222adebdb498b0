"""The SDK examples run: the news site renders the widget, the submit script
prints a code, the central receiver verifies, de-duplicates and reports back."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import central_receiver_sdk
import pytest
import responses
import submit_server_side
from news_site.app import create_app
from phanhoi.webhooks import generate_secret, sign_headers, verify

from tests.sdk import relay_fixtures

RELAY = "https://relay.test"


def test_news_site_renders_escaped_widget(mocked: responses.RequestsMock) -> None:
    mocked.get(
        RELAY + "/static/widget/manifest.json",
        json={"version": "1.0.0", "loader": "loader.1.0.0.js", "integrity": "sha384-abc"},
    )
    app = create_app({"RELAY_URL": RELAY, "SITE_KEY": '"><b>x', "TESTING": True})
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    client.get("/")  # the manifest is fetched once
    assert '<html lang="vi">' in page
    assert f'src="{RELAY}/static/widget/loader.1.0.0.js"' in page
    assert 'integrity="sha384-abc"' in page
    assert 'data-site="&#34;&gt;&lt;b&gt;x"' in page or 'data-site="&quot;&gt;&lt;b&gt;x"' in page
    assert "<b>x" not in page
    qr = client.get("/qr.svg")
    assert qr.mimetype == "image/svg+xml" and qr.get_data(as_text=True).startswith("<svg")


def test_news_site_falls_back_to_unpinned(
    mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(3):
        mocked.get(RELAY + "/static/widget/manifest.json", status=503)
    app = create_app({"RELAY_URL": RELAY, "SITE_KEY": "site_1"})
    page = app.test_client().get("/").get_data(as_text=True)
    assert f'src="{RELAY}/static/widget/loader.js"' in page


def test_submit_script(
    mocked: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PHANHOI_BASE_URL", RELAY)
    monkeypatch.setenv("PHANHOI_SITE_KEY", "site_1")
    monkeypatch.setenv("PHANHOI_SITE_SECRET", "sk_test")
    mocked.get(
        RELAY + "/api/v1/sites/site_1/config",
        json={"categories": [{"code": "moi-truong", "name": "Môi trường"}],
              "consent": {"version": "2025-07", "text": "…"}},
    )  # fmt: skip
    mocked.post(
        RELAY + "/api/v1/submissions",
        status=201,
        json=relay_fixtures.load("receipt"),
    )
    assert submit_server_side.main([]) == 0
    code = relay_fixtures.load("receipt")["tracking_code"]
    assert f"Mã theo dõi: {code}" in capsys.readouterr().out
    sent = json.loads(mocked.calls[1].request.body or b"")
    assert sent["category"] == "moi-truong" and sent["consent"]["version"] == "2025-07"


INTAKE_SECRET = generate_secret()
EVENTS_SECRET = generate_secret()


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = central_receiver_sdk.make_server("127.0.0.1", 0, INTAKE_SECRET, EVENTS_SECRET, RELAY)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _post(
    server: ThreadingHTTPServer, body: bytes, headers: dict[str, str],
    path: str = "/intake/v1/submissions",
) -> tuple[int, dict[str, object]]:
    host, port = server.server_address[:2]
    request = urllib.request.Request(
        f"http://{host!s}:{port}{path}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


def test_central_receiver(receiver: ThreadingHTTPServer, mocked: responses.RequestsMock) -> None:
    mocked.add_passthru("http://127.0.0.1")
    mocked.post(RELAY + "/api/v1/central/events", json={"ok": True})
    body = relay_fixtures.body("submission_created")
    status, answer = _post(receiver, body, sign_headers(body, INTAKE_SECRET, msg_id="evt_1"))
    assert status == 200 and answer == {"central_id": "TH-000001", "status": "received"}
    # Redelivery of the same event: same answer, no second status event.
    status, again = _post(receiver, body, sign_headers(body, INTAKE_SECRET, msg_id="evt_1"))
    assert (status, again) == (200, answer)
    # A wrong secret is 401: the relay pauses the destination instead of dropping the message.
    status, problem = _post(receiver, body, sign_headers(body, generate_secret()))
    assert status == 401 and problem["status"] == 401

    deadline = time.monotonic() + 5
    while not any((c.request.url or "").startswith(RELAY) for c in mocked.calls):
        assert time.monotonic() < deadline, "status event not sent"
        time.sleep(0.01)
    [call] = [c for c in mocked.calls if (c.request.url or "").startswith(RELAY)]
    event = verify(call.request.body or b"", dict(call.request.headers), EVENTS_SECRET)
    assert event.data["status"] == "accepted" and event.data["central_id"] == "TH-000001"
    assert event.id == "evt_TH-000001_1"


@pytest.mark.parametrize("name", ["submission_data_request", "submission_rated"])
def test_central_receiver_takes_data_requests_and_ratings(
    receiver: ThreadingHTTPServer, name: str
) -> None:
    body = relay_fixtures.body(name)
    headers = sign_headers(body, INTAKE_SECRET, msg_id="evt_" + name)
    status, answer = _post(receiver, body, headers, "/intake/v1/events")
    assert status == 200 and answer["status"] == "received"
    # Not a submission: refused for good on the submissions path, not acknowledged.
    status, _ = _post(receiver, body, sign_headers(body, INTAKE_SECRET), "/intake/v1/submissions")
    assert status == 422


def test_central_receiver_refuses_an_unusable_secret_at_start() -> None:
    with pytest.raises(ValueError):
        central_receiver_sdk.make_server("127.0.0.1", 0, "not-a-secret", None, None)
