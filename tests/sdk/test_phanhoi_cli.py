"""The ``phanhoi`` command: output, ``--json`` and exit codes (0/1/2/3)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import responses
from phanhoi.cli import main
from phanhoi.webhooks import generate_secret, sign_headers

from tests.sdk import relay_fixtures

BASE = "https://relay.test"
SUBMIT_URL = BASE + "/api/v1/submissions"
RECEIPT = relay_fixtures.load("receipt")
CODE = RECEIPT["tracking_code"]
RELAY_ARGS = ["--base-url", BASE, "--site-key", "site_1", "--secret-key", "sk_test"]
FLAGS = [
    "--category", "moi-truong",
    "--title", "Rác thải tồn đọng",
    "--content", "Ba ngày chưa thu gom.",
    "--name", "Lê Văn A",
    "--phone", "0912345678",
    "--accept-consent",
]  # fmt: skip


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert main([]) == 2
    assert main(["nope"]) == 2
    assert main(["status", "X"]) == 2  # --contact missing
    assert main(["embed", "--relay", BASE, "--site", "k", "--variant", "popup"]) == 2


def test_submit_from_flags(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.get(
        BASE + "/api/v1/sites/site_1/config", json={"consent": {"version": "2025-07", "text": "…"}}
    )
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    assert main(["submit", *RELAY_ARGS, *FLAGS, "--commune", "16000"]) == 0
    out = capsys.readouterr().out
    assert f"Mã theo dõi: {CODE}" in out
    assert "Trạng thái: Đã nhận phản ánh" in out
    body = json.loads(mocked.calls[1].request.body or b"")
    assert body["consent"] == {"version": "2025-07", "accepted": True}
    assert body["confidential"] is True
    assert body["location"]["commune_code"] == "16000"
    assert body["submitter"] == {"name": "Lê Văn A", "phone": "0912345678", "email": None}


def test_submit_from_json_with_files_and_json_output(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "pakn.json"
    data.write_text(json.dumps({"title": "Đèn đường hỏng"}), encoding="utf-8")
    photo = tmp_path / "den.png"
    photo.write_bytes(b"PNG")
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT, headers={"Idempotent-Replayed": "true"})
    code = main(
        ["submit", *RELAY_ARGS, "--json", "--from-json", str(data), "--file", str(photo),
         "--idempotency-key", "cms-1"]
    )  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tracking_code"] == CODE and out["replayed"] is True
    request = mocked.calls[0].request
    assert request.headers["Idempotency-Key"] == "cms-1"
    assert request.headers["Content-Type"].startswith("multipart/form-data")


@pytest.mark.parametrize(
    "args",
    [
        ["--base-url", BASE, *FLAGS],  # no secret
        [*RELAY_ARGS, *[f for f in FLAGS if f != "--accept-consent"], "--consent-version", "1"],
        [*RELAY_ARGS, "--title", "x"],
        [*RELAY_ARGS, "--from-json", "/does/not/exist.json"],
        ["--base-url", BASE, "--secret-key", "s", *FLAGS],  # no consent version, no site key
    ],
)
def test_submit_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", *args]) == 2
    assert capsys.readouterr().err.startswith("Lỗi: ")


def test_submit_bad_inputs_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["submit", *RELAY_ARGS, "--from-json", str(bad)]) == 2
    bad.write_text("[1, 2]", encoding="utf-8")
    assert main(["submit", *RELAY_ARGS, "--from-json", str(bad)]) == 2
    missing = str(tmp_path / "missing.jpg")
    assert main(["submit", *RELAY_ARGS, *FLAGS, "--consent-version", "1", "--file", missing]) == 2


def test_submit_validation_error_exit_1(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.post(
        SUBMIT_URL,
        status=422,
        json={"title": "Dữ liệu không hợp lệ", "status": 422, "errors": {"title": ["Quá ngắn."]}},
        content_type="application/problem+json",
    )
    assert main(["submit", *RELAY_ARGS, *FLAGS, "--consent-version", "1"]) == 1
    err = capsys.readouterr().err
    assert "Dữ liệu không hợp lệ" in err and "title: Quá ngắn." in err


def test_json_error_output(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.post(BASE + "/api/v1/submissions/X/lookup", status=404, json={"title": "Not Found"})
    assert main(["status", "X", "--contact", "a@b.vn", "--base-url", BASE, "--json"]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["error"] == "NotFoundError" and err["status_code"] == 404


def test_connection_error_exit_3(
    mocked: responses.RequestsMock, sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        mocked.post(BASE + "/api/v1/submissions/X/lookup", body=requests.ConnectionError("refused"))
    assert main(["status", "X", "--contact", "0912345678", "--base-url", BASE]) == 3
    assert "Không kết nối được" in capsys.readouterr().err


def test_status_human(
    mocked: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PHANHOI_BASE_URL", BASE)
    # The relay's answer after an answer and a rating (recorded by tests/contract), overdue.
    found = {**relay_fixtures.load("rating_answer"), "overdue": True}
    mocked.post(BASE + f"/api/v1/submissions/{CODE}/lookup", json=found)
    assert main(["status", CODE, "--contact", "0912345678"]) == 0
    out = capsys.readouterr().out
    assert "Trạng thái: Đã trả lời" in out
    first = datetime.fromisoformat(found["history"][0]["at"]).astimezone(timezone(timedelta(hours=7)))
    assert f"{first:%d/%m/%Y %H:%M}  Đã nhận phản ánh" in out
    assert "Đang xử lý — Đã giao UBND phường Hạc Thành" in out
    assert "(quá hạn)" in out
    assert found["answer"]["text"] in out and found["answer"]["agency"] in out
    assert "Đánh giá: Hài lòng" in out


def test_embed(
    mocked: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["embed", "--relay", BASE, "--site", "site_1", "--no-pin"]) == 0
    assert 'data-site="site_1"' in capsys.readouterr().out
    mocked.get(
        BASE + "/static/widget/manifest.json",
        json={"version": "1.0.0", "loader": "loader.1.0.0.js", "integrity": "sha384-abc"},
    )
    monkeypatch.setenv("PHANHOI_RELAY_URL", BASE)
    monkeypatch.setenv("PHANHOI_SITE_KEY", "site_1")
    assert main(["embed", "--json", "--variant", "inline", "--lang", "en"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 'integrity="sha384-abc"' in out["snippet"]
    assert out["standalone_url"] == BASE + "/s/site_1"


def test_embed_usage_and_manifest_errors(
    mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    assert main(["embed", "--site", "k"]) == 2
    assert main(["embed", "--relay", "ftp://x", "--site", "k", "--no-pin"]) == 2
    mocked.get(BASE + "/static/widget/manifest.json", status=404)
    assert main(["embed", "--relay", BASE, "--site", "k"]) == 1
    for _ in range(3):
        mocked.get(BASE + "/static/widget/manifest.json", body=requests.ConnectionError("x"))
    assert main(["embed", "--relay", BASE, "--site", "k"]) == 3


def _webhook(tmp_path: Path, secret: str) -> tuple[Path, list[str]]:
    body = relay_fixtures.body("submission_rated")
    path = tmp_path / "body.json"
    path.write_bytes(body)
    headers = sign_headers(body, secret, msg_id="msg_cli")
    return path, [x for k, v in headers.items() for x in ("--header", f"{k}: {v}")]


def test_verify_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = generate_secret()
    path, header_args = _webhook(tmp_path, secret)
    assert main(["verify", str(path), *header_args, "--secret", secret]) == 0
    out = capsys.readouterr().out
    assert "Chữ ký hợp lệ." in out and "msg_cli" in out and "submission.rated" in out
    assert main(["verify", str(path), *header_args, "--secret", secret, "--json"]) == 0
    out_json = json.loads(capsys.readouterr().out)
    assert out_json["valid"] is True and out_json["data"]["satisfied"] is True


def test_verify_secret_from_env_with_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = generate_secret()
    path, header_args = _webhook(tmp_path, secret)
    monkeypatch.setenv("PHANHOI_WEBHOOK_SECRET", f"{generate_secret()} {secret}")
    assert main(["verify", str(path), *header_args]) == 0


def test_verify_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = generate_secret()
    path, header_args = _webhook(tmp_path, secret)
    assert main(["verify", str(path), *header_args, "--secret", generate_secret()]) == 1
    assert "Chữ ký không hợp lệ" in capsys.readouterr().err
    path.write_bytes(path.read_bytes() + b" ")
    assert main(["verify", str(path), *header_args, "--secret", secret]) == 1
    assert main(["verify", str(path), *header_args]) == 2  # no secret
    assert main(["verify", str(path), "--header", "nocolon", "--secret", secret]) == 2
    assert main(["verify", str(tmp_path / "missing"), "--secret", secret]) == 2


def test_output_piped_into_a_reader_that_stops_is_no_traceback() -> None:
    """`phanhoi … | head -1`: when the reader has gone, the command ends quietly (exit 1), as
    shell tools do, not with a BrokenPipeError traceback."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before anything is written
    try:
        result = subprocess.run(
            [sys.executable, "-m", "phanhoi", "embed", "--relay", "https://relay.example",
             "--site", "pk_test", "--no-pin"],
            stdout=write_end, stderr=subprocess.PIPE, timeout=60, check=False,
        )
    finally:
        os.close(write_end)
    assert b"Traceback" not in result.stderr and b"BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 1


