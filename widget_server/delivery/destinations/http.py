"""One HTTP attempt and what its answer means, shared by the HTTP adapters."""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from phanhoi.errors import parse_retry_after as _parse

from widget_server.delivery.destinations import deadline
from widget_server.delivery.destinations.base import Result
from widget_server.intake import personal

#: Longest Retry-After we honour; beyond it the normal backoff decides.
RETRY_AFTER_CAP = 3600.0
#: 408 Request Timeout, 409 Conflict (an idempotent request still in flight),
#: 425 Too Early, 429 Too Many Requests: worth another try, as is every 5xx.
RETRYABLE = frozenset({408, 409, 425, 429})


def session(given: requests.Session | None = None, *, pool: int = 10) -> requests.Session:
    """The adapter's session (one per adapter), naming the relay in ``User-Agent``.

    A worker's delivery threads share it: it keeps ``pool`` connections per host (at least
    ``PHANHOI_OUTBOX_CONCURRENCY``, see ``pool_from``), so no thread opens one per request.
    """
    from widget_server import __version__

    http = given
    if http is None:
        http = requests.Session()
        adapter = deadline.Adapter(pool_maxsize=max(pool, 1))
        http.mount("http://", adapter)
        http.mount("https://", adapter)
    http.headers["User-Agent"] = f"phanhoi-widget/{__version__}"
    return http


def pool_from(config: Mapping[str, Any]) -> int:
    """Connections an adapter keeps per host: one per delivery thread, and never fewer than 10."""
    return max(10, int(config.get("OUTBOX_CONCURRENCY") or 1))


def timeout_from(config: Mapping[str, Any]) -> tuple[float, float]:
    """(connect, read) seconds from ``PHANHOI_HTTP_TIMEOUT``. The whole attempt ends within their
    sum (``attempt``), however slowly an answer trickles in."""
    read = float(config.get("HTTP_TIMEOUT") or 10.0)
    return (min(read, 5.0), read)


def _total(timeout: Any) -> float:
    if isinstance(timeout, tuple):
        return float(sum(t for t in timeout if t is not None))
    return float(timeout) if timeout is not None else 60.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (RFC 9110 §10.2.3: delay-seconds or HTTP-date)."""
    return _parse(value, now=now, cap=RETRY_AFTER_CAP)


def classify(status: int) -> str:
    if 200 <= status < 300:
        return "delivered"
    if status in (401, 403):
        return "pause"
    if status == 410:
        return "disable"
    if status in RETRYABLE or status >= 500:
        return "retry"
    if 300 <= status < 400:
        return "retry"  # a moved endpoint is a configuration error an operator fixes
    return "rejected"


def short(value: Any) -> str | None:
    """An identifier from another system's answer, as kept: a string or whole number, at most
    100 characters; anything else (an object, a list, a boolean, control characters, which
    PostgreSQL cannot store when NUL) is no identifier, and None is kept."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)[:100]
    return text if text and text.isprintable() else None


def masked(text: str, known: Iterable[str | None] = ()) -> str:
    """Another system's error text as it may be kept (``outbox.last_error``) and logged: phone
    numbers, emails and ID numbers, and the ``known`` details of the person, replaced by "…"
    (an error may echo the field it refused). Control characters become spaces first: kept on one
    line, shown in an operator's terminal (``outbox list``), and storable (PostgreSQL refuses NUL)."""
    return personal.hide("".join(c if c.isprintable() else " " for c in text), known, mark="…")


def known_in(data: Mapping[str, Any]) -> list[str | None]:
    """The person's details a submission's payload carries (name, phone, email, address)."""
    who, where = data.get("submitter"), data.get("location")
    who = who if isinstance(who, dict) else {}
    where = where if isinstance(where, dict) else {}
    return [who.get("name"), who.get("phone"), who.get("email"), where.get("address")]


def problem_title(response: requests.Response, known: Iterable[str | None] = ()) -> str:
    if "json" not in response.headers.get("Content-Type", ""):
        return ""
    try:
        answer = response.json()
    except ValueError:
        return ""
    title = answer.get("title") if isinstance(answer, dict) else None
    return f": {masked(str(title)[:200], known)[:200]}" if title else ""


#: The most of an answer's body the relay reads: it wants an id, a status or a problem title.
MAX_ANSWER_BYTES = 1 << 20


