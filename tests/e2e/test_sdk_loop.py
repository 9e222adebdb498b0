"""The SDK against the real relay on loopback, with the reference central system answering."""

from __future__ import annotations

import json

import phanhoi
import pytest
from tests.e2e.conftest import contextlib_closing, wait_for
from tests.e2e.test_loop import _operator_post


def _client(loop) -> phanhoi.Client:
    return phanhoi.Client(loop.relay.url, loop.site.key, loop.secret, timeout=(2, 10), max_retries=1)


def _submission(config: phanhoi.SiteConfig) -> phanhoi.SubmissionCreate:
    return phanhoi.SubmissionCreate(
        category=config.categories[0].code,
        title="Đèn đường hỏng trên đại lộ Lê Lợi",
        content="Ba cột đèn đường trước số 120 Lê Lợi không sáng từ một tuần nay, rất nguy hiểm.",
        submitter=phanhoi.Submitter(name="Nguyễn Thị Hoa", phone="0383 456 789"),
        consent=phanhoi.ConsentGiven(version=config.consent.version, accepted=True),
        location=phanhoi.Location(commune_code=config.communes[0].code, address="120 Lê Lợi"),
    )


def test_sdk_submit_status_answer_and_rate(make_loop):
    loop = make_loop()
    loop.start_worker()
    with _client(loop) as client:
        config = client.site_config()
        assert config.name == "Báo Thanh Hóa" and len(config.communes) == 166
        receipt = client.submit(_submission(config), idempotency_key="cms-article-42")
        assert receipt.status == "received" and not receipt.replayed
        again = client.submit(_submission(config), idempotency_key="cms-article-42")
        assert again.replayed and again.tracking_code == receipt.tracking_code

        wait_for(lambda: client.status(receipt.tracking_code, "0383456789").status == "forwarded")
        with contextlib_closing(loop.central_db()) as conn:
            central_id = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                                      (receipt.id,)).fetchone()[0]
        _operator_post(loop, central_id, "accept", note="Chuyển Sở Xây dựng")
        _operator_post(loop, central_id, "answer", agency="so-xd",
                       answer="Điện lực đã thay bóng đèn ngày 28/11.")
        status = client.status(receipt.tracking_code, "+84383456789")
        assert status.status == "answered"
        assert status.answer is not None and status.answer.text == "Điện lực đã thay bóng đèn ngày 28/11."
        assert [h.status for h in status.history][-1] == "answered", status.history

        client.rate(receipt.tracking_code, "0383456789", satisfied=True, comment="Nhanh")
        assert client.status(receipt.tracking_code, "0383456789").rating is not None
        with pytest.raises(phanhoi.ConflictError):
            client.rate(receipt.tracking_code, "0383456789", satisfied=False)
    assert loop.central_count() == 1


def test_sdk_errors_carry_the_problem(make_loop):
    loop = make_loop()
    with _client(loop) as client:
        config = client.site_config()
        bad = _submission(config)
        bad.submitter.phone = "12345"
        with pytest.raises(phanhoi.UnprocessableEntityError) as err:
            client.submit(bad)
        assert "submitter.phone" in err.value.errors
        with pytest.raises(phanhoi.NotFoundError):
            client.status("PH-0000-00000", "0383456789")
    with phanhoi.Client(loop.relay.url, loop.site.key, "sk_wrong", max_retries=0) as wrong:
        with pytest.raises(phanhoi.AuthenticationError):
            wrong.submit(_submission(config))


def test_sdk_submit_with_files_reaches_the_central_system(make_loop, tmp_path):
    from tests.server.test_attachments import PDF, png_bytes

    loop = make_loop()
    loop.start_worker()
    pdf = tmp_path / "don-kien-nghi.pdf"
    pdf.write_bytes(PDF)
    with _client(loop) as client:
        config = client.site_config()
        receipt = client.submit(_submission(config), files=[("ảnh.png", png_bytes(), "image/png"), str(pdf)])
        wait_for(lambda: client.status(receipt.tracking_code, "0383456789").status == "forwarded")
    with contextlib_closing(loop.central_db()) as conn:
        row = conn.execute("SELECT data FROM submissions WHERE relay_id = ?", (receipt.id,)).fetchone()
    files = json.loads(row["data"])["attachments"]
    assert sorted(f["content_type"] for f in files) == ["application/pdf", "image/png"]
    for f in files:
        got = loop.http.get(f["url"], timeout=10)
        assert got.status_code == 200 and len(got.content) == f["size"]
