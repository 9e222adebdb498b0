"""The public JSON API (``/api/v1``). Errors are RFC 9457 problem+json (see problems.py)."""

from __future__ import annotations

import json as pyjson
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import ValidationError

from . import altcha_pow, attachments, reference, sites, submissions
from .config import secret_list
from .problems import Problem
from .schemas import (
    DataRequestCreateSchema,
    RatingCreateSchema,
    StatusEventSchema,
    StatusQuerySchema,
    flatten_errors,
)
from .tokens import FormTokenError, verify_form_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_JSON_BYTES = 256 * 1024


def json_body() -> Any:
    """The request's JSON, or a 400/413/415 problem explaining why not."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(415, "Gửi dữ liệu dạng application/json.", type="unsupported-media-type")
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise Problem(413, f"Tối đa {MAX_JSON_BYTES // 1024} KB.", type="too-large")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise Problem(413, f"Tối đa {MAX_JSON_BYTES // 1024} KB.", type="too-large")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "Dữ liệu không phải UTF-8 hợp lệ.", type="invalid-json") from exc
    try:
        return pyjson.loads(decoded, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "JSON không hợp lệ.", type="invalid-json") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def invalid(exc: ValidationError) -> Problem:
    errors = flatten_errors(exc.messages)
    return Problem(422, "Vui lòng kiểm tra lại các thông tin được đánh dấu.",
                   type="validation-error", errors=errors)


def load(schema: Any, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise invalid(exc) from exc


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def same_origin(origin: str) -> bool:
    public = current_app.config["PUBLIC_URL"]
    try:
        return sites.normalise_origin(origin) in {
            sites.normalise_origin(public), sites.normalise_origin(request.host_url)}
    except sites.SiteError:
        return False


@bp.get("/sites/<site_key>/config")
def site_config(site_key: str) -> Response:
    """Public configuration of a site: categories, agencies, communes, consent text."""
    site = sites.get_site(site_key)
    if site is None:
        raise Problem(404, "Không tìm thấy trang đối tác này.", type="site-not-found")
    resp = jsonify(reference.public_config(site))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def authenticate_submission() -> tuple[sites.Site, str, str | None]:
    """(site, via, idempotency key) for a partner server or for our own form page."""
    origin = request.headers.get("Origin")
    token = bearer_token()
    if token is not None:
        site = sites.site_for_secret(token)
        if site is None:
            raise Problem(401, "Khoá bí mật không đúng hoặc đã bị thu hồi.", type="invalid-secret",
                          headers={"WWW-Authenticate": 'Bearer realm="phanhoi"'})
        if origin and not sites.origin_allowed(site, origin):
            # A secret key must never run in a browser; refuse it from foreign pages.
            raise Problem(403, "Nguồn gửi không được đăng ký cho trang này.", type="origin-not-allowed")
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise Problem(400, "Thiếu header Idempotency-Key.", type="idempotency-key-missing")
        if len(key) > 255:
            raise Problem(400, "Idempotency-Key dài tối đa 255 ký tự.", type="idempotency-key-invalid")
        return site, "api", key
    form_token = request.headers.get("X-Form-Token")
    if form_token is None:
        raise Problem(401, "Cần khoá bí mật (Authorization: Bearer) hoặc mã biểu mẫu.",
                      type="unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="phanhoi"'})
    if origin and not same_origin(origin):
        raise Problem(403, "Biểu mẫu chỉ được gửi từ trang của hệ thống.", type="origin-not-allowed")
    try:
        parsed = verify_form_token(form_token, request.headers.get("X-Site-Key") or None)
    except FormTokenError as exc:
        raise Problem(403 if exc.code != "too-fast" else 422, str(exc), type=exc.code) from exc
    site = sites.get_site(parsed.site_key)
    if site is None:
        raise Problem(404, "Không tìm thấy trang đối tác này.", type="site-not-found")
    return site, "form", "form:" + parsed.nonce


@bp.post("/submissions")
def create_submission() -> Response:
    """Create a submission (201 only after it is committed)."""
    site, via, key = authenticate_submission()
    # JSON, or multipart/form-data with a ``submission`` JSON part and ``files`` parts.
    payload, uploads = attachments.submission_body()
    if via == "form":
        altcha_pow.require(site, payload, key)
    try:
        created = attachments.create_with_files(site, payload, uploads, via=via,
                                                idempotency_key=key)
    except ValidationError as exc:
        raise invalid(exc) from exc
    except submissions.IdempotencyConflictError as exc:
        raise Problem(422, "Idempotency-Key này đã được dùng cho một nội dung khác.",
                      type="idempotency-key-reused") from exc
    resp = jsonify(created.body)
    resp.status_code = created.status_code
    resp.headers["Location"] = created.body["status_url"]
    if created.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def lang() -> str:
    value = request.args.get("lang") or request.accept_languages.best_match(["vi", "en"]) or "vi"
    return value if value in {"vi", "en"} else "vi"


NOT_FOUND = "Không tìm thấy phản ánh với mã và thông tin liên hệ này."
MISTYPED = "Mã theo dõi có vẻ bị gõ nhầm: ký tự kiểm tra không khớp. Vui lòng kiểm tra lại từng ký tự."


def action_key() -> str | None:
    """The optional Idempotency-Key of a rating or data request (the SDK always sends one)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255:
        raise Problem(400, "Idempotency-Key dài tối đa 255 ký tự.", type="idempotency-key-invalid")
    return key or None


