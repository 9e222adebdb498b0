"""Signed form tokens: proof that a browser submission came through our form page.

A token names its site, carries a random nonce and its issue time (itsdangerous,
salt per purpose, ``max_age``). The nonce doubles as the submission's
idempotency key, so a double click or a replayed token never makes a second
submission.
"""

from __future__ import annotations

import functools

import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from widget_server.config import secret_keys
from widget_server.errors import RefusedError

PREFIX = "ft1."
SALT = "phanhoi.form-token.v1"


class FormTokenError(RefusedError):
    """The token is missing, forged, expired, for another site, or used too fast."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class FormToken:
    site_key: str
    nonce: str
    issued_at: float


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe format, without its zlib attempt on short payloads: a form
    token's few dozen bytes never compress, and trying costs a zlib stream (about 50 µs) per
    token. What it writes is what itsdangerous writes when compression does not pay, and it
    reads both forms."""

    def dump_payload(self, obj: Any) -> bytes:
        json = Serializer.dump_payload(self, obj)
        return base64_encode(json) if len(json) < SHORT_PAYLOAD else super().dump_payload(obj)


SHORT_PAYLOAD = 200


def serializer(salt: str) -> URLSafeTimedSerializer:
    """A signer for one purpose (its salt): signs with the current secret key and still
    verifies what was signed before a rotation (``PHANHOI_SECRET_KEY_FALLBACKS``)."""
    return _serializer(tuple(secret_keys(current_app.config)), salt)


@functools.lru_cache(maxsize=16)
def _serializer(keys: tuple[str, ...], salt: str) -> URLSafeTimedSerializer:
    # Made once per set of keys and purpose (a serializer keeps no state between calls): every
    # form page issues a token.
    return _Serializer(list(keys), salt=salt)


def issue_form_token(site_key: str) -> str:
    return PREFIX + serializer(SALT).dumps({"s": site_key, "n": secrets.token_urlsafe(12)})


def verify_form_token(
    token: str | None, site_key: str | None, *, check_fill_time: bool = True
) -> FormToken:
    """Check a token; with ``site_key=None`` the site is the one the token names."""
    if not token or not token.startswith(PREFIX) or len(token) > 500:
        raise FormTokenError(
            "Phiên gửi không hợp lệ. Vui lòng tải lại trang và gửi lại.", "form-token-missing"
        )
    max_age = int(current_app.config["FORM_TOKEN_MAX_AGE"])
    try:
        data, issued = serializer(SALT).loads(
            token[len(PREFIX):], max_age=max_age, return_timestamp=True
        )
    except SignatureExpired as exc:
        raise FormTokenError(
            "Phiên gửi đã hết hạn. Vui lòng tải lại trang rồi gửi lại (nội dung đã nhập vẫn còn).",
            "form-token-expired",
        ) from exc
    except BadSignature as exc:
        raise FormTokenError(
            "Phiên gửi không hợp lệ. Vui lòng tải lại trang và gửi lại.", "form-token-invalid"
        ) from exc
    if (not isinstance(data, dict) or not isinstance(data.get("s"), str)
            or (site_key is not None and data["s"] != site_key)
            or not isinstance(data.get("n"), str)):
        raise FormTokenError(
            "Phiên gửi không thuộc trang này. Vui lòng tải lại trang.", "form-token-invalid"
        )
    issued_at = issued.timestamp()
    min_fill = float(current_app.config["MIN_FILL_SECONDS"])
    if check_fill_time and time.time() - issued_at < min_fill:
        raise FormTokenError(
            "Biểu mẫu được gửi quá nhanh. Vui lòng kiểm tra lại nội dung rồi gửi.", "too-fast"
        )
    return FormToken(site_key=data["s"], nonce=data["n"], issued_at=issued_at)
