"""Standard Webhooks signing and verification (https://www.standardwebhooks.com/).

Both directions between the relay and a central system use it: the relay signs
``submission.created`` (and ``submission.rated`` / ``submission.data_request``);
the central system signs ``submission.status_changed``.

Signature (spec "Signature scheme"): ``v1,`` + base64(HMAC-SHA256(key,
"{webhook-id}.{webhook-timestamp}.{body}")), where ``key`` is the base64-decoded
part of the ``whsec_…`` secret. ``webhook-signature`` is a space-separated list
so a sender can sign with the old and the new secret while rotating.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from .errors import WebhookVerificationError
from .events import Event, parse_event

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "HeadersLike",
    "WebhookVerificationError",
    "generate_secret",
    "parse_secrets",
    "sign",
    "sign_headers",
    "verify",
    "verify_headers",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
#: Seconds a message may be older or newer than "now" (spec default: 5 minutes),
#: which bounds replays of a captured request.
DEFAULT_TOLERANCE = 300


class HeadersLike(Protocol):
    """Anything with ``items()``: a ``dict``, ``requests``/Flask/Django headers,
    ``http.server``'s ``email.message.Message``."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def generate_secret(nbytes: int = 32) -> str:
    """A new ``whsec_…`` secret with ``nbytes`` (24–64) random bytes."""
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret should have 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    raw = secret.strip()
    raw = raw.removeprefix(SECRET_PREFIX)
    try:
        # Accept unpadded base64, as the reference libraries do.
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from e
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _secret_list(secret: str | Sequence[str]) -> list[str]:
    items = [secret] if isinstance(secret, str) else list(secret)
    # The relay's settings hold several secrets comma-separated while rotating (base64
    # has neither commas nor spaces, so either separates them).
    out = [part for item in items for part in re.split(r"[,\s]+", str(item)) if part]
    if not out:
        raise ValueError("at least one webhook secret is required")
    return out


def parse_secrets(secret: str | Sequence[str]) -> list[str]:
    """Check secrets up front: ``whsec_…`` (or bare base64) of at least 16 bytes, one or
    several (a list, or comma-separated as in the relay's settings while rotating).

    Raises ``ValueError`` naming which secret (by position, never its value) is unusable,
    so a wrong setting stops the receiver at start-up instead of refusing every message."""
    if secret is None or (not isinstance(secret, str) and not isinstance(secret, Sequence)):
        raise ValueError("webhook secret must be a string or a list of strings")
    items = _secret_list(secret)
    for position, item in enumerate(items, start=1):
        try:
            key = _secret_key(item)
        except ValueError as e:
            raise ValueError(f"webhook secret #{position}: {e}") from None
        if len(key) < 16:
            raise ValueError(
                f"webhook secret #{position} is too short ({len(key)} bytes; use generate_secret())"
            )
    return items


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(msg_id: str, timestamp: int, body: bytes | str, secret: str) -> str:
    """The ``v1,<base64>`` signature of one message with one secret."""
    digest = _digest(_secret_key(secret), msg_id, int(timestamp), _as_bytes(body))
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_headers(
    body: bytes | str,
    secret: str | Sequence[str],
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``.

    Pass several secrets while rotating: one ``v1`` signature per secret. Keep
    ``msg_id`` identical across retries of the same message (receivers drop
    duplicates by it); let ``timestamp`` default to now on every attempt."""
    msg_id = msg_id if msg_id is not None else "msg_" + _secrets.token_urlsafe(18)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    data = _as_bytes(body)
    signatures = " ".join(sign(msg_id, ts, data, s) for s in _secret_list(secret))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signatures,
    }


def verify_headers(
    body: bytes | str,
    headers: HeadersLike,
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> str:
    """Verify headers and signature without parsing the body; return the ``webhook-id``.

    Raises ``WebhookVerificationError`` on any failure."""
    msg_id, _ = _verify(body, headers, secret, tolerance=tolerance, now=now)
    return msg_id


def verify(
    body: bytes | str,
    headers: HeadersLike,
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> Event:
    """Verify a webhook and return it as a typed event (``SubmissionCreated``,
    ``SubmissionStatusChanged``, ``SubmissionRated``, ``SubmissionDataRequest``, or
    the generic ``Event`` for other types).

    ``headers`` is matched case-insensitively (a ``dict``, ``requests``' or Flask's
    headers all work). With several secrets (rotation) any secret matching any
    ``v1`` signature is accepted. Pass the raw request bytes: re-serialised JSON
    will not match. Raises ``WebhookVerificationError`` on any failure."""
    msg_id, ts = _verify(body, headers, secret, tolerance=tolerance, now=now)
    return parse_event(_as_bytes(body), msg_id=msg_id, timestamp=ts)


def _verify(
    body: bytes | str,
    headers: HeadersLike,
    secret: str | Sequence[str],
    *,
    tolerance: int,
    now: int | None,
) -> tuple[str, int]:
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "").strip()
    ts_header = lowered.get("webhook-timestamp", "").strip()
    sig_header = lowered.get("webhook-signature", "").strip()
    if not (msg_id and ts_header and sig_header):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not (ts_header.isascii() and ts_header.isdigit()):  # "²" is a digit to isdigit, not to int
        raise WebhookVerificationError("webhook-timestamp is not a unix timestamp")
    ts = int(ts_header)
    current = int(time.time()) if now is None else int(now)
    if ts < current - tolerance:
        raise WebhookVerificationError("webhook timestamp too old")
    if ts > current + tolerance:
        raise WebhookVerificationError("webhook timestamp too new")
    try:
        keys = [_secret_key(s) for s in _secret_list(secret)]
    except ValueError as e:
        raise WebhookVerificationError(f"unusable webhook secret: {e}") from e

    candidates: list[bytes] = []
    for item in sig_header.split():
        version, sep, value = item.partition(",")
        if not sep or version != "v1":  # other schemes (v1a = ed25519) are not ours
            continue
        try:
            candidates.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    data = _as_bytes(body)
    for key in keys:
        expected = _digest(key, msg_id, ts, data)
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate):
                return msg_id, ts
    raise WebhookVerificationError("no matching webhook signature")
