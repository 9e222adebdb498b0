"""Attachments: photos (JPEG, PNG, WebP) and PDF documents sent with a submission.

The type comes from the bytes, never from the name or the declared content type.
Images are decoded within a memory bound and encoded again (``images.py``): that
drops EXIF (GPS position, camera serial) and anything smuggled after the image data,
and an image larger than a phone photo is refused from its header. PDFs are parsed
with pypdf (``pdfs.py``) and kept as sent, if they are one document without
encryption, scripts, actions or embedded files.

Files are written to storage before the submission's transaction and deleted
again when it fails; the forwarded body gets signed, expiring relay links
(``GET /api/v1/attachments/<token>``) that the outbox worker refreshes at send
time with :func:`refresh_urls`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy.engine import Connection

from widget_server.errors import (
    DomainError,
    GoneError,
    InvalidError,
    NotFoundError,
    RefusedError,
    TooLargeError,
    UnsupportedError,
)
from widget_server.intake import text
from widget_server.intake.tokens import serializer
from widget_server.store import db
from widget_server.store.blobs import get_storage

URL_PREFIX = "at1."
URL_SALT = "phanhoi.attachment-url.v1"
MAX_SUBMISSION_JSON = 256 * 1024

TYPES = {
    "jpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "webp": ("image/webp", ".webp"),
    "pdf": ("application/pdf", ".pdf"),
}

def _file_error(kind: type[DomainError], message: str, code: str) -> DomainError:
    """A refused file: the message goes with the form's file input (``files``)."""
    return kind(message, code=code, errors={"files": [message]})


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


#: What a deleted attachment's row is called instead of the name its sender gave it.
DELETED_NAME = "tep-da-xoa"


def clean_filename(name: str | None, kind: str) -> str:
    """A display name: no directories, no invisible characters, the extension of the real type."""
    raw = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    raw = text.clean(raw)
    raw = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C")
    stem = raw.rsplit(".", 1)[0] if "." in raw else raw
    stem = stem.strip(" .")[:120] or "tep-dinh-kem"
    return stem + TYPES[kind][1]


def _reencode_image(data: bytes, kind: str) -> bytes:
    # Pillow and pypdf (with cryptography) are imported with the first file, not with every worker.
    from widget_server.intake import images

    try:
        return images.reencode(data, kind)
    except images.TooManyPixels as exc:
        raise _file_error(InvalidError, "Ảnh quá lớn (quá nhiều điểm ảnh).", "attachment-too-many-pixels") from exc
    except images.BadImage as exc:
        raise _file_error(InvalidError, "Tệp ảnh bị hỏng hoặc không đọc được.", "attachment-invalid") from exc


def _check_pdf(data: bytes) -> bytes:
    if not re.match(rb"%PDF-[12]\.[0-9]", data[:8]):
        raise _file_error(InvalidError, "Tệp PDF không hợp lệ.", "attachment-invalid")
    from widget_server.intake import pdfs

    try:
        pdfs.check(data)
    except pdfs.UnsafeAction as exc:
        raise _file_error(InvalidError, "Không nhận tệp PDF có lệnh tự chạy khi mở hoặc liên kết tới tệp khác.",
                          "attachment-unsafe") from exc
    except pdfs.UnsafePdf as exc:
        raise _file_error(InvalidError, "Không nhận tệp PDF có mật khẩu, mã lệnh hoặc tệp đính kèm bên trong.",
                          "attachment-unsafe") from exc
    except pdfs.BadPdf as exc:
        raise _file_error(InvalidError, "Tệp PDF bị hỏng hoặc không đọc được.", "attachment-invalid") from exc
    return data


def _read(upload: Any) -> tuple[bytes, str]:
    limit = int(current_app.config["MAX_ATTACHMENT_BYTES"])
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise _file_error(TooLargeError, f"Mỗi tệp tối đa {limit // (1024 * 1024)} MB.", "attachment-too-large")
    if not data:
        raise _file_error(InvalidError, "Tệp đính kèm trống.", "attachment-invalid")
    kind = sniff(data)
    if kind is None:
        raise _file_error(UnsupportedError, "Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF.", "attachment-type-not-allowed")
    return data, kind


def prepare(upload: Any) -> Prepared:
    """One uploaded file checked and cleaned, or a DomainError."""
    return _clean(upload, *_read(upload))


