"""The Open311 adapter against a strict GeoReport v2 back-end on loopback (tests/georeport.py).

Issue 9, items 5 (what a strict back-end refuses or says, and reading statuses
back) and 6 (what an anonymous reader of the back-end sees).
"""

from __future__ import annotations

import copy
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.georeport import GeoReportServer
from tests.server.test_attachments import png_bytes
from widget_server.delivery import queue as outbox
from widget_server.intake import sites, tracking
from widget_server.store import db
from widget_server.delivery.worker import Worker

PHONE = "0912345678"
EMAIL = "le.van.an@example.vn"
STREET = "Số 12 ngõ 34 phố Lê Lai"
COMMUNE = "14797"  # Phường Hạc Thành, Thanh Hóa (vietnam-provinces)


@pytest.fixture
def georeport(request: Any) -> Iterator[GeoReportServer]:
    options = getattr(request, "param", {})
    server = GeoReportServer(**options)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def city(app: Any, georeport: GeoReportServer) -> tuple[sites.Site, str]:
    app.config.update(OPEN311_URL=georeport.url, OPEN311_API_KEY="key-1",
                      OPEN311_JURISDICTION_ID="thanhhoa.vn", OPEN311_SERVICE_CODES="moi-truong=ENV,*=OTHER")
    return sites.create_site("Báo Thành phố", ["https://city-news.example"], destination="open311")


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch: Any) -> None:
    monkeypatch.setattr(outbox, "backoff", lambda attempt: 0.0)


def body_for(site: sites.Site, **changes: Any) -> dict[str, Any]:
    from tests.helpers import valid_submission
    from widget_server.intake import reference

    body = valid_submission()
    body["consent"]["version"] = reference.consent_for(site.name).version
    for key, value in changes.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    return body