def key_reused(exc: Exception) -> Problem:
    return Problem(422, "Idempotency-Key này đã được dùng cho một nội dung khác.",
                   type="idempotency-key-reused")


def mistyped(exc: Exception) -> Problem:
    return Problem(422, MISTYPED, type="tracking-code-mistyped",
                   title="Mã có vẻ bị gõ nhầm (Mistyped tracking code)")


@bp.get("/submissions/<tracking_code>")
def get_submission(tracking_code: str) -> Response:
    """Status, history and answer; ``contact`` must be the phone or email given at submission."""
    query = load(StatusQuerySchema(), request.args.to_dict())
    try:
        found = submissions.lookup(tracking_code, query["contact"], lang())
    except submissions.MistypedCodeError as exc:
        raise mistyped(exc) from exc
    if found is None:
        raise Problem(404, NOT_FOUND, type="submission-not-found")
    resp = jsonify(found)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/submissions/<tracking_code>/rating")
def rate_submission(tracking_code: str) -> Response:
    """The citizen's satisfaction (hài lòng / không hài lòng) once answered."""
    data = load(RatingCreateSchema(), json_body())
    try:
        out = submissions.rate(tracking_code, data["contact"], data["satisfied"],
                               data.get("comment"), lang(), idempotency_key=action_key())
    except submissions.MistypedCodeError as exc:
        raise mistyped(exc) from exc
    except submissions.NotFoundError as exc:
        raise Problem(404, NOT_FOUND, type="submission-not-found") from exc
    except submissions.ConflictError as exc:
        raise Problem(409, exc.message, type="rating-not-allowed") from exc
    except submissions.IdempotencyConflictError as exc:
        raise key_reused(exc) from exc
    return jsonify(out)


@bp.post("/submissions/<tracking_code>/data-request")
def data_request(tracking_code: str) -> Response:
    """Withdraw consent or ask for deletion of personal data; forwarded to the central system."""
    data = load(DataRequestCreateSchema(), json_body())
    try:
        out = submissions.data_request(tracking_code, data["contact"], data["kind"],
                                       idempotency_key=action_key())
    except submissions.MistypedCodeError as exc:
        raise mistyped(exc) from exc
    except submissions.NotFoundError as exc:
        raise Problem(404, NOT_FOUND, type="submission-not-found") from exc
    except submissions.IdempotencyConflictError as exc:
        raise key_reused(exc) from exc
    resp = jsonify(out)
    resp.status_code = 202
    return resp


@bp.post("/central/events")
def central_events() -> Response:
    """Status events from the central system, Standard Webhooks signed."""
    from phanhoi.webhooks import WebhookVerificationError, verify_headers

    secrets_ = secret_list(current_app.config.get("CENTRAL_EVENTS_SECRET"))
    if not secrets_:
        raise Problem(503, "Chưa cấu hình PHANHOI_CENTRAL_EVENTS_SECRET.", type="not-configured")
    body = request.get_data(cache=True)
    if len(body) > MAX_JSON_BYTES:
        raise Problem(413, "Sự kiện quá lớn.", type="too-large")
    try:
        verify_headers(body, dict(request.headers), secrets_)
    except WebhookVerificationError as exc:
        raise Problem(401, "Chữ ký sự kiện không hợp lệ.", type="invalid-signature") from exc
    msg_id = request.headers["webhook-id"]
    if len(msg_id) > 100:  # the column that drops duplicates holds 100 characters
        raise Problem(400, "webhook-id dài tối đa 100 ký tự.", type="invalid-webhook-id")
    payload = json_body()
    event = load(StatusEventSchema(), payload)
    try:
        duplicate, applied = submissions.apply_status_event(msg_id, event["data"])
    except submissions.NotFoundError as exc:
        raise Problem(404, "Không có phản ánh với submission_id này.",
                      type="submission-not-found") from exc
    return jsonify({"received": True, "duplicate": duplicate, "applied": applied})
