"""What the central system sends back: the status event, checked before anything is applied."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from widget_server.intake.schemas import CleanString
from widget_server.vocab import FIRST_DAY, LAST_DAY, STATUSES


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("Không được chứa ký tự điều khiển. (No control characters.)")


# The central system's developers read these: Vietnamese first, then English, as every answer.
MESSAGES: dict[str, Any] = {
    "required": "Thiếu trường bắt buộc. (Missing required field.)",
    "null": "Không được để trống (null). (May not be null.)",
    "invalid": "Giá trị không hợp lệ. (Not a valid value.)",
    "invalid_utf8": "Văn bản không hợp lệ. (Not valid UTF-8 text.)",
}
DATETIME_MESSAGES: dict[str, Any] = {**MESSAGES, "invalid": "Không phải ngày giờ ISO 8601 hợp lệ. (Not a valid ISO 8601 date-time.)",
             "invalid_awareness": "Ngày giờ phải có múi giờ, ví dụ +07:00. (A time zone is required, e.g. +07:00.)",
             "range": f"Ngày giờ phải từ năm {FIRST_DAY.year} đến năm {LAST_DAY.year} (giờ UTC). "
                      f"(A date-time from {FIRST_DAY.year} to {LAST_DAY.year}, in UTC.)"}


class CentralDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with its time zone, that is a date in UTC too: year 1 at +14:00 is
    not, and is refused like any other bad value, before anything is stored or compared."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = parsed.astimezone(dt.UTC)
        except OverflowError:
            in_utc = None
        if in_utc is None or not FIRST_DAY <= in_utc.date() <= LAST_DAY:
            raise self.make_error("range")
        return parsed


def at_most(n: int) -> validate.Length:
    return validate.Length(max=n, error=f"Tối đa {n} ký tự. (At most {n} characters.)")


def between(lo: int, hi: int) -> validate.Length:
    return validate.Length(lo, hi, error=f"Cần từ {lo} đến {hi} ký tự. ({lo} to {hi} characters.)")


def equal(value: str) -> validate.Equal:
    return validate.Equal(value, error="Phải là {other}. (Must be {other}.)")


#: A nested object's messages.
OBJECT_MESSAGES: dict[str, Any] = {**MESSAGES, "type": "Phải là một đối tượng JSON. (Must be a JSON object.)"}


class CentralSchema(Schema):
    """What the central system sends: fields it adds are dropped unread; its mistakes are told
    in Vietnamese, then English."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": OBJECT_MESSAGES["type"]}


class StatusEventDataSchema(CentralSchema):
    # Identifiers are compared, not shown: a control character (NUL among them) is refused,
    # the same on SQLite and PostgreSQL; texts a citizen reads are cleaned like theirs.
    submission_id = fields.String(required=True, error_messages=MESSAGES, validate=[between(1, 36), printable])
    central_id = fields.String(allow_none=True, load_default=None, error_messages=MESSAGES,
                               validate=[at_most(100), printable])
    status = fields.String(required=True, error_messages=MESSAGES, validate=validate.OneOf(
        STATUSES, error="Trạng thái phải là một trong: {choices}. (Status must be one of: {choices}.)"))
    note = CleanString(multiline=True, allow_none=True, load_default=None, error_messages=MESSAGES,
                       validate=at_most(5000))
    answer = fields.String(allow_none=True, load_default=None, error_messages=MESSAGES, validate=at_most(20000))
    agency = CleanString(allow_none=True, load_default=None, error_messages=MESSAGES, validate=at_most(200))
    deadline = CentralDateTime(allow_none=True, load_default=None, default_timezone=None,
                               error_messages=DATETIME_MESSAGES)
    # The column is a 32-bit INTEGER on PostgreSQL: a larger number is invalid, not a 500.
    sequence = fields.Integer(required=True, strict=True, error_messages={
        **MESSAGES, "invalid": "Phải là một số nguyên. (Must be an integer.)"}, validate=validate.Range(
            min=1, max=2**31 - 1, error="Phải từ {min} đến {max}. (Must be from {min} to {max}.)"))
    updated_at = CentralDateTime(allow_none=True, load_default=None, error_messages=DATETIME_MESSAGES)


class StatusEventSchema(CentralSchema):
    """A ``submission.status_changed`` event from the central system (Standard Webhooks signed)."""

    type = fields.String(required=True, error_messages=MESSAGES, validate=equal("submission.status_changed"))
    timestamp = fields.String(load_default=None, allow_none=True, error_messages=MESSAGES)
    data = fields.Nested(StatusEventDataSchema, required=True, error_messages=OBJECT_MESSAGES)
