"""The rows a new submission writes, made before its write transaction: the submission row, the
201 receipt (also the answer an idempotent replay gets) and the body forwarded to the central
system (docs/protocol.md, "submission.created").

On SQLite the write transaction holds the one write lock every process waits for, so everything
that needs no database is done before it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import quote

from flask import current_app

from widget_server.intake import codes, contacts, reference
from widget_server.intake.sites import Site
from widget_server.store import db


def track_page(*, public_url: str, site_key: str, code: str) -> str:
    """The site's status page on the relay with the code filled in (the citizen gives their phone
    or email there): the 201's ``status_url`` and the notices' link. Programs look up with
    ``POST …/{code}/lookup``; the contact never travels in a URL, so no ``GET`` of the API
    answers a status."""
    return f"{public_url}/w/{quote(site_key, safe='')}/track?code={quote(code, safe='-')}"


def status_url(site_key: str, code: str) -> str:
    return track_page(public_url=current_app.config["PUBLIC_URL"], site_key=site_key, code=code)


def receipt(row: dict[str, Any], site_key: str) -> dict[str, Any]:
    """The 201 body (and the answer a replay of the same idempotency key gets)."""
    return {
        "id": row["id"],
        "tracking_code": row["tracking_code"],
        "status": "received",
        "status_url": status_url(site_key, row["tracking_code"]),
        "deadline": row["deadline"].isoformat(),
    }


def new_row(site: Site, data: dict[str, Any], *, via: str, src: str | None) -> dict[str, Any]:
    """The submission's row, made before the write transaction: on SQLite the transaction holds
    the one write lock every process waits for, so it does only the statements."""
    now = db.utcnow()
    submitter = data["submitter"]
    location = data.get("location") or {}
    phone = submitter.get("phone") or None  # E.164 and normalised by validation
    email = submitter.get("email") or None
    consent = reference.consent_for(site.name)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tracking_code": codes.generate(),
        "site_id": site.id,
        "via": via,
        "src": src,
        "source_url": data.get("source_url"),
        "category": data["category"],
        "agency": data.get("agency") or None,
        "title": data["title"],
        "content": data["content"],
        "commune_code": location.get("commune_code") or None,
        "address": location.get("address") or None,
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "name": submitter["name"],
        "phone": phone,
        "email": email,
        "phone_digest": contacts.digest("phone", phone) if phone else None,
        "email_digest": contacts.digest("email", email.casefold()) if email else None,
        "confidential": data.get("confidential", True),
        "consent_version": consent.version,
        "consent_hash": consent.hash,
        "consent_at": now,
        "status": "received",
        "status_sequence": 0,
        "deadline": now + dt.timedelta(days=int(current_app.config["DEADLINE_DAYS"])),
        "submitted_at": now,
        "updated_at": now,
    }
    return row


def forward_data(row: Any, site: Site, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``data`` of ``submission.created`` (docs/protocol.md, "submission.created")."""
    consent = reference.consent_for(site.name)
    return {
        "id": row["id"],
        "tracking_code": row["tracking_code"],
        "category": row["category"],
        "agency": row["agency"],
        "title": row["title"],
        "content": row["content"],
        "location": {
            "commune_code": row["commune_code"],
            "address": row["address"],
            "lat": row["lat"],
            "lon": row["lon"],
        },
        "submitter": {"name": row["name"], "phone": row["phone"], "email": row["email"]},
        "confidential": row["confidential"],
        "consent": {
            "version": row["consent_version"],
            "text_sha256": row["consent_hash"],
            "accepted_at": row["consent_at"].isoformat(),
            "recipient": consent.recipient,
        },
        "site": {"key": site.key, "name": site.name},
        "source_url": row["source_url"],
        "src": row["src"],
        "via": row["via"],
        "submitted_at": row["submitted_at"].isoformat(),
        "deadline": row["deadline"].isoformat() if row["deadline"] else None,
        "attachments": attachments or [],
    }
