"""Typed webhook events exchanged between the relay and a central system.

``parse_event`` turns a verified body into one of the frozen dataclasses below;
an unknown ``type`` gives the generic ``Event`` so new event types never break
an older receiver. Every event keeps the raw ``data`` dict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .errors import WebhookPayloadError
from .models import Attachment, ConsentRecord, Location, SiteRef, Submitter, parse_datetime

__all__ = [
    "RESULT_PUBLISHED",
    "RESULT_WITHDRAWN",
    "SUBMISSION_CREATED",
    "SUBMISSION_DATA_REQUEST",
    "SUBMISSION_RATED",
    "SUBMISSION_STATUS_CHANGED",
    "DataRequestKind",
    "Event",
    "SubmissionCreated",
    "SubmissionDataRequest",
    "SubmissionRated",
    "SubmissionStatusChanged",
    "parse_event",
]

SUBMISSION_CREATED = "submission.created"
SUBMISSION_STATUS_CHANGED = "submission.status_changed"
SUBMISSION_RATED = "submission.rated"
SUBMISSION_DATA_REQUEST = "submission.data_request"
#: Central system → relay: a PAKN's result made public ("công khai kết quả"), public fields only.
RESULT_PUBLISHED = "result.published"
#: Central system → relay: a published result taken back; it leaves every public output.
RESULT_WITHDRAWN = "result.withdrawn"

DataRequestKind = Literal["withdraw_consent", "delete"]


@dataclass(frozen=True)
class Event:
    """A verified webhook. ``id`` is the ``webhook-id`` header (the key to drop
    duplicates by), ``timestamp`` the body's ``timestamp`` (the header's when the
    body has none), ``data`` the raw ``data`` object."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class SubmissionCreated(Event):
    """``submission.created``: the relay forwards a new submission.

    ``consent`` is the record of what the citizen accepted (version, SHA-256 of the
    text, when, recipient); ``deadline`` is when the answer is due; ``source_url`` the
    article the citizen came from; ``src`` the campaign tag (``?src=`` of print and
    TV QR codes); ``via`` how it reached the relay (``form``, ``page`` or ``api``)."""

    submission_id: str
    tracking_code: str
    category: str
    agency: str | None
    title: str
    content: str
    location: Location | None
    submitter: Submitter
    confidential: bool
    consent: ConsentRecord | None
    site: SiteRef | None
    submitted_at: datetime | None
    attachments: tuple[Attachment, ...]
    deadline: datetime | None = None
    source_url: str | None = None
    src: str | None = None
    via: str | None = None


@dataclass(frozen=True)
class SubmissionStatusChanged(Event):
    """``submission.status_changed``: the central system reports progress.
    The relay keeps the highest ``sequence`` per submission."""

    submission_id: str
    central_id: str | None
    status: str
    note: str | None
    answer: str | None
    agency: str | None
    deadline: datetime | None
    sequence: int
    updated_at: datetime | None


@dataclass(frozen=True)
class SubmissionRated(Event):
    """``submission.rated``: the citizen rated the answer (hài lòng / không hài lòng)."""

    submission_id: str
    central_id: str | None
    tracking_code: str
    satisfied: bool
    comment: str | None
    rated_at: datetime | None


@dataclass(frozen=True)
class SubmissionDataRequest(Event):
    """``submission.data_request``: the citizen withdrew consent or asked for deletion
    (Law 91/2025/QH15; acknowledge within 2 working days)."""

    submission_id: str
    central_id: str | None
    tracking_code: str
    kind: str
    requested_at: datetime | None


