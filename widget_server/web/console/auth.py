"""Console sessions: sign-in, sign-out, CSRF on every form, who may see which site.

Sessions are Flask's signed cookies (itsdangerous), scoped to ``/console``, ``HttpOnly``,
``SameSite=Strict`` and ``Secure`` whenever the relay's public URL is https. A session holds the
account id, the account's session version (a reset or a disable ends every session), the token
of its row in ``console_sessions`` (signing out deletes the row: a copy of the cookie stops
working too), a CSRF token and two times: it ends after ``CONSOLE_SESSION_MINUTES`` idle and
after 12 hours at most.
Refusals (wrong password, expired session, missing CSRF token, another site's page) answer
4xx and change nothing. A signed-in account's refusals are written to the audit log; those of a
request with no account (no session, an expired one) go to the application log only: anyone can
send them, as many as they like, and they name nobody (a wrong password is the exception, written
by ``users.authenticate`` under the sign-in rate limits).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from widget_server.accounts import audit, sessions, users
from widget_server.errors import RefusedError
from widget_server.intake import sites
from widget_server.web import limits
from widget_server.web.assets import versioned_url
from widget_server.web.console.blueprint import bp

MAX_SESSION_SECONDS = sessions.MAX_SECONDS
# The console's pages load only the relay's own files; the preview frame is the relay's too.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
OPEN_ENDPOINTS = {"console.sign_in"}


class Refusal(Exception):
    """A console request refused: a status, a message key and what to write in the audit log."""

    def __init__(self, status: int, message: str, action: str, target: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.action, self.target = status, message, action, target


def render(template: str, status: int = 200, **values: Any) -> Response:
    resp = Response(render_template(template, user=g.get("user"), csrf=csrf_token(),
                                    css_url=versioned_url("console.css"), js_url=versioned_url("console.js"),
                                    **values),
                    status=status, content_type="text/html; charset=utf-8")
    return resp


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _current_user() -> users.User | None:
    """The signed-in account, or None (never signed in, expired, signed out, reset, disabled)."""
    uid, version = session.get("uid"), session.get("v")
    if uid is None:
        return None
    now = time.time()
    idle = float(current_app.config["CONSOLE_SESSION_MINUTES"]) * 60
    if now - float(session.get("seen", 0)) > idle or now - float(session.get("at", 0)) > MAX_SESSION_SECONDS:
        g.expired = True
        sessions.expire(int(uid), session.get("sid"))  # for every copy of this cookie
        return None
    user = sessions.user_of(int(uid), session.get("sid"))
    if user is None or user.disabled or user.session_version != version:
        g.expired = True
        return None
    session["seen"] = int(now)
    return user


def _loopback() -> bool:
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@bp.before_request
def _guard() -> Any:
    g.user = _current_user()
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        expected = session.get("csrf", "")
        if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
            raise Refusal(403, "csrf", "csrf.refused", request.path)
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    if g.user is None:
        if request.method == "POST":
            raise Refusal(401, "expired", "session.refused", request.path)
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")), 303)
    return None


def require_admin() -> None:
    if not g.user.is_admin:
        raise Refusal(403, "forbidden", "page.forbidden", request.path)


def site_for(site_key: str) -> sites.Site:
    """The site named in the URL, if this account may manage it: 404 unknown, 403 another's."""
    site = next((s for s in sites.list_sites() if s.key == site_key), None)
    if site is None:
        abort(404)
    if not g.user.may_manage(site.id):
        raise Refusal(403, "forbidden", "site.forbidden", site.key)
    return site


def visible_sites() -> list[sites.Site]:
    everything = sites.list_sites()
    return everything if g.user.is_admin else [s for s in everything if s.id == g.user.site_id]


def _safe_next(value: str | None) -> str:
    """Back to a console page only: never an open redirect."""
    if value and value.startswith("/console/") and not value.startswith("//"):
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return url_for("console.overview")


@bp.route("/sign-in", methods=["GET", "POST"])
@limits.rate("sign_in")
def sign_in() -> Any:
    """Email, password and (for accounts that have one) a one-time code."""
    nxt = _safe_next(request.values.get("next"))
    secure_enough = (request.is_secure or _loopback() or current_app.config.get("DEMO")
                     or current_app.config.get("TESTING"))
    if not secure_enough:
        return render("console/sign_in.html", 403, message="https", next=nxt)
    if request.method in ("GET", "HEAD"):
        if g.user is not None:
            return redirect(nxt, 303)
        return render("console/sign_in.html", message="expired" if g.get("expired") else None, next=nxt)
    try:
        user = users.authenticate(request.form.get("email", "")[:320], request.form.get("password", "")[:1000],
                                  request.form.get("code", "")[:12])
    except RefusedError:
        return render("console/sign_in.html", 401, message="refused", next=nxt,
                      email=request.form.get("email", "")[:320])
    # A new session (and CSRF token) at sign-in: nothing from before carries over, and a session
    # this browser had open ends.
    if g.user is not None:
        sessions.end(session.get("sid"), actor=g.user.email, site_id=g.user.site_id)
    session.clear()
    now = int(time.time())
    session.update(uid=user.id, v=user.session_version, sid=sessions.start(user.id), at=now, seen=now,
                   csrf=secrets.token_urlsafe(32))
    return redirect(nxt, 303)


@bp.post("/sign-out")
def sign_out() -> Any:
    """Ends this session on the server (its row goes), not only in this browser."""
    sessions.end(session.get("sid"), actor=g.user.email, site_id=g.user.site_id)  # signed in: _guard
    session.clear()
    return redirect(url_for("console.sign_in"), 303)


@bp.errorhandler(Refusal)
def _refused(exc: Refusal) -> Response:
    user = g.get("user")
    if user is not None:
        audit.record(user.email, exc.action, exc.target, site_id=user.site_id, details={"method": request.method})
    current_app.logger.warning("console: %s refused (%s %s)", exc.action, request.method, request.path)
    if exc.status == 401:
        return render("console/sign_in.html", 401, message="expired",
                      next=_safe_next(request.path if request.path != url_for("console.sign_in") else None))
    return render("console/refused.html", exc.status, message=exc.message)


class ConsoleSessions(SecureCookieSessionInterface):
    """Sessions exist under ``/console`` only: every other page and the API is stateless, and a
    beacon or a form post does not pay for a session signer it never uses."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith("/console"):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = ConsoleSessions()
    app.config.update(
        SESSION_COOKIE_NAME="phanhoi_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=str(app.config.get("PUBLIC_URL", "")).startswith("https://"),
    )
    app.register_blueprint(bp)


@bp.after_request
def _headers(resp: Response) -> Response:
    if request.endpoint != "console.preview":  # the preview sets its own (frameable by the console)
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp
