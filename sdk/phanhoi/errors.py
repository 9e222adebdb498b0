"""The SDK's error tree, and the one place HTTP failures are translated into it.

``PhanHoiError`` is the root; catch it to catch everything this package raises.

    PhanHoiError
    ├── APIConnectionError          the relay could not be reached
    │   └── APITimeoutError         connect or read timeout
    ├── APIStatusError              the relay answered with a 4xx/5xx status
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── UnprocessableEntityError    422 (``errors``: field -> messages)
    │   ├── RateLimitError              429 (``retry_after``)
    │   └── InternalServerError         5xx
    ├── WebhookVerificationError    a webhook is not authentic (answer 401)
    │   └── WebhookPayloadError         authentic, but not an event we can read (answer 400)
    └── AttachmentIntegrityError    a downloaded attachment does not match its sha256
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: verifying a webhook needs no HTTP client
    import requests

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AttachmentIntegrityError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PhanHoiError",
    "Problem",
    "RateLimitError",
    "UnprocessableEntityError",
    "WebhookPayloadError",
    "WebhookVerificationError",
]

#: Longest wait taken from a ``Retry-After`` header, in seconds.
RETRY_AFTER_CAP = 60.0


class PhanHoiError(Exception):
    """Base class of every error raised by the ``phanhoi`` package."""


class APIConnectionError(PhanHoiError):
    """The relay could not be reached (DNS, refused connection, TLS, reset...)."""


class APITimeoutError(APIConnectionError):
    """The relay did not answer within the configured ``timeout``."""


class WebhookVerificationError(PhanHoiError):
    """A webhook failed verification: missing or malformed header, timestamp out of
    tolerance, no matching signature or unusable secret. Do not process it and answer
    ``status_code`` (401): the relay then pauses deliveries to you until an operator
    runs ``outbox resume``, instead of dropping messages as it does for other 4xx.
    (A 400 would tell the relay the message itself is bad, and it would give up on it.)"""

    status_code = 401


class WebhookPayloadError(WebhookVerificationError):
    """The webhook is authentic but its body is not the expected JSON event: the sender's
    bug, not an attacker's. Answer ``status_code`` (400); the relay stops retrying it."""

    status_code = 400


class AttachmentIntegrityError(PhanHoiError):
    """An attachment's bytes do not match the ``sha256`` (or ``size``) the relay forwarded."""


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 ``application/problem+json`` document as the relay sends it."""

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    #: Field -> messages (flattened: nested fields are joined with ``.``).
    errors: dict[str, list[str]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        status = data.get("status")
        return cls(
            type=str(data.get("type") or "about:blank"),
            title=_opt_str(data.get("title")),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            detail=_opt_str(data.get("detail")),
            instance=_opt_str(data.get("instance")),
            errors=_flatten_errors(data.get("errors")),
            raw=dict(data),
        )


class APIStatusError(PhanHoiError):
    """The relay answered with an error status. ``problem`` is set when the body was
    problem+json; ``body`` holds the parsed JSON (or the text) either way."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: Any = None,
        problem: Problem | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.problem = problem
        self.headers: dict[str, str] = dict(headers or {})


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: missing or wrong site secret key."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: unknown site, or unknown tracking code / contact pair."""


class ConflictError(APIStatusError):
    """409: e.g. a request with the same ``Idempotency-Key`` is still in progress."""


class UnprocessableEntityError(APIStatusError):
    """422: validation failed, or an ``Idempotency-Key`` was reused with another body."""

    @property
    def errors(self) -> dict[str, list[str]]:
        """Field -> messages from the problem's ``errors`` member (empty if none)."""
        return self.problem.errors if self.problem is not None else {}


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the relay asked to wait, uncapped (it may be 45 minutes)."""
        return parse_retry_after(self.headers.get("retry-after"), cap=math.inf)


class InternalServerError(APIStatusError):
    """5xx: the relay failed; retried automatically before this is raised."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def parse_retry_after(
    value: str | None, *, now: float | None = None, cap: float = RETRY_AFTER_CAP
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 §10.2.3: delay-seconds or
    an HTTP-date), clamped to ``[0, cap]``; ``None`` if absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit, not to float
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 HTTP-dates are always GMT
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), cap)


def status_error_from_response(response: requests.Response) -> APIStatusError:
    """Build the matching ``APIStatusError`` subclass for an error response."""
    status = response.status_code
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    problem = Problem.from_dict(body) if isinstance(body, dict) else None
    request_id = response.headers.get("X-Request-Id")
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    message = f"HTTP {status}"
    if problem is not None and (problem.title or problem.detail):
        message += ": " + " - ".join(p for p in (problem.title, problem.detail) if p)
    elif isinstance(body, str) and body.strip():
        message += ": " + body.strip()[:200]
    if request_id:
        message += f" (request id {request_id})"
    headers = {k.lower(): v for k, v in response.headers.items()}
    return cls(
        message,
        status_code=status,
        request_id=request_id,
        body=body,
        problem=problem,
        headers=headers,
    )


def connection_error_from(exc: requests.RequestException) -> APIConnectionError:
    """Translate a ``requests`` transport exception (the caller chains it with ``from``)."""
    import requests

    if isinstance(exc, requests.Timeout):
        return APITimeoutError(f"request timed out: {exc}")
    return APIConnectionError(f"could not reach the relay: {exc}")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _flatten_errors(value: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow nests messages for nested fields ({"location": {"lat": [...]}});
    flatten to dotted keys so callers can map them onto form fields directly."""
    out: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for key, inner in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten_errors(inner, name))
    elif isinstance(value, list | tuple):
        messages: list[str] = []
        for item in value:
            if isinstance(item, Mapping):
                out.update(_flatten_errors(item, prefix))
            else:
                messages.append(str(item))
        if messages:
            out[prefix or "_schema"] = messages
    elif value is not None:
        out[prefix or "_schema"] = [value if isinstance(value, str) else json.dumps(value)]
    return out
