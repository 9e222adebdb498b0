"""Typed shapes of the relay's public API (docs/protocol.md in the repository).

Input models (``SubmissionCreate`` and its parts) are plain dataclasses with
``to_dict()``; answers are frozen dataclasses built with ``from_dict()`` that keep
the untouched JSON in ``raw`` so new server fields are never lost.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import requests

from .errors import AttachmentIntegrityError
from .statuses import STATUSES

__all__ = [
    "STATUSES",
    "STATUS_LABELS_VI",
    "Answer",
    "Attachment",
    "Choice",
    "Consent",
    "ConsentGiven",
    "ConsentRecord",
    "HistoryEntry",
    "Location",
    "Rating",
    "SiteConfig",
    "SiteRef",
    "SubmissionCreate",
    "SubmissionReceipt",
    "SubmissionStatus",
    "Submitter",
    "parse_datetime",
    "status_label",
]

#: Vietnamese labels for citizens and operators.
STATUS_LABELS_VI: dict[str, str] = {
    "received": "Đã nhận phản ánh",
    "forwarded": "Đã chuyển tới hệ thống của tỉnh",
    "accepted": "Đã tiếp nhận xử lý",
    "rejected": "Không tiếp nhận",
    "in_progress": "Đang xử lý",
    "answered": "Đã trả lời",
    "published": "Đã công khai kết quả",
}


def status_label(status: str) -> str:
    """Vietnamese label of a status; unknown values are shown as they are."""
    return STATUS_LABELS_VI.get(status, status)


def parse_datetime(value: Any) -> datetime | None:
    """Parse an ISO 8601 date or date-time (``Z`` accepted); ``None`` stays ``None``.

    Naive values are taken as UTC, which is what the relay sends."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise TypeError(f"not an ISO 8601 date-time: {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --------------------------------------------------------------------------- input


@dataclass
class Location:
    """Where the problem is. ``commune_code`` comes from the site config's
    ``communes``; a free-text ``address`` is always accepted (people still write
    district names that no longer exist since the 2025 reform)."""

    commune_code: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "commune_code": self.commune_code,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Location:
        return cls(
            commune_code=_opt_str(data.get("commune_code")),
            address=_opt_str(data.get("address")),
            lat=_opt_float(data.get("lat")),
            lon=_opt_float(data.get("lon")),
        )


@dataclass
class Submitter:
    """Who sends it. Decree 20/2008 Art. 7: a name and a way to reach the person
    (phone or email); anonymous submissions are refused by the central systems."""

    name: str
    phone: str | None = None
    email: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "phone": self.phone, "email": self.email}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submitter:
        return cls(
            name=str(data.get("name") or ""),
            phone=_opt_str(data.get("phone")),
            email=_opt_str(data.get("email")),
        )


@dataclass
class ConsentGiven:
    """The citizen's explicit consent to the consent text ``version`` from the site
    config (Law 91/2025/QH15: explicit, per purpose, provable). ``accepted_at`` is
    filled in by the relay; it is only sent when set."""

    version: str
    accepted: bool
    accepted_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "accepted": self.accepted}
        if self.accepted_at is not None:
            out["accepted_at"] = self.accepted_at.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentGiven:
        return cls(
            version=str(data.get("version") or ""),
            accepted=bool(data.get("accepted")),
            accepted_at=parse_datetime(data.get("accepted_at")),
        )


@dataclass
class NotifyRequest:
    """"Báo cho tôi khi có trả lời": one notice when the answer comes, by ``email`` or ``sms``
    (a channel the site config's ``notify_channels`` offers; the submitter must give that
    contact). A purpose of its own with its own consent (Law 91/2025/QH15): ``consent`` is the
    citizen's explicit acceptance of the config's ``notify_consent`` text, by its version."""

    by: Literal["email", "sms"]
    consent: ConsentGiven

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "consent": self.consent.to_dict()}


@dataclass
class SubmissionCreate:
    """Body of ``POST /api/v1/submissions``.

    ``confidential`` defaults to ``True``: "không công khai thông tin cá nhân" is
    on unless the citizen turns it off."""

    category: str
    title: str
    content: str
    submitter: Submitter
    consent: ConsentGiven
    agency: str | None = None
    location: Location | None = None
    confidential: bool = True
    source_url: str | None = None
    #: Where the citizen came from (``print``, ``tv``, ``facebook``…), sent only when set.
    src: str | None = None
    #: A notice when the answer comes, with its own consent; sent only when set.
    notify: NotifyRequest | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "category": self.category,
            "agency": self.agency,
            "title": self.title,
            "content": self.content,
            "location": self.location.to_dict() if self.location is not None else None,
            "submitter": self.submitter.to_dict(),
            "confidential": self.confidential,
            "consent": self.consent.to_dict(),
            "source_url": self.source_url,
        }
        if self.src is not None:
            out["src"] = self.src
        if self.notify is not None:
            out["notify"] = self.notify.to_dict()
        return out



