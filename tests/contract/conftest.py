"""A relay and a central system, both real, on loopback: the SDK between them.

The relay is the application under test (``app`` from tests/conftest.py) served by
werkzeug; the central system is a small Flask app built on ``phanhoi.IntakeReceiver``.
The relay's outbox worker delivers to it over HTTP, so what the SDK parses is exactly
what the relay sends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, jsonify, request
from phanhoi import IntakeReceiver, SeenIds, WebhookVerificationError
from werkzeug.serving import make_server

from widget_server.delivery import queue as outbox
from widget_server.delivery.worker import Worker
from widget_server.intake import reference
from widget_server.store import db

__all__ = ["Central", "db", "outbox", "reference"]


class _Server:
    """A werkzeug server on 127.0.0.1 whose WSGI app is set after it has a port."""

    def __init__(self) -> None:
        self.app: Any = None
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def _dispatch(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Message:
    path: str
    headers: dict[str, str]
    body: bytes
    event: Any
    duplicate: bool


@dataclass
class Central:
    """The central system's intake, on the SDK. ``fail`` makes the next N stores fail."""

    url: str
    secret: str = ""
    seen: SeenIds = field(default_factory=SeenIds)
    messages: list[Message] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    fail: int = 0

    def receiver(self) -> IntakeReceiver:
        return IntakeReceiver(self.secret, seen=self.seen)

    def of_type(self, event_type: str) -> list[Message]:
        return [m for m in self.messages if m.event.type == event_type]


def _central_app(central: Central) -> Flask:
    app = Flask("central")

    @app.post("/intake/v1/submissions")
    @app.post("/intake/v1/events")
    def intake() -> Any:
        body = request.get_data()
        try:
            with central.receiver().receive(body, request.headers) as msg:
                central.messages.append(Message(request.path, dict(request.headers), body,
                                                msg.event, msg.duplicate))
                if not msg.duplicate:
                    if central.fail:
                        central.fail -= 1
                        central.answers.append(500)
                        raise RuntimeError("the database is full")
                    central.stored.append(msg.event.id)
        except WebhookVerificationError as exc:
            central.answers.append(exc.status_code)
            return jsonify(title=str(exc), status=exc.status_code), exc.status_code
        except RuntimeError:
            return jsonify(title="store failed", status=500), 500
        central.answers.append(200)
        return jsonify(central_id="TH-2026-000001", status="received")

    return app


@pytest.fixture
def central_server() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.close()


@pytest.fixture
def relay_server() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.close()


@pytest.fixture
def app_config(app_config: dict[str, Any], central_server: _Server, relay_server: _Server) -> dict[str, Any]:
    return {**app_config, "CENTRAL_URL": central_server.url, "PUBLIC_URL": relay_server.url}


@pytest.fixture
def central(app: Any, central_server: _Server) -> Central:
    state = Central(url=central_server.url, secret=app.config["CENTRAL_SECRET"])
    central_server.app = _central_app(state)
    return state


@pytest.fixture
def relay(app: Any, relay_server: _Server) -> str:
    relay_server.app = app
    return relay_server.url


@pytest.fixture
def deliver(app: Any) -> Any:
    """Run the relay's outbox worker until nothing is due; returns the attempts made."""

    def run() -> int:
        worker = Worker(app, "contract")
        try:
            total = 0
            while (made := worker.run_once()):
                total += made
            return total
        finally:
            worker.close()

    return run
