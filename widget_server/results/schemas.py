"""The central system's result events, as request schemas (``POST /api/v1/central/events``)."""

from __future__ import annotations

from marshmallow import fields, validate

from widget_server.intake.event_schemas import (
    DATETIME_MESSAGES,
    CentralDateTime,
    MESSAGES,
    CentralSchema,
    OBJECT_MESSAGES,
    at_most,
    between,
    equal,
    printable,
)
from widget_server.intake.schemas import CleanString

RESULT_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
                            error="result_id: 1–100 chữ cái, số, '.', '_', ':' hoặc '-'. "
                                  "(1–100 letters, digits, '.', '_', ':' or '-'.)")
CODE = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,63}$", error="Mã không hợp lệ. (Not a valid code.)")


class ResultPublishedDataSchema(CentralSchema):
    """Only public fields: anything else the central system sends is dropped unread."""

    result_id = fields.String(required=True, error_messages=MESSAGES, validate=RESULT_ID)
    # Compared and stored, as a status event's: a control character is refused (PostgreSQL cannot store NUL).
    central_id = fields.String(allow_none=True, load_default=None, error_messages=MESSAGES,
                               validate=[at_most(100), printable])
    title = CleanString(required=True, error_messages=MESSAGES, validate=between(1, 300))
    question = CleanString(allow_none=True, load_default=None, multiline=True, error_messages=MESSAGES,
                           validate=at_most(20000))
    answer = CleanString(required=True, multiline=True, error_messages=MESSAGES, validate=between(1, 20000))
    category = fields.String(allow_none=True, load_default=None, error_messages=MESSAGES, validate=CODE)
    agency = CleanString(allow_none=True, load_default=None, error_messages=MESSAGES, validate=at_most(200))
    commune_code = fields.String(allow_none=True, load_default=None, error_messages=MESSAGES,
                                 validate=validate.Regexp(r"^[0-9]{1,16}$",
                                                          error="Mã xã không hợp lệ. (Not a valid commune code.)"))
    received_at = CentralDateTime(allow_none=True, load_default=None, error_messages=DATETIME_MESSAGES)
    answered_at = CentralDateTime(allow_none=True, load_default=None, error_messages=DATETIME_MESSAGES)
    deadline = CentralDateTime(allow_none=True, load_default=None, error_messages=DATETIME_MESSAGES)
    url = fields.Url(allow_none=True, load_default=None, schemes={"http", "https"}, error_messages={
        **MESSAGES, "invalid": "Không phải URL http(s) hợp lệ. (Not a valid http(s) URL.)"},
        validate=[at_most(2000), printable])


class ResultWithdrawnDataSchema(CentralSchema):
    result_id = fields.String(required=True, error_messages=MESSAGES, validate=RESULT_ID)


class _ResultEventSchema(CentralSchema):
    timestamp = CentralDateTime(load_default=None, allow_none=True, error_messages=DATETIME_MESSAGES)


class ResultPublishedSchema(_ResultEventSchema):
    """``result.published``: a PAKN the central system made public (through the relay or not)."""

    type = fields.String(required=True, error_messages=MESSAGES, validate=equal("result.published"))
    data = fields.Nested(ResultPublishedDataSchema, required=True, error_messages=OBJECT_MESSAGES)


class ResultWithdrawnSchema(_ResultEventSchema):
    """``result.withdrawn``: the result leaves every public output."""

    type = fields.String(required=True, error_messages=MESSAGES, validate=equal("result.withdrawn"))
    data = fields.Nested(ResultWithdrawnDataSchema, required=True, error_messages=OBJECT_MESSAGES)


EVENT_SCHEMAS = {"result.published": ResultPublishedSchema, "result.withdrawn": ResultWithdrawnSchema}