# --------------------------------------------------------------------------- forwarded


@dataclass(frozen=True)
class ConsentRecord:
    """The proof of consent the relay forwards with ``submission.created``: which consent
    text (``version``, and the SHA-256 of its exact wording) the citizen accepted, when,
    and the recipient named in it (Law 91/2025/QH15: explicit, provable, naming who
    receives the data). The relay refuses a submission without consent, so a record
    means consent was given: ``accepted`` is always true for a parsed record."""

    version: str
    text_sha256: str | None
    accepted_at: datetime | None
    recipient: str | None

    @property
    def accepted(self) -> bool:
        return bool(self.version)

    def matches(self, text: str) -> bool:
        """Whether ``text`` is the exact consent wording the citizen accepted."""
        if not self.text_sha256:
            return False
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest, self.text_sha256.lower())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentRecord:
        return cls(
            version=str(data.get("version") or ""),
            text_sha256=_opt_str(data.get("text_sha256")),
            accepted_at=parse_datetime(data.get("accepted_at")),
            recipient=_opt_str(data.get("recipient")),
        )


@dataclass(frozen=True)
class Attachment:
    """A photo or PDF forwarded with a submission. ``url`` is a signed link that expires
    (the relay signs a fresh one on every delivery attempt): fetch the file when the
    message arrives, and check it against ``sha256`` with :meth:`verify`."""

    id: str
    filename: str
    content_type: str
    size: int | None
    sha256: str
    url: str | None

    def verify(self, content: bytes) -> bytes:
        """Return ``content`` when its size and SHA-256 are the forwarded ones; raise
        ``AttachmentIntegrityError`` otherwise (truncated, replaced or corrupted)."""
        if self.size is not None and len(content) != self.size:
            raise AttachmentIntegrityError(
                f"attachment {self.id}: {len(content)} bytes, expected {self.size}"
            )
        digest = hashlib.sha256(content).hexdigest()
        if not hmac.compare_digest(digest, self.sha256.lower()):
            raise AttachmentIntegrityError(f"attachment {self.id}: sha256 does not match")
        return content

    def download(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
    ) -> bytes:
        """Fetch the file from ``url`` and :meth:`verify` it. Reads at most ``size`` + 1
        bytes, so a wrong answer cannot fill memory."""
        if not self.url:
            raise AttachmentIntegrityError(f"attachment {self.id} has no url")
        import requests  # here, not at the top: the relay reads these shapes without an HTTP client

        getter = session or requests
        limit = (self.size if self.size is not None else 50 * 1024 * 1024) + 1
        with getter.get(self.url, stream=True, timeout=timeout, allow_redirects=False) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_content(64 * 1024):
                chunks.append(chunk)
                received += len(chunk)
                if received >= limit:
                    break
        return self.verify(b"".join(chunks))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        return cls(
            id=str(data.get("id") or ""),
            filename=str(data.get("filename") or ""),
            content_type=str(data.get("content_type") or "application/octet-stream"),
            size=_opt_int(data.get("size")),
            sha256=str(data.get("sha256") or ""),
            url=_opt_str(data.get("url")),
        )


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Choice:
    """One ``{code, name}`` entry of a site's categories, agencies or communes."""

    code: str
    name: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Choice:
        return cls(code=str(data.get("code", "")), name=str(data.get("name", "")))


@dataclass(frozen=True)
class Consent:
    """The consent text a citizen must accept, its version to send back, and who
    receives the data (Law 91/2025/QH15: the citizen must be told)."""

    version: str
    text: str
    recipient: str | None = None


@dataclass(frozen=True)
class SiteRef:
    """The news site a submission came through."""

    key: str
    name: str | None = None


