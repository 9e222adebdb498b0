"""Standard Webhooks: published test vector, interop with the reference library,
rotation, tolerance, tampering, and every failure mode."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import standardwebhooks
from phanhoi import webhooks
from phanhoi.errors import PhanHoiError
from phanhoi.events import Event, SubmissionStatusChanged
from phanhoi.webhooks import (
    WebhookVerificationError,
    generate_secret,
    sign,
    sign_headers,
    verify,
    verify_headers,
)

# https://github.com/standard-webhooks/standard-webhooks (spec test vector)
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_HEADERS = {
    "webhook-id": VECTOR_ID,
    "webhook-timestamp": str(VECTOR_TS),
    "webhook-signature": VECTOR_SIG,
}

STATUS_BODY = json.dumps(
    {
        "type": "submission.status_changed",
        "timestamp": "2025-03-01T08:00:00Z",
        "data": {
            "submission_id": "sub_1",
            "central_id": "TH-2025-001",
            "status": "in_progress",
            "note": "Đã chuyển UBND xã",
            "answer": None,
            "agency": "UBND xã Quảng Phú",
            "deadline": "2025-03-18",
            "sequence": 3,
            "updated_at": "2025-03-01T08:00:00+07:00",
        },
    },
    ensure_ascii=False,
).encode()


def test_error_is_a_phanhoi_error() -> None:
    assert issubclass(WebhookVerificationError, PhanHoiError)


def test_sign_matches_published_vector() -> None:
    assert sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIG


def test_verify_published_vector() -> None:
    event = verify(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS)
    assert type(event) is Event
    assert event.id == VECTOR_ID
    assert event.data == {"test": 2432232314}
    assert event.timestamp == datetime.fromtimestamp(VECTOR_TS, tz=UTC)
    assert verify_headers(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS) == VECTOR_ID


def test_sign_headers_reproduces_vector() -> None:
    headers = sign_headers(VECTOR_BODY, VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TS)
    assert headers == VECTOR_HEADERS


def test_sign_headers_defaults() -> None:
    before = int(datetime.now(UTC).timestamp())
    h1 = sign_headers(b"{}", VECTOR_SECRET)
    h2 = sign_headers(b"{}", VECTOR_SECRET)
    assert h1["webhook-id"].startswith("msg_")
    assert h1["webhook-id"] != h2["webhook-id"]
    assert abs(int(h1["webhook-timestamp"]) - before) <= 2
    assert verify_headers(b"{}", h1, VECTOR_SECRET) == h1["webhook-id"]


def test_generate_secret() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    raw = base64.b64decode(secret.removeprefix("whsec_"))
    assert 24 <= len(raw) <= 32
    assert generate_secret() != secret
    with pytest.raises(ValueError):
        generate_secret(8)


def test_ours_verified_by_reference_library() -> None:
    secret = generate_secret()
    headers = sign_headers(STATUS_BODY, secret)
    payload = standardwebhooks.Webhook(secret).verify(STATUS_BODY, headers)
    assert payload["data"]["sequence"] == 3


def test_reference_library_verified_by_ours() -> None:
    secret = generate_secret()
    now = datetime.now(UTC)
    signature = standardwebhooks.Webhook(secret).sign("msg_ref_1", now, STATUS_BODY.decode())
    headers = {
        "Webhook-Id": "msg_ref_1",
        "Webhook-Timestamp": str(int(now.timestamp())),
        "Webhook-Signature": signature,
    }
    event = verify(STATUS_BODY, headers, secret)
    assert isinstance(event, SubmissionStatusChanged)
    assert event.id == "msg_ref_1"
    assert event.status == "in_progress"
    assert event.sequence == 3


def test_unpadded_secret_accepted_like_reference() -> None:
    secret = "whsec_" + base64.b64encode(b"x" * 25).decode().rstrip("=")
    headers = sign_headers(b"{}", secret)
    standardwebhooks.Webhook(secret).verify(b"{}", headers)
    verify_headers(b"{}", headers, secret)


def test_rotation_two_signatures_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    headers = sign_headers(STATUS_BODY, [old, new])
    assert len(headers["webhook-signature"].split()) == 2
    verify(STATUS_BODY, headers, old)
    verify(STATUS_BODY, headers, new)
    verify(STATUS_BODY, headers, (generate_secret(), new))
    with pytest.raises(WebhookVerificationError):
        verify(STATUS_BODY, headers, generate_secret())


def test_rotation_receiver_accepts_old_and_new() -> None:
    old, new = generate_secret(), generate_secret()
    headers = sign_headers(STATUS_BODY, old)
    verify(STATUS_BODY, headers, [new, old])


def test_other_signature_schemes_ignored() -> None:
    headers = dict(VECTOR_HEADERS)
    headers["webhook-signature"] = "v1a,AAAA v2,zzz nocomma " + VECTOR_SIG
    verify_headers(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (10_000, False)],
)
def test_tolerance(offset: int, ok: bool) -> None:
    now = VECTOR_TS + offset
    if ok:
        verify_headers(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=now)
    else:
        with pytest.raises(WebhookVerificationError, match="too (old|new)"):
            verify_headers(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=now)


def test_custom_tolerance() -> None:
    verify_headers(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS + 900, tolerance=900)


def _with(**changes: str | None) -> dict[str, str]:
    headers = dict(VECTOR_HEADERS)
    for key, value in changes.items():
        name = key.replace("_", "-")
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    return headers


@pytest.mark.parametrize(
    ("body", "headers", "secret"),
    [
        pytest.param(VECTOR_BODY, _with(webhook_id=None), VECTOR_SECRET, id="no-id"),
        pytest.param(VECTOR_BODY, _with(webhook_timestamp=None), VECTOR_SECRET, id="no-ts"),
        pytest.param(VECTOR_BODY, _with(webhook_signature=None), VECTOR_SECRET, id="no-sig"),
        pytest.param(VECTOR_BODY, _with(webhook_signature=""), VECTOR_SECRET, id="empty-sig"),
        pytest.param(VECTOR_BODY, _with(webhook_timestamp="abc"), VECTOR_SECRET, id="bad-ts"),
        pytest.param(VECTOR_BODY, _with(webhook_timestamp="-5"), VECTOR_SECRET, id="neg-ts"),
        # Digits to str.isdigit, not to int(): a header's byte 0xB2 reads as "²" (ISO-8859-1).
        pytest.param(VECTOR_BODY, _with(webhook_timestamp="\u00b2"), VECTOR_SECRET, id="superscript-ts"),
        pytest.param(
            VECTOR_BODY, _with(webhook_timestamp="\u0661\u0662"), VECTOR_SECRET, id="arabic-digit-ts"
        ),
        pytest.param(VECTOR_BODY, _with(webhook_id="msg_other"), VECTOR_SECRET, id="other-id"),
        pytest.param(VECTOR_BODY + b" ", VECTOR_HEADERS, VECTOR_SECRET, id="body-tampered"),
        pytest.param(b'{"test": 2432232315}', VECTOR_HEADERS, VECTOR_SECRET, id="body-changed"),
        pytest.param(
            VECTOR_BODY, _with(webhook_signature="v1,!!notbase64!!"), VECTOR_SECRET, id="sig-b64"
        ),
        pytest.param(
            VECTOR_BODY,
            _with(webhook_signature=VECTOR_SIG.replace("v1,", "v2,")),
            VECTOR_SECRET,
            id="wrong-version",
        ),
        pytest.param(VECTOR_BODY, VECTOR_HEADERS, generate_secret(), id="wrong-secret"),
        pytest.param(VECTOR_BODY, VECTOR_HEADERS, "whsec_***", id="bad-secret"),
        pytest.param(VECTOR_BODY, VECTOR_HEADERS, "whsec_", id="empty-secret"),
        pytest.param(VECTOR_BODY, VECTOR_HEADERS, [], id="no-secret"),
    ],
)
def test_every_failure_raises_verification_error(
    body: bytes, headers: dict[str, str], secret: str | list[str]
) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, secret, now=VECTOR_TS)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b"\xff\xfe", b'"string"'],
    ids=["text", "array", "bytes", "str"],
)
def test_verified_but_unparsable_body(body: bytes) -> None:
    headers = sign_headers(body, VECTOR_SECRET, msg_id="msg_x", timestamp=VECTOR_TS)
    assert verify_headers(body, headers, VECTOR_SECRET, now=VECTOR_TS) == "msg_x"
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_known_type_with_bad_data_raises() -> None:
    body = json.dumps({"type": "submission.status_changed", "data": {"status": "x"}}).encode()
    headers = sign_headers(body, VECTOR_SECRET, timestamp=VECTOR_TS)
    with pytest.raises(WebhookVerificationError, match="malformed"):
        verify(body, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_str_body_and_case_insensitive_headers() -> None:
    headers = {k.upper(): v for k, v in VECTOR_HEADERS.items()}
    event = verify(VECTOR_BODY.decode(), headers, VECTOR_SECRET, now=VECTOR_TS)
    assert event.id == VECTOR_ID


def test_sign_rejects_bad_secret() -> None:
    with pytest.raises(ValueError):
        sign("msg", 1, b"{}", "whsec_***")


def test_module_exports() -> None:
    for name in webhooks.__all__:
        assert hasattr(webhooks, name)
