"""Console accounts: made and managed with ``phanhoi-widget users``, used to sign in to ``/console/``.

A province admin sees and manages every site; a site editor only their own. Passwords are
hashed with scrypt (``passwords``); a second factor (TOTP, RFC 6238) is optional per account,
and each of its codes opens once: the time step it matched is kept, and a code for that step or
an earlier one is refused (RFC 6238 §5.2).
Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import pyotp
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from widget_server.accounts import audit, passwords
from widget_server.errors import ConflictError, InvalidError, NotFoundError, RefusedError
from widget_server.intake.sites import SiteError
from widget_server.store import db, operations

ISSUER = "Phản hồi Widget"
REFUSED = "Email, mật khẩu hoặc mã xác thực không đúng. / Wrong email, password or code."


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    site_id: int | None
    site_key: str | None
    totp: bool
    session_version: int
    disabled: bool
    created_at: dt.datetime
    last_sign_in_at: dt.datetime | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_manage(self, site_id: int) -> bool:
        return self.is_admin or self.site_id == site_id


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidError("Email không hợp lệ. / Not a valid email.",
                           errors={"email": [str(exc)]}) from exc


def _query() -> Any:
    u = operations.console_users
    return sa.select(u, db.sites.c.site_key).select_from(
        u.outerjoin(db.sites, db.sites.c.id == u.c.site_id))


def _user(row: Any) -> User:
    return User(id=row.id, email=row.email, role=row.role, site_id=row.site_id, site_key=row.site_key,
                totp=bool(row.totp_secret), session_version=row.session_version,
                disabled=row.disabled_at is not None, created_at=row.created_at,
                last_sign_in_at=row.last_sign_in_at)


def _site_id(conn: Any, site_key: str) -> int:
    site_id = conn.execute(sa.select(db.sites.c.id).where(db.sites.c.site_key == site_key)).scalar()
    if site_id is None:
        raise NotFoundError(SiteError.NO_SITE.format(site_key), code="site-not-found")
    return int(site_id)


def totp_uri(email: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def add(email: str, *, admin: bool = False, site_key: str | None = None, password: str | None = None,
        totp: bool = False, actor: str = "cli") -> tuple[User, str, str | None]:
    """A new account; returns it, its password (generated unless given) and its TOTP URI, if any."""
    email = normalise_email(email)
    if admin == bool(site_key):
        raise InvalidError("Chọn --admin hoặc --site KEY (một trong hai). / Give --admin or --site KEY.")
    # Generated only when none was given: an empty one (nothing on standard input) is refused,
    # not replaced by a password nobody is shown.
    password = passwords.generate_password() if password is None else password
    if len(password) < passwords.MIN_LENGTH:
        raise InvalidError(f"Mật khẩu cần ít nhất {passwords.MIN_LENGTH} ký tự. / "
                           f"A password needs at least {passwords.MIN_LENGTH} characters.")
    secret = pyotp.random_base32() if totp else None
    u = operations.console_users
    with db.write() as conn:
        site_id = _site_id(conn, site_key) if site_key else None
        if conn.execute(sa.select(u.c.id).where(u.c.email == email)).first():
            raise ConflictError(f"Đã có tài khoản {email}. / {email} exists.", code="account-exists")
        conn.execute(sa.insert(u).values(
            email=email, password_hash=passwords.hash_password(password),
            role="admin" if admin else "editor", site_id=site_id, totp_secret=secret,
            session_version=0, created_at=db.utcnow()))
        audit.record(actor, "user.add", email, site_id=site_id,
                     details={"role": "admin" if admin else "editor", "second_factor": totp}, conn=conn)
        row = conn.execute(_query().where(u.c.email == email)).one()
    return _user(row), password, totp_uri(email, secret) if secret else None


def list_all() -> list[User]:
    with db.read() as conn:
        return [_user(r) for r in conn.execute(_query().order_by(operations.console_users.c.id)).all()]


def get(user_id: int, *, session: str | None = None) -> User | None:
    """The account; with ``session`` (a session row's id, see ``sessions``), only while that
    session of it is open."""
    query = _query().where(operations.console_users.c.id == user_id)
    if session is not None:
        s = operations.console_sessions
        query = query.join(s, s.c.user_id == operations.console_users.c.id).where(s.c.id == session)
    with db.read() as conn:
        row = conn.execute(query).one_or_none()
    return _user(row) if row else None


def _change(email: str, actor: str, action: str, **values: Any) -> User:
    email = normalise_email(email)
    u = operations.console_users
    with db.write() as conn:
        row = conn.execute(sa.select(u.c.id, u.c.site_id).where(u.c.email == email)).one_or_none()
        if row is None:
            raise NotFoundError(f"Không có tài khoản {email}. / No account {email}.", code="account-not-found")
        # A new session version ends every session signed before this change; their rows go.
        conn.execute(sa.update(u).where(u.c.id == row.id).values(
            session_version=u.c.session_version + 1, **values))
        conn.execute(sa.delete(operations.console_sessions).where(
            operations.console_sessions.c.user_id == row.id))
        audit.record(actor, action, email, site_id=row.site_id,
                     details={"second_factor": bool(values.get("totp_secret"))} if "totp_secret" in values else None,
                     conn=conn)
        return _user(conn.execute(_query().where(u.c.id == row.id)).one())


def disable(email: str, *, actor: str = "cli") -> User:
    return _change(email, actor, "user.disable", disabled_at=db.utcnow())


def reset(email: str, *, totp: bool | None = None, actor: str = "cli") -> tuple[User, str, str | None]:
    """A new password (and, with ``totp``, a new second factor, or none with ``totp=False``);
    the account is enabled again and signed out everywhere."""
    password = passwords.generate_password()
    values: dict[str, Any] = {"password_hash": passwords.hash_password(password), "disabled_at": None}
    secret = None
    if totp is not None:
        secret = pyotp.random_base32() if totp else None
        values["totp_secret"] = secret
        values["totp_last_step"] = None
    user = _change(email, actor, "user.reset", **values)
    return user, password, totp_uri(user.email, secret) if secret else None


def _totp_step(secret: str, code: str) -> int | None:
    """The time step ``code`` is for: the current one or one beside it (clock drift), else None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time())
    found = None
    for step in (current - 1, current, current + 1):  # all three compared: no timing tells which
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            found = step
    return found


