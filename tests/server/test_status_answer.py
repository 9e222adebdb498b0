"""The status lookup's answer is built without marshmallow (web/schemas.status_fields); the schema
stays the contract. Here both are asked for the same cases, through the real API, and must agree
field for field: a new, renamed or differently formatted field fails."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from widget_server.intake import status_events, tracking
from widget_server.store import db
from widget_server.web.schemas import SubmissionStatusSchema, status_fields

PARTNER = "Bearer {}"


def _submit(client: Any, site: Any, body: dict[str, Any], key: str) -> dict[str, Any]:
    r = client.post("/api/v1/submissions", json=body,
                    headers={"Authorization": PARTNER.format(site[1]), "Idempotency-Key": key})
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _event(created: dict[str, Any], msg: str, **data: Any) -> None:
    status_events.apply_status_event(msg, {"submission_id": created["id"], "central_id": "C-1",
                                           "note": None, "answer": None, "agency": None,
                                           "deadline": None, "updated_at": None, **data})


def _both(app: Any, client: Any, code: str, lang: str = "vi") -> tuple[dict[str, Any], dict[str, Any]]:
    with app.test_request_context():
        found = tracking.lookup(code, "0912345678", lang)
    assert found is not None
    schema = SubmissionStatusSchema().dump(found)
    answered = client.post(f"/api/v1/submissions/{code}/lookup?lang={lang}",
                           json={"contact": "0912 345 678"})
    assert answered.status_code == 200
    assert answered.get_json() == schema  # what the API sends is what the schema makes
    with app.test_request_context():  # byte for byte as Flask's jsonify writes it
        assert answered.data == jsonify(schema).data
    assert answered.headers["Content-Type"] == "application/json"
    assert answered.headers["Cache-Control"] == "no-store"
    return status_fields(found), schema


def test_the_lookup_answer_is_exactly_what_the_schema_makes(app: Any, client: Any, site: Any,
                                                              submission_body: dict[str, Any]) -> None:
    fresh = _submit(client, site, submission_body, "k-fresh")
    fast, schema = _both(app, client, fresh["tracking_code"])
    assert fast == schema and fast["answer"] is None and fast["rating"] is None

    answered = _submit(client, site, submission_body, "k-answered")
    _event(answered, "m1", status="accepted", sequence=1, note="Đã chuyển Sở Xây dựng.")
    _event(answered, "m2", status="answered", sequence=2, answer="Đã sửa đèn đường.",
           agency="UBND phường Hạc Thành")
    fast, schema = _both(app, client, answered["tracking_code"], "en")
    assert fast == schema
    assert len(fast["history"]) == 3 and fast["answer"]["agency"] == "UBND phường Hạc Thành"

    rated = client.post(f"/api/v1/submissions/{answered['tracking_code']}/rating",
                        json={"contact": "0912345678", "satisfied": True, "comment": "Cảm ơn"})
    assert rated.status_code == 200
    client.post(f"/api/v1/submissions/{answered['tracking_code']}/data-request",
                json={"contact": "0912345678", "kind": "withdraw_consent"})
    fast, schema = _both(app, client, answered["tracking_code"])
    assert fast == schema and fast["rating"]["satisfied"] is True and fast["consent_withdrawn"] is True

    with db.write() as conn:  # no deadline (an old row) must still agree
        conn.execute(db.submissions.update().where(db.submissions.c.id == fresh["id"]).values(deadline=None))
    fast, schema = _both(app, client, fresh["tracking_code"])
    assert fast == schema and fast["deadline"] is None


def test_a_rating_comment_too_long_on_the_page_without_javascript_is_said_not_cut(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """The page without JavaScript counts the comment as the API does (NFC code points, 1,000)
    and says when it is too long; nothing is stored, and a comment within it is kept whole."""
    import unicodedata

    import sqlalchemy as sa

    from widget_server.intake import submissions
    from widget_server.store import db

    body = {**submission_body, "submitter": {**submission_body["submitter"], "phone": "0912345678"}}
    code = submissions.create_submission(site[0], body, via="api")["tracking_code"]
    with db.write() as conn:
        conn.execute(sa.update(db.submissions).values(status="answered", answer_text="Đã xử lý xong.",
                                                      answered_at=db.utcnow()))
    form = {"code": code, "contact": "0912345678", "op": "rate", "satisfied": "1"}
    too_long = "Rất hài lòng. " * 80  # 1,119 characters
    page = client.post(f"/w/{site[0].key}/track", data={**form, "comment": too_long})
    assert "1000" in page.get_data(as_text=True).replace(".", "")
    with db.read() as conn:
        assert conn.execute(sa.select(db.submissions.c.rated_at)).scalar_one() is None
    decomposed = unicodedata.normalize("NFD", "Rất hài lòng với cách xử lý. " * 33)  # 990 in NFC
    kept = client.post(f"/w/{site[0].key}/track", data={**form, "comment": decomposed})
    assert kept.status_code == 200
    with db.read() as conn:
        stored = conn.execute(sa.select(db.submissions.c.rating_comment)).scalar_one()
    assert stored == unicodedata.normalize("NFC", decomposed).strip()


def test_the_receipt_is_exactly_what_the_schema_makes(app: Any, client: Any, site: Any,
                                                       submission_body: dict[str, Any]) -> None:
    """A submission's 201, new or replayed, is built without marshmallow (``receipt_fields``):
    the same fields, values and bytes as ``SubmissionReceiptSchema`` and ``jsonify`` give."""
    from widget_server.web.schemas import SubmissionReceiptSchema, receipt_fields

    schema = SubmissionReceiptSchema()
    for replay in (False, True):
        r = client.post("/api/v1/submissions", json=submission_body,
                        headers={"Authorization": PARTNER.format(site[1]), "Idempotency-Key": "k-receipt"})
        assert r.status_code == 201
        assert (r.headers.get("Idempotent-Replayed") == "true") is replay
        body = r.get_json()
        assert list(body) == list(schema.dump(body)) == ["id", "tracking_code", "status", "status_url",
                                                         "deadline"]
        with app.test_request_context():
            assert r.data == jsonify(schema.dump(body)).data
        assert r.headers["Location"] == body["status_url"]
        assert r.headers["Content-Type"] == "application/json"
    # Bodies stored by older versions (a field missing, one not a string, one more): as the schema.
    for stored in ({"id": "x", "tracking_code": "PH-1", "status": "received", "status_url": "u"},
                   {"id": 7, "tracking_code": "PH-1", "status": "received", "status_url": "u",
                    "deadline": None, "extra": "kept out"}):
        assert receipt_fields(stored) == schema.dump(stored)
        assert list(receipt_fields(stored)) == list(schema.dump(stored))
