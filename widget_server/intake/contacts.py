"""Contacts: lookups compare keyed digests of the phone or email, never the contact itself."""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

import phonenumbers
import sqlalchemy as sa
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy.engine import Connection

from widget_server.config import secret_keys
from widget_server.errors import InvalidError
from widget_server.intake import codes, text
from widget_server.intake.phones import PHONE_SEPARATORS, vn_national_number
from widget_server.intake.schemas import parse_email
from widget_server.store import db


def digest(kind: str, value: str, secret: str | None = None) -> str:
    """A keyed digest of a contact detail: lookups work without keeping the detail itself."""
    secret = secret if secret is not None else str(current_app.config["SECRET_KEY"])
    # A copy of the HMAC already keyed: OpenSSL looks the hash up and sets the key once per
    # secret, not once per digest (a third of a digest's time).
    h = _keyed_hash(secret).copy()
    h.update(f"{kind}:{value}".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed_hash(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 keyed with the digest key derived from a secret key, once per secret (the
    current one and fallbacks); only ever copied."""
    key = hmac.new(secret.encode(), b"phanhoi.contact.v1", hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _phone_form(contact: str) -> str | None:
    """The typed contact as the E.164 number a submission stored (``parse_phone``), or None.

    Without ``parse_phone``'s validity check, the costly part of parsing: a submission's phone
    digest is always of a valid number, so a number that is not valid matches nothing anyway.
    A Vietnamese number typed as 0… or +84… is rewritten without the library (a tenth of a
    lookup): for every valid number that is what the library gives (tests/server/test_contacts.py)."""
    digits = PHONE_SEPARATORS.sub("", contact)
    national = vn_national_number(digits)
    if national:
        return "+84" + national
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def contact_digests(contact: str) -> list[str]:
    """Every digest the typed contact may match: as a phone number and as an email, under the
    current secret key and any earlier one still accepted (``PHANHOI_SECRET_KEY_FALLBACKS``)."""
    contact = text.clean(contact)
    forms: list[tuple[str, str]] = []
    phone = _phone_form(contact)
    if phone:
        forms.append(("phone", phone))
    if "@" in contact:
        try:
            forms.append(("email", parse_email(contact).casefold()))
        except ValidationError:
            forms.append(("email", contact.casefold()))
    forms = forms or [("none", contact)]
    return [digest(kind, value, secret) for secret in secret_keys(current_app.config)
            for kind, value in forms]


_DUMMY_DIGEST = "0" * 64


MISTYPED = "Mã theo dõi có vẻ bị gõ nhầm: ký tự kiểm tra không khớp. Vui lòng kiểm tra lại từng ký tự."


def canonical_code(tracking_code: str) -> str:
    """The code as stored ('' when it cannot be one); InvalidError (``tracking-code-mistyped``)
    when its check character is wrong: that says nothing about which submissions exist, and
    it tells the citizen what to fix."""
    canonical = codes.normalise(tracking_code or "")
    if canonical is None and codes.verdict(tracking_code or "") == "mistyped":
        raise InvalidError(MISTYPED, code="tracking-code-mistyped")
    return canonical or ""


def matches(row: Any, contact: str) -> bool:
    """True when ``contact`` is the row's phone or email; the same work for a missing row."""
    candidates = contact_digests(contact or "")
    stored = [row.phone_digest, row.email_digest] if row is not None else [_DUMMY_DIGEST]
    match = False
    for digest in candidates:
        for known in stored:
            # Compare every pair, so timing does not tell which (if any) matched.
            match |= hmac.compare_digest(digest, known or _DUMMY_DIGEST)
    return row is not None and match


def find(conn: Connection, tracking_code: str, contact: str) -> Any:
    """The submission row when code and contact match; the same None for either miss."""
    canonical = canonical_code(tracking_code)
    row = None
    if canonical:
        row = conn.execute(
            sa.select(db.submissions).where(db.submissions.c.tracking_code == canonical)
        ).one_or_none()
    return row if matches(row, contact) else None
