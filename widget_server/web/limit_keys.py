"""Who a rate limit counts: the client IP, the contact, the site, the tracking code, the account.

Each function reads the current request only; ``limits.py`` puts them to work. The site is
resolved once per request and kept in the WSGI environ (the views look it up too).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
from typing import Any

from flask import request
from werkzeug.exceptions import HTTPException

from widget_server.intake import sites


def client_ip() -> str:
    """The client's address as the limits count it: an IPv6 address by its /64, the block one
    subscriber is given (counting each address would hand anyone 2^64 fresh budgets)."""
    address = request.remote_addr or "unknown"
    if ":" in address:
        with contextlib.suppress(ValueError):
            return str(ipaddress.IPv6Network((address.split("%")[0], 64), strict=False))
    return address


def is_partner() -> bool:
    """A request with a valid site secret (a partner's server), as resolved for the site key."""
    _site_key_for_request()
    return bool(request.environ.get("phanhoi.limit_partner"))


def is_browser() -> bool:
    return not is_partner()


def accepted(resp: Any) -> bool:
    """Only an accepted submission counts (201 from the API, 200 from a form page's post)."""
    return resp.status_code in {200, 201} and resp.headers.get("Idempotent-Replayed") != "true"


def failed(resp: Any) -> bool:
    """A lookup (or rating, data request) that found nothing: a guess, or a typo. A 409 (not
    answered yet, rated already, a key used for another request) comes only once the code and
    its contact matched: the submission's owner, who spends nothing."""
    return bool(resp.status_code >= 400 and resp.status_code != 409)


def refused(resp: Any) -> bool:
    """Only a refused sign-in counts (401: wrong email, password or code)."""
    return bool(resp.status_code == 401)


def contact_key() -> str:
    """The keyed digest of the submission's phone (or email): one person behind any address."""
    value = _submission_contact()
    if not value:
        return "contact:none"
    from widget_server.intake import contacts

    return "contact:" + contacts.contact_digests(value[:254])[-1]


def _submission_contact() -> str | None:
    from widget_server.web.api.body import upload_room

    if request.mimetype == "multipart/form-data":
        request.max_content_length = upload_room()  # as the views allow; the body is parsed once
        try:
            form = request.form
        except HTTPException:
            # Too large, too many parts: the view refuses it. Raised here, it made Flask-Limiter
            # log a traceback at ERROR and skip every limit for the request.
            return None
        if "submission" not in form:  # the no-JavaScript page posts its fields by name
            return form.get("submitter.phone") or form.get("submitter.email")
        try:
            payload = json.loads(form["submission"])
        except ValueError:
            return None
    else:
        payload = request.get_json(silent=True)
    submitter = payload.get("submitter") if isinstance(payload, dict) else None
    if not isinstance(submitter, dict):
        return None
    value = submitter.get("phone") or submitter.get("email")
    return value if isinstance(value, str) else None


def partner_site(token: str) -> sites.Site | None:
    """The site whose secret key ``token`` is, looked up once per request: the limiter (before
    and after the view) and the view itself share the answer."""
    cached = request.environ.get("phanhoi.partner_site")
    if cached is not None and cached[0] == token:
        return cached[1]  # type: ignore[no-any-return]
    site = sites.site_for_secret(token)
    request.environ["phanhoi.partner_site"] = (token, site)
    return site


def _site_key_for_request() -> str:
    """The site a submission is for, resolved without trusting anything unsigned."""
    # Cached on the request (not ``g``: an app context may outlive one request).
    cached = request.environ.get("phanhoi.limit_site")
    if cached is not None:
        return str(cached)
    key = "unknown"
    view_args = request.view_args or {}
    if view_args.get("site_key"):
        key = str(view_args["site_key"])[:40]
    else:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            site = partner_site(token)
            # Wrong secrets share one bucket per digest prefix: they are refused anyway.
            key = site.key if site else "bad-secret:" + hashlib.sha256(token.encode()).hexdigest()[:8]
            request.environ["phanhoi.limit_partner"] = site is not None
        else:
            from widget_server.intake.tokens import FormTokenError, verify_form_token

            try:
                key = verify_form_token(request.headers.get("X-Form-Token"), None,
                                        check_fill_time=False).site_key
            except FormTokenError:
                key = "bad-form-token"
    request.environ["phanhoi.limit_site"] = key
    return key


def site_key() -> str:
    return "site:" + _site_key_for_request()


def tracking_code_key() -> str:
    from widget_server.intake import codes

    try:
        code = request.values.get("code")
    except HTTPException:  # a form the view refuses (too large): as in _submission_contact
        code = request.args.get("code")
    raw = str((request.view_args or {}).get("tracking_code") or code or "")
    return "code:" + (codes.normalise(raw[:40]) or "invalid")


def code_and_ip_key() -> str:
    """One address's guesses at one code's contact."""
    return tracking_code_key() + "|" + client_ip()


def sign_in_key() -> str:
    """The account a sign-in is for, as a digest: guessing one account's password from many
    addresses spends one budget."""
    email = (request.form.get("email") or "").strip().lower()[:320]
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:16]
