"""Settings: defaults, then ``PHANHOI_*`` environment variables, then the test mapping.

Every setting lives in :data:`SETTINGS` with its default and a one-line
description; the README's settings table is checked against it by a test.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Flask


@dataclass(frozen=True)
class Setting:
    default: Any
    help: str


# Name (without the PHANHOI_ prefix) → default and description.
SETTINGS: dict[str, Setting] = {
    "SECRET_KEY": Setting(
        None, "Signs form tokens and attachment links. Required outside demo mode."
    ),
    "SECRET_KEY_FALLBACKS": Setting(
        None,
        "Earlier secret keys, comma-separated, still accepted after a rotation: contact lookups, "
        "form tokens and attachment links made with them keep working.",
    ),
    "DATABASE_URL": Setting(
        None, "SQLAlchemy URL. Default: SQLite file `phanhoi.sqlite3` in the instance folder."
    ),
    "DB_PING_IDLE_SECONDS": Setting(
        5.0, "PostgreSQL: seconds a pooled connection may sit unused before it is pinged when next "
        "taken (a connection whose server ended the session is noticed without a ping)."
    ),
    "STORE_WAIT_SECONDS": Setting(
        10.0, "How long a request waits for a lock in the store (SQLite's one writer, PostgreSQL's "
        "row and table locks) before it answers 503 with Retry-After; kept well under the worker "
        "timeout (`serve` gives gunicorn this plus 20 s), so a locked store is an answer, not a killed worker."
    ),
    "PUBLIC_URL": Setting(
        "http://127.0.0.1:5000", "The relay's public origin, used in links and the loader URL."
    ),
    "CENTRAL_URL": Setting(
        None, "Base URL of the central system; submissions go to `{CENTRAL_URL}/intake/v1/submissions`."
    ),
    "CENTRAL_SECRET": Setting(
        None,
        "`whsec_…` secret(s) that sign what the relay sends. Several, comma-separated, during a rotation.",
    ),
    "CENTRAL_EVENTS_SECRET": Setting(
        None,
        "`whsec_…` secret(s) that verify events from the central system. Several, comma-separated, during a rotation.",
    ),
    "OPEN311_URL": Setting(
        None, "Open311 GeoReport v2 endpoint base, for sites whose destination is `open311`."
    ),
    "OPEN311_API_KEY": Setting(None, "Open311 `api_key`, when the back-end wants one."),
    "OPEN311_JURISDICTION_ID": Setting(None, "Open311 `jurisdiction_id`, when the back-end serves several."),
    "OPEN311_SERVICE_CODES": Setting(
        None,
        "Category → Open311 `service_code`: JSON or `moi-truong=ENV,giao-thong=ROAD`; `*` for the rest.",
    ),
    "OPEN311_AREA": Setting(
        "Thanh Hóa",
        "Open311 `address_string` for a submission that names no place (GeoReport v2 requires one): the area the back-end serves.",
    ),
    "OPEN311_SYNC_MINUTES": Setting(
        15,
        "Minutes between the worker's Open311 read-backs (tokens resolved, statuses applied); 0 turns it off.",
    ),
    "SMTP_URL": Setting(
        None,
        "Mail server for notices to citizens: `smtp://user:pass@host:587?starttls=1` (STARTTLS), "
        "`smtps://…:465` (TLS); unset: no notices by email.",
    ),
    "SMTP_TIMEOUT": Setting(30.0, "Seconds to wait for the mail server on each step of a notice; a whole notice ends within four of them, never past its row's lease."),
    "NOTIFY_FROM": Setting(
        None,
        "`From` of notice emails, e.g. `Phản hồi <no-reply@relay.example>`. Default: `no-reply@` the host of `PUBLIC_URL`.",
    ),
    "SMS_URL": Setting(
        None, "HTTP SMS gateway that sends notices (`POST` JSON, see examples/sms_gateway); unset: no SMS."
    ),
    "SMS_TOKEN": Setting(None, "Bearer token the SMS gateway wants, if any."),
    "NOTIFY_ON_ACCEPTED": Setting(
        False,
        "Also tell citizens who asked for a notice when their submission is accepted (besides answered or rejected).",
    ),
    "RATELIMIT_STORAGE_URI": Setting(
        "memory://", "Flask-Limiter storage, e.g. `redis://127.0.0.1:6379/0` for several instances."
    ),
    "RATELIMIT_SUBMIT": Setting(
        "200 per hour;30 per minute",
        "Accepted browser submissions per client IP (Flask-Limiter syntax); generous, as many citizens "
        "share one carrier-NAT address.",
    ),
    "RATELIMIT_SUBMIT_BUSY": Setting(
        "5 per 10 minutes",
        "Accepted browser submissions per client IP after which the next ones need ALTCHA proof of work.",
    ),
    "RATELIMIT_SUBMIT_CONTACT": Setting(
        "3 per 10 minutes;10 per day", "Accepted browser submissions per phone number or email."
    ),
    "RATELIMIT_SUBMIT_SITE": Setting(
        "600 per hour", "Accepted browser submissions per site, over all clients."
    ),
    "RATELIMIT_PARTNER": Setting(
        "120 per minute;3000 per hour",
        "Accepted submissions per site from its server (`Authorization: Bearer`), instead of the browser limits.",
    ),
    "RATELIMIT_LOOKUP": Setting(
        "30 per hour;10 per minute",
        "Failed status lookups per client IP; one that finds its submission is not counted.",
    ),
    "RATELIMIT_RATING": Setting("10 per hour", "Rating and data-request limit per client IP."),
    "RATELIMIT_LOOKUP_CODE_IP": Setting(
        "5 per hour", "Failed lookups, ratings and data requests of one tracking code from one client IP."
    ),
    "RATELIMIT_LOOKUP_CODE": Setting(
        "200 per hour",
        "Failed lookups, ratings and data requests of one tracking code from all clients together "
        "(guessing its contact from many addresses); above what others' mistakes reach, so its owner is not locked out.",
    ),
    "STATS_CACHE_SECONDS": Setting(
        300, "Seconds a site's figures (`/api/v1/sites/{key}/stats`) are kept before they are counted again."
    ),
    "RATELIMIT_BEACON": Setting("120 per minute", "Reach beacons counted per client IP."),
    "REACH_FLUSH_SECONDS": Setting(
        2.0, "Seconds each relay process holds beacon counts before writing them in one transaction (0: at once)."
    ),
    "RATELIMIT_SIGN_IN": Setting("10 per hour;5 per minute", "Failed console sign-ins per client IP."),
    "RATELIMIT_SIGN_IN_ACCOUNT": Setting(
        "20 per hour",
        "Failed console sign-ins per account, over all clients; past it, only addresses that have not "
        "failed to sign in to it that day may try (see Console).",
    ),
    "CONSOLE_SESSION_MINUTES": Setting(
        60, "Minutes of inactivity after which a console session ends (sessions last 12 hours at most)."
    ),
    "ALTCHA_MAX_NUMBER": Setting(
        50000, "ALTCHA proof-of-work difficulty (largest secret number) for sites that turn it on."
    ),
    "ALTCHA_EXPIRES_SECONDS": Setting(1200, "Seconds an ALTCHA challenge stays valid."),
    "PII_RETENTION_DAYS": Setting(
        90,
        "Days after the central system's acknowledgement (or after sending, when a dead forward never got one) "
        "before names, contacts, addresses and attachments are redacted.",
    ),
    "MIN_FILL_SECONDS": Setting(
        3, "A browser form submitted sooner than this after it was served is treated as a bot."
    ),
    "FORM_TOKEN_MAX_AGE": Setting(7200, "Seconds a form token stays valid."),
    "IDEMPOTENCY_TTL_HOURS": Setting(24, "Hours an `Idempotency-Key` answer is kept for replay."),
    "MAX_CONTENT_LENGTH": Setting(
        512 * 1024,
        "Largest request body in bytes, enforced while it streams in (chunked too); a submission "
        "with files may carry every file at its limit.",
    ),
    "MAX_ATTACHMENTS": Setting(5, "Most files per submission."),
    "MAX_ATTACHMENT_BYTES": Setting(10 * 1024 * 1024, "Largest file accepted, in bytes."),
    "ATTACHMENT_DIR": Setting(
        None, "Where attachments are stored. Default: `attachments/` in the instance folder."
    ),
    "ATTACHMENT_URL_MAX_AGE": Setting(
        7 * 24 * 3600, "Seconds a signed attachment link given to the central system stays valid."
    ),
    "DEADLINE_DAYS": Setting(
        17, "Days the central system has to answer (QĐ 05/2020/QĐ-UBND Thanh Hóa), when it sends none."
    ),
    "OUTBOX_MAX_ATTEMPTS": Setting(20, "Delivery attempts before an outbox row is `dead`."),
    "OUTBOX_RETRY_WINDOW_HOURS": Setting(
        72, "Hours after which an undelivered outbox row is `dead`, whatever its attempt count."
    ),
    "OUTBOX_LEASE_SECONDS": Setting(60, "How long a worker holds a claimed outbox row."),
    "OUTBOX_POLL_SECONDS": Setting(
        0.25, "How often an idle worker looks for due rows (an indexed query; sets the forwarding delay)."
    ),
    "OUTBOX_CONCURRENCY": Setting(
        32, "Deliveries one worker makes at a time (a pool of threads; 1 = one after another). "
        "Events of one submission still go out in order."
    ),
    "HTTP_TIMEOUT": Setting(10.0, "Seconds to wait for the central system's whole answer on each "
                            "delivery (after at most 5 s to connect); never past the row's lease."),
    "BREAKER_THRESHOLD": Setting(5, "Consecutive failures that open a destination's breaker."),
    "BREAKER_COOLDOWN_SECONDS": Setting(30, "Seconds a breaker stays open before one trial delivery."),
    "PROXY_HOPS": Setting(
        0, "Reverse proxies in front of the relay whose `X-Forwarded-For` is trusted (0 = none)."
    ),
    "LOG_LEVEL": Setting("INFO", "Logging level for the relay and the worker: DEBUG, INFO, WARNING, ERROR or CRITICAL, in any case."),
    "RESULTS_MAX_AGE": Setting(
        60, "Seconds browsers and CDNs may keep public results (board, API, feed, Open311) before revalidating."
    ),
    "RESULTS_CACHE_SECONDS": Setting(
        1.0, "Seconds each relay process serves public results from memory before checking for changes."
    ),
    "VERSION_CHECK_SECONDS": Setting(
        1.0, "Seconds each relay process serves sites, their configuration, reference lists and form pages "
        "from memory before reading the change counters again."
    ),
    "PAGE_CACHE": Setting(
        True, "Form pages (`/w/KEY/form`, `/s/KEY`) rendered once per version of the data behind them and "
        "served from memory, with a new form token and nonce each time (false: rendered per request)."
    ),
    "DEMO": Setting(False, "Demo mode: generated secrets, `/demo` page. Never in production."),
}


# Where ``phanhoi-widget demo`` keeps what it generated, in the instance folder.
DEMO_SECRETS_FILE = "demo-secrets.json"
DEFAULT_DATABASE_FILE = "phanhoi.sqlite3"


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the relay refuses to start."""


