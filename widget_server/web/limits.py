"""Rate limits: per client IP and per site, on every endpoint a stranger can write to.

Flask-Limiter with the storage named by ``RATELIMIT_STORAGE_URI`` (memory for one
process, Redis for several). Limits are attached to the views by endpoint name,
so the API and the no-JavaScript pages share the same budgets without their
modules knowing about limits. The client IP is ``request.remote_addr``; behind
``PROXY_HOPS`` trusted reverse proxies, werkzeug's ProxyFix takes it from
``X-Forwarded-For`` first.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from widget_server.intake import sites
from widget_server.web.problems import Problem, problem_response

RATE_LIMITED_DETAIL = (
    "Bạn đã gửi quá nhiều yêu cầu trong thời gian ngắn. "
    "Vui lòng đợi {wait} rồi thử lại. Nội dung bạn đã nhập vẫn được giữ nguyên."
)

# Limits are attached by endpoint name; endpoints missing from the app are skipped.
SUBMIT_ENDPOINTS = ("api.create_submission", "pages.form", "pages.standalone")
RATING_ENDPOINTS = ("api.rate_submission", "api.data_request")


def client_ip() -> str:
    return request.remote_addr or "unknown"


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
            site = sites.site_for_secret(token)
            # Wrong secrets share one bucket per digest prefix: they are refused anyway.
            key = site.key if site else "bad-secret:" + hashlib.sha256(token.encode()).hexdigest()[:8]
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

    raw = str((request.view_args or {}).get("tracking_code") or request.values.get("code") or "")
    return "code:" + (codes.normalise(raw[:40]) or "invalid")


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{max(1, seconds)} giây"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} phút"
    return f"{math.ceil(minutes / 60)} giờ"


def retry_after_seconds() -> int:
    """Seconds until the breached window resets (at least 1)."""
    limiters = current_app.extensions.get("limiter") or set()
    for limiter in limiters:
        limit = limiter.current_limit
        if limit is not None:
            try:
                return max(1, math.ceil(limit.reset_at - time.time()))
            except Exception:  # noqa: BLE001 - storage trouble only loses the exact figure
                break
    return 60


def _too_many(exc: RateLimitExceeded) -> Any:
    wait = retry_after_seconds()
    detail = RATE_LIMITED_DETAIL.format(wait=_wait_text(wait))
    headers = {"Retry-After": str(wait), "Cache-Control": "no-store"}
    # The form pages answer their own 429 in HTML (pages.py); everything else is the API.
    return problem_response(Problem(429, detail, type="rate-limited", headers=headers))


def _limit(app: Flask, limiter: Limiter, endpoints: tuple[str, ...], setting: str,
           key_func: Any, scope: str, methods: list[str] | None) -> None:
    for endpoint in endpoints:
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        # A callable limit reads the setting per request, so tests and operators can change it.
        def value(name: str = setting) -> str:
            return str(current_app.config[name])

        decorated = limiter.limit(value, key_func=key_func, methods=methods, scope=scope)(view)
        app.view_functions[endpoint] = decorated  # type: ignore[assignment]


def init_app(app: Flask) -> Limiter:
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "phanhoi")
    # A citizen's submission must not fail because the limit store is down.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter = Limiter(key_func=client_ip, app=app)
    app.extensions["phanhoi_limiter"] = limiter
    post = ["POST"]
    _limit(app, limiter, SUBMIT_ENDPOINTS, "RATELIMIT_SUBMIT", client_ip, "submit-ip", post)
    _limit(app, limiter, SUBMIT_ENDPOINTS, "RATELIMIT_SUBMIT_SITE", site_key, "submit-site", post)
    _limit(app, limiter, ("api.get_submission",), "RATELIMIT_LOOKUP", client_ip, "lookup-ip", None)
    _limit(app, limiter, ("pages.track",), "RATELIMIT_LOOKUP", client_ip, "lookup-ip", post)
    # Per tracking code too: guessing the contact for one known code from many addresses.
    _limit(app, limiter, ("api.get_submission",) + RATING_ENDPOINTS, "RATELIMIT_LOOKUP_CODE",
           tracking_code_key, "lookup-code", None)
    _limit(app, limiter, ("pages.track",), "RATELIMIT_LOOKUP_CODE", tracking_code_key,
           "lookup-code", post)
    _limit(app, limiter, RATING_ENDPOINTS, "RATELIMIT_RATING", client_ip, "rating-ip", post)
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter
