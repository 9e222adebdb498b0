"""Attachments: photos (JPEG, PNG, WebP) and PDF documents sent with a submission.

The type comes from the bytes, never from the name or the declared content type.
Images are decoded and encoded again with Pillow: that drops EXIF (GPS position,
camera serial) and anything smuggled after the image data, and a decompression
bomb fails while decoding instead of filling the memory. PDFs are kept as sent
but must look like one document without encryption, scripts or embedded files.

Files are written to storage before the submission's transaction and deleted
again when it fails; the forwarded body gets signed, expiring relay links
(``GET /api/v1/attachments/<token>``) that the outbox worker refreshes at send
time with :func:`refresh_urls`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, request
from itsdangerous import BadSignature, SignatureExpired
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.engine import Connection
from werkzeug.datastructures import FileStorage

from widget_server.store import db
from widget_server.intake import text
from widget_server.web.problems import Problem
from widget_server.intake.tokens import serializer
from widget_server.store.blobs import get_storage

bp = Blueprint("attachments", __name__, url_prefix="/api/v1")

URL_PREFIX = "at1."
URL_SALT = "phanhoi.attachment-url.v1"
# Pixels decoded at most (about 40 megapixels: any phone photo, no bomb).
MAX_PIXELS = 40_000_000
MAX_SUBMISSION_JSON = 256 * 1024

TYPES = {
    "jpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "webp": ("image/webp", ".webp"),
    "pdf": ("application/pdf", ".pdf"),
}
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}

# Names that make a PDF run code, hide files or need a password (ISO 32000-1 §7.6, §12.6).
_PDF_FORBIDDEN = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|Encrypt|SubmitForm|ImportData)"
    rb"(?![A-Za-z0-9])"
)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


class AttachmentError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Prepared:
    filename: str
    content_type: str
    data: bytes
    sha256: str


@dataclass(frozen=True)
class Stored:
    prepared: Prepared
    key: str


# --------------------------------------------------------------------------- checking


def sniff(data: bytes) -> str | None:
    """``jpeg``, ``png``, ``webp``, ``pdf`` or None, from the magic bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    return None


def clean_filename(name: str | None, kind: str) -> str:
    """A display name: no directories, no invisible characters, the extension of the real type."""
    raw = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    raw = text.clean(raw)
    raw = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C")
    stem = raw.rsplit(".", 1)[0] if "." in raw else raw
    stem = stem.strip(" .")[:120] or "tep-dinh-kem"
    return stem + TYPES[kind][1]


def _reencode_image(data: bytes, kind: str) -> bytes:
    fmt = PILLOW_FORMATS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                im.load()
                # Apply the EXIF orientation before EXIF is dropped, so photos stay upright.
                upright = ImageOps.exif_transpose(im)
                clean = upright.copy()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise AttachmentError(422, "Ảnh quá lớn (quá nhiều điểm ảnh).", "attachment-too-many-pixels") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise AttachmentError(422, "Tệp ảnh bị hỏng hoặc không đọc được.", "attachment-invalid") from exc
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    clean.info = {}
    out = io.BytesIO()
    if kind == "jpeg":
        if clean.mode not in {"RGB", "L"}:
            clean = clean.convert("RGB")
        clean.save(out, "JPEG", quality=88, optimize=True)
    elif kind == "png":
        if clean.mode not in {"RGB", "RGBA", "L", "LA", "P"}:
            clean = clean.convert("RGBA")
        clean.save(out, "PNG", optimize=True)
    else:
        if clean.mode not in {"RGB", "RGBA"}:
            clean = clean.convert("RGBA")
        clean.save(out, "WEBP", quality=88)
    return out.getvalue()


def _check_pdf(data: bytes) -> bytes:
    if not re.match(rb"%PDF-[12]\.[0-9]", data[:8]):
        raise AttachmentError(422, "Tệp PDF không hợp lệ.", "attachment-invalid")
    if b"%%EOF" not in data[-1024:]:
        raise AttachmentError(422, "Tệp PDF không đầy đủ.", "attachment-invalid")
    names = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    if _PDF_FORBIDDEN.search(names):
        raise AttachmentError(
            422, "Không nhận tệp PDF có mật khẩu, mã lệnh hoặc tệp đính kèm bên trong.",
            "attachment-unsafe")
    return data


