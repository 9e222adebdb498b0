"""Reading request bodies: JSON with a size bound, or multipart with a ``submission`` part and files."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from widget_server.intake import quickload
from widget_server.intake.schemas import flatten_errors
from widget_server.web.problems import Problem

MAX_JSON_BYTES = 256 * 1024
INVALID = "Vui lòng kiểm tra lại các thông tin được đánh dấu."


def json_body() -> Any:
    """The request's JSON, or a 400/413/415 problem explaining why not."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(415, "Gửi dữ liệu dạng application/json.", type="unsupported-media-type")
    raw = bounded_body(MAX_JSON_BYTES, f"Tối đa {MAX_JSON_BYTES // 1024} KB.")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "Dữ liệu không phải UTF-8 hợp lệ.", type="invalid-json") from exc
    return parse_json(decoded)


def bounded_body(limit: int, too_large: str) -> bytes:
    """The body, read no further than ``limit`` bytes, or a 413 problem: before reading when a
    ``Content-Length`` says so, while reading when a chunked body has none."""
    if (request.content_length or 0) > limit:
        raise Problem(413, too_large, type="too-large")
    request.max_content_length = min(limit, request.max_content_length or limit)
    try:
        raw = request.get_data(cache=True)
        if len(raw) >= limit:
            request.stream.read(1)  # at the limit: one byte more is too large (werkzeug raises)
    except RequestEntityTooLarge as exc:
        raise Problem(413, too_large, type="too-large") from exc
    if len(raw) > limit:
        raise Problem(413, too_large, type="too-large")
    return raw


def parse_json(text: str) -> Any:
    try:
        value = _DECODER.decode(text)
        # ``"\ud800"`` is JSON's grammar but no character: no text can hold it (RFC 8259 §8.2).
        if _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
            raise ValueError("a lone surrogate")
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "JSON không hợp lệ.", type="invalid-json") from exc
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(value: Any) -> bool:
    """A UTF-16 surrogate left alone in a string or a key (a pair of escapes makes one character)."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Made once (``json.loads`` with an option makes a decoder per call); it keeps no state.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def load(schema: Any, data: Any) -> dict[str, Any]:
    """``data`` through a request schema, or a 422 problem with messages by field.

    A well-formed body is loaded by the schema's own rules without marshmallow's machinery
    (``intake/quickload.py``; the schema's plan is made once per schema object, so the hot
    views keep theirs); anything else goes through marshmallow, which names what is wrong."""
    try:
        return quickload.load(schema, data if data is not None else {})
    except ValidationError as exc:
        raise Problem(422, INVALID, type="validation-error", errors=flatten_errors(exc.messages)) from exc


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def upload_room() -> int:
    """The largest body a submission with files may have: every file at its limit, plus the JSON."""
    cfg = current_app.config
    return int(cfg["MAX_ATTACHMENTS"]) * int(cfg["MAX_ATTACHMENT_BYTES"]) + 2 * MAX_JSON_BYTES


def submission_body() -> tuple[Any, list[FileStorage]]:
    """The submission JSON and the uploaded files: ``application/json`` or ``multipart/form-data``."""
    if request.mimetype != "multipart/form-data":
        return json_body(), []
    request.max_content_length = upload_room()
    request.max_form_memory_size = MAX_JSON_BYTES
    request.max_form_parts = 50
    raw = request.form.get("submission")
    if raw is None:
        raise Problem(400, "Thiếu phần 'submission' (JSON).", type="invalid-json")
    payload = parse_json(raw)
    # A part named "files" without a file name is a plain field: a file sent the wrong way.
    unexpected = (set(request.files) - {"files"}) | (set(request.form) & {"files"})
    if unexpected:
        raise Problem(422, "Tệp phải gửi trong phần 'files'.", type="validation-error",
                      errors={"files": ["Tệp phải gửi trong phần 'files'."]})
    return payload, request.files.getlist("files")
