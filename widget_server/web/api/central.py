"""Events from the central system: Standard Webhooks signed, duplicates dropped, dispatched by type."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from phanhoi.webhooks import WebhookVerificationError, verify_headers

from widget_server.config import secret_list
from widget_server.intake import status_events
from widget_server.intake.event_schemas import StatusEventSchema
from widget_server.results import events as result_events
from widget_server.results.cache import public_cache
from widget_server.results.schemas import EVENT_SCHEMAS
from widget_server.web.api.blueprint import bp
from widget_server.web.api.body import INVALID, MAX_JSON_BYTES, bounded_body, json_body, load
from widget_server.web.problems import Problem
from widget_server.web.schemas import EventAckSchema, respond

STATUS_CHANGED = "submission.status_changed"
EVENT_TYPES = (STATUS_CHANGED, *EVENT_SCHEMAS)


@bp.post("/central/events")
def central_events() -> Response:
    """Events from the central system (status changes, published and withdrawn results), Standard Webhooks signed."""
    secrets_ = secret_list(current_app.config.get("CENTRAL_EVENTS_SECRET"))
    if not secrets_:
        raise Problem(503, "Chưa cấu hình PHANHOI_CENTRAL_EVENTS_SECRET.", type="not-configured")
    # The size is checked before the signature, and before and while the body is read.
    body = bounded_body(MAX_JSON_BYTES, "Sự kiện quá lớn.")
    try:
        verify_headers(body, dict(request.headers), secrets_)
    except WebhookVerificationError as exc:
        raise Problem(401, "Chữ ký sự kiện không hợp lệ.", type="invalid-signature") from exc
    msg_id = request.headers["webhook-id"]
    if len(msg_id) > 100 or not msg_id.isprintable():  # the column that drops duplicates: 100 characters
        raise Problem(400, "webhook-id dài tối đa 100 ký tự, không có ký tự điều khiển.",
                      type="invalid-webhook-id")
    payload: Any = json_body()
    kind = payload.get("type") if isinstance(payload, dict) else None
    if kind not in EVENT_TYPES:
        raise Problem(422, INVALID, type="validation-error",
                      errors={"type": ["Một trong: " + ", ".join(EVENT_TYPES) + "."]})
    if kind == STATUS_CHANGED:
        event = load(StatusEventSchema(), payload)
        duplicate, applied = status_events.apply_status_event(
            msg_id, event["data"], after=result_events.join_from_submission)
    else:
        event = load(EVENT_SCHEMAS[kind](), payload)
        duplicate, applied = result_events.apply_event(msg_id, kind, event)
    if applied:
        public_cache().forget()  # a withdrawn result leaves this process's answers at once
    return respond(EventAckSchema(), {"received": True, "duplicate": duplicate, "applied": applied})