def test_from_json_takes_accept_consent_and_refuses_flags_it_would_ignore(
    mocked: responses.RequestsMock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--from-json pakn.json --accept-consent`: the flag is the citizen's consent, given with the
    site's current version when the file has none (it was dropped, and the relay answered 422);
    a field flag beside --from-json is a usage error, not silently left out."""
    data = tmp_path / "pakn.json"
    data.write_text(json.dumps({"title": "Đèn đường hỏng"}), encoding="utf-8")
    mocked.get(BASE + "/api/v1/sites/site_1/config", json={"consent": {"version": "2025-07", "text": "…"}})
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    assert main(["submit", *RELAY_ARGS, "--from-json", str(data), "--accept-consent"]) == 0
    sent = json.loads(mocked.calls[-1].request.body)
    assert sent["consent"] == {"version": "2025-07", "accepted": True} and sent["title"] == "Đèn đường hỏng"
    capsys.readouterr()
    assert main(["submit", *RELAY_ARGS, "--from-json", str(data), "--title", "Khác"]) == 2
    assert "--title" in capsys.readouterr().err


NOTICE_CONFIG = {"consent": {"version": "2025-07", "text": "…"}, "notify_channels": ["sms"],
                 "notify_consent": {"version": "2026-11.abc", "text": "Tôi đồng ý … báo cho tôi …"}}


def test_submit_asks_for_a_notice_with_its_own_consent(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.get(BASE + "/api/v1/sites/site_1/config", json=NOTICE_CONFIG)
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    assert main(["submit", *RELAY_ARGS, *FLAGS, "--notify", "sms", "--accept-notify-consent"]) == 0
    sent = json.loads(mocked.calls[-1].request.body)
    assert sent["notify"] == {"by": "sms", "consent": {"version": "2026-11.abc", "accepted": True}}
    assert sent["consent"] == {"version": "2025-07", "accepted": True}
    assert [c.request.method for c in mocked.calls] == ["GET", "POST"]  # the site's config read once


@pytest.mark.parametrize(("extra", "said"), [
    (["--notify", "sms"], "--accept-notify-consent"),  # never assumed
    (["--accept-notify-consent"], "--notify"),
    (["--notify", "email", "--accept-notify-consent"], "sms"),  # a channel the relay does not offer
])
def test_a_notice_asked_wrongly_is_a_usage_error(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    if "email" in extra:  # the only case that needs the site's channels to be told
        mocked.get(BASE + "/api/v1/sites/site_1/config", json=NOTICE_CONFIG)
    assert main(["submit", *RELAY_ARGS, *FLAGS, *extra]) == 2
    assert said in capsys.readouterr().err
    assert not [c for c in mocked.calls if c.request.method == "POST"]
