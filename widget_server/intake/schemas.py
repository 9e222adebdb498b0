"""marshmallow schemas: what the API accepts and answers, and the OpenAPI description.

Messages are Vietnamese first: through the form they reach citizens as they are.
"""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from widget_server.intake import text
from widget_server.intake.phones import parse_phone
from widget_server.intake.reference import LIMITS
from widget_server.vocab import CITIZEN_REQUEST_KINDS, NOTICE_CHANNELS


MSG_REQUIRED = "Vui lòng nhập thông tin này."
MSG_NULL = "Thông tin này không được để trống."
MSG_TYPE = "Giá trị không hợp lệ."


def _messages(**extra: str) -> dict[str, Any]:
    return {"required": MSG_REQUIRED, "null": MSG_NULL, "invalid": MSG_TYPE, **extra}


class CleanString(fields.String):
    """A string normalised to NFC with invisible and control characters removed."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", _messages(invalid_utf8="Văn bản không hợp lệ."))
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raw = super()._deserialize(value, attr, data, **kwargs)
        return text.clean(raw, multiline=self.multiline)


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false`` only: no "1", "yes", "on" or 1 (consent must be explicit)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _length(lo: int | None, hi: int) -> validate.Length:
    if lo:
        return validate.Length(lo, hi, error=f"Cần từ {lo} đến {hi} ký tự.")
    return validate.Length(max=hi, error=f"Tối đa {hi} ký tự.")


class BaseSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": "Trường này không được hỗ trợ.",
        "type": "Dữ liệu phải là một đối tượng JSON.",
    }


class LocationSchema(BaseSchema):
    commune_code = CleanString(load_default=None, allow_none=True, validate=_length(None, 16),
                               metadata={"description": "Mã xã/phường (from the site config)."})
    address = CleanString(load_default=None, allow_none=True,
                          validate=_length(None, LIMITS["address_max"]),
                          metadata={"description": "Địa chỉ, free text (districts are still written)."})
    lat = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                       validate=validate.Range(-90, 90, error="Vĩ độ không hợp lệ."),
                       error_messages=_messages())
    lon = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                       validate=validate.Range(-180, 180, error="Kinh độ không hợp lệ."),
                       error_messages=_messages())

    @validates_schema
    def _both_or_none(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("Cần cả vĩ độ và kinh độ.", "lat")


def parse_email(value: str) -> str:
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError("Địa chỉ email không hợp lệ.") from exc
    return info.normalized


class Contact(CleanString):
    """A phone number or email, loaded in the form it is stored in (E.164, normalised email):
    parsed once, by validation, and never again by the code that stores it."""

    def __init__(self, parse: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse = parse

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raw = super()._deserialize(value, attr, data, **kwargs)
        if not raw:
            return raw
        for check in self.validators:  # the length as typed, before any parsing
            check(raw)
        return self.parse(raw)


class SubmitterSchema(BaseSchema):
    name = CleanString(required=True, validate=_length(2, LIMITS["name_max"]),
                       metadata={"description": "Họ và tên. Anonymous PAKN are not accepted (NĐ 20/2008 Art. 7)."})
    phone = Contact(parse_phone, load_default=None, allow_none=True, validate=_length(None, 20),
                    metadata={"description": "Vietnamese or international number; stored as E.164."})
    email = Contact(parse_email, load_default=None, allow_none=True, validate=_length(None, 254))

    @validates_schema
    def _contact(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Vui lòng nhập số điện thoại hoặc email để được trả lời.", "phone")


class ConsentGivenSchema(BaseSchema):
    version = CleanString(required=True, validate=_length(1, 64))
    accepted = StrictBoolean(required=True, error_messages=_messages())

    @validates("accepted")
    def _accepted(self, value: bool, **kwargs: Any) -> None:
        if value is not True:
            raise ValidationError("Bạn cần đồng ý chuyển thông tin để gửi phản ánh.")


class NotifyConsentSchema(BaseSchema):
    version = CleanString(required=True, validate=_length(1, 64))
    accepted = StrictBoolean(required=True, error_messages=_messages())

    @validates("accepted")
    def _accepted(self, value: bool, **kwargs: Any) -> None:
        if value is not True:
            raise ValidationError("Để nhận thông báo, bạn cần đồng ý cho trang dùng email hoặc số điện thoại "
                                  "của bạn vào việc này.")


class NotifyRequestSchema(BaseSchema):
    """"Báo cho tôi khi có trả lời": a separate consent, for this one purpose."""

    by = fields.String(required=True, validate=validate.OneOf(
        tuple(NOTICE_CHANNELS), error="Chọn nhận thông báo qua email hoặc SMS."),
        metadata={"description": "email | sms (the channels the site config's `notify_channels` offers)."})
    consent = fields.Nested(NotifyConsentSchema, required=True, error_messages=_messages(
        required="Để nhận thông báo, bạn cần đồng ý cho trang dùng email hoặc số điện thoại của bạn vào việc này."))


class SubmissionCreateSchema(BaseSchema):
    """A citizen's phản ánh, kiến nghị."""

    category = CleanString(required=True, validate=_length(1, 64),
                           metadata={"description": "Lĩnh vực: a code from the site config."})
    agency = CleanString(load_default=None, allow_none=True, validate=_length(None, 64),
                         metadata={"description": "Receiving agency code, or null: Chưa rõ cơ quan."})
    title = CleanString(required=True, validate=_length(LIMITS["title_min"], LIMITS["title_max"]))
    content = CleanString(required=True, multiline=True,
                          validate=_length(LIMITS["content_min"], LIMITS["content_max"]))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True,
                             error_messages=_messages())
    submitter = fields.Nested(SubmitterSchema, required=True, error_messages=_messages())
    confidential = StrictBoolean(load_default=True, error_messages=_messages(),
                                  metadata={"description": "Không công khai thông tin cá nhân (default on)."})
    consent = fields.Nested(ConsentGivenSchema, required=True,
                            error_messages=_messages(required="Bạn cần đồng ý chuyển thông tin để gửi phản ánh."))
    source_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"},
                            validate=_length(None, 2000),
                            error_messages=_messages(invalid="Địa chỉ trang không hợp lệ."))
    src = CleanString(load_default=None, allow_none=True,
                      validate=validate.Regexp(r"^[a-z0-9_.-]{1,64}$", flags=re.I,
                                               error="Mã nguồn không hợp lệ."),
                      metadata={"description": "Attribution of the channel (tv, print, …)."})
    notify = fields.Nested(NotifyRequestSchema, load_default=None, allow_none=True, error_messages=_messages(),
                           metadata={"description": "Optional: tell me when the answer comes (its own consent)."})
    hp = fields.String(load_default="", metadata={"description": "Honeypot: leave empty."})
    altcha = fields.String(load_default=None, allow_none=True, validate=_length(None, 4000),
                           metadata={"description": "ALTCHA payload, when the site requires one."})

    def __init__(self, *args: Any, categories: set[str] | None = None,
                 agencies: set[str] | None = None, communes: set[str] | None = None,
                 consent_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_categories = categories
        self.allowed_agencies = agencies
        self.allowed_communes = communes
        self.consent_version = consent_version

    @pre_load
    def _blank_is_none(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and data.get("agency") == "":
            data = {**data, "agency": None}
        return data

    @validates("category")
    def _category(self, value: str, **kwargs: Any) -> None:
        if self.allowed_categories is not None and value not in self.allowed_categories:
            raise ValidationError("Lĩnh vực không có trong danh sách.")

    @validates("agency")
    def _agency(self, value: str | None, **kwargs: Any) -> None:
        if value and self.allowed_agencies is not None and value not in self.allowed_agencies:
            raise ValidationError("Cơ quan không có trong danh sách.")

    @validates_schema
    def _references(self, data: dict[str, Any], **kwargs: Any) -> None:
        location = data.get("location") or {}
        code = location.get("commune_code")
        if code and self.allowed_communes is not None and code not in self.allowed_communes:
            raise ValidationError({"location": {"commune_code": ["Xã/phường không có trong danh sách."]}})
        notify = data.get("notify") or {}
        submitter = data.get("submitter") or {}
        if notify.get("by") == "email" and not submitter.get("email"):
            raise ValidationError({"submitter": {"email": ["Vui lòng nhập email để nhận thông báo."]}})
        if notify.get("by") == "sms" and not submitter.get("phone"):
            raise ValidationError({"submitter": {"phone": ["Vui lòng nhập số điện thoại để nhận thông báo."]}})
        consent = data.get("consent") or {}
        if (self.consent_version and consent.get("version")
                and consent["version"] != self.consent_version):
            raise ValidationError({"consent": {"version": [
                "Nội dung đồng ý đã thay đổi. Vui lòng tải lại trang và đọc lại."]}})


class LookupCreateSchema(BaseSchema):
    """The body of a status lookup: the contact travels in the body, never in a URL that logs keep."""

    contact = CleanString(required=True, validate=_length(3, 254),
                          metadata={"description": "The phone or email given at submission."})


class RatingCreateSchema(BaseSchema):
    contact = CleanString(required=True, validate=_length(3, 254))
    satisfied = StrictBoolean(required=True, error_messages=_messages(),
                               metadata={"description": "Hài lòng (true) / không hài lòng (false)."})
    comment = CleanString(load_default=None, allow_none=True, multiline=True,
                          validate=_length(None, 1000))


class DataRequestCreateSchema(BaseSchema):
    contact = CleanString(required=True, validate=_length(3, 254))
    kind = fields.String(required=True, validate=validate.OneOf(
        CITIZEN_REQUEST_KINDS, error="Loại yêu cầu không hợp lệ: chọn {choices}. (Kind must be one of {choices}.)"))


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → ``{"submitter.phone": ["…"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name or "_schema")
            for k, v in flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_schema"] = list(messages)
        else:
            for item in messages:
                for k, v in flatten_errors(item, prefix).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out
