"""Rate limits: per client IP, per contact and per site, on every endpoint a stranger can write to.

Flask-Limiter with the storage named by ``RATELIMIT_STORAGE_URI`` (memory for one
process, Redis for several). A route declares which budgets it spends with
``@limits.rate("submit")``; the API and the no-JavaScript pages that do the same
thing declare the same budget, so they share it. The client IP is ``request.remote_addr``; behind
``PROXY_HOPS`` trusted reverse proxies, werkzeug's ProxyFix takes it from
``X-Forwarded-For`` first.

Submissions count when they are accepted, never when they fail. Browsers are limited per IP
(generously: many citizens share one carrier-NAT address), per contact (the keyed digest of the
phone or email) and per site; an IP past ``RATELIMIT_SUBMIT_BUSY`` accepted submissions must send
ALTCHA proof of work with the next ones instead of being refused. A partner's server
(``Authorization: Bearer``) has its site's quota, ``RATELIMIT_PARTNER``, instead of all of these.

Console sign-ins count every attempt per address, and only failures per account
(``sign_in_limits``: an account past its limit stays open to addresses that have not failed).
"""

from __future__ import annotations

import functools
import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from widget_server.web.limit_keys import (
    accepted,
    client_ip,
    code_and_ip_key,
    contact_key,
    failed,
    is_browser,
    is_partner,
    refused,
    sign_in_key,
    site_key,
    tracking_code_key,
)
from widget_server.web.problems import Problem, problem_response
from widget_server.web.sign_in_limits import (
    SIGN_IN_ACCOUNT_SCOPE,
    SIGN_IN_ENDPOINTS,
    owner_may_try,
    remember_failed_sign_in,
)

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


POST = ["POST"]


@dataclass(frozen=True)
class Limit:
    setting: str
    key: Callable[[], str]
    scope: str
    methods: list[str] | None = None
    exempt: Callable[[], bool] | None = None  # not counted at all for these requests
    deduct: Callable[[Any], bool] | None = None  # counted only for these answers


# Budget → its limits. Submissions: browsers per IP, per contact and per site, partners per site;
# accepted ones only. Lookups count failures only: a person who finds their submission spends
# nothing (many people share one carrier-NAT address), a guess does. Guesses at one code's
# contact: per address and code, and from all addresses together at a rate no reader reaches,
# so others' wrong guesses from a handful of addresses never lock the owner of a code out.
# Ratings and data requests: per IP, and the code's guesses as for lookups.
BUDGETS: dict[str, list[Limit]] = {
    "submit": [Limit("RATELIMIT_SUBMIT", client_ip, "submit-ip", POST, is_partner, accepted),
               Limit("RATELIMIT_SUBMIT_CONTACT", contact_key, "submit-contact", POST, is_partner, accepted),
               Limit("RATELIMIT_SUBMIT_SITE", site_key, "submit-site", POST, is_partner, accepted),
               Limit("RATELIMIT_PARTNER", site_key, "submit-partner", POST, is_browser, accepted)],
    "lookup": [Limit("RATELIMIT_LOOKUP", client_ip, "lookup-ip", deduct=failed),
               Limit("RATELIMIT_LOOKUP_CODE_IP", code_and_ip_key, "lookup-code-ip", deduct=failed),
               Limit("RATELIMIT_LOOKUP_CODE", tracking_code_key, "lookup-code", deduct=failed)],
    # Every attempt counts per address (a burst of parallel guesses is bounded: a limit counting
    # failures checks before the answer and counts after it); failures only per account.
    "sign_in": [Limit("RATELIMIT_SIGN_IN", client_ip, "sign-in-ip", POST),
                Limit("RATELIMIT_SIGN_IN_ACCOUNT", sign_in_key, SIGN_IN_ACCOUNT_SCOPE, POST, owner_may_try,
                      refused)],
    "citizen_action": [Limit("RATELIMIT_LOOKUP_CODE_IP", code_and_ip_key, "lookup-code-ip", deduct=failed),
                       Limit("RATELIMIT_LOOKUP_CODE", tracking_code_key, "lookup-code", deduct=failed),
                       Limit("RATELIMIT_RATING", client_ip, "rating-ip", POST)],
}
SUBMIT_ENDPOINTS: set[str] = set()


def _busy_items() -> list[Any]:
    return list(parse_many(str(current_app.config["RATELIMIT_SUBMIT_BUSY"])))


def _busy_identifiers() -> tuple[str, ...]:
    return (str(current_app.extensions.get("phanhoi_limit_prefix", "")), "submit-busy", client_ip())


def ip_busy() -> bool:
    """True when this browser's IP has had more accepted submissions than ``RATELIMIT_SUBMIT_BUSY``:
    its next submissions need ALTCHA proof of work (carrier NAT: busy is not guilty)."""
    limiter = current_app.extensions.get("phanhoi_limiter")
    if limiter is None or not limiter.enabled or is_partner():
        return False
    try:
        return any(not limiter.limiter.test(item, *_busy_identifiers()) for item in _busy_items())
    except Exception:  # noqa: BLE001 - limit store trouble: no extra friction
        return False


def _count_busy(resp: Any) -> Any:
    limiter = current_app.extensions["phanhoi_limiter"]
    if limiter.enabled and request.endpoint in SUBMIT_ENDPOINTS and request.method == "POST" \
            and accepted(resp) and not is_partner():
        # Limit store trouble loses a count, never a submission.
        with contextlib.suppress(Exception):
            for item in _busy_items():
                limiter.limiter.hit(item, *_busy_identifiers())
    return resp


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
    for lim in BUDGETS[kind]:
        # A callable limit reads the setting per request, so tests and operators can change it.
        def value(name: str = lim.setting) -> str:
            return str(current_app.config[name])

        # Shared: the API and the page that do the same thing spend one budget.
        view = limiter.shared_limit(value, lim.scope, key_func=lim.key, methods=methods or lim.methods,
                                    exempt_when=lim.exempt, deduct_when=lim.deduct)(view)
    return view


def _posts_only(plain: F, limited: F) -> F:
    """A page whose every limit counts POSTs (a form): showing it goes straight to the view.
    Flask-Limiter would otherwise spend a fifth of a cached form page's time finding no limit."""

    @functools.wraps(plain)
    def view(*args: Any, **kwargs: Any) -> Any:
        return (limited if request.method == "POST" else plain)(*args, **kwargs)

    return view  # type: ignore[return-value]


def init_app(app: Flask) -> Limiter:
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["phanhoi_limit_prefix"] = app.config.setdefault("RATELIMIT_KEY_PREFIX", "phanhoi")
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
        declared = getattr(view, "phanhoi_limits", ())
        if any(kind == "submit" for kind, _methods in declared):
            SUBMIT_ENDPOINTS.add(endpoint)
        if any(kind == "sign_in" for kind, _methods in declared):
            SIGN_IN_ENDPOINTS.add(endpoint)
        if not declared or not limiter.enabled:
            # Switched off (RATELIMIT_ENABLED, read once by Flask-Limiter): the view is not
            # wrapped at all; each of Flask-Limiter's wrappers cost a lookup a tenth of its time
            # to find it had nothing to do.
            continue
        for kind, methods in declared:
            app.view_functions[endpoint] = _apply(limiter, app.view_functions[endpoint], kind, methods)
        if all((methods or lim.methods) == POST for kind, methods in declared for lim in BUDGETS[kind]):
            app.view_functions[endpoint] = _posts_only(view, app.view_functions[endpoint])
    app.after_request(_count_busy)
    app.after_request(remember_failed_sign_in)
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter
