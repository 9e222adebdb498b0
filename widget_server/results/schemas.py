"""The central system's result events, as request schemas (``POST /api/v1/central/events``)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from widget_server.intake.schemas import CleanString

RESULT_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
                            error="result_id: 1–100 chữ cái, số, '.', '_', ':' hoặc '-'.")
CODE = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,63}$", error="Mã không hợp lệ.")


class ResultPublishedDataSchema(Schema):
    """Only public fields: anything else the central system sends is dropped unread."""

    class Meta:
        unknown = EXCLUDE

    result_id = fields.String(required=True, validate=RESULT_ID)
    central_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=100))
    title = CleanString(required=True, validate=validate.Length(1, 300))
    question = CleanString(allow_none=True, load_default=None, multiline=True,
                           validate=validate.Length(max=20000))
    answer = CleanString(required=True, multiline=True, validate=validate.Length(1, 20000))
    category = fields.String(allow_none=True, load_default=None, validate=CODE)
    agency = CleanString(allow_none=True, load_default=None, validate=validate.Length(max=200))
    commune_code = fields.String(allow_none=True, load_default=None,
                                 validate=validate.Regexp(r"^[0-9]{1,16}$", error="Mã xã không hợp lệ."))
    received_at = fields.AwareDateTime(allow_none=True, load_default=None)
    answered_at = fields.AwareDateTime(allow_none=True, load_default=None)
    deadline = fields.AwareDateTime(allow_none=True, load_default=None)
    url = fields.Url(allow_none=True, load_default=None, schemes={"http", "https"},
                     validate=validate.Length(max=2000))


class ResultWithdrawnDataSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    result_id = fields.String(required=True, validate=RESULT_ID)


class _ResultEventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    timestamp = fields.AwareDateTime(load_default=None, allow_none=True)


class ResultPublishedSchema(_ResultEventSchema):
    """``result.published``: a PAKN the central system made public (through the relay or not)."""

    type = fields.String(required=True, validate=validate.Equal("result.published"))
    data = fields.Nested(ResultPublishedDataSchema, required=True)


class ResultWithdrawnSchema(_ResultEventSchema):
    """``result.withdrawn``: the result leaves every public output."""

    type = fields.String(required=True, validate=validate.Equal("result.withdrawn"))
    data = fields.Nested(ResultWithdrawnDataSchema, required=True)


EVENT_SCHEMAS = {"result.published": ResultPublishedSchema, "result.withdrawn": ResultWithdrawnSchema}
