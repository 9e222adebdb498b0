"""Bodies are bounded while they stream in: a huge chunked body is refused after a few hundred KB."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import EnvironBuilder, encode_multipart, run_wsgi_app

from tests.helpers import assert_problem


class Endless(io.RawIOBase):
    """A chunked request body of ``size`` bytes, made as it is read; counts what was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.consumed)
        buffer[:n] = b" " * n
        self.consumed += n
        return n


def _post(client: Any, path: str, body: Endless, length: int | None, **headers: str) -> Any:
    content_type = headers.pop("content_type", "application/json")
    builder = EnvironBuilder(path=path, method="POST", headers=headers, content_type=content_type)
    environ = builder.get_environ()
    builder.close()  # the builder's own (empty) input stream: ours replaces it
    environ["wsgi.input"] = body
    if length is None:
        # As gunicorn passes a chunked body: no Content-Length, the input marked as terminated.
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(length)
    # Straight to the WSGI app: the test client would seek the stream to measure it.
    app_iter, status, response_headers = run_wsgi_app(client.application, environ, buffered=True)
    return client.application.response_class(b"".join(app_iter), status=status, headers=response_headers)


def _post_chunked(client: Any, path: str, size: int, **headers: str) -> tuple[Any, Endless]:
    body = Endless(size)
    return _post(client, path, body, None, **headers), body


BIG = 64 * 1024 * 1024  # far beyond every limit; a test must not hold it in memory


@pytest.mark.parametrize("path", [
    "/api/v1/central/events",
    "/api/v1/submissions/PH-AAAA-AAAAT/rating",
    "/api/v1/submissions/PH-AAAA-AAAAT/data-request",
    "/api/v1/submissions/PH-AAAA-AAAAT/lookup",
])
def test_a_huge_chunked_body_is_refused_while_streaming(client: Any, path: str) -> None:
    r, body = _post_chunked(client, path, BIG, **{"webhook-id": "m", "webhook-timestamp": "1",
                                                   "webhook-signature": "v1,x"})
    assert_problem(r, 413)
    assert body.consumed <= 1024 * 1024, body.consumed


def test_events_refuse_a_declared_huge_body_before_reading(client: Any) -> None:
    body = Endless(BIG)
    r = _post(client, "/api/v1/central/events", body, BIG)
    assert_problem(r, 413)
    assert body.consumed == 0


def test_submissions_with_files_keep_their_larger_limit(client: Any, site: Any,
                                                      submission_body: dict[str, Any]) -> None:
    import json
    import os

    from PIL import Image

    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    png = io.BytesIO()
    noise.save(png, "PNG")
    assert png.tell() > 1024 * 1024  # more than the app-wide limit
    # Encoded here: werkzeug's test client spools a body this big to a temporary file it never closes.
    boundary, body = encode_multipart({
        "submission": json.dumps(submission_body),
        "files": FileStorage(io.BytesIO(png.getvalue()), "anh.png", content_type="image/png")})
    r = client.post("/api/v1/submissions", data=body,
                    content_type=f"multipart/form-data; boundary={boundary}",
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "big-file"})
    assert r.status_code == 201, r.get_data(as_text=True)


def test_a_json_submission_has_the_json_limit(client: Any, site: Any) -> None:
    r, body = _post_chunked(client, "/api/v1/submissions", BIG, Authorization=f"Bearer {site[1]}",
                            **{"Idempotency-Key": "big-json"})
    assert_problem(r, 413)
    assert body.consumed <= 1024 * 1024


PARTS = b"".join(b'--B\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(1001)) + b"--B--\r\n"


@pytest.mark.parametrize(("path", "body", "content_type"), [
    ("/api/v1/submissions", PARTS, "multipart/form-data; boundary=B"),
    ("/w/{key}/form", PARTS, "multipart/form-data; boundary=B"),
    ("/w/{key}/track", b"code=PH-AAAA-AAAAT&contact=" + b"0" * 600_000, "application/x-www-form-urlencoded"),
])
def test_a_form_werkzeug_refuses_is_refused_without_an_error_in_the_log(
        app_config: dict[str, Any], site: Any, path: str, body: bytes, content_type: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """The limits read a browser's form (its phone, the tracking code): 1,001 parts or a field
    over 500 KB made werkzeug refuse the form there, and Flask-Limiter logged "Failed to rate
    limit" with a traceback at ERROR and let the request through every limit (any client could
    fill the log, and hide a real outage of the limits' store)."""
    from widget_server import create_app
    from widget_server.store import db

    limited = create_app({**app_config, "RATELIMIT_ENABLED": True})
    try:
        r = limited.test_client().post(path.format(key=site[0].key), data=body, content_type=content_type,
                                       headers={"Origin": "http://relay.test"})
    finally:
        db.get_engine(limited).dispose()
    assert 400 <= r.status_code < 500
    assert [rec.getMessage() for rec in caplog.records if rec.levelname in {"ERROR", "CRITICAL"}] == []