def parse_event(body: bytes | str | Mapping[str, Any], *, msg_id: str, timestamp: int) -> Event:
    """Parse a webhook body into a typed event.

    ``msg_id`` and ``timestamp`` are the verified ``webhook-id`` and
    ``webhook-timestamp``. A body without a ``data`` object is exposed whole as
    ``data``. Raises ``WebhookPayloadError`` for a body that is not a JSON
    object or a known event type with missing or malformed fields."""
    if isinstance(body, Mapping):
        payload: Any = body
    else:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:  # nested past the stack too
            raise WebhookPayloadError("webhook body is not valid JSON") from e
    if not isinstance(payload, Mapping):
        raise WebhookPayloadError("webhook body is not a JSON object")
    event_type = payload.get("type")
    event_type = event_type if isinstance(event_type, str) else ""
    data_value = payload.get("data")
    data: dict[str, Any] = dict(data_value if isinstance(data_value, Mapping) else payload)
    try:
        when = parse_datetime(payload.get("timestamp"))
    except (TypeError, ValueError):
        when = None
    if when is None:
        when = datetime.fromtimestamp(timestamp, tz=UTC)
    base: dict[str, Any] = {"id": msg_id, "type": event_type, "timestamp": when, "data": data}
    builder = _BUILDERS.get(event_type)
    if builder is None:
        return Event(**base)
    try:
        return builder(base, data)
    except (KeyError, TypeError, ValueError) as e:
        raise WebhookPayloadError(f"malformed {event_type} event: {e!r}") from e


def _req_str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if value is None:
        raise ValueError(f"{key} is null")
    return str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _submission_created(base: dict[str, Any], d: Mapping[str, Any]) -> Event:
    location = d.get("location")
    consent = d.get("consent")
    site = d.get("site")
    attachments = d.get("attachments") or []
    return SubmissionCreated(
        **base,
        submission_id=_req_str(d, "id"),
        tracking_code=_req_str(d, "tracking_code"),
        category=str(d.get("category") or ""),
        agency=_opt_str(d.get("agency")),
        title=str(d.get("title") or ""),
        content=str(d.get("content") or ""),
        location=Location.from_dict(location) if isinstance(location, Mapping) else None,
        submitter=Submitter.from_dict(d.get("submitter") or {}),
        confidential=bool(d.get("confidential", True)),
        consent=ConsentRecord.from_dict(consent) if isinstance(consent, Mapping) else None,
        site=(
            SiteRef(key=str(site.get("key", "")), name=_opt_str(site.get("name")))
            if isinstance(site, Mapping)
            else None
        ),
        submitted_at=parse_datetime(d.get("submitted_at")),
        attachments=tuple(Attachment.from_dict(a) for a in attachments if isinstance(a, Mapping)),
        deadline=parse_datetime(d.get("deadline")),
        source_url=_opt_str(d.get("source_url")),
        src=_opt_str(d.get("src")),
        via=_opt_str(d.get("via")),
    )


def _status_changed(base: dict[str, Any], d: Mapping[str, Any]) -> Event:
    answer = d.get("answer")
    if isinstance(answer, Mapping):  # tolerate {text, agency, answered_at}
        answer = answer.get("text")
    sequence = d.get("sequence", 0)
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError("sequence must be an integer")
    return SubmissionStatusChanged(
        **base,
        submission_id=_req_str(d, "submission_id"),
        central_id=_opt_str(d.get("central_id")),
        status=_req_str(d, "status"),
        note=_opt_str(d.get("note")),
        answer=_opt_str(answer),
        agency=_opt_str(d.get("agency")),
        deadline=parse_datetime(d.get("deadline")),
        sequence=sequence,
        updated_at=parse_datetime(d.get("updated_at")),
    )


def _rated(base: dict[str, Any], d: Mapping[str, Any]) -> Event:
    satisfied = d["satisfied"]
    if not isinstance(satisfied, bool):
        raise TypeError("satisfied must be a boolean")
    return SubmissionRated(
        **base,
        submission_id=_req_str(d, "submission_id"),
        central_id=_opt_str(d.get("central_id")),
        tracking_code=str(d.get("tracking_code") or ""),
        satisfied=satisfied,
        comment=_opt_str(d.get("comment")),
        rated_at=parse_datetime(d.get("rated_at")),
    )


def _data_request(base: dict[str, Any], d: Mapping[str, Any]) -> Event:
    return SubmissionDataRequest(
        **base,
        submission_id=_req_str(d, "submission_id"),
        central_id=_opt_str(d.get("central_id")),
        tracking_code=str(d.get("tracking_code") or ""),
        kind=_req_str(d, "kind"),
        requested_at=parse_datetime(d.get("requested_at")),
    )


_BUILDERS: dict[str, Callable[[dict[str, Any], Mapping[str, Any]], Event]] = {
    SUBMISSION_CREATED: _submission_created,
    SUBMISSION_STATUS_CHANGED: _status_changed,
    SUBMISSION_RATED: _rated,
    SUBMISSION_DATA_REQUEST: _data_request,
}
