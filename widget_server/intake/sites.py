"""The registry of partner sites: who may embed the widget and submit server-side."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from sqlalchemy.engine import Connection

from widget_server.errors import NotFoundError
from widget_server.store import db, versions
from widget_server.vocab import SITE_DESTINATIONS

SITE_KEY_PREFIX = "pk_"
SECRET_KEY_PREFIX = "sk_"  # noqa: S105 - a prefix, not a secret
ROTATION_GRACE = dt.timedelta(days=7)


@dataclass(frozen=True)
class Site:
    id: int
    key: str
    name: str
    origins: list[str]
    locale: str = "vi"
    theme: dict[str, Any] = field(default_factory=dict)
    province_code: int = 38
    categories: list[str] | None = None
    agencies: list[str] | None = None
    destination: str = "central"
    altcha: bool = False
    active: bool = True
    created_at: dt.datetime | None = None

    def public(self) -> dict[str, Any]:
        return {
            "site_key": self.key,
            "name": self.name,
            "origins": self.origins,
            "locale": self.locale,
            "theme": self.theme,
            "province_code": self.province_code,
            "categories": self.categories,
            "agencies": self.agencies,
            "destination": self.destination,
            "altcha": self.altcha,
            "active": self.active,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


class SiteError(ValueError):
    NOT_ORIGIN = "Không phải origin http(s) hợp lệ: {!r} / not an http(s) origin"
    NO_SITE = "Không có trang {0}. / No site {0}."


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# One DNS label (after IDNA): letters, digits and inner hyphens, at most 63 characters.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _host(hostname: str, origin: str) -> str:
    """A DNS name (IDNA, lower case), a dotted IPv4 address or a bracketed IPv6 address."""
    try:
        return f"[{ipaddress.IPv6Address(hostname).compressed}]" if ":" in hostname else str(
            ipaddress.IPv4Address(hostname))
    except ValueError:
        if ":" in hostname:
            raise SiteError(SiteError.NOT_ORIGIN.format(origin)) from None
    host = hostname.encode("idna").decode("ascii").lower()
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise SiteError(SiteError.NOT_ORIGIN.format(origin))
    return host


def normalise_origin(origin: str, *, strict: bool = False) -> str:
    """``https://Báo.vn/path`` → ``https://xn--bo-xja.vn``; origins compare exactly, so store one form.

    The host must be a DNS name, an IPv4 address or a bracketed IPv6 address, and the port a
    number: nothing else can reach a ``frame-ancestors`` directive or a CORS header. ``strict``
    (for origins an operator sets) also refuses a path, query, fragment or user name, which
    are no part of an origin.
    """
    try:
        # Origin headers come from strangers: a bad port, an unclosed IPv6 bracket or a
        # label IDNA refuses is "not an origin", never an unhandled error.
        value = origin.strip()
        if any(ch.isspace() or ord(ch) < 32 or ch in "\\;,'\"" for ch in value):
            raise SiteError(SiteError.NOT_ORIGIN.format(origin))
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SiteError(SiteError.NOT_ORIGIN.format(origin))
        if strict and (parts.path not in {"", "/"} or parts.query or parts.fragment
                       or "?" in value or "#" in value):
            raise SiteError(f"Origin chỉ gồm giao thức, tên miền và cổng: {origin!r} / an origin is scheme, host and port only")
        if "@" in parts.netloc:
            raise SiteError(SiteError.NOT_ORIGIN.format(origin))
        host = _host(parts.hostname, origin)
        port_number = parts.port
    except (ValueError, UnicodeError) as exc:
        if isinstance(exc, SiteError):
            raise
        raise SiteError(SiteError.NOT_ORIGIN.format(origin)) from exc
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{port_number}" if port_number and port_number != default else ""
    return f"{parts.scheme}://{host}{port}"


def parse_origins(origins: list[str]) -> list[str]:
    """Origins an operator sets (``sites add``, ``sites set``), strictly parsed, sorted, unique."""
    return sorted({normalise_origin(o, strict=True) for o in origins})


def _row_to_site(row: Any) -> Site:
    return Site(
        id=row.id,
        key=row.site_key,
        name=row.name,
        origins=list(row.origins or []),
        locale=row.locale,
        theme=dict(row.theme or {}),
        province_code=row.province_code,
        categories=row.categories,
        agencies=row.agencies,
        destination=row.destination,
        altcha=bool(row.altcha),
        active=bool(row.active),
        created_at=row.created_at,
    )


def create_site(
    name: str,
    origins: list[str],
    *,
    locale: str = "vi",
    theme: dict[str, Any] | None = None,
    province_code: int = 38,
    categories: list[str] | None = None,
    agencies: list[str] | None = None,
    destination: str = "central",
    altcha: bool = False,
    site_key: str | None = None,
) -> tuple[Site, str]:
    """Register a site; returns it with its secret key, which is shown this once only."""
    name = name.strip()
    if not name:
        raise SiteError("a site needs a name")
    if locale not in {"vi", "en"}:
        raise SiteError("locale must be vi or en")
    if destination not in SITE_DESTINATIONS:
        raise SiteError(f"destination must be one of {', '.join(SITE_DESTINATIONS)}")
    clean_origins = parse_origins(origins)
    key = site_key or SITE_KEY_PREFIX + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    secret = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        result = conn.execute(
            sa.insert(db.sites).values(
                site_key=key,
                name=name,
                secret_hash=_hash(secret),
                origins=clean_origins,
                locale=locale,
                theme=theme or {},
                province_code=province_code,
                categories=categories,
                agencies=agencies,
                destination=destination,
                altcha=altcha,
                active=True,
                created_at=db.utcnow(),
            )
        )
        assert result.inserted_primary_key is not None
        site_id = result.inserted_primary_key[0]
        row = conn.execute(sa.select(db.sites).where(db.sites.c.id == site_id)).one()
    return _row_to_site(row), secret


def get_site(site_key: str, *, inactive: bool = False) -> Site | None:
    """The active site with this key, from this process's cache while the ``sites`` counter
    stands (a change on any host reaches every process within ``VERSION_CHECK_SECONDS``).
    ``inactive``: a deactivated one too, for its citizens' status pages and notices only."""
    if not site_key or len(site_key) > 40:
        return None
    key = ("any", site_key) if inactive else site_key
    return versions.cache("sites", "sites").get(key, lambda: _load_site(site_key, inactive))


