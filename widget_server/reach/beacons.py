"""Beacons from the widget, counted without keeping anything about the reader.

A beacon says "the banner was seen" (a viewable impression), "the form was opened" or "the
lookup was opened", for one site and one channel. It adds 1 to a counter row keyed by site,
channel, event and hour (an upsert: the table grows by at most one row per counter and hour,
however many beacons arrive). No cookie is read, no IP address, user agent or identifier is
kept (counts are held in the process for ``REACH_FLUSH_SECONDS`` and written together). Beacons from bots (by user agent, the crawler-user-agents list) and from origins that
are not registered for the site are not counted.
"""

from __future__ import annotations

import atexit
import logging
import datetime as dt
import functools
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import crawleruseragents
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from widget_server.errors import InvalidError, NotFoundError, RefusedError
from widget_server.intake import sites
from widget_server.store import db, operations
from widget_server.vocab import REACH_EVENTS

#: A channel is a short slug: web, tv, print, qr, radio, facebook…
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
DEFAULT_CHANNEL = "web"
MAX_BODY = 256

log = logging.getLogger("widget_server.reach")


@dataclass(frozen=True)
class Beacon:
    event: str
    channel: str


def parse(body: bytes) -> Beacon:
    """``{"e": "impression", "ch": "web"}``, as ``navigator.sendBeacon`` sends it (text/plain)."""
    if len(body) > MAX_BODY:
        raise InvalidError("Beacon quá dài. / Beacon too long.", code="beacon-invalid")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidError("Beacon không phải JSON. / Beacon is not JSON.", code="beacon-invalid") from exc
    if not isinstance(data, dict):
        raise InvalidError("Beacon không hợp lệ. / Invalid beacon.", code="beacon-invalid")
    event, channel = data.get("e"), data.get("ch", DEFAULT_CHANNEL)
    errors: dict[str, list[str]] = {}
    if event not in REACH_EVENTS:
        errors["e"] = [f"one of {', '.join(REACH_EVENTS)}"]
    if not isinstance(channel, str) or not CHANNEL.match(channel):
        errors["ch"] = ["a channel slug: a-z, 0-9, '-', at most 32 characters"]
    if errors:
        raise InvalidError("Beacon không hợp lệ. / Invalid beacon.", code="beacon-invalid", errors=errors)
    return Beacon(str(event), str(channel))


@functools.lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """Crawlers, previews, headless browsers and scripts: not readers. Cached, because matching
    the list's patterns costs about a millisecond and the same few user agents come again and
    again."""
    if not user_agent.strip():
        return True  # every browser that sends beacons sends a user agent
    return bool(crawleruseragents.is_crawler(user_agent))


SITE_CACHE_SECONDS = 30.0
_sites: dict[str, tuple[float, sites.Site | None]] = {}


def site_for_beacon(site_key: str) -> sites.Site:
    """The active site, from a cache of a few seconds: a beacon must not cost a database read.

    A changed origin list or a disabled site applies to beacons within ``SITE_CACHE_SECONDS``.
    """
    now = time.monotonic()
    cached = _sites.get(site_key)
    if cached is None or now - cached[0] > SITE_CACHE_SECONDS:
        if len(_sites) > 10_000:  # unknown keys from strangers must not grow it without end
            _sites.clear()
        cached = (now, sites.get_site(site_key))
        _sites[site_key] = cached
    if cached[1] is None:
        raise NotFoundError("Không tìm thấy trang đối tác này.", code="site-not-found")
    return cached[1]


@functools.lru_cache(maxsize=4096)
def _normalised(origin: str) -> str | None:
    """``sites.normalise_origin``, cached: the same few news sites send every beacon."""
    try:
        return sites.normalise_origin(origin[:300])
    except sites.SiteError:
        return None


