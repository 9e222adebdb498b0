"""Rate limits: per client IP and per site, on every endpoint a stranger can write to.

Flask-Limiter with the storage named by ``RATELIMIT_STORAGE_URI`` (memory for one
process, Redis for several). A route declares which budgets it spends with
``@limits.rate("submit")``; the API and the no-JavaScript pages that do the same
thing declare the same budget, so they share it. The client IP is ``request.remote_addr``; behind
``PROXY_HOPS`` trusted reverse proxies, werkzeug's ProxyFix takes it from
``X-Forwarded-For`` first.
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from widget_server.intake import sites
from widget_server.web.problems import Problem, problem_response

RATE_LIMITED_DETAIL = (
    "Bạn đã gửi quá nhiều yêu cầu trong thời gian ngắn. "
    "Vui lòng đợi {wait} rồi thử lại. Nội dung bạn đã nhập vẫn được giữ nguyên."
)

F = TypeVar("F", bound=Callable[..., Any])


def rate(kind: str, *, methods: list[str] | None = None) -> Callable[[F], F]:
    """Declare at a route the budget it spends: ``submit``, ``lookup`` or ``citizen_action``.

    ``methods`` narrows every limit of the kind to those methods (a page whose GET only
    shows the form spends nothing). ``init_app`` reads the declarations.
    """
    if kind not in BUDGETS:
        raise ValueError(f"unknown rate-limit budget {kind!r}")

    def mark(view: F) -> F:
        view.__dict__.setdefault("phanhoi_limits", []).append((kind, methods))
        return view

    return mark


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


def sign_in_key() -> str:
    """The account a sign-in is for, as a digest: guessing one account's password from many
    addresses spends one budget."""
    email = (request.form.get("email") or "").strip().lower()[:320]
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:16]


POST = ["POST"]
# Budget → its limits: (setting, key, scope, methods). Per client IP and per site for
# submissions; per IP and per tracking code for lookups (guessing the contact for one known
# code from many addresses); per IP and per code for ratings and data requests.
BUDGETS: dict[str, list[tuple[str, Callable[[], str], str, list[str] | None]]] = {
    "submit": [("RATELIMIT_SUBMIT", client_ip, "submit-ip", POST),
               ("RATELIMIT_SUBMIT_SITE", site_key, "submit-site", POST)],
    "lookup": [("RATELIMIT_LOOKUP", client_ip, "lookup-ip", None),
               ("RATELIMIT_LOOKUP_CODE", tracking_code_key, "lookup-code", None)],
    "sign_in": [("RATELIMIT_SIGN_IN", client_ip, "sign-in-ip", POST),
                ("RATELIMIT_SIGN_IN_ACCOUNT", sign_in_key, "sign-in-account", POST)],
    "citizen_action": [("RATELIMIT_LOOKUP_CODE", tracking_code_key, "lookup-code", None),
                       ("RATELIMIT_RATING", client_ip, "rating-ip", POST)],
}


def per_ip(setting: str) -> Callable[[F], F]:
    """A per-address limit counted in this process, for endpoints that must stay cheap (beacons).

    Measured (bench/beacons.py): Flask-Limiter's per-request work and its memory storage (which
    starts a timer thread to expire keys) cost more than a beacon itself, halving the endpoint's
    rate. So such a view is left out of Flask-Limiter and counts its budget in a fixed window
    held in the process: a dictionary increment. The window is per process (as ``memory://``
    is); with several processes a flood from one address gets at most that many times the
    limit, and its cost on the database is bounded anyway: counts are summed in memory and
    written as one upsert per counter (``reach/beacons.py``). Addresses live only in memory,
    for one window.
    """
    windows: dict[str, _Window] = {}

    def mark(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            config = current_app.config
            if config.get("RATELIMIT_ENABLED", True):
                for item in _parsed(str(config[setting])):
                    name = f"{setting}/{item}"
                    window = windows.get(name) or windows.setdefault(name, _Window())
                    wait = window.hit(client_ip(), item.amount, item.get_expiry())
                    if wait:
                        return problem_response(Problem(
                            429, RATE_LIMITED_DETAIL.format(wait=_wait_text(wait)), type="rate-limited",
                            headers={"Retry-After": str(wait), "Cache-Control": "no-store"}))
            return view(*args, **kwargs)

        checked.__dict__["phanhoi_exempt"] = True
        return checked  # type: ignore[return-value]

    return mark


class _Window:
    """Hits per key in the current fixed window of ``period`` seconds; all forgotten when it ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ends = 0.0
        self.hits: dict[str, int] = {}

    def hit(self, key: str, amount: int, period: int) -> int:
        """0 when allowed, else the seconds until the window ends."""
        now = time.monotonic()
        with self.lock:
            if now >= self.ends:
                self.ends, self.hits = now + period, {}
            n = self.hits.get(key, 0) + 1
            self.hits[key] = n
            return 0 if n <= amount else max(1, math.ceil(self.ends - now))


@functools.lru_cache(maxsize=32)
def _parsed(value: str) -> list[Any]:
    # Flask-Limiter's own syntax ("120 per minute;1000 per hour"), parsed by its ``limits`` library.
    from limits import parse_many

    return list(parse_many(value))


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


def _apply(limiter: Limiter, view: Any, kind: str, methods: list[str] | None) -> Any:
    for setting, key_func, scope, default_methods in BUDGETS[kind]:
        # A callable limit reads the setting per request, so tests and operators can change it.
        def value(name: str = setting) -> str:
            return str(current_app.config[name])

        view = limiter.limit(value, key_func=key_func, methods=methods or default_methods, scope=scope)(view)
    return view


def init_app(app: Flask) -> Limiter:
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "phanhoi")
    # A citizen's submission must not fail because the limit store is down.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter = Limiter(key_func=client_ip, app=app)
    app.extensions["phanhoi_limiter"] = limiter
    light = {endpoint for endpoint, view in app.view_functions.items() if getattr(view, "phanhoi_exempt", False)}

    @limiter.request_filter
    def _spends_its_own_budget() -> bool:
        # Checked first by Flask-Limiter: the cheap endpoints (``per_ip``) skip all its work.
        return request.endpoint in light

    for endpoint, view in list(app.view_functions.items()):
        for kind, methods in getattr(view, "phanhoi_limits", ()):
            app.view_functions[endpoint] = _apply(limiter, app.view_functions[endpoint], kind, methods)
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter
