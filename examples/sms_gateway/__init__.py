"""A reference SMS gateway: the far side of the relay's ``notify-sms`` adapter.

It sends nothing to a phone network: it keeps what it would send, so the demo and
the tests can see it. What it shows is the contract a real gateway (or a small
shim in front of a carrier's API) keeps with the relay:

* ``POST /messages`` with ``{"to": "+84…", "text": "…", "reference": "…"}`` and an
  ``Idempotency-Key`` header. The first request with a key sends; a repeat with the
  same key and body answers as the first did (``Idempotent-Replayed: true``) and
  sends nothing; the same key with another body is refused (422). So a sender may
  retry after any timeout or crash without sending an SMS twice.
* ``Authorization: Bearer TOKEN`` when the gateway has a ``TOKEN`` (401 without it).
* Answers ``201 {"id", "segments"}``; 400 for a bad number or text; segments are
  counted as a network counts them (GSM 03.38: 160 septets, else UCS-2: 70 units).
* ``GET /messages`` lists what was sent (``{"messages": [{id, to, text, segments, reference}]}``).

Settings (``create_app`` mapping, or ``SMS_GATEWAY_*`` environment variables):
``TOKEN``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from typing import Any

from flask import Flask, Response, jsonify, request

__all__ = ["create_app", "segments"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def segments(text: str) -> int:
    """Parts a network splits ``text`` into: 160/153 septets in GSM-7, else 70/67 UTF-16 units."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(TOKEN=None)
    app.config.from_prefixed_env("SMS_GATEWAY")
    if config:
        app.config.update(config)
    lock = threading.Lock()
    sent: list[dict[str, Any]] = []
    answers: dict[str, tuple[str, dict[str, Any]]] = {}  # key → (body digest, first answer)
    app.extensions["sms_gateway"] = sent

    def problem(status: int, title: str) -> Response:
        resp = jsonify({"type": "about:blank", "title": title, "status": status})
        resp.status_code = status
        resp.mimetype = "application/problem+json"
        return resp

    @app.before_request
    def _authorise() -> Response | None:
        token = app.config["TOKEN"]
        given = request.headers.get("Authorization", "")
        if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return problem(401, "Unauthorized")
        return None

    @app.post("/messages")
    def send() -> Response:
        key = request.headers.get("Idempotency-Key", "")
        body = request.get_json(silent=True)
        if not key or len(key) > 200:
            return problem(400, "Idempotency-Key is required")
        if not isinstance(body, dict) or not isinstance(body.get("to"), str) \
                or not isinstance(body.get("text"), str) or not body["text"]:
            return problem(400, "to and text are required")
        if not E164.match(body["to"]):
            return problem(400, "to must be an E.164 number")
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with lock:
            if key in answers:
                first_digest, first = answers[key]
                if first_digest != digest:
                    return problem(422, "Idempotency-Key reused with another message")
                resp = jsonify(first)
                resp.headers["Idempotent-Replayed"] = "true"
                return resp
            message = {"id": "sms_" + uuid.uuid4().hex[:16], "to": body["to"], "text": body["text"],
                       "segments": segments(body["text"]), "reference": body.get("reference")}
            sent.append(message)
            answers[key] = (digest, {"id": message["id"], "segments": message["segments"]})
        resp = jsonify({"id": message["id"], "segments": message["segments"]})
        resp.status_code = 201
        return resp

    @app.get("/messages")
    def listing() -> Response:
        with lock:
            return jsonify({"messages": list(sent)})

    return app
