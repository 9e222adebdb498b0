"""Notices: queued with the status event that calls for them, composed when they are sent.

A status event that moves a submission to ``answered`` or ``rejected`` (and, with
``PHANHOI_NOTIFY_ON_ACCEPTED``, ``accepted``) queues one notice in the outbox, in the
event's own transaction, for a citizen who asked for one. Its outbox row holds no
personal data: only the submission id, the code and the status. The worker asks
:func:`prepare` for the message when it sends, so the contact is read at that moment
(an erased contact cancels the notice) and nothing personal sits in the queue, in
``outbox list`` or in a dead row. Each kind of notice is queued at most once per
submission (``notify_requests.*_notice_id``), however many events arrive.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Connection

from widget_server.intake import sites
from widget_server.notify import content
from widget_server.store import db, outbox
from widget_server.store.notices import notify_requests
from widget_server.vocab import NOTICE_CHANNELS, Status

EVENT_TYPE = "notice.send"
#: Statuses that end the wait (published: answered, and made public, when no "answered" came first).
FINAL = frozenset({Status.ANSWERED.value, Status.REJECTED.value, Status.PUBLISHED.value})
#: Where notices go: outbox destinations that are not a central system.
DESTINATIONS = frozenset(NOTICE_CHANNELS.values())


def on_status(conn: Connection, row: Any, status: str, now: dt.datetime) -> None:
    """Queue the notice a status change calls for (intake's on_status hook)."""
    if status in FINAL:
        kind = "final"
    elif status == Status.ACCEPTED.value and current_app.config["NOTIFY_ON_ACCEPTED"]:
        kind = "accepted"
    else:
        return
    n = notify_requests.c
    asked = conn.execute(sa.select(notify_requests).where(n.submission_id == row.id)).one_or_none()
    if asked is None or asked.erased_at is not None:
        return
    if asked.final_notice_id or (kind == "accepted" and asked.accepted_notice_id):
        return  # told already; a late "accepted" after the answer says nothing new
    msg_id = outbox.enqueue(conn, destination=NOTICE_CHANNELS[asked.channel], event_type=EVENT_TYPE,
                            submission_id=row.id, at=now, data={
                                "submission_id": row.id, "tracking_code": row.tracking_code,
                                "status": status, "kind": kind})
    conn.execute(sa.update(notify_requests).where(n.submission_id == row.id)
                 .values(**{f"{kind}_notice_id": msg_id}))


def _article(site: sites.Site, source_url: str | None) -> str | None:
    """The article the citizen wrote from, if it is on one of the site's own origins."""
    if not source_url:
        return None
    parts = urlsplit(source_url)
    return source_url if sites.origin_allowed(site, f"{parts.scheme}://{parts.netloc}") else None


def prepare(engine: Any, submission_id: str | None, data: dict[str, Any]) -> dict[str, Any] | None:
    """The message for one notice, with its recipient; None when the contact is gone."""
    s, n = db.submissions.c, notify_requests.c
    with db.read(engine) as conn:
        row = conn.execute(sa.select(n.channel, n.contact, s.tracking_code, s.source_url, s.site_id)
                           .select_from(notify_requests.join(db.submissions, s.id == n.submission_id))
                           .where(n.submission_id == submission_id)).first()
        if row is None or not row.contact:
            return None
        site_row = conn.execute(sa.select(db.sites.c.site_key).where(db.sites.c.id == row.site_id)).one()
    # A site deactivated since still has its citizens told: their status page stays (the
    # relay's; the article's page may no longer carry the banner).
    site = sites.get_site(site_row.site_key, inactive=True)
    if site is None:
        return None
    public_url = current_app.config["PUBLIC_URL"]
    code, status = row.tracking_code, str(data.get("status") or "answered")
    relay = content.relay_link(public_url=public_url, site_key=site.key, code=code)
    article = _article(site, row.source_url) if site.active else None
    link = content.track_link(public_url=public_url, site_key=site.key, code=code, article=article)
    if row.channel == "email":
        message = content.email(status=status, code=code, site_name=site.name, link=link)
        return {"to": row.contact, "subject": message.subject, "text": message.text, "html": message.html}
    links = [link, relay] if article else [relay]
    return {"to": row.contact, "text": content.sms(status=status, code=code, site_name=site.name, links=links)}


def mark_sent(conn: Connection, submission_id: str | None, data: dict[str, Any], now: dt.datetime) -> None:
    """The notice went out (the worker's delivery record): after the last one, the contact goes."""
    if data.get("kind") != "final" or not submission_id:
        return
    conn.execute(sa.update(notify_requests).where(
        notify_requests.c.submission_id == submission_id).values(contact=None, erased_at=now))
