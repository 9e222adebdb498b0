"""Reader caches under the database's change counters (store/versions.py, migration 0009).

Two app instances on one database stand for two workers or hosts: a change made through
one is seen by the other within ``VERSION_CHECK_SECONDS``, never later, and until then the
other serves from memory. No sleeps: the clock is moved, or a deadline bounds a poll.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa

from widget_server import create_app
from widget_server.intake import sites
from widget_server.store import db, versions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _pair(app_config: dict[str, Any], **extra: Any) -> tuple[Any, Any, Clock]:
    """Two relays on one database; the second's counter check runs on a clock the test moves."""
    first = create_app({**app_config, **extra})
    second = create_app({**app_config, **extra})
    clock = Clock()
    second.extensions["phanhoi_versions"] = versions.Versions(db.get_engine(second), 1.0, clock)
    return first, second, clock


def _counters(app: Any) -> dict[str, int]:
    with db.get_engine(app).connect() as conn:
        return {name: n for name, n in conn.execute(sa.select(versions.versions.c.name, versions.versions.c.n))}


def test_every_write_to_a_cached_table_bumps_its_counter(app: Any, site: Any) -> None:
    """Triggers, so a writer that forgets cannot leave a stale cache: plain SQL counts too."""
    engine = db.get_engine(app)
    before = _counters(app)
    with engine.begin() as conn:
        conn.execute(sa.update(db.sites).values(name="Báo Thanh Hóa mới"))
    after_sites = _counters(app)
    assert after_sites["sites"] > before["sites"]
    assert after_sites["reference"] == before["reference"]
    with engine.begin() as conn:
        conn.execute(sa.insert(db.reference_lists).values(
            kind="categories", entries=[{"code": "x", "name": "X"}], updated_at=db.utcnow()))
    after_reference = _counters(app)
    assert after_reference["reference"] > after_sites["reference"]
    from widget_server.store.published import results

    now = db.utcnow()
    with engine.begin() as conn:
        conn.execute(sa.insert(results).values(
            id="r1", origin="central", title="Đèn đường", answer="Đã sửa", search_key="den duong",
            sort_at=now, event_at=now, published_at=now, updated_at=now))
    assert _counters(app)["results"] > after_reference["results"]
    with engine.begin() as conn:
        conn.execute(sa.delete(db.sites).where(db.sites.c.id == -1))  # a statement that changes no row
    # PostgreSQL's statement triggers count it (harmless: caches are made again); SQLite's row
    # triggers do not. Either way nothing else moved.
    expected = after_reference["sites"] + (1 if db.is_postgres(engine) else 0)
    assert _counters(app)["sites"] == expected


def test_a_change_through_one_relay_reaches_the_other_within_the_interval(app_config: dict[str, Any]) -> None:
    first, second, clock = _pair(app_config)
    with first.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
    reader = second.test_client()
    url = f"/api/v1/sites/{site.key}/config"
    assert reader.get(url).get_json()["name"] == "Báo A"
    with first.app_context():
        sites.update_site(site.key, name="Báo A (mới)")
    clock.now += 0.5
    # Within the interval the second relay answers from memory...
    assert reader.get(url).get_json()["name"] == "Báo A"
    clock.now += 0.6
    # ...and once it has passed, from the new version.
    assert reader.get(url).get_json()["name"] == "Báo A (mới)"
    for app in (first, second):
        db.get_engine(app).dispose()


def test_a_revoked_site_key_stops_working_within_seconds(app_config: dict[str, Any]) -> None:
    """Real clock, short interval: poll with a deadline, no sleep as synchronisation."""
    first = create_app({**app_config, "VERSION_CHECK_SECONDS": 0.2})
    second = create_app({**app_config, "VERSION_CHECK_SECONDS": 0.2})
    with first.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
    reader = second.test_client()
    assert reader.get(f"/w/{site.key}/form").status_code == 200
    assert reader.get(f"/api/v1/sites/{site.key}/config").status_code == 200
    with first.app_context():
        sites.update_site(site.key, active=False)
    deadline = time.monotonic() + 5
    while reader.get(f"/w/{site.key}/form").status_code != 404:
        assert time.monotonic() < deadline, "a revoked site key still served after 5 s"
    assert reader.get(f"/api/v1/sites/{site.key}/config").status_code == 404
    assert reader.get(f"/s/{site.key}").status_code == 404
    for app in (first, second):
        db.get_engine(app).dispose()


