"""Delivery in the console (admins): outbox health per destination, breakers, dead rows, replay."""

from __future__ import annotations

from flask import Response, g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from widget_server.accounts import audit
from widget_server.delivery import queue
from widget_server.store import db
from widget_server.web.console.auth import render, require_admin
from widget_server.web.console.blueprint import bp


def _page(status: int = 200, **extra: object) -> Response:
    """The delivery page: each destination, the rows still being tried with their last error
    (an expired certificate, a 503) and the dead rows."""
    engine = db.get_engine()
    return render("console/delivery.html", status, destinations=queue.list_destinations(engine),
                  retrying=queue.list_rows(engine, state="pending", tried=True, limit=50),
                  dead=queue.list_rows(engine, state="dead", limit=200), now=db.utcnow(), **extra)


@bp.get("/delivery")
def delivery() -> Response:
    """Rows per destination and state, each breaker's state, and the dead rows with their last error."""
    require_admin()
    return _page(replayed=request.args.get("replayed"))


@bp.post("/delivery/replay")
def replay() -> ResponseReturnValue:
    """Put dead rows (the ones ticked, or all) back in the queue with a fresh attempt budget."""
    require_admin()
    engine = db.get_engine()
    ids = [i for i in request.form.getlist("id") if i][:500]
    everything = request.form.get("all") == "1"
    if not ids and not everything:
        return _page(422, error="choose")
    count = queue.retry_rows(engine, ids, all_dead=everything)
    audit.record(g.user.email, "outbox.replay", "all" if everything else ",".join(ids)[:200],
                 details={"rows": count})
    return redirect(url_for("console.delivery", replayed=count), 303)


@bp.post("/delivery/resume")
def resume() -> ResponseReturnValue:
    """Close a destination's breaker and make it active again."""
    require_admin()
    name = (request.form.get("destination") or "")[:40]
    resumed = queue.resume(db.get_engine(), [name] if name else None)
    audit.record(g.user.email, "destination.resume", name or "all", details={"resumed": resumed})
    return redirect(url_for("console.delivery"), 303)
