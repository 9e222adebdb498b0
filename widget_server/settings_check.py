"""Settings an operator writes by hand, checked when the relay or a command starts.

Each mistake stops the start with one line naming the setting, Vietnamese first, instead of a
traceback in the middle of a command or a worker that starts and then marks every forward
failed (a ``CENTRAL_URL`` ending in ``/intake/v1/submissions`` was a 404, so the first
submission went ``dead`` after one attempt; a central URL without its secret was an error in
the worker's log on each round while the relay kept taking submissions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from widget_server.config import secret_list, setting_error as _error

#: The drivers the relay is written and tested for (``postgres://`` is PostgreSQL's own alias).
DATABASES = {"sqlite", "postgresql", "postgres"}


def shown_url(value: str) -> str:
    """A URL as an error may print it: without a ``user:password@`` it carries."""
    parts = urlsplit(value)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if "@" in parts.netloc else value


def _base_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _error(name, "phải là một địa chỉ http(s):// đầy đủ, ví dụ https://phanhoi.example.vn",
                     "must be a whole http(s):// URL, e.g. https://phanhoi.example.vn", shown_url(value))
    if parts.query or parts.fragment:
        raise _error(name, "không được có ? hoặc #", "must have no query or fragment", shown_url(value))


def _central_url(value: str) -> None:
    _base_url("CENTRAL_URL", value)
    path = urlsplit(value).path.rstrip("/")
    if "/intake" in path:
        base = shown_url(value[: value.index("/intake")])
        raise _error("CENTRAL_URL", f"là địa chỉ gốc của hệ thống trung tâm, không có /intake/…: dùng {base}",
                     f"is the central system's base URL, without /intake/…: use {base}", shown_url(value))


def _webhook_secrets(name: str, value: Any) -> None:
    from phanhoi.webhooks import parse_secrets

    try:
        parse_secrets(secret_list(value))
    except ValueError as exc:  # names the secret by position, never its value
        raise _error(name, "phải là một hoặc vài khóa whsec_… (cách nhau bằng dấu phẩy)",
                     f"must be one or more whsec_… secrets, comma-separated: {exc}") from None


def _database_url(value: str) -> None:
    import sqlalchemy as sa

    try:
        url = sa.make_url(value)
    except sa.exc.ArgumentError:
        raise _error("DATABASE_URL", "không phải một địa chỉ cơ sở dữ liệu, ví dụ "
                     "postgresql://phanhoi@db.internal/phanhoi hoặc sqlite:////var/lib/phanhoi/phanhoi.sqlite3",
                     "is not a database URL, e.g. postgresql://phanhoi@db.internal/phanhoi or "
                     "sqlite:////var/lib/phanhoi/phanhoi.sqlite3") from None
    if url.get_backend_name() not in DATABASES:
        raise _error("DATABASE_URL", "chỉ dùng được PostgreSQL (postgresql://…) hoặc SQLite (sqlite:///…)",
                     "must be PostgreSQL (postgresql://…) or SQLite (sqlite:///…)",
                     url.render_as_string(hide_password=True))


def log_level(value: Any) -> int:
    """``PHANHOI_LOG_LEVEL`` as logging's number: a name in any case (``debug`` was a traceback, as
    was any word logging does not know) or a number."""
    import logging

    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    level = logging.getLevelNamesMapping().get(str(value).strip().upper())
    if level is None:
        raise _error("LOG_LEVEL", "phải là DEBUG, INFO, WARNING, ERROR hoặc CRITICAL",
                     "must be DEBUG, INFO, WARNING, ERROR or CRITICAL", value)
    return level


def check(config: Mapping[str, Any]) -> None:
    """Raise ``ConfigError`` for the first setting that cannot work."""
    _database_url(str(config["DATABASE_URL"]))
    _base_url("PUBLIC_URL", str(config["PUBLIC_URL"]))
    central = str(config.get("CENTRAL_URL") or "").strip()
    if central:
        _central_url(central)
        if not secret_list(config.get("CENTRAL_SECRET")):
            raise _error("CENTRAL_SECRET", "chưa đặt mà PHANHOI_CENTRAL_URL đã có: không ký được gì gửi đi",
                         "is not set while PHANHOI_CENTRAL_URL is: nothing could be signed and sent")
    for name in ("CENTRAL_SECRET", "CENTRAL_EVENTS_SECRET"):
        if secret_list(config.get(name)):
            _webhook_secrets(name, config.get(name))
