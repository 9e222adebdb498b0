"""Language marking and copy on the pages, over HTTP."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


def test_english_page_marks_vietnamese_data_and_consent(client: Any, site: Any) -> None:
    key = site[0].key
    en = client.get(f"/s/{key}?lang=en").get_data(as_text=True)
    # Topic, agency and commune names and the consent text are Vietnamese: screen readers
    # must read them with a Vietnamese voice on an English page.
    for sid in ("f-category", "f-location-commune_code"):
        assert re.search(rf'<select id="{sid}" lang="vi"', en), sid
    assert '<option value="" lang="en">— Choose —</option>' in en
    # Agencies are radio buttons (long names wrap on phones): each Vietnamese name marked.
    assert '<label for="f-agency-1" lang="vi">UBND tỉnh Thanh Hóa</label>' in en
    assert '<label for="f-agency">Not sure: the provincial system decides</label>' in en
    assert '<label for="f-consent-accepted" lang="vi">' in en
    assert "Chưa rõ cơ quan" not in en
    vi = client.get(f"/s/{key}").get_data(as_text=True)
    assert 'lang="vi"' not in vi.split("<body>", 1)[1]
    assert "Chưa rõ cơ quan" in vi


def test_english_lookup_marks_the_agency_answer_vietnamese(app: Any, client: Any, site: Any) -> None:
    from widget_server.intake import tracking
    from widget_server.intake import status_events

    from tests.widget.test_pages import _form, _token, _valid

    key = site[0].key
    html = client.post(f"/s/{key}", data=_valid(app, site[0], _token(_form(client, key)))).get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', html).group(1)
    found = tracking.lookup(code, "0912345678")
    assert found is not None
    import sqlalchemy as sa

    from widget_server.store import db

    with db.read() as conn:
        sid = conn.execute(sa.select(db.submissions.c.id).where(db.submissions.c.tracking_code == code)).scalar_one()
    status_events.apply_status_event("msg_test_1", {
        "submission_id": sid, "central_id": "C-1", "status": "answered", "note": "Đã kiểm tra hiện trường.",
        "answer": "Phường đã thu gom rác.", "agency": "UBND phường Hạc Thành", "sequence": 1})
    en = client.post(f"/w/{key}/track?lang=en", data={"code": code, "contact": "0912345678", "lang": "en"})
    page = en.get_data(as_text=True)
    assert '<p class="ans-t" lang="vi">Phường đã thu gom rác.</p>' in page
    assert '<span class="tl-n" lang="vi">Đã kiểm tra hiện trường.</span>' in page
    assert 'Answered by: <span lang="vi">UBND phường Hạc Thành</span>' in page
    vi = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678"}).get_data(as_text=True)
    assert '<p class="ans-t">Phường đã thu gom rác.</p>' in vi


def test_lookup_says_overdue_next_to_the_status_and_names_the_time_zone(app: Any, client: Any, site: Any) -> None:
    import sqlalchemy as sa

    from tests.widget.test_pages import _form, _token, _valid
    from widget_server.intake import status_events
    from widget_server.store import db

    key = site[0].key
    html = client.post(f"/s/{key}", data=_valid(app, site[0], _token(_form(client, key)))).get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', html).group(1)
    with db.read() as conn:
        sid = conn.execute(sa.select(db.submissions.c.id).where(db.submissions.c.tracking_code == code)).scalar_one()
    status_events.apply_status_event("msg_test_2", {
        "submission_id": sid, "central_id": "C-2", "status": "in_progress", "sequence": 1,
        "deadline": dt.datetime(2020, 1, 10, 10, 0, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2020, 1, 2, 17, 30, tzinfo=dt.UTC)})
    page = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678"}).get_data(as_text=True)
    assert re.search(r'class="st">Tình trạng: <strong>[^<]+</strong> · <strong class="bad">Quá hạn</strong>', page)
    assert "Hạn trả lời: 10/01/2020<" in page or "Hạn trả lời: 10/01/2020 " in page  # a day, in UTC+7
    # 17:30 UTC is half past midnight the next day in Vietnam.
    assert "03/01/2020 00:30" in page
    assert "Thời gian tính theo giờ Việt Nam (UTC+7)." in page
    en = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678", "lang": "en"}).get_data(as_text=True)
    assert '<strong class="bad">Overdue</strong>' in en and "Times are Vietnam time (UTC+7)." in en