def authenticate(email: str, password: str, code: str | None = None) -> User:
    """The account these credentials open, or RefusedError (``sign-in-refused``); the same
    answer and about the same time for an unknown email, a wrong password or a wrong code, a
    code already used included."""
    u = operations.console_users
    try:
        email = normalise_email(email)
    except InvalidError:
        email = ""
    with db.read() as conn:
        row = conn.execute(sa.select(u).where(u.c.email == email)).one_or_none() if email else None
    step = None
    if row is None:
        passwords.burn_time(password)
        ok = False
    else:
        ok = passwords.verify_password(password, row.password_hash) and row.disabled_at is None
        if ok and row.totp_secret:
            step = _totp_step(row.totp_secret, (code or "").strip())
            ok = step is not None
    if ok:
        assert row is not None
        update = sa.update(u).where(u.c.id == row.id)
        values: dict[str, Any] = {"last_sign_in_at": db.utcnow()}
        if step is not None:
            # Accepted once: the step moves forward in the same statement that checks it, so two
            # sign-ins with one code at the same moment cannot both pass.
            update = update.where(sa.or_(u.c.totp_last_step.is_(None), u.c.totp_last_step < step))
            values["totp_last_step"] = step
        with db.write() as conn:
            ok = conn.execute(update.values(**values)).rowcount == 1
            if ok:
                audit.record(email, "sign-in", email, site_id=row.site_id, conn=conn)
            else:
                audit.record(email, "sign-in.refused", email, site_id=row.site_id,
                             details={"second_factor": "used before"}, conn=conn)
    elif row is not None:
        audit.record(email, "sign-in.refused", email, site_id=row.site_id)
    else:  # no such account: an address someone typed is nobody's record to keep
        audit.record("?", "sign-in.refused", None, details={"account": "unknown"})
    if not ok:
        raise RefusedError(REFUSED, code="sign-in-refused")
    assert row is not None
    user = get(row.id)
    assert user is not None
    return user
