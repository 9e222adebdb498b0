"""The API's answers, as marshmallow schemas: they serialise every response and document it
in ``/openapi.json`` (the request schemas are the domain's, in ``intake/schemas.py``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from widget_server.vocab import STATUSES


class SubmissionReceiptSchema(Schema):
    id = fields.String(required=True)
    tracking_code = fields.String(required=True, metadata={"example": "PH-7K3M-9XQDZ"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    # The site's status page with the code filled in (also the ``Location`` header): the link to
    # give a person; programs look up with POST /api/v1/submissions/{code}/lookup.
    status_url = fields.String(required=True, metadata={
        "description": "Trang tra cứu của trang tin, đã điền sẵn mã / the site's status page with "
                       "the code filled in: the link to give a person (their phone or email is "
                       "asked there). Programs look up with POST /api/v1/submissions/{code}/lookup.",
        "example": "https://phanhoi.thanhhoa.gov.vn/w/pk_xxx/track?code=PH-7K3M-9XQDZ"})
    # When the answer is due (DEADLINE_DAYS after receipt unless the central system says otherwise).
    deadline = fields.String(metadata={"format": "date-time", "example": "2026-12-16T08:00:00+00:00"})


class HistoryEntrySchema(Schema):
    status = fields.String(required=True)
    status_label = fields.String()
    at = fields.DateTime(required=True)
    note = fields.String(allow_none=True)


class AnswerSchema(Schema):
    text = fields.String(required=True)
    agency = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class RatingOutSchema(Schema):
    satisfied = fields.Boolean(required=True)
    comment = fields.String(allow_none=True)
    rated_at = fields.DateTime(allow_none=True)


class SubmissionStatusSchema(Schema):
    tracking_code = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_label = fields.String(required=True)
    category = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    submitted_at = fields.DateTime(required=True)
    deadline = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(required=True)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    answer = fields.Nested(AnswerSchema, allow_none=True, required=True)
    rating = fields.Nested(RatingOutSchema, allow_none=True)
    can_rate = fields.Boolean(required=True)
    consent_withdrawn = fields.Boolean()
    redacted = fields.Boolean()


class DataRequestSchema(Schema):
    tracking_code = fields.String(required=True)
    kind = fields.String(required=True)
    requested_at = fields.DateTime(required=True)
    message = fields.String(required=True)
    forward_cancelled = fields.Boolean(dump_default=False, metadata={"description": (
        "True when the request came before the submission was forwarded: the forward was "
        "cancelled and nothing was sent to the central system.")})


class EventAckSchema(Schema):
    received = fields.Boolean(required=True)
    duplicate = fields.Boolean(required=True)
    applied = fields.Boolean(required=True)


class ChoiceSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class ConsentTextSchema(Schema):
    version = fields.String(required=True)
    text = fields.String(required=True)
    recipient = fields.String(required=True)


class NotifyConsentTextSchema(Schema):
    version = fields.String(required=True)
    text = fields.String(required=True)


class ProvinceSchema(Schema):
    code = fields.Integer(required=True)
    name = fields.String(required=True)


class SiteConfigSchema(Schema):
    site_key = fields.String(required=True)
    name = fields.String(required=True)
    locale = fields.String(required=True)
    theme = fields.Dict(required=True)
    province = fields.Nested(ProvinceSchema, required=True)
    categories = fields.List(fields.Nested(ChoiceSchema), required=True)
    agencies = fields.List(fields.Nested(ChoiceSchema), required=True)
    unknown_agency = fields.Nested(ChoiceSchema, required=True)
    communes = fields.List(fields.Nested(ChoiceSchema), required=True)
    required_fields = fields.List(fields.String(), required=True)
    consent = fields.Nested(ConsentTextSchema, required=True)
    limits = fields.Dict(required=True)
    min_fill_seconds = fields.Float(required=True)
    altcha = fields.Boolean(required=True)
    deadline_days = fields.Integer(required=True)
    notify_channels = fields.List(fields.String(), required=True,
                                  metadata={"description": "How a citizen may ask to be told of the answer: "
                                                           "email, sms, or none."})
    notify_consent = fields.Nested(NotifyConsentTextSchema, required=True, allow_none=True,
                                   metadata={"description": "The separate consent for that notice; null: none offered."})


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    allowed = fields.List(fields.String(), metadata={
        "description": "For a filter the list does not have, or a value outside it: what it accepts."})


class StatsSchema(Schema):
    """Aggregate figures (SIPAS): no personal data."""

    since = fields.String(allow_none=True, required=True)
    total = fields.Integer(required=True)
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    answered = fields.Integer(required=True)
    in_progress = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    on_time_rate = fields.Float(allow_none=True, required=True)
    median_days_to_answer = fields.Float(allow_none=True, required=True)
    rated = fields.Integer(required=True)
    satisfaction_rate = fields.Float(allow_none=True, required=True)
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class SiteRefSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)


class ResultSchema(Schema):
    """A published result: public fields only (no submitter, contact, address or attachment)."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    question = fields.String(allow_none=True, required=True,
                             metadata={"description": "The public question, when the central system published one."})
    answer = fields.String(required=True)
    category = fields.Nested(ChoiceSchema, allow_none=True, required=True)
    agency = fields.Nested(ChoiceSchema, allow_none=True, required=True)
    commune = fields.Nested(ChoiceSchema, allow_none=True, required=True)
    received_at = fields.DateTime(allow_none=True, required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)
    deadline = fields.DateTime(allow_none=True, required=True)
    on_time = fields.Boolean(allow_none=True, required=True,
                             metadata={"description": "answered_at ≤ deadline; null when either is unknown."})
    days_to_answer = fields.Float(allow_none=True, required=True)
    published_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    url = fields.String(allow_none=True, required=True,
                        metadata={"description": "The central system's own page for it, if any."})
    site = fields.Nested(SiteRefSchema, allow_none=True, required=True,
                         metadata={"description": "The news site it came through, if it did."})