def _load_site(site_key: str, inactive: bool = False) -> Site | None:
    query = sa.select(db.sites).where(db.sites.c.site_key == site_key)
    with db.read() as conn:
        row = conn.execute(query if inactive else query.where(db.sites.c.active)).one_or_none()
    return _row_to_site(row) if row else None


def require(site_key: str, *, inactive: bool = False) -> Site:
    """``get_site``'s site, or NotFoundError (``site-not-found``)."""
    site = get_site(site_key, inactive=inactive)
    if site is None:
        raise NotFoundError("Không tìm thấy trang đối tác này.", code="site-not-found")
    return site


def destination_of(conn: Connection, site_id: int) -> str:
    """The destination a site's events go to, read inside the caller's transaction."""
    return str(conn.execute(sa.select(db.sites.c.destination).where(db.sites.c.id == site_id)).scalar_one())


def list_sites() -> list[Site]:
    with db.read() as conn:
        rows = conn.execute(sa.select(db.sites).order_by(db.sites.c.id)).all()
    return [_row_to_site(r) for r in rows]


def site_for_secret(secret: str) -> Site | None:
    """The site whose current (or still-valid previous) secret key this is.

    Known secrets are kept in this process's cache while the ``sites`` counter stands, as
    ``get_site`` keeps sites: a rotation, a revocation or a deactivation on any host reaches
    every process within ``VERSION_CHECK_SECONDS``. Unknown secrets are not cached (a
    stranger's guesses cannot fill the cache); they cost a read each and answer 401.
    """
    if not secret.startswith(SECRET_KEY_PREFIX) or len(secret) > 100:
        return None
    digest = _hash(secret)
    found = versions.cache("secrets", "sites", limit=256).get_present(
        digest, lambda: _load_by_secret(digest))
    if found is None:
        return None
    row, site = found
    # The lookup was by digest; compare once more in constant time before trusting it.
    if hmac.compare_digest(row.secret_hash, digest):
        return site
    if (row.previous_secret_hash and hmac.compare_digest(row.previous_secret_hash, digest)
            and row.previous_secret_expires_at is not None
            and row.previous_secret_expires_at > db.utcnow()):  # the grace ends on time, cached or not
        return site
    return None


def _load_by_secret(digest: str) -> tuple[Any, Site] | None:
    with db.read() as conn:
        row = conn.execute(
            sa.select(db.sites).where(
                db.sites.c.active,
                sa.or_(
                    db.sites.c.secret_hash == digest,
                    sa.and_(
                        db.sites.c.previous_secret_hash == digest,
                        db.sites.c.previous_secret_expires_at > db.utcnow(),
                    ),
                ),
            )
        ).first()
    return (row, _row_to_site(row)) if row is not None else None


def rotate_secret(site_key: str, *, grace: dt.timedelta = ROTATION_GRACE) -> str:
    """A new secret key; the old one keeps working for ``grace`` so partners can switch."""
    secret = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        row = conn.execute(
            sa.select(db.sites.c.secret_hash).where(db.sites.c.site_key == site_key)
        ).one_or_none()
        if row is None:
            raise SiteError(SiteError.NO_SITE.format(site_key))
        conn.execute(
            sa.update(db.sites)
            .where(db.sites.c.site_key == site_key)
            .values(
                secret_hash=_hash(secret),
                previous_secret_hash=row.secret_hash,
                previous_secret_expires_at=db.utcnow() + grace,
            )
        )
    return secret


def update_site(site_key: str, **values: Any) -> Site:
    allowed = {"name", "origins", "locale", "theme", "categories", "agencies", "destination",
               "altcha", "active"}
    unknown = set(values) - allowed
    if unknown:
        raise SiteError(f"cannot change {', '.join(sorted(unknown))}")
    if "origins" in values:
        values["origins"] = parse_origins(values["origins"])
    if "destination" in values and values["destination"] not in SITE_DESTINATIONS:
        raise SiteError(f"destination must be one of {', '.join(SITE_DESTINATIONS)}")
    with db.write() as conn:
        result = conn.execute(
            sa.update(db.sites).where(db.sites.c.site_key == site_key).values(**values)
        )
        if result.rowcount == 0:
            raise SiteError(SiteError.NO_SITE.format(site_key))
        row = conn.execute(sa.select(db.sites).where(db.sites.c.site_key == site_key)).one()
    return _row_to_site(row)


def origin_allowed(site: Site, origin: str | None) -> bool:
    if not origin:
        return False
    try:
        return normalise_origin(origin) in site.origins
    except SiteError:
        return False