@dataclass(frozen=True)
class SiteConfig:
    """``GET /api/v1/sites/{site_key}/config``."""

    name: str
    locale: str
    theme: dict[str, Any]
    categories: list[Choice]
    agencies: list[Choice]
    communes: list[Choice]
    required_fields: list[str]
    consent: Consent
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    #: The channels the relay can send a notice of the answer on (``email``, ``sms``; empty: none).
    notify_channels: list[str] = field(default_factory=list)
    #: The notice's own consent text and version (None where the relay sends no notices).
    notify_consent: Consent | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteConfig:
        consent = _mapping(data.get("consent"))

        def choices(key: str) -> list[Choice]:
            items = data.get(key) or []
            return [Choice.from_dict(item) for item in items if isinstance(item, Mapping)]

        return cls(
            name=str(data.get("name", "")),
            locale=str(data.get("locale") or "vi"),
            theme=dict(_mapping(data.get("theme"))),
            categories=choices("categories"),
            agencies=choices("agencies"),
            communes=choices("communes"),
            required_fields=[str(f) for f in data.get("required_fields") or []],
            consent=Consent(
                version=str(consent.get("version", "")),
                text=str(consent.get("text", "")),
                recipient=_opt_str(consent.get("recipient")),
            ),
            raw=dict(data),
            notify_channels=[str(c) for c in data.get("notify_channels") or []],
            notify_consent=Consent(version=str(notice.get("version", "")), text=str(notice.get("text", "")))
            if (notice := _mapping(data.get("notify_consent"))) else None,
        )


@dataclass(frozen=True)
class SubmissionReceipt:
    """Answer to a successful submit. ``replayed`` is true when the relay answered
    from its idempotency store (``Idempotent-Replayed: true``): the submission was
    created by an earlier attempt, not a second time."""

    id: str
    tracking_code: str
    status: str
    #: The site's status page with the code filled in: the link to give the citizen (their
    #: phone or email is asked there), as ``embed.track_url`` makes it. Programs use ``Client.status``.
    status_url: str | None
    replayed: bool = False
    #: When the answer is due (the relay's deadline, 17 days by default).
    deadline: datetime | None = None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, replayed: bool = False) -> SubmissionReceipt:
        return cls(
            id=str(data.get("id", "")),
            tracking_code=str(data.get("tracking_code", "")),
            status=str(data.get("status", "received")),
            status_url=_opt_str(data.get("status_url")),
            replayed=replayed,
            deadline=parse_datetime(data.get("deadline")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    at: datetime | None
    note: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        return cls(
            status=str(data.get("status", "")),
            at=parse_datetime(data.get("at")),
            note=_opt_str(data.get("note")),
        )


@dataclass(frozen=True)
class Answer:
    """The competent agency's answer."""

    text: str
    agency: str | None = None
    answered_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        return cls(
            text=str(data.get("text", "")),
            agency=_opt_str(data.get("agency")),
            answered_at=parse_datetime(data.get("answered_at")),
        )


@dataclass(frozen=True)
class Rating:
    """The citizen's satisfaction with the answer (hài lòng / không hài lòng)."""

    satisfied: bool
    comment: str | None = None
    rated_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rating:
        return cls(
            satisfied=bool(data.get("satisfied")),
            comment=_opt_str(data.get("comment")),
            rated_at=parse_datetime(data.get("rated_at")),
        )


@dataclass(frozen=True)
class SubmissionStatus:
    """``POST /api/v1/submissions/{tracking_code}/lookup`` ``{"contact": …}``."""

    tracking_code: str
    status: str
    history: list[HistoryEntry]
    answer: Answer | None
    deadline: datetime | None = None
    overdue: bool = False
    rating: Rating | None = None
    #: Whether the citizen may rate the answer now.
    can_rate: bool = False
    submitted_at: datetime | None = None
    category: str | None = None
    title: str | None = None
    #: The citizen withdrew consent to the processing of their personal data.
    consent_withdrawn: bool = False
    #: Personal data was removed (deletion request or retention period).
    redacted: bool = False
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def status_label(self) -> str:
        """The relay's label of ``status`` (in the language asked for), else the SDK's
        Vietnamese one."""
        given = self.raw.get("status_label")
        return given if isinstance(given, str) and given else status_label(self.status)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubmissionStatus:
        answer = data.get("answer")
        rating = data.get("rating")
        return cls(
            tracking_code=str(data.get("tracking_code", "")),
            status=str(data.get("status", "")),
            history=[
                HistoryEntry.from_dict(h)
                for h in data.get("history") or []
                if isinstance(h, Mapping)
            ],
            answer=Answer.from_dict(answer) if isinstance(answer, Mapping) else None,
            deadline=parse_datetime(data.get("deadline")),
            overdue=bool(data.get("overdue", False)),
            rating=Rating.from_dict(rating) if isinstance(rating, Mapping) else None,
            can_rate=bool(data.get("can_rate", False)),
            submitted_at=parse_datetime(data.get("submitted_at")),
            category=_opt_str(data.get("category")),
            title=_opt_str(data.get("title")),
            consent_withdrawn=bool(data.get("consent_withdrawn", False)),
            redacted=bool(data.get("redacted", False)),
            raw=dict(data),
        )
