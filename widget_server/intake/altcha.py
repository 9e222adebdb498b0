"""ALTCHA proof of work: bot friction without a third-party captcha.

Off by default; a site turns it on with ``phanhoi-widget sites set KEY --altcha``.
The form fetches ``GET /api/v1/sites/<key>/altcha``, finds the number ``n`` with
``SHA-256(salt + n) == challenge`` (``static/widget/altcha.js``) and sends the
base64 JSON payload as the submission's ``altcha`` field. The relay checks the
HMAC signature (key derived from ``SECRET_KEY``), the expiry and the site the
challenge was made for, and accepts each solved challenge once; a retry of the
same form post (same form token) may present it again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import altcha
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from widget_server.store import db
from widget_server.intake import sites
from widget_server.errors import RefusedError

MSG_REQUIRED = "Trình duyệt chưa hoàn tất bước kiểm tra chống gửi tự động. Vui lòng thử gửi lại."
MSG_INVALID = "Bước kiểm tra chống gửi tự động không hợp lệ hoặc đã hết hạn. Vui lòng thử gửi lại."


def hmac_key() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"phanhoi.altcha.v1", hashlib.sha256).hexdigest()


def new_challenge(site_key: str) -> dict[str, Any]:
    expires = db.utcnow() + dt.timedelta(seconds=int(current_app.config["ALTCHA_EXPIRES_SECONDS"]))
    challenge = altcha.create_challenge_v1(  # type: ignore[call-overload]
        algorithm="SHA-256", max_number=int(current_app.config["ALTCHA_MAX_NUMBER"]),
        hmac_key=hmac_key(), expires=expires, params={"site": site_key})
    return challenge.to_dict()


def _decode(value: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RefusedError(MSG_INVALID, code="altcha-invalid") from exc
    if not isinstance(data, dict):
        raise RefusedError(MSG_INVALID, code="altcha-invalid")
    return data


def verify(site: sites.Site, value: Any) -> tuple[str, dt.datetime]:
    """(challenge, expiry) of a valid solution for ``site``, or RefusedError."""
    if not isinstance(value, str) or not value or len(value) > 4000:
        raise RefusedError(MSG_REQUIRED, code="altcha-required")
    data = _decode(value)
    if data.get("algorithm") != "SHA-256" or not isinstance(data.get("number"), int) \
            or not isinstance(data.get("salt"), str) or not isinstance(data.get("challenge"), str):
        raise RefusedError(MSG_INVALID, code="altcha-invalid")
    if not 0 <= data["number"] <= int(current_app.config["ALTCHA_MAX_NUMBER"]):
        raise RefusedError(MSG_INVALID, code="altcha-invalid")
    ok, _error = altcha.verify_solution_v1(data, hmac_key(), check_expires=True)  # type: ignore[call-overload]
    if not ok:
        raise RefusedError(MSG_INVALID, code="altcha-invalid")
    params = altcha.extract_params_v1(data)  # type: ignore[arg-type]
    expires = params.get("expires") or []
    # A challenge without expiry or made for another site is not one we issued for this form.
    if params.get("site") != [site.key] or len(expires) != 1:
        raise RefusedError(MSG_INVALID, code="altcha-invalid")
    return data["challenge"], dt.datetime.fromtimestamp(int(expires[0]), dt.UTC)


def spend(challenge_hex: str, expires_at: dt.datetime, used_by: str | None) -> None:
    """Record a challenge as used; a second use (other than a retry of the same post) is refused."""
    now = db.utcnow()
    try:
        with db.write() as conn:
            conn.execute(sa.delete(db.altcha_spent).where(db.altcha_spent.c.expires_at < now))
            conn.execute(sa.insert(db.altcha_spent).values(
                challenge=challenge_hex, used_by=used_by, expires_at=expires_at))
        return
    except IntegrityError:
        pass
    with db.read() as conn:
        row = conn.execute(sa.select(db.altcha_spent.c.used_by).where(
            db.altcha_spent.c.challenge == challenge_hex)).one_or_none()
    if row is not None and used_by and row.used_by and hmac.compare_digest(row.used_by, used_by):
        return
    raise RefusedError(MSG_INVALID, code="altcha-replayed")


def require(site: sites.Site, payload: Any, idempotency_key: str | None, *, busy: bool = False) -> None:
    """For sites with ALTCHA on, and from a busy address (``busy``): a valid, unexpired,
    unused solution in ``payload["altcha"]``."""
    if not (site.altcha or busy):
        return
    value = payload.get("altcha") if isinstance(payload, dict) else None
    challenge_hex, expires_at = verify(site, value)
    spend(challenge_hex, expires_at, idempotency_key)
