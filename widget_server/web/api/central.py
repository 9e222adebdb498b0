"""Events from the central system: Standard Webhooks signed, duplicates dropped."""

from __future__ import annotations

from flask import Response, current_app, request
from phanhoi.webhooks import WebhookVerificationError, verify_headers

from widget_server.config import secret_list
from widget_server.intake import status_events
from widget_server.intake.schemas import StatusEventSchema
from widget_server.web.api.blueprint import bp
from widget_server.web.api.body import MAX_JSON_BYTES, bounded_body, json_body, load
from widget_server.web.problems import Problem
from widget_server.web.schemas import EventAckSchema, respond


@bp.post("/central/events")
def central_events() -> Response:
    """Status events from the central system, Standard Webhooks signed."""
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
    event = load(StatusEventSchema(), json_body())
    duplicate, applied = status_events.apply_status_event(msg_id, event["data"])
    return respond(EventAckSchema(), {"received": True, "duplicate": duplicate, "applied": applied})
