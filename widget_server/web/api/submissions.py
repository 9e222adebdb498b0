"""Submissions: create (a partner's server or our own form page), look up, rate, ask about data."""

from __future__ import annotations

from flask import Response, current_app, request

from widget_server.intake import altcha, sites, submissions, tracking
from widget_server.intake.schemas import DataRequestCreateSchema, LookupCreateSchema, RatingCreateSchema
from widget_server.intake.tokens import verify_form_token
from widget_server import notify
from widget_server.web import limits
from widget_server.web.api.blueprint import bp
from widget_server.web.api.body import bearer_token, json_body, load, submission_body
from widget_server.web.i18n import request_lang
from widget_server.web.limit_keys import partner_site
from widget_server.web.problems import Problem
from widget_server.web.schemas import (
    DataRequestSchema,
    SubmissionStatusSchema,
    json_answer,
    receipt_fields,
    respond,
    status_fields,
)


# Built once: a marshmallow schema's construction (deep copies of its fields, and of the nested
# schemas' on first use) cost a lookup a fifth of its time. Loading and dumping keep no state.
LOOKUP_BODY = LookupCreateSchema()
RATING_BODY = RatingCreateSchema()
DATA_REQUEST_BODY = DataRequestCreateSchema()
STATUS = SubmissionStatusSchema()
NO_STORE = {"Cache-Control": "no-store"}  # a citizen's case


def same_origin(origin: str) -> bool:
    public = current_app.config["PUBLIC_URL"]
    try:
        return sites.normalise_origin(origin) in {
            sites.normalise_origin(public), sites.normalise_origin(request.host_url)}
    except sites.SiteError:
        return False


def authenticate_submission() -> tuple[sites.Site, str, str | None]:
    """(site, via, idempotency key) for a partner server or for our own form page."""
    origin = request.headers.get("Origin")
    token = bearer_token()
    if token is not None:
        site = partner_site(token)  # the limiter's lookup, if it made one
        if site is None:
            raise Problem(401, "Khóa bí mật không đúng hoặc đã bị thu hồi.", type="invalid-secret",
                          headers={"WWW-Authenticate": 'Bearer realm="phanhoi"'})
        if origin and not sites.origin_allowed(site, origin):
            # A secret key must never run in a browser; refuse it from foreign pages.
            raise Problem(403, "Nguồn gửi không được đăng ký cho trang này.", type="origin-not-allowed")
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise Problem(400, "Thiếu header Idempotency-Key.", type="idempotency-key-missing")
        if len(key) > 255 or not key.isprintable():
            raise Problem(400, "Idempotency-Key dài tối đa 255 ký tự, không có ký tự điều khiển.",
                          type="idempotency-key-invalid")
        return site, "api", key
    form_token = request.headers.get("X-Form-Token")
    if form_token is None:
        raise Problem(401, "Cần khóa bí mật (Authorization: Bearer) hoặc mã biểu mẫu.",
                      type="unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="phanhoi"'})
    if origin and not same_origin(origin):
        raise Problem(403, "Biểu mẫu chỉ được gửi từ trang của hệ thống.", type="origin-not-allowed")
    parsed = verify_form_token(form_token, request.headers.get("X-Site-Key") or None)
    return sites.require(parsed.site_key), "form", "form:" + parsed.nonce


def action_key() -> str | None:
    """The optional Idempotency-Key of a rating or data request (the SDK always sends one)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255:
        raise Problem(400, "Idempotency-Key dài tối đa 255 ký tự.", type="idempotency-key-invalid")
    return key or None


@bp.post("/submissions")
@limits.rate("submit")
def create_submission() -> Response:
    """Create a submission (201 only after it is committed)."""
    site, via, key = authenticate_submission()
    # JSON, or multipart/form-data with a ``submission`` JSON part and ``files`` parts.
    payload, uploads = submission_body()
    if via == "form":
        # Proof of work for sites that want it, and from an address busy with submissions.
        altcha.require(site, payload, key, busy=limits.ip_busy())
    created = submissions.create_with_files(site, payload, uploads, via=via, idempotency_key=key)
    headers = {"Location": created.body["status_url"]}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_answer(receipt_fields(created.body), headers, created.status_code)


@bp.post("/submissions/<tracking_code>/lookup")
@limits.rate("lookup")
def lookup_submission(tracking_code: str) -> Response:
    """Status, history and answer; ``contact`` (in the body) is the phone or email given at submission."""
    data = load(LOOKUP_BODY, json_body())
    found = tracking.lookup(tracking_code, data["contact"], request_lang())
    if found is None:
        raise tracking.not_found()
    return json_answer(status_fields(found), NO_STORE)


@bp.get("/submissions/<tracking_code>")
def lookup_by_get(tracking_code: str) -> Response:
    """Gone: a contact in the query string ends up in proxies' logs. POST …/lookup instead."""
    raise Problem(410, "Tra cứu bằng POST /api/v1/submissions/{code}/lookup với {\"contact\": …} "
                  "trong nội dung; không gửi số điện thoại hay email trong địa chỉ. / Look up with "
                  "POST …/lookup and the contact in the JSON body.", type="lookup-by-post")


@bp.post("/submissions/<tracking_code>/rating")
@limits.rate("citizen_action")
def rate_submission(tracking_code: str) -> Response:
    """The citizen's satisfaction (hài lòng / không hài lòng) once answered."""
    data = load(RATING_BODY, json_body())
    out = tracking.rate(tracking_code, data["contact"], data["satisfied"], data.get("comment"),
                        request_lang(), idempotency_key=action_key())
    return respond(STATUS, out)


@bp.post("/submissions/<tracking_code>/data-request")
@limits.rate("citizen_action")
def data_request(tracking_code: str) -> Response:
    """Withdraw consent or ask for deletion of personal data; forwarded to the central system."""
    data = load(DATA_REQUEST_BODY, json_body())
    if data["kind"] == "withdraw_notify":  # the relay's own consent: nothing to tell the central system
        out = notify.requests.withdraw(tracking_code, data["contact"])
    else:
        out = tracking.data_request(tracking_code, data["contact"], data["kind"],
                                    idempotency_key=action_key())
    return respond(DataRequestSchema(), out, 202)