def hour_of(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def count(site: sites.Site, beacon: Beacon, *, origin: str | None, user_agent: str) -> bool:
    """Add the beacon to its counter; False when it is not counted (a bot).

    An origin not registered for the site is refused (``origin-not-allowed``): a page that
    is not the partner's cannot inflate its figures.
    """
    if not origin or _normalised(origin) not in site.origins:
        raise RefusedError("Nguồn không được đăng ký cho trang này. / Origin not registered.",
                           code="origin-not-allowed")
    if is_bot(user_agent[:512]):
        return False
    _hold(site.id, beacon.channel, beacon.event)
    return True


def count_visit(site_key: str, channel: str, user_agent: str) -> bool:
    """An ``open`` for a reader who came to the full-page form from print, TV or a QR code
    (``/s/KEY?src=tv``): the relay serves that page itself, so no beacon and no origin. False
    (and nothing counted) for a bot, an unknown site or a channel that is not a slug."""
    if not CHANNEL.match(channel or ""):
        return False
    try:
        site = site_for_beacon(site_key)
    except NotFoundError:
        return False
    if is_bot(user_agent[:512]):
        return False
    _hold(site.id, channel, "open")
    return True


def _hold(site_id: int, channel: str, event: str) -> None:
    key = (site_id, channel, event, hour_of(db.utcnow()))
    seconds = float(current_app.config["REACH_FLUSH_SECONDS"])
    if seconds <= 0:
        add(*key)
        return
    buffer = current_app.extensions.get("phanhoi_reach_buffer")
    if buffer is None:
        buffer = current_app.extensions.setdefault("phanhoi_reach_buffer", Buffer(db.get_engine(), seconds))
    buffer.count(key)


class Buffer:
    """Counts held in this process for at most ``seconds``, then written in one transaction.

    A beacon then costs a dictionary update instead of a durable write (on SQLite with
    ``synchronous=FULL`` that is a disk flush per beacon). A timer thread writes the counts out;
    so does the process's normal exit. A crash loses at most ``seconds`` of counts, never a
    citizen's submission: this path holds nothing else.
    """

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine, self.seconds = engine, seconds
        self.lock = threading.Lock()
        self.counts: dict[tuple[int, str, str, dt.datetime], int] = {}
        self.timer: threading.Timer | None = None
        atexit.register(self.flush)

    def count(self, key: tuple[int, str, str, dt.datetime]) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.timer is None:
                self.timer = threading.Timer(self.seconds, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> None:
        with self.lock:
            counts, self.counts, self.timer = self.counts, {}, None
        if not counts:
            return
        try:
            add_many(counts, self.engine)
        except Exception as exc:  # noqa: BLE001 - a timer thread has no caller to tell
            # Counts only (no reader is in them): a store that refuses them (down, or a site
            # deleted meanwhile) loses these few seconds of counting, never anything else.
            log.warning("reach: %d counter(s) not written (%s)", len(counts), type(exc).__name__)


def flush(app: Any) -> None:
    """Write out what this process holds now (tests, and a console page that wants it all)."""
    buffer = app.extensions.get("phanhoi_reach_buffer")
    if buffer is not None:
        buffer.flush()


def add(site_id: int, channel: str, event: str, hour: dt.datetime, n: int = 1) -> None:
    """``count = count + n`` on the counter's row, made if missing: one statement, no read."""
    add_many({(site_id, channel, event, hour): n})


def add_many(counts: dict[tuple[int, str, str, dt.datetime], int], engine: Engine | None = None) -> None:
    """Every counter's upsert in one transaction, in key order (two writers never deadlock)."""
    table = operations.reach_counters
    with db.write(engine) as conn:
        # Imported here, as in delivery/queue.py: the PostgreSQL dialect costs a fraction of a
        # second at start-up on SQLite installations that never use it.
        from sqlalchemy.dialects import postgresql, sqlite

        dialect: Any = postgresql if db.is_postgres(conn) else sqlite
        for (site_id, channel, event, hour), n in sorted(counts.items()):
            insert = dialect.insert(table).values(site_id=site_id, channel=channel, event=event, hour=hour,
                                                  count=n)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["site_id", "channel", "event", "hour"],
                set_={"count": table.c.count + insert.excluded.count}))


def counters(site_ids: list[int] | None, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> list[tuple[int, str, str, dt.datetime, int]]:
    """The counter rows in a period: (site_id, channel, event, hour, count)."""
    t = operations.reach_counters.c
    query = sa.select(t.site_id, t.channel, t.event, t.hour, t["count"])
    if site_ids is not None:
        query = query.where(t.site_id.in_(site_ids))
    if since is not None:
        query = query.where(t.hour >= since)
    if until is not None:
        query = query.where(t.hour < until)
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(query).all()]  # type: ignore[misc]
