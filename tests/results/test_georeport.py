"""Open311 GeoReport v2, read-only: an Open311 client library reads services and requests
from the relay over real HTTP on loopback, in JSON and in XML."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests


@pytest.fixture
def relay_url(live_relay: str) -> str:
    return live_relay + "/open311/v2"


def _recent(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def published(publish: Any) -> None:
    publish("KQ-1", category="moi-truong", received_at=_recent(5), answered_at=_recent(1), commune_code="14797")
    publish("KQ-2", category="giao-thong", received_at=_recent(30), answered_at=_recent(20))
    publish("KQ-OLD", category="giao-thong", received_at=_recent(200), answered_at=_recent(150))


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_client_library_reads_services_and_requests(app: Any, relay_url: str, published: None,
                                                    output_format: str) -> None:
    from georeport import GeoReport

    client = GeoReport(relay_url, output_format=output_format)
    services = client.get_service_list()
    codes = {s["service_code"] for s in services}
    assert {"moi-truong", "giao-thong"} <= codes
    assert all(s["metadata"] in (False, "false") for s in services)

    # The spec's default: the last 90 days only.
    found = client.get_service_requests()
    assert sorted(r["service_request_id"] for r in found) == ["KQ-1", "KQ-2"]
    one = client.get_service_request("KQ-1")
    assert one["status"] == "closed" and one["service_code"] == "moi-truong"
    assert one["status_notes"].startswith("Công ty chiếu sáng")
    assert one["agency_responsible"] == "Sở Xây dựng"
    assert one["address"]  # the commune's name, nothing more precise
    assert one["lat"] in (None,) and one["long"] in (None,)

    by_code = client.get_service_requests(service_code="giao-thong")
    by_code = by_code if isinstance(by_code, list) else [by_code]  # xmltodict: one element, no list
    assert [r["service_request_id"] for r in by_code] == ["KQ-2"]
    if output_format == "json":  # (the library cannot read an empty XML list: it indexes None)
        assert client.get_service_requests(status="open") == []
    else:
        empty = requests.get(f"{relay_url}/requests.xml?status=open", timeout=5)
        assert empty.status_code == 200 and b"<service_requests />" in empty.content
    old = client.get_service_requests(start_date=_recent(210), end_date=_recent(140))
    old = old if isinstance(old, list) else [old]
    assert [r["service_request_id"] for r in old] == ["KQ-OLD"]
    ids = client.get_service_requests(service_request_id="KQ-OLD,KQ-1")
    assert sorted(r["service_request_id"] for r in ids) == ["KQ-1", "KQ-OLD"]  # overrides the 90 days


@pytest.mark.parametrize("query", [
    "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",  # more than 90 days
    "start_date=yesterday", "status=pending", "colour=red",
    "start_date=2026-06-02T00:00:00Z&end_date=2026-06-01T00:00:00Z",  # the window backwards
    # The 90 days before or after, or the time in UTC, would be no date at all.
    "end_date=0001-01-02T00:00:00Z", "start_date=9999-12-31T00:00:00Z",
    "start_date=0001-01-01T00:00:00%2B14:00", "end_date=9999-12-31T23:59:59-14:00",
])
def test_bad_arguments_answer_open311_errors(app: Any, relay_url: str, query: str) -> None:
    r = requests.get(f"{relay_url}/requests.json?{query}", timeout=5)
    assert r.status_code == 400
    body = r.json()
    assert body[0]["code"] == 400 and body[0]["description"]
    x = requests.get(f"{relay_url}/requests.xml?{query}", timeout=5)
    assert x.status_code == 400 and b"<errors><error><code>400</code>" in x.content


def test_unknown_request_and_format(app: Any, relay_url: str) -> None:
    assert requests.get(f"{relay_url}/requests/NOPE.json", timeout=5).status_code == 404
    assert requests.get(f"{relay_url}/services.csv", timeout=5).status_code == 404
