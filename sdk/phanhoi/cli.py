"""``phanhoi`` command line: submit, look up, embed and verify from a terminal.

Exit codes: 0 ok, 1 API or verification error, 2 usage error, 3 connection error.
Human output uses Vietnamese labels; ``--json`` prints machine-readable JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from ._version import __version__
from .client import Client
from .embed import LANGS, VARIANTS, embed_snippet, standalone_url
from .errors import (
    APIConnectionError,
    APIStatusError,
    PhanHoiError,
    UnprocessableEntityError,
    WebhookVerificationError,
)
from .events import Event
from .models import (
    ConsentGiven,
    Location,
    NotifyRequest,
    SiteConfig,
    SubmissionCreate,
    SubmissionReceipt,
    SubmissionStatus,
    Submitter,
    status_label,
)
from .webhooks import verify

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONNECTION = 0, 1, 2, 3
VN_TIME = timezone(timedelta(hours=7), "ICT")


class UsageError(Exception):
    """Bad arguments or settings detected after parsing (exit code 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or usage error (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    as_json: bool = args.json
    try:
        result: int = args.handler(args)
        sys.stdout.flush()  # a reader gone (`| head -1`) is found here, not at exit
        return result
    except BrokenPipeError:
        # The reader stopped reading: end quietly, as shell tools do. Python would flush
        # stdout again at exit and print the same error there, so point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except UsageError as e:
        _fail(as_json, "usage", str(e))
        return EXIT_USAGE
    except APIConnectionError as e:
        _fail(as_json, type(e).__name__, f"Không kết nối được máy chủ: {e}")
        return EXIT_CONNECTION
    except APIStatusError as e:
        extra: dict[str, Any] = {"status_code": e.status_code, "request_id": e.request_id}
        if isinstance(e, UnprocessableEntityError):
            extra["errors"] = e.errors
        _fail(as_json, type(e).__name__, str(e), **extra)
        return EXIT_ERROR
    except WebhookVerificationError as e:
        _fail(as_json, type(e).__name__, f"Chữ ký không hợp lệ: {e}")
        return EXIT_ERROR
    except PhanHoiError as e:
        _fail(as_json, type(e).__name__, str(e))
        return EXIT_ERROR


# ----------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable JSON output")
    relay = argparse.ArgumentParser(add_help=False)
    relay.add_argument("--base-url", help="relay URL (env PHANHOI_BASE_URL)")
    relay.add_argument("--site-key", help="site key (env PHANHOI_SITE_KEY)")
    relay.add_argument("--secret-key", help="site secret key (env PHANHOI_SITE_SECRET)")

    parser = argparse.ArgumentParser(
        prog="phanhoi",
        description="Phản hồi Widget: gửi, tra cứu phản ánh, kiến nghị; nhúng widget; kiểm tra webhook.",
    )
    parser.add_argument("--version", action="version", version=f"phanhoi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "submit", parents=[common, relay], help="send a submission (gửi phản ánh, kiến nghị)"
    )
    p.add_argument("--from-json", metavar="FILE", help="submission JSON file ('-' = stdin)")
    p.add_argument("--category")
    p.add_argument("--title")
    p.add_argument("--content")
    p.add_argument("--name", help="submitter's name (họ tên)")
    p.add_argument("--phone")
    p.add_argument("--email")
    p.add_argument("--agency", help="agency code; omit to let the system route it")
    p.add_argument("--commune", help="commune code (mã xã/phường)")
    p.add_argument("--address")
    p.add_argument("--lat", type=float)
    p.add_argument("--lon", type=float)
    p.add_argument("--source-url")
    p.add_argument(
        "--public",
        action="store_true",
        help="allow publishing the submitter's details (default: confidential)",
    )
    p.add_argument("--consent-version", help="default: the site's current consent version")
    p.add_argument(
        "--accept-consent",
        action="store_true",
        help="the citizen explicitly accepted the consent text (required with flags)",
    )
    p.add_argument("--notify", choices=("email", "sms"),
                   help="tell the citizen when the answer comes (báo khi có trả lời), by email or SMS")
    p.add_argument(
        "--accept-notify-consent",
        action="store_true",
        help="the citizen explicitly accepted the notice's own consent text (required with --notify)",
    )
    p.add_argument("--file", action="append", default=[], metavar="PATH", help="attachment")
    p.add_argument("--idempotency-key")
    p.set_defaults(handler=_cmd_submit)

    p = sub.add_parser("status", parents=[common, relay], help="look up a tracking code")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--contact", required=True, help="phone or email given at submission")
    p.set_defaults(handler=_cmd_status)

    p = sub.add_parser("embed", parents=[common], help="print the <script> snippet")
    p.add_argument("--relay", help="relay URL (env PHANHOI_RELAY_URL or PHANHOI_BASE_URL)")
    p.add_argument("--site", help="site key (env PHANHOI_SITE_KEY)")
    p.add_argument("--variant", choices=VARIANTS, default="banner")
    p.add_argument("--lang", choices=LANGS, default="vi")
    p.add_argument("--no-pin", action="store_true", help="latest loader.js without SRI")
    p.add_argument("--channel", help="reach channel: tv, radio, facebook… (default: web)")
    p.set_defaults(handler=_cmd_embed)

    p = sub.add_parser("verify", parents=[common], help="verify a Standard Webhooks message")
    p.add_argument("body", metavar="BODY_FILE", help="raw request body ('-' = stdin)")
    p.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="repeatable"
    )
    p.add_argument(
        "--secret", action="append", default=[], help="whsec_… (env PHANHOI_WEBHOOK_SECRET)"
    )
    p.add_argument("--tolerance", type=int, default=300, help="seconds (default 300)")
    p.add_argument("--now", type=int, help="verify as of this unix time (old captures)")
    p.set_defaults(handler=_cmd_verify)
    return parser


# ----------------------------------------------------------------------------- commands


def _client(args: argparse.Namespace) -> Client:
    return Client(args.base_url, args.site_key, args.secret_key)


def _cmd_submit(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if not client.secret_key:
            raise UsageError("submit needs --secret-key or PHANHOI_SITE_SECRET")
        submission: SubmissionCreate | dict[str, Any]
        for path in args.file:
            if not Path(path).is_file():
                raise UsageError(f"attachment not found: {path}")
        if args.from_json:
            try:
                data = json.loads(_read(args.from_json).decode("utf-8"))
            except ValueError as e:
                raise UsageError(f"--from-json is not valid UTF-8 JSON: {e}") from e
            if not isinstance(data, dict):
                raise UsageError("--from-json must contain a JSON object")
            ignored = [f"--{n.replace('_', '-')}" for n in _FIELD_FLAGS
                       if getattr(args, n) is not None and getattr(args, n) is not False]
            if ignored:
                raise UsageError(f"--from-json carries the whole submission: put {', '.join(ignored)} "
                                 "in the file, or give the fields as flags without --from-json")
            if args.accept_consent and "consent" not in data:
                version = args.consent_version or _site_config(client, _NEEDS_VERSION).consent.version
                data["consent"] = {"version": version, "accepted": True}
            submission = data
        else:
            submission = _submission_from_flags(args, client)
        receipt = client.submit(
            submission, idempotency_key=args.idempotency_key, files=list(args.file) or None
        )
    _print_receipt(receipt, args.json)
    return EXIT_OK


#: The flags that each set a field of the submission (``--from-json`` carries them all).
_FIELD_FLAGS = ("category", "title", "content", "name", "phone", "email", "agency", "commune",
                "address", "lat", "lon", "source_url", "public", "notify", "accept_notify_consent")


_NEEDS_VERSION = "give --consent-version, or --site-key to read it from the site"


def _site_config(client: Client, without_key: str) -> SiteConfig:
    """The site's config (its consent texts), read once; ``without_key`` says why a key is needed."""
    if not client.site_key:
        raise UsageError(without_key)
    return client.site_config()


def _submission_from_flags(args: argparse.Namespace, client: Client) -> SubmissionCreate:
    missing = [f"--{n}" for n in ("category", "title", "content", "name") if not getattr(args, n)]
    if missing:
        raise UsageError("missing " + ", ".join(missing) + " (or use --from-json)")
    if not (args.phone or args.email):
        raise UsageError("give --phone or --email: the citizen must be reachable")
    if not args.accept_consent:
        # Law 91/2025/QH15: consent must be explicit; never assume it.
        raise UsageError("--accept-consent is required: the citizen must accept the consent text")
    if bool(args.notify) != args.accept_notify_consent:
        # A purpose of its own: its consent is given with it, never assumed, never alone.
        raise UsageError("--notify and --accept-notify-consent go together: the citizen asks for "
                         "the notice and accepts its own consent text")
    config, notify = None, None
    if args.notify:
        config = _site_config(client, "--notify needs --site-key: the notice's consent text is the site's")
        notify = _notify_request(args.notify, config)
    version = args.consent_version or (config or _site_config(client, _NEEDS_VERSION)).consent.version
    has_location = any(v is not None for v in (args.commune, args.address, args.lat, args.lon))
    return SubmissionCreate(
        category=args.category,
        title=args.title,
        content=args.content,
        agency=args.agency,
        location=(
            Location(commune_code=args.commune, address=args.address, lat=args.lat, lon=args.lon)
            if has_location
            else None
        ),
        submitter=Submitter(name=args.name, phone=args.phone, email=args.email),
        confidential=not args.public,
        consent=ConsentGiven(version=version, accepted=True),
        source_url=args.source_url,
        notify=notify,
    )


def _notify_request(by: Literal["email", "sms"], config: SiteConfig) -> NotifyRequest:
    if by not in config.notify_channels or config.notify_consent is None:
        offered = ", ".join(config.notify_channels) or "none"
        raise UsageError(f"this relay sends no notice by {by} (it offers: {offered})")
    return NotifyRequest(by=by, consent=ConsentGiven(version=config.notify_consent.version, accepted=True))


def _cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        status = client.status(args.code, args.contact)
    _print_status(status, args.json)
    return EXIT_OK


def _cmd_embed(args: argparse.Namespace) -> int:
    relay = args.relay or os.environ.get("PHANHOI_RELAY_URL") or os.environ.get("PHANHOI_BASE_URL")
    site = args.site or os.environ.get("PHANHOI_SITE_KEY")
    if not relay or not site:
        raise UsageError("embed needs --relay and --site (or PHANHOI_RELAY_URL, PHANHOI_SITE_KEY)")
    try:
        snippet = embed_snippet(relay, site, args.variant, args.lang, pin=not args.no_pin,
                                channel=args.channel)
        link = standalone_url(relay, site)
    except ValueError as e:
        raise UsageError(str(e)) from e
    if args.json:
        _print_json({"snippet": snippet, "standalone_url": link})
    else:
        print(snippet)
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    secrets = list(args.secret) or os.environ.get("PHANHOI_WEBHOOK_SECRET", "").split()
    if not secrets:
        raise UsageError("verify needs --secret or PHANHOI_WEBHOOK_SECRET")
    headers: dict[str, str] = {}
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header must look like 'name: value', got {item!r}")
        headers[name.strip().lower()] = value.strip()
    body = _read(args.body)
    event = verify(body, headers, secrets, tolerance=args.tolerance, now=args.now)
    _print_event(event, args.json)
    return EXIT_OK


# ----------------------------------------------------------------------------- output


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from e


def _when(value: datetime | None) -> str:
    return value.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M") if value else "—"


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail(as_json: bool, kind: str, message: str, **extra: Any) -> None:
    if as_json:
        err = {"error": kind, "message": message, **extra}
        print(json.dumps(err, ensure_ascii=False, default=str), file=sys.stderr)
        return
    print(f"Lỗi: {message}", file=sys.stderr)
    for field, messages in (extra.get("errors") or {}).items():
        print(f"  - {field}: {'; '.join(messages)}", file=sys.stderr)


def _print_receipt(receipt: SubmissionReceipt, as_json: bool) -> None:
    if as_json:
        _print_json({**receipt.raw, "replayed": receipt.replayed})
        return
    print(
        "Đã gửi phản ánh, kiến nghị." if not receipt.replayed else "Yêu cầu đã được gửi trước đó."
    )
    print(f"Mã theo dõi: {receipt.tracking_code}")
    print(f"Trạng thái: {status_label(receipt.status)}")
    if receipt.status_url:
        print(f"Tra cứu: {receipt.status_url}")


def _print_status(status: SubmissionStatus, as_json: bool) -> None:
    if as_json:
        _print_json(status.raw)
        return
    print(f"Mã theo dõi: {status.tracking_code}")
    print(f"Trạng thái: {status_label(status.status)}")
    if status.deadline is not None:
        print(f"Hạn xử lý: {_when(status.deadline)}" + (" (quá hạn)" if status.overdue else ""))
    if status.history:
        print("Lịch sử:")
        for entry in status.history:
            note = f" — {entry.note}" if entry.note else ""
            print(f"  {_when(entry.at)}  {status_label(entry.status)}{note}")
    if status.answer is not None:
        print(
            f"Trả lời ({status.answer.agency or 'cơ quan có thẩm quyền'}, "
            f"{_when(status.answer.answered_at)}):"
        )
        print(f"  {status.answer.text}")
    if status.rating is not None:
        print("Đánh giá: " + ("Hài lòng" if status.rating.satisfied else "Không hài lòng"))


def _print_event(event: Event, as_json: bool) -> None:
    if as_json:
        _print_json(
            {
                "valid": True,
                "id": event.id,
                "type": event.type,
                "timestamp": event.timestamp.isoformat(),
                "data": event.data,
            }
        )
        return
    print("Chữ ký hợp lệ.")
    print(f"Mã sự kiện (webhook-id): {event.id}")
    print(f"Loại sự kiện: {event.type or '—'}")
    print(f"Thời điểm: {_when(event.timestamp)}")


if __name__ == "__main__":
    sys.exit(main())
