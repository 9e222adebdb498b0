"""The Open311 GeoReport v2 adapter, with the city back-end faked at the network boundary."""

from __future__ import annotations

import urllib.parse

import pytest
import responses
import sqlalchemy as sa

from widget_server.store import db
from widget_server.delivery import queue as outbox
from widget_server.intake import sites, submissions
from widget_server.delivery.destinations import build
from widget_server.delivery.destinations.base import Event
from widget_server.delivery.destinations.open311 import parse_service_codes, split_name
from widget_server.delivery.worker import Worker

BASE = "http://city.test/open311/v2"
REQUESTS = BASE + "/requests.json"


@pytest.fixture
def open311_app(app):
    app.config.update(OPEN311_URL=BASE, OPEN311_API_KEY="key-1", OPEN311_JURISDICTION_ID="thanhhoa.vn",
                      OPEN311_SERVICE_CODES="moi-truong=ENV,*=OTHER")
    return app


@pytest.fixture
def city_site(open311_app):
    return sites.create_site("Báo Thành phố", ["https://city-news.example"], destination="open311")


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch):
    monkeypatch.setattr(outbox, "backoff", lambda attempt: 0.0)


def sent_form(call) -> dict[str, str]:
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    body = call.request.body
    return dict(urllib.parse.parse_qsl(body.decode("ascii") if isinstance(body, bytes) else body,
                                       encoding="utf-8"))


@responses.activate
def test_submission_becomes_a_service_request(open311_app, city_site, submission_body):
    from widget_server.intake import reference

    submission_body["consent"]["version"] = reference.consent_for(city_site[0].name).version
    created = submissions.create_submission(city_site[0], submission_body, via="api")
    responses.add(responses.POST, REQUESTS, json=[{"service_request_id": "638344", "service_notice": ""}],
                  status=201)
    assert Worker(open311_app, "w").run_once() == 1
    form = sent_form(responses.calls[0])
    assert form["service_code"] == "ENV" and form["api_key"] == "key-1"
    assert form["jurisdiction_id"] == "thanhhoa.vn"
    assert form["first_name"] == "A" and form["last_name"] == "Lê Văn"
    assert form["phone"] == "+84912345678"
    assert form["lat"] == "19.8" and form["long"] == "105.77"
    # The description is public on GeoReport back-ends; the tracking code is a lookup key.
    assert created["tracking_code"] not in str(form)
    assert form["attribute[phanhoi_id]"].startswith("msg_")
    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions)).one()
    assert row.status == "forwarded" and row.central_id == "638344"


@responses.activate
@pytest.mark.parametrize(("status", "state"), [(400, "dead"), (503, "pending"), (401, "pending")])
def test_back_end_answers(open311_app, city_site, submission_body, status, state):
    from widget_server.intake import reference

    submission_body["consent"]["version"] = reference.consent_for(city_site[0].name).version
    submissions.create_submission(city_site[0], submission_body, via="api")
    responses.add(responses.POST, REQUESTS, json=[{"code": status, "description": "x"}], status=status)
    Worker(open311_app, "w").run_once()
    with db.read() as conn:
        assert conn.execute(sa.select(db.outbox.c.state)).scalar_one() == state
        dest = conn.execute(sa.select(db.destinations.c.state)
                            .where(db.destinations.c.name == "open311")).scalar_one_or_none()
    if status == 401:
        assert dest == "paused"


def test_events_open311_cannot_carry(open311_app):
    dest = build("open311", open311_app.config)
    rated = dest.deliver(Event("msg_1", "submission.rated", {"satisfied": True}))
    assert rated.outcome == "delivered"
    request = dest.deliver(Event("msg_2", "submission.data_request", {"kind": "delete"}))
    assert request.outcome == "rejected" and "by hand" in request.error


def test_category_without_a_code_is_refused(open311_app):
    open311_app.config["OPEN311_SERVICE_CODES"] = "moi-truong=ENV"
    dest = build("open311", open311_app.config)
    result = dest.deliver(Event("msg_1", "submission.created", {"category": "giao-thong"}))
    assert result.outcome == "rejected" and "service_code" in result.error


@pytest.mark.parametrize(("value", "expected"), [
    ('{"moi-truong": "ENV"}', {"moi-truong": "ENV"}),
    ("moi-truong=ENV, giao-thong=ROAD", {"moi-truong": "ENV", "giao-thong": "ROAD"}),
    (None, {}),
])
def test_service_codes(value, expected):
    assert parse_service_codes(value) == expected


def test_bad_service_codes():
    with pytest.raises(ValueError):
        parse_service_codes("moi-truong")


@pytest.mark.parametrize(("name", "first", "last"), [
    ("Lê Văn An", "An", "Lê Văn"), ("Hoa", "Hoa", None), (None, None, None)])
def test_vietnamese_names_split_family_name_first(name, first, last):
    assert split_name(name) == (first, last)


def _answer(body, status=400):
    import json

    import requests

    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


def test_kept_errors_mask_contacts_a_back_end_echoes():
    from widget_server.delivery.destinations.open311 import georeport_errors

    errors = georeport_errors(_answer([{"code": 400, "description": "email le.van@x.vn or phone "
                                                                     "0912 345 678 is invalid"}]))
    assert errors == [{"code": "400", "description": "email … or phone … is invalid"}]


@pytest.mark.parametrize(("body", "general"), [
    ([{"code": 400, "description": "General Service Error"}], True),
    ([{"code": "GENERAL_SERVICE_ERROR", "description": "CRM unavailable"}], True),
    ({"code": 400, "description": "general service error: timeout"}, True),
    ([{"code": 400, "description": "service_code was not provided"}], False),
    ("<html>", False),
])
def test_general_service_error_is_recognised(body, general):
    from widget_server.delivery.destinations.open311 import georeport_errors, is_general_service_error

    assert is_general_service_error(georeport_errors(_answer(body))) is general
