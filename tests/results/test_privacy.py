"""Published submissions full of names, phones, emails and addresses: every public output
(API, pages, feed, Open311, the widget variants' framed pages) is scanned for any of it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from widget_server.store import db

PEOPLE = [
    {"name": "Nguyễn Thị Hồng Nhung", "phone": "0912345678", "email": "hong.nhung@example.vn",
     "address": "Số 12 ngõ 34 phố Trần Phú, phường Hạc Thành"},
    {"name": "Trần Văn Bình", "phone": "0387654321", "email": "binh.tran@example.com",
     "address": "Thôn Yên Trung, xã Đông Tiến"},
    {"name": "Lê Hoàng Long", "phone": None, "email": "long.le+pakn@example.org",
     "address": "Khu phố 5, phường Quảng Hưng"},
]


def _forms(person: dict[str, Any]) -> list[str]:
    out = [person["name"], person["address"], person["name"].split()[-2] + " " + person["name"].split()[-1]]
    if person["email"]:
        out += [person["email"], person["email"].split("@")[0]]
    if person["phone"]:
        p = person["phone"]
        out += [p, "+84" + p[1:], p[1:], f"{p[:4]} {p[4:7]} {p[7:]}", f"{p[:4]}.{p[4:7]}.{p[7:]}"]
    return out


def test_no_public_output_carries_personal_data(app: Any, client: Any, site: Any,
                                                submission_body: dict[str, Any],
                                                submit_and_publish: Any, publish: Any) -> None:
    for n, person in enumerate(PEOPLE):
        p = person["phone"]
        spoken = f"{p[:4]} {p[4:7]} {p[7:]}" if p else person["email"]
        body = {
            **submission_body,
            "title": f"{person['name']} ({spoken}) phản ánh về rác ở {person['address']}"[:200],
            "content": (f"Tôi là {person['name']}, ở {person['address']}, điện thoại {p}, "
                        f"email {person['email']}. Rác thải tồn đọng nhiều ngày."),
            "location": {"commune_code": None, "address": person["address"], "lat": 19.8, "lon": 105.77},
            "submitter": {"name": person["name"], "phone": p, "email": person["email"]},
            "confidential": n != 0,  # even a citizen who allowed publishing is not published
        }
        submit_and_publish(body, answer=f"Trả lời bà/ông {person['name']} ({p or person['email']}): "
                                        f"đã thu gom rác tại {person['address']}.",
                           central_id=f"TH-{n}")
    publish("KQ-C", title="Kết quả do hệ thống tỉnh công khai")  # a published result alongside
    with db.read() as conn:
        internal = [r for row in conn.execute(sa.select(db.submissions.c.id, db.submissions.c.tracking_code))
                    for r in row]
    items = client.get("/api/v1/results?per_page=100").get_json()["items"]
    assert len(items) == 4
    key = site[0].key
    urls = ["/api/v1/results?per_page=100", "/api/v1/scoreboard", f"/p/{key}", f"/p/{key}/feed.atom",
            f"/p/{key}/scoreboard", "/open311/v2/services.json", "/open311/v2/requests.json",
            "/open311/v2/requests.xml", f"/w/{key}/results", f"/w/{key}/scoreboard",
            f"/w/{key}/results?origin=https://baothanhhoa.example"]
    for item in items:
        urls += [f"/api/v1/results/{item['id']}", f"/p/{key}/{item['id']}",
                 f"/open311/v2/requests/{item['id']}.json", f"/open311/v2/requests/{item['id']}.xml"]
    secrets = [s for person in PEOPLE for s in _forms(person)] + internal
    scanned = 0
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        body = r.get_data(as_text=True)
        scanned += 1
        for secret in secrets:
            assert secret.casefold() not in body.casefold(), f"{secret!r} in {url}"
        assert "Rác thải tồn đọng nhiều ngày" not in body, url  # the citizen's content
    assert scanned == len(urls)
    # What was published is the title and answer with the details taken out, not nothing.
    titles = {i["title"] for i in items}
    assert any("phản ánh về rác" in t for t in titles)
    assert all("đã thu gom rác" in i["answer"] for i in items if i["id"] != "KQ-C")