def _clean(upload: Any, data: bytes, kind: str) -> Prepared:
    clean = _check_pdf(data) if kind == "pdf" else _reencode_image(data, kind)
    return Prepared(
        filename=clean_filename(upload.filename, kind),
        content_type=TYPES[kind][0],
        data=clean,
        sha256=hashlib.sha256(clean).hexdigest(),
    )


def _has_bytes(upload: Any) -> bool:
    start = upload.stream.tell()
    found = bool(upload.stream.read(1))
    upload.stream.seek(start)
    return found


def prepare_all(uploads: list[Any]) -> list[Prepared]:
    """Every file read and sized first: the images' declared pixels are bounded per request
    before any of them is decoded."""
    most = int(current_app.config["MAX_ATTACHMENTS"])
    # An empty file input still sends a part (no file name, no bytes): not a file. A part with
    # bytes is one, named or not (it was dropped without a word).
    uploads = [u for u in uploads if u.filename or _has_bytes(u)]
    if len(uploads) > most:
        raise _file_error(InvalidError, f"Tối đa {most} tệp đính kèm.", "too-many-attachments")
    read = [(u, *_read(u)) for u in uploads]
    if not read:
        return []
    from widget_server.intake import images

    try:
        total = sum(images.pixels(data, kind) for _u, data, kind in read if kind != "pdf")
    except images.TooManyPixels as exc:
        raise _file_error(InvalidError, "Ảnh quá lớn (quá nhiều điểm ảnh).", "attachment-too-many-pixels") from exc
    except images.BadImage as exc:
        raise _file_error(InvalidError, "Tệp ảnh bị hỏng hoặc không đọc được.", "attachment-invalid") from exc
    if total > images.MAX_REQUEST_PIXELS:
        raise _file_error(InvalidError, "Các ảnh quá lớn so với một lần gửi: gửi ít ảnh hơn hoặc ảnh nhỏ hơn.",
                          "attachment-too-many-pixels")
    return [_clean(u, data, kind) for u, data, kind in read]


def recorder(stored: list[Stored], ran: list[bool]) -> Callable[[Connection, str], list[dict[str, Any]]]:
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
    """Mark a submission's attachments deleted; returns the storage keys to remove after commit.

    The name the citizen gave a file goes with it (``CCCD-Le-Van-A.jpg``, ``don-0912345678.pdf``):
    the row keeps a neutral one with the file's type."""
    a = db.attachments.c
    rows = conn.execute(
        sa.select(a.id, a.storage_key, a.filename).where(
            a.submission_id == submission_id, a.deleted_at.is_(None))
    ).all()
    if rows:  # one statement for them all, each row its own neutral name
        conn.execute(sa.update(db.attachments).where(a.id == sa.bindparam("aid")).values(
            deleted_at=db.utcnow(), filename=sa.bindparam("neutral")), [
            {"aid": r.id, "neutral": DELETED_NAME + ("." + r.filename.rsplit(".", 1)[1] if "." in r.filename else "")}
            for r in rows])
    return [r.storage_key for r in rows]


def remove_files(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        storage.delete(key)


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    body: bytes


def open_link(token: str) -> Download:
    """The file behind a signed link given to the central system, or why not."""
    missing = NotFoundError("Không tìm thấy tệp.", code="attachment-not-found")
    if not token.startswith(URL_PREFIX) or len(token) > 300:
        raise missing
    try:
        data = serializer(URL_SALT).loads(token[len(URL_PREFIX):],
                                          max_age=int(current_app.config["ATTACHMENT_URL_MAX_AGE"]))
    except SignatureExpired as exc:
        raise RefusedError("Liên kết tệp đã hết hạn.", code="attachment-link-expired") from exc
    except BadSignature as exc:
        raise missing from exc
    att_id = data.get("a") if isinstance(data, dict) else None
    with db.read() as conn:
        row = conn.execute(sa.select(db.attachments).where(db.attachments.c.id == str(att_id))).one_or_none()
    if row is None:
        raise missing
    if row.deleted_at is not None:
        raise GoneError("Tệp đã bị xóa theo thời hạn lưu trữ dữ liệu.", code="attachment-deleted")
    try:
        body = get_storage().get(row.storage_key)
    except KeyError as exc:
        raise GoneError("Tệp không còn được lưu.", code="attachment-deleted") from exc
    return Download(row.filename, row.content_type, body)
