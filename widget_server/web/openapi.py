"""OpenAPI 3.1 description, generated from the marshmallow schemas (apispec)."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify

from widget_server.intake import event_schemas
from widget_server.intake import schemas as requests_
from widget_server.results import schemas as result_events
from widget_server.web import schemas
from widget_server.web.schemas import respond

bp = Blueprint("openapi", __name__)

PROBLEM = {"application/problem+json": {"schema": "Problem"}}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _problems(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "Problem details (RFC 9457)", "content": PROBLEM} for c in codes}


CODE = {"name": "tracking_code", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "Tracking code, e.g. PH-7K3M-9XQDZ (case, spaces and dashes are ignored)."}
CACHE_HEADERS = {"ETag": {"schema": {"type": "string"}},
                 "Cache-Control": {"schema": {"type": "string"}, "description": "public, max-age=…"}}
LANG = {"name": "lang", "in": "query", "required": False,
        "schema": {"type": "string", "enum": ["vi", "en"]}}
ACTION_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
              "schema": {"type": "string", "maxLength": 255},
              "description": "A retry with the same key and body gets the first answer; applied once."}

# (path, method, view endpoint) → operation; every API route must appear here (tested).
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/v1/sites/{site_key}/config", "get"): {
        "endpoint": "api.site_config",
        "parameters": [{"name": "site_key", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "Site configuration", "content": _json("SiteConfig"),
                              "headers": CACHE_HEADERS},
                      "304": {"description": "Not modified (If-None-Match)"},
                      **_problems(404)},
    },
    ("/api/v1/sites/{site_key}/stats", "get"): {
        "endpoint": "api.site_stats",
        "parameters": [{"name": "site_key", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "since", "in": "query", "required": False,
                        "schema": {"type": "string", "format": "date"}}],
        "security": [{"siteSecret": []}],
        "responses": {"200": {"description": "Aggregate figures", "content": _json("Stats")},
                      **_problems(401, 422)},
    },
    ("/api/v1/submissions", "post"): {
        "endpoint": "api.create_submission",
        "parameters": [
            {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
             "description": "Required with a secret key. Same key and body → the same answer."},
            {"name": "X-Form-Token", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "Signed form token from the relay's form page (browsers)."},
        ],
        "security": [{"siteSecret": []}, {"formToken": []}],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": "SubmissionCreate"},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "submission": {"type": "string", "description": "The submission as JSON"},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
        }},
        "responses": {
            "201": {"description": "Stored; will be forwarded", "content": _json("SubmissionReceipt"),
                    "headers": {
                        "Idempotent-Replayed": {"schema": {"type": "string"}},
                        "Location": {"schema": {"type": "string", "format": "uri"},
                                     "description": "The receipt's status_url: the site's status "
                                                    "page with the code filled in"}}},
            **_problems(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
    },
    ("/api/v1/submissions/{tracking_code}/lookup", "post"): {
        "endpoint": "api.lookup_submission",
        "parameters": [CODE, LANG],
        "requestBody": {"required": True, "content": _json("LookupCreate")},
        "responses": {"200": {"description": "Status, history, answer", "content": _json("SubmissionStatus")},
                      **_problems(400, 404, 415, 422, 429, 503)},
    },
    ("/api/v1/submissions/{tracking_code}", "get"): {
        "endpoint": "api.lookup_by_get",
        "parameters": [CODE],
        "deprecated": True,
        # 404 for a path no code can be (control characters are refused before any view runs).
        "responses": _problems(404, 410),
    },
    ("/api/v1/submissions/{tracking_code}/rating", "post"): {
        "endpoint": "api.rate_submission",
        "parameters": [CODE, LANG, ACTION_KEY],
        "requestBody": {"required": True, "content": _json("RatingCreate")},
        "responses": {"200": {"description": "Rated", "content": _json("SubmissionStatus")},
                      **_problems(400, 404, 409, 415, 422, 429, 503)},
    },
    ("/api/v1/submissions/{tracking_code}/data-request", "post"): {
        "endpoint": "api.data_request",
        "parameters": [CODE, ACTION_KEY],
        "requestBody": {"required": True, "content": _json("DataRequestCreate")},
        "responses": {"202": {"description": "Recorded and forwarded", "content": _json("DataRequest")},
                      **_problems(400, 404, 415, 422, 429, 503)},
    },
    ("/api/v1/central/events", "post"): {
        "endpoint": "api.central_events",
        "parameters": [{"name": n, "in": "header", "required": True, "schema": {"type": "string"}}
                       for n in ("webhook-id", "webhook-timestamp", "webhook-signature")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/StatusEvent"}, {"$ref": "#/components/schemas/ResultPublished"},
            {"$ref": "#/components/schemas/ResultWithdrawn"}]}}}},
        "responses": {"200": {"description": "Accepted (or a dropped duplicate)", "content": _json("EventAck")},
                      **_problems(400, 401, 404, 413, 415, 422, 503)},
    },
    ("/api/v1/results", "get"): {
        "endpoint": "api.list_results",
        "parameters": [
            {"name": "site", "in": "query", "schema": {"type": "string"},
             "description": "Only results that came through this news site (its site key)."},
            {"name": "category", "in": "query", "schema": {"type": "string"}},
            {"name": "agency", "in": "query", "schema": {"type": "string"}},
            {"name": "commune", "in": "query", "schema": {"type": "string"}},
            {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100},
             "description": "Words in the title, question or answer; with or without diacritics."},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
            {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        ],
        "responses": {"200": {"description": "One page of published results (a page past the end is empty)",
                              "content": _json("ResultPage"), "headers": CACHE_HEADERS},
                      "304": {"description": "Not modified (If-None-Match)"},
                      **_problems(400, 404)},
    },
    ("/api/v1/results/{result_id}", "get"): {
        "endpoint": "api.get_result",
        "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "A published result", "content": _json("Result"),
                              "headers": CACHE_HEADERS},
                      "304": {"description": "Not modified (If-None-Match)"},
                      **_problems(404)},
    },
    ("/api/v1/scoreboard", "get"): {
        "endpoint": "api.get_scoreboard",
        "parameters": [
            {"name": "site", "in": "query", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"},
             "description": "Default: a year before until."},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"},
             "description": "Default: today (Vietnam time)."},
        ],
        "responses": {"200": {"description": "Figures per agency and per category, with their basis",
                              "content": _json("Scoreboard"), "headers": CACHE_HEADERS},
                      "304": {"description": "Not modified (If-None-Match)"},
                      **_problems(400, 404)},
    },
    ("/api/v1/sites/{site_key}/beacon", "post"): {
        "endpoint": "api.beacon",
        "parameters": [{"name": "site_key", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "Origin", "in": "header", "required": True, "schema": {"type": "string"},
                        "description": "One of the site's registered origins (browsers send it)."}],
        "requestBody": {"required": True, "content": {
            # What navigator.sendBeacon sends for a string body; JSON inside.
            "text/plain": {"schema": {"type": "string", "maxLength": 256,
                                      "example": '{"e": "impression", "ch": "web"}'}},
            "application/json": {"schema": {"type": "object", "required": ["e"], "properties": {
                "e": {"type": "string", "enum": ["impression", "open", "results_view"]},
                "ch": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$", "default": "web"}}}},
        }},
        "responses": {"204": {"description": "Received (counted unless the user agent is a bot)"},
                      **_problems(403, 404, 422, 429)},
    },
    ("/api/v1/sites/{site_key}/altcha", "get"): {
        "endpoint": "api.altcha_challenge",
        "parameters": [{"name": "site_key", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ALTCHA v1 challenge (solve: SHA-256(salt + n) == challenge)",
                              "content": {"application/json": {"schema": {
                                  "type": "object",
                                  "required": ["algorithm", "challenge", "maxNumber", "salt", "signature"],
                                  "properties": {"algorithm": {"type": "string"},
                                                 "challenge": {"type": "string"},
                                                 "maxNumber": {"type": "integer"},
                                                 "salt": {"type": "string"},
                                                 "signature": {"type": "string"}}}}}},
                      **_problems(404, 429)},
    },
    ("/api/v1/attachments/{token}", "get"): {
        "endpoint": "api.download",
        "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "Signed, expiring link token from the forwarded body."}],
        "responses": {"200": {"description": "The file (JPEG, PNG, WebP or PDF)", "content": {
                          "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "image/png": {"schema": {"type": "string", "format": "binary"}},
                          "image/webp": {"schema": {"type": "string", "format": "binary"}},
                          "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                      **_problems(403, 404, 410)},
    },
    ("/healthz", "get"): {
        "endpoint": "openapi.healthz",
        "responses": {"200": {"description": "Alive", "content": _json("Health")}},
    },
    ("/readyz", "get"): {
        "endpoint": "openapi.readyz",
        "responses": {"200": {"description": "Database reachable", "content": _json("Health")},
                      **_problems(503)},
    },
}

SCHEMAS = {
    "SubmissionCreate": requests_.SubmissionCreateSchema,
    "SubmissionReceipt": schemas.SubmissionReceiptSchema,
    "SubmissionStatus": schemas.SubmissionStatusSchema,
    "LookupCreate": requests_.LookupCreateSchema,
    "RatingCreate": requests_.RatingCreateSchema,
    "DataRequestCreate": requests_.DataRequestCreateSchema,
    "DataRequest": schemas.DataRequestSchema,
    "StatusEvent": event_schemas.StatusEventSchema,
    "EventAck": schemas.EventAckSchema,
    "SiteConfig": schemas.SiteConfigSchema,
    "Problem": schemas.ProblemSchema,
    "Health": schemas.HealthSchema,
    "Stats": schemas.StatsSchema,
    "ResultPublished": result_events.ResultPublishedSchema,
    "ResultWithdrawn": result_events.ResultWithdrawnSchema,
    "Result": schemas.ResultSchema,
    "ResultPage": schemas.ResultPageSchema,
    "Scoreboard": schemas.ScoreboardSchema,
}


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Phản hồi Widget relay API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Phản ánh, kiến nghị from news sites to the province's central system. "
                             "Errors are RFC 9457 problem+json."},
        servers=[{"url": app.config["PUBLIC_URL"]}],
    )
    spec.components.security_scheme("siteSecret", {"type": "http", "scheme": "bearer",
                                                   "description": "The site's secret key (sk_…)"})
    spec.components.security_scheme("formToken", {"type": "apiKey", "in": "header", "name": "X-Form-Token"})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), op in OPERATIONS.items():
        operation = {k: v for k, v in op.items() if k != "endpoint"}
        view = app.view_functions.get(op["endpoint"])
        doc = (view.__doc__ or "").strip().splitlines() if view else []
        operation.setdefault("summary", doc[0] if doc else op["endpoint"])
        operation["operationId"] = op["endpoint"].split(".", 1)[1]
        paths.setdefault(path, {})[method] = operation
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get("phanhoi_openapi")
    if cached is None:
        cached = app.extensions["phanhoi_openapi"] = build_spec(app)
    return jsonify(cached)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return respond(schemas.HealthSchema(), {"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: the database takes writes (a full disk or a read-only replica is not ready)."""
    from widget_server.store import db, health
    from widget_server.web.problems import STORE_RETRY_AFTER, Problem

    try:
        problem = health.write_problem(db.get_engine())
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        problem = type(exc).__name__
    if problem is not None:
        raise Problem(503, f"Cơ sở dữ liệu không nhận ghi ({problem}).", type="not-ready",
                      headers={"Retry-After": str(STORE_RETRY_AFTER)})
    return respond(schemas.HealthSchema(), {"status": "ready"})