def prepare(upload: FileStorage) -> Prepared:
    """One uploaded file checked and cleaned, or AttachmentError."""
    limit = int(current_app.config["MAX_ATTACHMENT_BYTES"])
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise AttachmentError(413, f"Mỗi tệp tối đa {limit // (1024 * 1024)} MB.", "attachment-too-large")
    if not data:
        raise AttachmentError(422, "Tệp đính kèm trống.", "attachment-invalid")
    kind = sniff(data)
    if kind is None:
        raise AttachmentError(
            415, "Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF.", "attachment-type-not-allowed")
    clean = _check_pdf(data) if kind == "pdf" else _reencode_image(data, kind)
    return Prepared(
        filename=clean_filename(upload.filename, kind),
        content_type=TYPES[kind][0],
        data=clean,
        sha256=hashlib.sha256(clean).hexdigest(),
    )


def prepare_all(uploads: list[FileStorage]) -> list[Prepared]:
    most = int(current_app.config["MAX_ATTACHMENTS"])
    # An empty file input still sends a part (no file name, application/octet-stream): not a file.
    uploads = [u for u in uploads if u.filename]
    if len(uploads) > most:
        raise AttachmentError(422, f"Tối đa {most} tệp đính kèm.", "too-many-attachments")
    return [prepare(u) for u in uploads]


# --------------------------------------------------------------------------- intake


def _problem(exc: AttachmentError) -> Problem:
    return Problem(exc.status, exc.message, type=exc.code, errors={"files": [exc.message]})


