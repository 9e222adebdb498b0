"""Published results and the scoreboard: public, cacheable (ETag, ``Cache-Control``), readable by any page."""

from __future__ import annotations

from flask import Response, json, request

from widget_server.results import listing, scoreboard
from widget_server.web.api.blueprint import bp
from widget_server.web.public import cached
from widget_server.web.schemas import ResultPageSchema, ResultSchema, ScoreboardSchema


def _json(schema: object, obj: object) -> bytes:
    # Dumped through its schema, like every other answer (web/schemas.respond).
    return json.dumps(schema.dump(obj), ensure_ascii=False).encode()  # type: ignore[attr-defined]


@bp.get("/results")
def list_results() -> Response:
    """Published results, newest answer first: filters, free-text search (with or without diacritics), paging."""
    query = listing.parse(request.args)
    return cached("api.results|" + query.key(), lambda: _json(ResultPageSchema(), listing.search(query)),
                  "application/json", cors=True)


@bp.get("/results/<result_id>")
def get_result(result_id: str) -> Response:
    """One published result."""
    # The whole id: only a found result is kept, and no longer id is found.
    return cached("api.result|" + result_id, lambda: _json(ResultSchema(), listing.get(result_id)),
                  "application/json", cors=True)


@bp.get("/scoreboard")
def get_scoreboard() -> Response:
    """Per agency and per category: answered, on-time rate, median days, satisfaction where known."""
    site, since, until = scoreboard.parse(request.args.to_dict())
    key = f"api.scoreboard|{site.key if site else ''}|{since}|{until}"
    return cached(key, lambda: _json(ScoreboardSchema(), scoreboard.compute(site, since, until)),
                  "application/json", cors=True)