def submit(client: Any, city: tuple[sites.Site, str], body: dict[str, Any], photo: bool = False) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {city[1]}", "Idempotency-Key": uuid.uuid4().hex}
    if photo:
        r = client.post("/api/v1/submissions", headers=headers, content_type="multipart/form-data",
                        data={"submission": json.dumps(body),
                              "files": [(io.BytesIO(png_bytes()), "ảnh.png", "image/png")]})
    else:
        r = client.post("/api/v1/submissions", headers=headers, json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def deliver(app: Any) -> None:
    worker = Worker(app, "w")
    try:
        while worker.run_once():
            pass
    finally:
        worker.close()


def outbox_row(submission_id: str) -> Any:
    with db.read() as conn:
        return conn.execute(sa.select(db.outbox).where(db.outbox.c.submission_id == submission_id)).one()


def submission_row(submission_id: str) -> Any:
    with db.read() as conn:
        return conn.execute(sa.select(db.submissions).where(db.submissions.c.id == submission_id)).one()


def stored(georeport: GeoReportServer, submission_id: str) -> dict[str, Any]:
    return georeport.requests[submission_row(submission_id).central_id]


def anonymous_read(georeport: GeoReportServer) -> str:
    """What anyone gets from the back-end, as text (no credentials, no jurisdiction)."""
    response = requests.get(georeport.url + "/requests.json", timeout=5)
    assert response.status_code == 200
    return json.dumps(response.json(), ensure_ascii=False)


# --------------------------------------------------------------------------- item 5: location


@pytest.mark.parametrize(("location", "address"), [
    ({"commune_code": COMMUNE, "address": None, "lat": None, "lon": None}, "Phường Hạc Thành, Thanh Hóa"),
    ({"commune_code": None, "address": None, "lat": None, "lon": None}, "Thanh Hóa"),
    ({"commune_code": COMMUNE, "address": "Cổng chợ Vườn Hoa", "lat": None, "lon": None},
     "Cổng chợ Vườn Hoa, Phường Hạc Thành, Thanh Hóa"),
], ids=["commune-only", "no-location", "street-and-commune"])
def test_a_location_is_always_sent(app, client, city, georeport, location, address):
    created = submit(client, city, body_for(city[0], location=location, confidential=False))
    deliver(app)
    assert outbox_row(created["id"]).state == "delivered", outbox_row(created["id"]).last_error
    assert stored(georeport, created["id"])["address"] == address


# --------------------------------------------------------------------------- item 5: long text


def test_text_over_4000_characters_is_cut_with_a_marker(app, client, city, georeport):
    content = ("Nước thải từ khu dân cư chảy tràn ra đường, bốc mùi. " * 100)[:5000]
    created = submit(client, city, body_for(city[0], content=content))
    deliver(app)
    row = outbox_row(created["id"])
    assert row.state == "delivered", row.last_error
    description = stored(georeport, created["id"])["description"]
    assert len(description) <= 4000
    assert description.startswith("Rác thải tồn đọng ở chợ\n\nNước thải từ khu dân cư")
    whole = len("Rác thải tồn đọng ở chợ\n\n") + len(content)
    assert description.endswith(f"(đã cắt: toàn văn {whole} ký tự, lưu tại hệ thống chuyển tiếp, mã {row.id})")


# --------------------------------------------------------------------------- item 5: errors


def test_general_service_error_is_retried_not_dead(app, client, city, georeport):
    created = submit(client, city, body_for(city[0]))
    georeport.down = True
    assert Worker(app, "w").run_once() == 1
    row = outbox_row(created["id"])
    assert row.state == "pending" and row.last_status == 400
    assert "General Service Error" in row.last_error
    georeport.down = False
    deliver(app)
    assert outbox_row(created["id"]).state == "delivered"
    assert submission_row(created["id"]).status == "forwarded"


def test_the_back_ends_errors_are_kept(app, client, city, georeport):
    app.config["OPEN311_SERVICE_CODES"] = "moi-truong=NOPE"
    created = submit(client, city, body_for(city[0]))
    deliver(app)
    row = outbox_row(created["id"])
    assert row.state == "dead" and row.last_status == 404
    assert json.loads(row.last_error.removeprefix("HTTP 404 ")) == [
        {"code": "404", "description": "service_code NOPE was not found"}]


def test_vietnamese_text_arrives_as_typed(app, client, city, georeport):
    """Form bodies say charset=utf-8: a back-end that assumes ISO-8859-1 otherwise mangles Vietnamese."""
    created = submit(client, city, body_for(city[0], title="Đường ngập nước ở phố Hàng Đồng"))
    deliver(app)
    [post] = georeport.posts
    assert post["headers"]["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    saved = stored(georeport, created["id"])
    assert saved["description"].startswith("Đường ngập nước ở phố Hàng Đồng\n\n")
    assert (saved["first_name"], saved["last_name"]) == ("A", "Lê Văn")


# --------------------------------------------------------------------------- item 5: tokens and statuses


@pytest.mark.parametrize("georeport", [{"tokens": True}], indirect=True)
def test_a_batch_token_is_resolved_to_the_service_request_id(app, client, city, georeport, runner):
    created = submit(client, city, body_for(city[0]))
    deliver(app)
    # The back-end has no id yet: the token is kept, marked as one.
    assert submission_row(created["id"]).central_id == "token:tok638344"
    assert submission_row(created["id"]).status == "forwarded"
    georeport.release_tokens()
    result = runner.invoke(args=["open311", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 tokens resolved" in result.output
    row = submission_row(created["id"])
    assert row.central_id == "638344" and row.status == "accepted"


def test_statuses_are_read_back_as_status_events(app, client, city, georeport):
    created = submit(client, city, body_for(city[0]))
    app.config["OPEN311_SYNC_MINUTES"] = 15
    worker = Worker(app, "w")
    try:
        while worker.run_once():
            pass
        # The worker reads back on its first round, then every OPEN311_SYNC_MINUTES.
        assert worker.read_back() is True
        assert worker.read_back() is False
    finally:
        worker.close()
    lookup = tracking.lookup(created["tracking_code"], PHONE)
    assert lookup["status"] == "accepted"

    request_id = submission_row(created["id"]).central_id
    georeport.close(request_id, "Đang xử lý: đã giao UBND phường", status="open")
    from widget_server.delivery.destinations.open311 import Open311Destination
    from widget_server.delivery.open311_sync import sync

    destination = Open311Destination.from_config(app.config)
    try:
        assert sync(destination).applied == 1
        assert sync(destination).applied == 0  # nothing changed: nothing applied
        georeport.close(request_id, "Đã thu gom rác, vệ sinh khu vực cổng chợ.")
        assert sync(destination).applied == 1
        assert sync(destination).checked == 0  # answered: not asked again
    finally:
        destination.close()

    lookup = tracking.lookup(created["tracking_code"], PHONE)
    assert lookup["status"] == "answered"
    assert lookup["answer"]["text"] == "Đã thu gom rác, vệ sinh khu vực cổng chợ."
    assert [(h["status"], h["note"]) for h in lookup["history"]] == [
        ("received", None), ("forwarded", None), ("accepted", None),
        ("in_progress", "Đang xử lý: đã giao UBND phường"), ("answered", None)]
    with db.read() as conn:
        sequences = conn.execute(sa.select(db.history.c.sequence)
                                 .where(db.history.c.submission_id == created["id"],
                                        db.history.c.sequence > 0)
                                 .order_by(db.history.c.id)).scalars().all()
    assert sequences == [1, 2, 3]


def test_an_unreachable_back_end_changes_nothing(app, client, city, georeport, runner):
    created = submit(client, city, body_for(city[0]))
    deliver(app)
    georeport.down = True
    result = runner.invoke(args=["open311", "sync"])
    assert result.exit_code == 0 and "1 unanswered" in result.output
    assert submission_row(created["id"]).status == "forwarded"


# --------------------------------------------------------------------------- item 6: privacy


def personal_values(body: dict[str, Any], created: dict[str, Any]) -> list[str]:
    """What must not be public of a confidential submission: contacts, name, code, street, photo."""
    submitter = body["submitter"]
    values = [created["tracking_code"], STREET, "84912345678", PHONE, "912345678", submitter["name"]]
    values += [part for part in submitter["name"].split() if len(part) > 1]
    values += [submitter["email"]] if submitter.get("email") else []
    with db.read() as conn:
        values += conn.execute(sa.select(db.attachments.c.id).where(
            db.attachments.c.submission_id == created["id"])).scalars().all()
    return values


def test_a_confidential_submission_publishes_nothing_personal(app, client, city, georeport):
    body = body_for(city[0], confidential=True,
                    submitter={"name": "Nguyễn Thị Hoa", "phone": PHONE, "email": EMAIL},
                    location={"commune_code": COMMUNE, "address": STREET, "lat": 19.806712, "lon": 105.776543})
    created = submit(client, city, body, photo=True)
    deliver(app)
    assert outbox_row(created["id"]).state == "delivered"

    public = anonymous_read(georeport)
    for value in personal_values(body, created):
        assert value not in public, value
    [item] = json.loads(public)
    assert item["media_url"] is None
    assert item["address"] == "Phường Hạc Thành, Thanh Hóa"
    assert (item["lat"], item["long"]) == (19.807, 105.777)
    # What the city needs to answer the citizen, in the fields GeoReport keeps private.
    saved = stored(georeport, created["id"])
    assert (saved["first_name"], saved["last_name"]) == ("Hoa", "Nguyễn Thị")
    assert (saved["phone"], saved["email"]) == ("+84912345678", EMAIL)
    assert saved["attributes"]["phanhoi_address"] == STREET


def test_a_public_submission_shares_its_photo_but_not_its_contacts(app, client, city, georeport):
    body = body_for(city[0], confidential=False,
                    submitter={"name": "Nguyễn Thị Hoa", "phone": PHONE, "email": EMAIL})
    created = submit(client, city, body, photo=True)
    deliver(app)
    [item] = json.loads(anonymous_read(georeport))
    assert item["media_url"].startswith("http://relay.test/")
    assert item["address"] == "Cổng chợ Vườn Hoa, Thanh Hóa"
    public = anonymous_read(georeport)
    for value in (created["tracking_code"], PHONE, "912345678", EMAIL, "Nguyễn"):
        assert value not in public, value


# --------------------------------------------------------------------------- the run (issue 9)


RUN = [
    ("point and street", {}, False),
    ("street only", {"confidential": False, "location": {"lat": None, "lon": None}}, False),
    ("commune only", {"location": {"commune_code": COMMUNE, "address": None, "lat": None, "lon": None}}, False),
    ("no location", {"location": {"commune_code": None, "address": None, "lat": None, "lon": None}}, False),
    ("5,000-character text", {"content": "Đèn đường hỏng cả tuyến, ban đêm rất nguy hiểm. " * 104}, False),
    ("confidential, photo, street", {"confidential": True, "location": {"address": STREET}}, True),
    ("public, photo", {"confidential": False}, True),
    ("confidential, email only",
     {"confidential": True, "submitter": {"name": "Trần Minh", "phone": None, "email": EMAIL},
      "location": {"commune_code": COMMUNE, "address": STREET, "lat": None, "lon": None}}, False),
    ("other category", {"category": "giao-thong", "confidential": False}, False),
]


def test_a_run_of_submissions_against_a_strict_back_end(app, client, city, georeport, capsys):
    made = []
    for label, changes, photo in RUN:
        changes = copy.deepcopy(changes)
        if "content" in changes:
            changes["content"] = changes["content"][:5000]
        body = body_for(city[0], **changes)
        made.append((label, body, submit(client, city, body, photo=photo)))
    georeport.down = True  # the CRM is down for the first round: the breaker opens
    app.config["BREAKER_COOLDOWN_SECONDS"] = 0
    # One at a time, the breaker opens after exactly BREAKER_THRESHOLD attempts; a pool may
    # have a few more in flight when it opens.
    assert Worker(app, "w", concurrency=1).run_once() == 5
    georeport.down = False
    deliver(app)

    lines = []
    for label, body, created in made:
        row = outbox_row(created["id"])
        assert row.state == "delivered", (label, row.last_error)
        public = json.dumps(georeport._public(stored(georeport, created["id"])), ensure_ascii=False)
        if body["confidential"]:
            leaked = [v for v in personal_values(body, created) if v in public]
            assert not leaked, (label, leaked)
        lines.append(f"{label:<30} {row.state:<9} attempts={row.attempts} "
                     f"confidential={body['confidential']!s:<5} "
                     f"media_url={'yes' if json.loads(public)['media_url'] else 'no'} "
                     f"address={json.loads(public)['address']!r}")
    anonymous = anonymous_read(georeport)
    for _label, body, created in made:
        if body["confidential"]:
            assert not [v for v in personal_values(body, created) if v in anonymous]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