def read_answer(response: requests.Response) -> None:
    """The answer's body into ``response.content``, unless it is larger than ``MAX_ANSWER_BYTES``
    (a proxy's file, an endless stream): then it is left unread (empty) and the connection
    closed, where it was read whole into memory, once per delivery thread."""
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            response.raw.close()  # not drained: never back in the pool
            body.clear()
            break
    response._content = bytes(body)
    response._content_consumed = True  # type: ignore[attr-defined]  # as Response.content sets it


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def attempt(session: requests.Session, url: str, *, timeout: Any,
            on_success: Callable[[requests.Response], Result],
            on_failure: Callable[[requests.Response, Result], Result] | None = None,
            known: Iterable[str | None] = (), **request: Any) -> Result:
    """POST once; never raises for network or HTTP failures, reports them as a Result.

    ``on_failure`` may read an error answer and return another Result, for
    protocols whose errors say more than their status (Open311's
    "400 General Service Error"). ``known``: the person's details the request carries, masked
    in the error kept if the answer echoes them.
    """
    try:
        # The whole exchange, the answer's body included, ends by the deadline (deadline.py):
        # each read alone is bounded by ``timeout``, but an answer may trickle in read by read.
        with deadline.within(deadline.seconds_for(_total(timeout))) as watch:
            if set(request) <= {"data", "headers"} and isinstance(request.get("data"), bytes):
                response = post_bytes(session, url, request["data"], request.get("headers") or {},
                                      timeout=timeout)
            else:
                response = session.post(url, timeout=timeout, allow_redirects=False, stream=True, **request)
            read_answer(response)  # here, within the deadline
        if watch.expired:  # an answer ended by the connection's close: cut here, not whole
            response.close()
            return Result("retry", error="timeout")
    except requests.Timeout:
        return Result("retry", error="timeout")
    except requests.RequestException as exc:
        if watch.expired:
            return Result("retry", error="timeout")
        if isinstance(exc, requests.exceptions.SSLError):
            return Result("retry", error=tls_failure(exc))
        if isinstance(exc, requests.ConnectionError):
            return Result("retry", error="connection failed")
        return Result("retry", error=f"request failed: {type(exc).__name__}")
    with response:
        status = response.status_code
        outcome = classify(status)
        if outcome == "delivered":
            return on_success(response)
        # Only the status and the problem title, masked, are kept: bodies may echo personal data.
        failed = Result(outcome, status=status,  # type: ignore[arg-type]
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                        error=f"HTTP {status}" + problem_title(response, known))
        return on_failure(response, failed) if on_failure else failed


def tls_failure(exc: BaseException) -> str:
    """A failed TLS handshake as an operator reads it: what was wrong with the certificate
    ("certificate has expired", "Hostname mismatch, …") or OpenSSL's reason
    (``WRONG_VERSION_NUMBER``: https to a port that speaks http), not "connection failed"."""
    seen: BaseException | None = exc
    for _ in range(8):  # requests' error wraps urllib3's, which wraps the ssl module's
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS failed: {seen.verify_message or 'certificate not verified'}"[:200]
        if isinstance(seen, ssl.SSLError) and seen.reason:
            return f"TLS failed: {seen.reason}"[:200]
        wrapped = getattr(seen, "reason", None)
        seen = (wrapped if isinstance(wrapped, BaseException) else None) or seen.__cause__ or next(
            (arg for arg in seen.args if isinstance(arg, BaseException)), None) or seen.__context__
    return "TLS failed"


# What ``Session.request`` works out from the environment for a URL (proxies, CA bundle,
# ``.netrc`` credentials), per session: read once, not on every delivery.
_settings: weakref.WeakKeyDictionary[requests.Session, dict[str, Any]] = weakref.WeakKeyDictionary()


def _environment(session: requests.Session, url: str) -> tuple[dict[str, Any], Any]:
    known = _settings.setdefault(session, {})
    if url not in known:
        settings = session.merge_environment_settings(url, {}, False, None, None)
        netrc = requests.utils.get_netrc_auth(url) if session.trust_env and session.auth is None else None
        known[url] = ({k: settings[k] for k in ("proxies", "verify", "cert")}, session.auth or netrc)
    result: tuple[dict[str, Any], Any] = known[url]
    return result


def post_bytes(session: requests.Session, url: str, body: bytes, headers: Mapping[str, str], *,
               timeout: Any) -> requests.Response:
    """``session.post(url, data=body, headers=headers, allow_redirects=False)``, made lighter.

    The same request goes through the same transport (the session's adapter: its pooled
    connections, TLS verification, proxies), but without what ``Session.request`` redoes
    per call: reading the environment and ``.netrc`` (done once per URL), merging cookies
    and hooks. A worker sends hundreds a second on two cores, and that was two thirds of
    the client's time. Redirects are never followed (``Session`` follows them, not the adapter).
    """
    send, auth = _environment(session, url)
    prepared = requests.PreparedRequest()
    prepared.method = "POST"
    prepared.prepare_url(url, None)
    merged: Any = CaseInsensitiveDict(session.headers)
    merged.update(headers)
    prepared.headers = merged
    prepared.body = body
    prepared.headers["Content-Length"] = str(len(body))
    prepared.hooks = {"response": []}
    if auth is not None:
        prepared.prepare_auth(auth, url)
    return session.get_adapter(url).send(prepared, stream=False, timeout=timeout, **send)