class ResultPageSchema(Schema):
    items = fields.List(fields.Nested(ResultSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class ScoreFiguresSchema(Schema):
    answered = fields.Integer(required=True)
    with_deadline = fields.Integer(required=True)
    on_time = fields.Integer(required=True)
    on_time_rate = fields.Float(allow_none=True, required=True)
    median_days = fields.Float(allow_none=True, required=True)
    rated = fields.Integer(required=True)
    satisfaction_rate = fields.Float(allow_none=True, required=True)


class ScoreRowSchema(ScoreFiguresSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class ScoreboardSchema(Schema):
    """Per agency and per category, over published results; ``basis`` says how they are counted."""

    since = fields.String(required=True)
    until = fields.String(required=True)
    site = fields.String(allow_none=True, required=True)
    basis = fields.String(required=True)
    total = fields.Nested(ScoreFiguresSchema, required=True)
    agencies = fields.List(fields.Nested(ScoreRowSchema), required=True)
    categories = fields.List(fields.Nested(ScoreRowSchema), required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def status_fields(found: dict[str, Any]) -> dict[str, Any]:
    """What ``SubmissionStatusSchema`` dumps for a lookup's answer, built directly.

    The status lookup is the most frequent API call; marshmallow's dump of its nested schemas
    cost a tenth of it. The schema stays the contract (``/openapi.json``) and
    tests/server/test_status_answer.py checks this gives exactly what the schema gives.
    """
    answer, rating = found["answer"], found["rating"]
    return {
        "tracking_code": found["tracking_code"],
        "status": found["status"],
        "status_label": found["status_label"],
        "category": found["category"],
        "title": found["title"],
        "submitted_at": _iso(found["submitted_at"]),
        "deadline": _iso(found["deadline"]),
        "overdue": found["overdue"],
        "history": [{"status": e["status"], "status_label": e["status_label"], "at": _iso(e["at"]),
                     "note": e["note"]} for e in found["history"]],
        "answer": None if answer is None else {
            "text": answer["text"], "agency": answer["agency"], "answered_at": _iso(answer["answered_at"])},
        "rating": None if rating is None else {
            "satisfied": rating["satisfied"], "comment": rating["comment"], "rated_at": _iso(rating["rated_at"])},
        "can_rate": found["can_rate"],
        "consent_withdrawn": found["consent_withdrawn"],
        "redacted": found["redacted"],
    }


# The lookup's answer as the app's ``jsonify`` writes it outside debug mode (UTF-8, keys in their
# order, as ``create_app`` sets the provider; compact; a newline after), by one encoder made once:
# ``jsonify`` goes through the provider and makes an encoder per call. For values JSON knows as
# they are (``status_fields``); tests/server/test_status_answer.py compares the bytes.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=False, separators=(",", ":"))


def json_answer(obj: Any, headers: Mapping[str, str] | None = None, status: int = 200) -> Response:
    """``obj`` (JSON's own types only) as a JSON answer, with ``headers``."""
    return Response(_ENCODER.encode(obj) + "\n", status, headers, content_type="application/json")


_RECEIPT_FIELDS = tuple(SubmissionReceiptSchema._declared_fields)  # noqa: SLF001 - in their order


def receipt_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """What ``SubmissionReceiptSchema`` dumps of a submission's answer (a new one or a replay),
    built directly as ``status_fields`` is: every field a string, a missing one left out.
    tests/server/test_status_answer.py checks this gives exactly what the schema gives."""
    receipt: dict[str, Any] = {}
    for name in _RECEIPT_FIELDS:
        if name in body:
            value = body[name]
            receipt[name] = value if value is None or type(value) is str else str(value)
    return receipt


def respond(schema: Schema, obj: Any, status: int = 200) -> Response:
    """``obj`` serialised by ``schema`` as the JSON answer: nothing undocumented leaves the API."""
    resp = jsonify(schema.dump(obj))
    resp.status_code = status
    return resp