def test_a_rotated_secret_key_is_refused_on_every_relay_within_the_interval(app_config: dict[str, Any]) -> None:
    """Known secret keys are cached like sites: a rotation without grace (a leaked key) ends the
    old key on the relay that made it at once, and on every other relay within the interval."""
    first, second, clock = _pair(app_config)
    with first.app_context():
        site, secret = sites.create_site("Báo A", ["https://a.example"])
    reader, writer = second.test_client(), first.test_client()
    url = f"/api/v1/sites/{site.key}/stats"
    assert reader.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert writer.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with first.app_context():
        new = sites.rotate_secret(site.key, grace=dt.timedelta(0))
    assert writer.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert reader.get(url, headers={"Authorization": f"Bearer {new}"}).status_code == 200
    clock.now += 1.0
    assert reader.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    for app in (first, second):
        db.get_engine(app).dispose()


def test_a_known_secret_key_is_not_read_again(app_config: dict[str, Any]) -> None:
    """The second request with a partner's secret reads no ``sites`` row; an unknown key is
    not cached (each guess is asked of the database and refused)."""
    app = create_app(app_config)
    with app.app_context():
        site, secret = sites.create_site("Báo A", ["https://a.example"])
    statements: list[str] = []
    engine = db.get_engine(app)

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    client = app.test_client()
    url = f"/api/v1/sites/{site.key}/stats"
    assert client.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert not [s for s in statements if "FROM sites" in s]
        for _ in range(2):
            assert client.get(url, headers={"Authorization": f"Bearer {secret}x"}).status_code == 401
        assert len([s for s in statements if "FROM sites" in s]) == 2
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    db.get_engine(app).dispose()


def test_a_cached_previous_secret_key_ends_with_its_grace(app_config: dict[str, Any], monkeypatch: Any) -> None:
    """The grace period is checked on every use, not when the key was cached."""
    app = create_app(app_config)
    with app.app_context():
        site, old = sites.create_site("Báo A", ["https://a.example"])
        sites.rotate_secret(site.key, grace=dt.timedelta(hours=1))
        assert sites.site_for_secret(old) is not None  # now cached
        later = db.utcnow() + dt.timedelta(hours=1, seconds=1)
        monkeypatch.setattr(db, "utcnow", lambda: later)
        assert sites.site_for_secret(old) is None
    db.get_engine(app).dispose()


def test_site_config_has_an_etag_and_answers_304(client: Any, site: Any) -> None:
    key = site[0].key
    first = client.get(f"/api/v1/sites/{key}/config")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    again = client.get(f"/api/v1/sites/{key}/config", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
    weak = client.get(f"/api/v1/sites/{key}/config", headers={"If-None-Match": "W/" + etag})
    assert weak.status_code == 304  # If-None-Match compares weakly (RFC 9110, 13.1.2)
    sites.update_site(key, agencies=["ubnd-tinh"])
    changed = client.get(f"/api/v1/sites/{key}/config", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [a["code"] for a in changed.get_json()["agencies"]] == ["ubnd-tinh"]


def test_a_reference_sync_on_another_relay_reaches_the_form_page(app_config: dict[str, Any]) -> None:
    first, second, clock = _pair(app_config)
    with first.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
    reader = second.test_client()
    assert "Hạng mục mới" not in reader.get(f"/w/{site.key}/form").get_data(as_text=True)
    with first.app_context(), db.write() as conn:
        conn.execute(sa.insert(db.reference_lists).values(
            kind="categories", entries=[{"code": "moi", "name": "Hạng mục mới"}], updated_at=db.utcnow()))
    clock.now += 1.1
    assert "Hạng mục mới" in reader.get(f"/w/{site.key}/form").get_data(as_text=True)
    for app in (first, second):
        db.get_engine(app).dispose()


def test_own_writes_refresh_only_after_a_cached_table_changed(app_config: dict[str, Any]) -> None:
    """A process reads the counters again at once after it wrote a site, a list or a result,
    and not after a submission or an outbox row: those would cost every next reader a query."""
    app = create_app(app_config)
    clock = Clock()
    counters = app.extensions["phanhoi_versions"] = versions.Versions(db.get_engine(app), 1.0, clock)
    try:
        with app.app_context():
            site, _ = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])
            counters.current()
            checked = counters._checked
            with db.write() as conn:
                conn.execute(sa.insert(db.outbox).values(
                    id="row-1", destination="central", event_type="submission.created", payload={},
                    state="pending", attempts=0, next_attempt_at=db.utcnow(), created_at=db.utcnow()))
            assert counters._checked == checked  # nothing cached was written
            with db.write() as conn:
                conn.execute(sa.update(db.sites).where(db.sites.c.id == site.id).values(name="Báo mới"))
            assert counters._checked == float("-inf")  # the next reader reads the counters
    finally:
        db.get_engine(app).dispose()