# Numbers are never negative; POSITIVE ones more than 0 (at 0 what they bound stops), WHOLE ones whole.
POSITIVE = {"STORE_WAIT_SECONDS", "SMTP_TIMEOUT", "HTTP_TIMEOUT", "OUTBOX_LEASE_SECONDS", "OUTBOX_CONCURRENCY",
            "OUTBOX_MAX_ATTEMPTS", "OUTBOX_RETRY_WINDOW_HOURS", "FORM_TOKEN_MAX_AGE", "IDEMPOTENCY_TTL_HOURS",
            "ALTCHA_MAX_NUMBER", "ALTCHA_EXPIRES_SECONDS", "CONSOLE_SESSION_MINUTES", "DEADLINE_DAYS",
            "MAX_CONTENT_LENGTH", "MAX_ATTACHMENT_BYTES", "ATTACHMENT_URL_MAX_AGE", "BREAKER_THRESHOLD"}
WHOLE = {"OUTBOX_CONCURRENCY", "OUTBOX_MAX_ATTEMPTS", "ALTCHA_MAX_NUMBER", "MAX_CONTENT_LENGTH",
         "MAX_ATTACHMENTS", "MAX_ATTACHMENT_BYTES", "BREAKER_THRESHOLD", "PROXY_HOPS"}


