"""The choice on the form pages and the withdrawal on the track page, without JavaScript."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.widget.test_pages import _form, _token, _valid
from widget_server.intake import status_events
from widget_server.notify import consent
from widget_server.store import db
from widget_server.store.notices import notify_requests


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMTP_URL": "smtp://127.0.0.1:2525", "SMS_URL": "http://127.0.0.1:9/messages"}


def _requests():
    with db.read() as conn:
        return conn.execute(sa.select(notify_requests)).all()


@pytest.mark.parametrize("path", ["/s/{key}", "/w/{key}/form"])
def test_the_choice_is_offered_unticked_with_its_own_consent(client, site, path):
    html = _form(client, site[0].key, path=path)
    assert "Báo cho tôi khi có trả lời" in html
    assert re.search(r'id="f-notify"[^>]*checked', html) is None
    assert consent.consent_for(site[0].name).text in html
    assert 'value="email" checked' in html and 'value="sms"' in html


def test_without_a_channel_there_is_no_choice(app, client, site):
    app.config.update(SMTP_URL=None, SMS_URL=None)
    assert 'id="f-notify"' not in _form(client, site[0].key)


@pytest.mark.parametrize("path", ["/s/{key}", "/w/{key}/form"])
def test_ticked_without_javascript_stores_the_request(app, client, site, path):
    key = site[0].key
    token = _token(_form(client, key, path=path))
    data = _valid(app, site[0], token, notify="1", **{
        "notify.by": "sms", "notify.consent.version": consent.consent_for(site[0].name).version})
    resp = client.post(path.format(key=key), data=data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [row] = _requests()
    assert (row.channel, row.contact) == ("sms", "+84912345678")


def test_unticked_stores_nothing_even_with_a_channel_chosen(app, client, site):
    key = site[0].key
    data = _valid(app, site[0], _token(_form(client, key)), **{"notify.by": "email"})
    assert client.post(f"/s/{key}", data=data).status_code == 200
    assert _requests() == []


def test_email_chosen_without_an_email_is_explained_and_kept_ticked(app, client, site):
    key = site[0].key
    data = _valid(app, site[0], _token(_form(client, key)), notify="1", **{
        "notify.by": "email", "notify.consent.version": consent.consent_for(site[0].name).version})
    resp = client.post(f"/s/{key}", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Vui lòng nhập email để nhận thông báo." in html
    assert re.search(r'id="f-notify"[^>]*checked', html)
    assert _requests() == []


def test_the_track_page_withdraws_without_javascript(app, client, site):
    key = site[0].key
    data = _valid(app, site[0], _token(_form(client, key)), notify="1", **{
        "notify.by": "sms", "notify.consent.version": consent.consent_for(site[0].name).version})
    html = client.post(f"/s/{key}", data=data).get_data(as_text=True)
    code = re.search(r'data-code[^>]*>([^<]+)<', html).group(1).strip()
    with db.read() as conn:
        sid = conn.execute(sa.select(db.submissions.c.id)).scalar_one()
    status_events.apply_status_event("evt-1", {"submission_id": sid, "status": "accepted", "sequence": 1})
    page = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678"}).get_data(as_text=True)
    assert "Bạn đã yêu cầu được báo tin khi có trả lời (Qua tin nhắn SMS)." in page
    assert 'value="withdraw_notify"' in page
    done = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678", "op": "data",
                                                "kind": "withdraw_notify"}).get_data(as_text=True)
    assert "Đã ngừng báo tin cho bạn" in done
    assert 'value="withdraw_notify"' not in done
    [row] = _requests()
    assert row.contact is None and row.withdrawn_at is not None
