"""RFC 9457 problem details: every API error leaves the relay in this one shape."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from widget_server import errors

PROBLEM_BASE = "https://phanhoi.invalid/problems/"  # stable identifiers, not fetched

# Vietnamese first: these titles reach partner developers and, through the form, citizens.
TITLES = {
    400: "Yêu cầu không hợp lệ (Bad Request)",
    401: "Chưa xác thực (Unauthorized)",
    403: "Không được phép (Forbidden)",
    404: "Không tìm thấy (Not Found)",
    405: "Phương thức không được hỗ trợ (Method Not Allowed)",
    409: "Xung đột (Conflict)",
    410: "Không còn (Gone)",
    413: "Dữ liệu quá lớn (Content Too Large)",
    415: "Kiểu dữ liệu không được hỗ trợ (Unsupported Media Type)",
    422: "Dữ liệu không hợp lệ (Unprocessable Content)",
    429: "Quá nhiều yêu cầu (Too Many Requests)",
    500: "Lỗi máy chủ (Internal Server Error)",
    503: "Dịch vụ tạm ngừng (Service Unavailable)",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with problem+json."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        type: str | None = None,
        title: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type if self.type else "about:blank",
            "title": self.title or TITLES.get(self.status, "Lỗi (Error)"),
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail
        out["instance"] = request.path if request else None
        if self.errors:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


# The one map from the domain's errors to HTTP: by class, with the few codes that differ.
STATUS_BY_CLASS: dict[type[errors.DomainError], int] = {
    errors.InvalidError: 422,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.RefusedError: 403,
    errors.GoneError: 410,
    errors.TooLargeError: 413,
    errors.UnsupportedError: 415,
    errors.StoreUnavailableError: 503,
}
STATUS_BY_CODE: dict[str, int] = {
    # RFC 9110 has no better answer for "this key was used with another body" than 422.
    "idempotency-key-reused": 422,
    "too-many-attachments": 422,
    # The form token says the form was sent faster than a person can fill it in.
    "too-fast": 422,
    # A list asked with a filter it does not have, or a value outside it: the allowed ones come back.
    "unknown-filter": 400,
    "invalid-filter": 400,
}


# The detail of an HTTP error raised without one of the relay's own (a path nothing serves, a
# method a path does not take): Werkzeug's default sentences are English only.
DETAILS = {
    400: "Yêu cầu không hợp lệ. (The request could not be understood.)",
    401: "Cần xác thực để dùng địa chỉ này. (Authentication is required.)",
    403: "Bạn không có quyền dùng địa chỉ này. (You may not use this address.)",
    404: "Không có địa chỉ này trên máy chủ; vui lòng kiểm tra lại đường dẫn. "
         "(Nothing is served at this address.)",
    405: "Địa chỉ này không nhận phương thức này; xem tiêu đề Allow. "
         "(This address does not take this method: see the Allow header.)",
    413: "Dữ liệu gửi lên quá lớn. (The request is too large.)",
    415: "Kiểu dữ liệu này không được hỗ trợ. (This media type is not supported.)",
}


def _detail(exc: HTTPException) -> str | None:
    """The error's own detail, or the relay's bilingual one where it has Werkzeug's default."""
    if exc.code == 500:
        return None
    if exc.code in DETAILS and exc.description == type(exc).description:
        return DETAILS[exc.code]
    return exc.description


def error_page(exc: HTTPException) -> Response:
    """An HTTP error on a page (not the API): a short page in Vietnamese, then English, with the
    error's own headers (``Allow``, ``Retry-After``), in place of Werkzeug's English one."""
    code = exc.code or 500
    title = TITLES.get(code, "Lỗi (Error)")
    detail = _detail(exc) or "Vui lòng thử lại sau. (Please try again later.)"
    body = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
            f"<p>{escape(detail)}</p></body></html>")
    resp = Response(body, status=code, mimetype="text/html")
    for key, value in exc.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            resp.headers[key] = value
    return resp


# Titles more telling than the status's own, for the codes that need one.
TITLE_BY_CODE: dict[str, str] = {
    "tracking-code-mistyped": "Mã có vẻ bị gõ nhầm (Mistyped tracking code)",
}


def status_for(exc: errors.DomainError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_CLASS:
            return STATUS_BY_CLASS[cls]  # type: ignore[index]
    return 400


# Seconds a client waits before trying again when the store cannot take writes.
STORE_RETRY_AFTER = 30


def from_domain(exc: errors.DomainError) -> Problem:
    """The problem+json answer for a domain error (the pages use ``page_message`` instead)."""
    status = status_for(exc)
    headers = {"Retry-After": str(STORE_RETRY_AFTER)} if status == 503 else None
    return Problem(status, exc.message or None, type=exc.code, errors=exc.errors, headers=headers,
                   title=TITLE_BY_CODE.get(exc.code), **exc.details)


def page_message(t: dict[str, Any], exc: errors.DomainError) -> str:
    """A domain error in a page's language: the catalogue's ``problems`` entry for its code.

    Vietnamese pages keep the relay's own (Vietnamese) message; English catalogues
    translate by code and fall back to a generic sentence.
    """
    problems = t.get("problems")
    if not problems:
        return exc.message or str(t.get("err_generic", ""))
    return str(problems.get(exc.code, t["err_generic"]))


def problem_response(problem: Problem) -> Response:
    resp = Response(
        json.dumps(problem.body(), ensure_ascii=False),
        status=problem.status,
        mimetype="application/problem+json",
    )
    for key, value in problem.headers.items():
        resp.headers[key] = value
    return resp


def wants_problem() -> bool:
    """API routes always answer problem+json; pages render HTML errors."""
    return request.path.startswith("/api/") or request.path in {"/openapi.json", "/readyz"}


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc)

    @app.errorhandler(errors.DomainError)
    def _domain(exc: errors.DomainError) -> Any:
        if not wants_problem():
            # A page asked for something missing (an unknown site key): the plain HTTP error.
            return error_page(default_exceptions[status_for(exc)]())
        return problem_response(from_domain(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not wants_problem():
            return exc if (exc.code or 500) < 400 else error_page(exc)
        headers = {}
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        detail = _detail(exc)
        if exc.code == 429:
            # Rate limits answer through limits.py; this covers any other 429.
            headers["Retry-After"] = str(getattr(exc, "retry_after", None) or 60)
            detail = "Bạn đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau ít phút."
        return problem_response(
            Problem(exc.code or 500, detail, type=_slug(exc.code), headers=headers)
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if not wants_problem():
            return error_page(InternalServerError())  # the same page as other errors, not bare text
        return problem_response(Problem(500, None, type="internal"))


def _slug(code: int | None) -> str:
    return {
        400: "bad-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
        429: "rate-limited",
    }.get(code or 500, "http-error")