def _coerce(name: str, value: Any, default: Any) -> Any:
    """The default's type (values arrive as strings, or JSON via from_prefixed_env); in range."""
    if isinstance(value, str) and isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, bool) or not isinstance(default, (int, float)) or value is None:
        return value
    whole = name in WHOLE
    try:
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ValueError
    except ValueError:
        raise setting_error(name, "phải là một số", "must be a number", value) from None
    if whole and number != int(number):
        raise setting_error(name, "phải là một số nguyên", "must be a whole number", value)
    if number <= 0 and name in POSITIVE:
        raise setting_error(name, "phải lớn hơn 0", "must be more than 0", value)
    if number < 0:
        raise setting_error(name, "không được âm", "must not be negative", value)
    return int(number) if whole or (isinstance(default, int) and number == int(number)) else number


def setting_error(name: str, vi: str, en: str, value: Any = None) -> ConfigError:
    """One line naming the setting, Vietnamese first, with the value it has when it is shown."""
    vi_is, en_is = (f" (đang là {value!r})", f" (it is {value!r})") if value is not None else ("", "")
    return ConfigError(f"PHANHOI_{name} {vi}{vi_is}. / PHANHOI_{name} {en}{en_is}.")


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    for name, setting in SETTINGS.items():
        if app.config.get(name) is None:  # Flask's own MAX_CONTENT_LENGTH is None: no limit at all
            app.config[name] = setting.default
    app.config.from_prefixed_env("PHANHOI")
    if test_config:
        app.config.update(test_config)
    for name, setting in SETTINGS.items():
        app.config[name] = _coerce(name, app.config.get(name), setting.default)

    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, DEFAULT_DATABASE_FILE)
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    if not app.config.get("ATTACHMENT_DIR"):
        app.config["ATTACHMENT_DIR"] = os.path.join(app.instance_path, "attachments")

    if not app.config.get("SECRET_KEY") and not app.config.get("TESTING"):
        _demo_instance(app)
    if not app.config.get("SECRET_KEY"):
        if app.config["DEMO"] or app.config.get("TESTING"):
            app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
        else:
            raise ConfigError(
                "Chưa đặt PHANHOI_SECRET_KEY. / PHANHOI_SECRET_KEY is not set. Tạo một khóa / generate one: "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
    if len(str(app.config["SECRET_KEY"])) < 16 and not app.config.get("TESTING"):
        raise ConfigError("PHANHOI_SECRET_KEY quá ngắn: dùng ít nhất 32 ký tự ngẫu nhiên. / "
                          "PHANHOI_SECRET_KEY is too short: use at least 32 random characters.")
    app.config["PUBLIC_URL"] = str(app.config["PUBLIC_URL"]).rstrip("/")


def _demo_instance(app: Flask) -> None:
    """A command run against the demo's instance folder (``make demo``, then
    ``phanhoi-widget sites list``) works as the demo does: with its secret key, in demo
    mode. Only ``demo`` writes that file; a production instance folder never has it."""
    path = os.path.join(app.instance_path, DEMO_SECRETS_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            stored = json.load(fh)
    except (OSError, ValueError):
        return
    if isinstance(stored, dict) and stored.get("secret_key"):
        app.config["SECRET_KEY"] = stored["secret_key"]
        app.config["DEMO"] = True


def secret_keys(config: Any) -> list[str]:
    """The secret keys to accept, oldest first and the current one last (itsdangerous' order)."""
    return [*secret_list(config.get("SECRET_KEY_FALLBACKS")), str(config["SECRET_KEY"])]


def secret_list(value: Any) -> list[str]:
    """A secret setting may hold several comma-separated secrets during a rotation."""
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]
