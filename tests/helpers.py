"""Helpers shared by the test modules."""

from __future__ import annotations

import os
from typing import Any


def valid_submission(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "moi-truong",
        "agency": None,
        "title": "Rác thải tồn đọng ở chợ",
        "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi hôi thối ảnh hưởng người dân.",
        "location": {"commune_code": None, "address": "Cổng chợ Vườn Hoa", "lat": 19.80, "lon": 105.77},
        "submitter": {"name": "Lê Văn A", "phone": "0912345678", "email": None},
        "confidential": True,
        "consent": {"version": None, "accepted": True},
        "source_url": "https://baothanhhoa.example/bai-viet",
    }
    body.update(overrides)
    return body


def assert_problem(resp: Any, status: int, type_suffix: str | None = None) -> dict[str, Any]:
    """Every API error has one shape: RFC 9457 problem+json."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json(force=True)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["type"], str)
    if type_suffix is not None:
        assert body["type"].endswith("/" + type_suffix), body["type"]
    if "errors" in body:
        assert all(isinstance(k, str) and isinstance(v, list) and v for k, v in body["errors"].items())
    return body


# Debian's Chromium, as the browser tests launch it (tests/conftest.py, fixture ``browser``).
CHROMIUM = os.environ.get("PHANHOI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def post_large(client: Any, path: str, **kwargs: Any) -> Any:
    """``client.post`` for bodies werkzeug spools to a temporary file: the file is closed after."""
    from flask.testing import EnvironBuilder

    builder = EnvironBuilder(client.application, path, method="POST", **kwargs)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
