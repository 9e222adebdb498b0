"""What the central system sends back: the status event, checked before anything is applied."""

from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from widget_server.intake.schemas import CleanString
from widget_server.vocab import STATUSES


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("Không được chứa ký tự điều khiển.")


class StatusEventDataSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # Identifiers are compared, not shown: a control character (NUL among them) is refused,
    # the same on SQLite and PostgreSQL; texts a citizen reads are cleaned like theirs.
    submission_id = fields.String(required=True, validate=[validate.Length(1, 36), _printable])
    central_id = fields.String(allow_none=True, load_default=None,
                               validate=[validate.Length(max=100), _printable])
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    note = CleanString(multiline=True, allow_none=True, load_default=None, validate=validate.Length(max=5000))
    answer = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=20000))
    agency = CleanString(allow_none=True, load_default=None, validate=validate.Length(max=200))
    deadline = fields.AwareDateTime(allow_none=True, load_default=None, default_timezone=None)
    # The column is a 32-bit INTEGER on PostgreSQL: a larger number is invalid, not a 500.
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)


class StatusEventSchema(Schema):
    """A ``submission.status_changed`` event from the central system (Standard Webhooks signed)."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.Equal("submission.status_changed"))
    timestamp = fields.String(load_default=None, allow_none=True)
    data = fields.Nested(StatusEventDataSchema, required=True)