def submission_body() -> tuple[Any, list[FileStorage]]:
    """The submission JSON and the uploaded files: ``application/json`` or ``multipart/form-data``."""
    if request.mimetype != "multipart/form-data":
        from widget_server.web.api import json_body

        return json_body(), []
    cfg = current_app.config
    request.max_content_length = (
        int(cfg["MAX_ATTACHMENTS"]) * int(cfg["MAX_ATTACHMENT_BYTES"]) + 2 * MAX_SUBMISSION_JSON
    )
    request.max_form_memory_size = MAX_SUBMISSION_JSON
    request.max_form_parts = 50
    raw = request.form.get("submission")
    if raw is None:
        raise Problem(400, "Thiếu phần 'submission' (JSON).", type="invalid-json")
    try:
        payload = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "JSON không hợp lệ.", type="invalid-json") from exc
    unexpected = set(request.files) - {"files"}
    if unexpected:
        raise Problem(422, "Tệp phải gửi trong phần 'files'.", type="validation-error",
                      errors={"files": ["Tệp phải gửi trong phần 'files'."]})
    return payload, request.files.getlist("files")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def create_with_files(site: Any, payload: Any, uploads: list[FileStorage], *, via: str,
                      idempotency_key: str | None) -> Any:
    """``submissions.create_idempotent`` with the files stored alongside (same transaction)."""
    from widget_server.intake import submissions

    if not uploads:
        return submissions.create_idempotent(site, payload, via=via, idempotency_key=idempotency_key)
    # Validate the submission first: no file is decoded or stored for a form that fails anyway.
    submissions.validate(site, payload)
    try:
        prepared = prepare_all(uploads)
    except AttachmentError as exc:
        raise _problem(exc) from exc
    request_hash = hashlib.sha256(
        json.dumps({"submission": payload, "files": [p.sha256 for p in prepared]},
                   sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    storage = get_storage()
    stored: list[Stored] = []
    ran: list[bool] = []
    try:
        for ready in prepared:
            stored.append(Stored(ready, storage.put(ready.data)))
        created = submissions.create_idempotent(
            site, payload, via=via, idempotency_key=idempotency_key, request_hash=request_hash,
            store_attachments=_recorder(stored, ran))
    except BaseException:
        for done in stored:
            storage.delete(done.key)
        raise
    # An idempotent replay, even one that lost a race after its own rows were rolled back
    # (``ran`` is set then too): the first request's files are the ones kept.
    if not ran or created.replayed:
        for done in stored:
            storage.delete(done.key)
    return created


def _recorder(stored: list[Stored], ran: list[bool]) -> Callable[[Connection, str], list[dict[str, Any]]]:
    def record(conn: Connection, submission_id: str) -> list[dict[str, Any]]:
        ran.append(True)
        now = db.utcnow()
        out = []
        for item in stored:
            att_id = str(uuid.uuid4())
            conn.execute(sa.insert(db.attachments).values(
                id=att_id, submission_id=submission_id, filename=item.prepared.filename,
                content_type=item.prepared.content_type, size=len(item.prepared.data),
                sha256=item.prepared.sha256, storage_key=item.key, created_at=now))
            out.append(descriptor(att_id, item.prepared.filename, item.prepared.content_type,
                                  len(item.prepared.data), item.prepared.sha256))
        return out

    return record


# --------------------------------------------------------------------------- links


def signed_url(attachment_id: str) -> str:
    token = URL_PREFIX + serializer(URL_SALT).dumps({"a": attachment_id})
    return f"{current_app.config['PUBLIC_URL']}/api/v1/attachments/{token}"


def descriptor(att_id: str, filename: str, content_type: str, size: int, sha256: str) -> dict[str, Any]:
    return {"id": att_id, "filename": filename, "content_type": content_type, "size": size,
            "sha256": sha256, "url": signed_url(att_id)}


def refresh_urls(data: dict[str, Any]) -> dict[str, Any]:
    """A forwarded ``data`` with fresh attachment links (call at send time: links expire)."""
    files = data.get("attachments")
    if not files:
        return data
    return {**data, "attachments": [
        {**f, "url": signed_url(f["id"])} if isinstance(f, dict) and f.get("id") else f
        for f in files
    ]}


def delete_for_submission(conn: Connection, submission_id: str) -> list[str]:
    """Mark a submission's attachments deleted; returns the storage keys to remove after commit."""
    rows = conn.execute(
        sa.select(db.attachments.c.id, db.attachments.c.storage_key).where(
            db.attachments.c.submission_id == submission_id, db.attachments.c.deleted_at.is_(None))
    ).all()
    if rows:
        conn.execute(sa.update(db.attachments).where(
            db.attachments.c.id.in_([r.id for r in rows])).values(deleted_at=db.utcnow()))
    return [r.storage_key for r in rows]


def remove_files(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        storage.delete(key)


@bp.get("/attachments/<token>")
def download(token: str) -> Response:
    """An attachment, by a signed and expiring link given to the central system."""
    if not token.startswith(URL_PREFIX) or len(token) > 300:
        raise Problem(404, "Không tìm thấy tệp.", type="attachment-not-found")
    try:
        data = serializer(URL_SALT).loads(token[len(URL_PREFIX):],
                                   max_age=int(current_app.config["ATTACHMENT_URL_MAX_AGE"]))
    except SignatureExpired as exc:
        raise Problem(403, "Liên kết tệp đã hết hạn.", type="attachment-link-expired") from exc
    except BadSignature as exc:
        raise Problem(404, "Không tìm thấy tệp.", type="attachment-not-found") from exc
    att_id = data.get("a") if isinstance(data, dict) else None
    with db.read() as conn:
        row = conn.execute(sa.select(db.attachments).where(db.attachments.c.id == str(att_id))).one_or_none()
    if row is None:
        raise Problem(404, "Không tìm thấy tệp.", type="attachment-not-found")
    if row.deleted_at is not None:
        raise Problem(410, "Tệp đã bị xoá theo thời hạn lưu trữ dữ liệu.", type="attachment-deleted")
    try:
        body = get_storage().get(row.storage_key)
    except KeyError as exc:
        raise Problem(410, "Tệp không còn được lưu.", type="attachment-deleted") from exc
    resp = Response(body, mimetype=row.content_type)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.filename)}"
    # Opened directly, the file gets no scripts, no plugins and no same-origin rights.
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
