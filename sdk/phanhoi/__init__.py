"""phanhoi: Python SDK for the Phản hồi Widget relay and for central systems."""

# The names below are imported on first use (PEP 562): ``import phanhoi.statuses`` or
# ``phanhoi.webhooks`` (what a relay's web process needs) loads no HTTP client.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .central import Delivery, EventSender, IntakeReceiver, SeenIds
    from .client import Client
    from .embed import embed_snippet, qr_svg, standalone_url, track_url
    from .errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AttachmentIntegrityError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        PhanHoiError,
        Problem,
        RateLimitError,
        UnprocessableEntityError,
        WebhookPayloadError,
        WebhookVerificationError,
    )
    from .events import (
        Event,
        SubmissionCreated,
        SubmissionDataRequest,
        SubmissionRated,
        SubmissionStatusChanged,
    )
    from .models import (
        STATUS_LABELS_VI,
        STATUSES,
        Answer,
        Attachment,
        Choice,
        Consent,
        ConsentGiven,
        ConsentRecord,
        HistoryEntry,
        Location,
        NotifyRequest,
        Rating,
        SiteConfig,
        SiteRef,
        SubmissionCreate,
        SubmissionReceipt,
        SubmissionStatus,
        Submitter,
        status_label,
    )
    from .webhooks import generate_secret, parse_secrets, sign, sign_headers, verify, verify_headers

_HOMES = {
    "Delivery": "central",
    "EventSender": "central",
    "IntakeReceiver": "central",
    "SeenIds": "central",
    "Client": "client",
    "embed_snippet": "embed",
    "qr_svg": "embed",
    "standalone_url": "embed",
    "track_url": "embed",
    "APIConnectionError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AttachmentIntegrityError": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConflictError": "errors",
    "InternalServerError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "PhanHoiError": "errors",
    "Problem": "errors",
    "RateLimitError": "errors",
    "UnprocessableEntityError": "errors",
    "WebhookPayloadError": "errors",
    "WebhookVerificationError": "errors",
    "Event": "events",
    "SubmissionCreated": "events",
    "SubmissionDataRequest": "events",
    "SubmissionRated": "events",
    "SubmissionStatusChanged": "events",
    "STATUS_LABELS_VI": "models",
    "STATUSES": "models",
    "Answer": "models",
    "Attachment": "models",
    "Choice": "models",
    "Consent": "models",
    "ConsentGiven": "models",
    "ConsentRecord": "models",
    "HistoryEntry": "models",
    "Location": "models",
    "NotifyRequest": "models",
    "Rating": "models",
    "SiteConfig": "models",
    "SiteRef": "models",
    "SubmissionCreate": "models",
    "SubmissionReceipt": "models",
    "SubmissionStatus": "models",
    "Submitter": "models",
    "status_label": "models",
    "generate_secret": "webhooks",
    "parse_secrets": "webhooks",
    "sign": "webhooks",
    "sign_headers": "webhooks",
    "verify": "webhooks",
    "verify_headers": "webhooks",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "STATUSES",
    "STATUS_LABELS_VI",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Answer",
    "Attachment",
    "AttachmentIntegrityError",
    "AuthenticationError",
    "BadRequestError",
    "Choice",
    "Client",
    "ConflictError",
    "Consent",
    "ConsentGiven",
    "ConsentRecord",
    "Delivery",
    "Event",
    "EventSender",
    "HistoryEntry",
    "IntakeReceiver",
    "InternalServerError",
    "Location",
    "NotFoundError",
    "NotifyRequest",
    "PermissionDeniedError",
    "PhanHoiError",
    "Problem",
    "RateLimitError",
    "Rating",
    "SeenIds",
    "SiteConfig",
    "SiteRef",
    "SubmissionCreate",
    "SubmissionCreated",
    "SubmissionDataRequest",
    "SubmissionRated",
    "SubmissionReceipt",
    "SubmissionStatus",
    "SubmissionStatusChanged",
    "Submitter",
    "UnprocessableEntityError",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "__version__",
    "embed_snippet",
    "generate_secret",
    "parse_secrets",
    "qr_svg",
    "sign",
    "sign_headers",
    "standalone_url",
    "status_label",
    "track_url",
    "verify",
    "verify_headers",
]
