"""Attachments: type from content, images re-encoded without EXIF, PDFs checked, signed links."""

from __future__ import annotations

import hashlib
import io
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.helpers import assert_problem
from widget_server.intake import attachments
from widget_server.store import db

GPS_TAG = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (40, 30)) -> bytes:
    im = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0112] = 6  # orientation: rotate 90°
    exif[GPS_TAG] = {1: "N", 2: (19.0, 48.0, 0.0), 3: "E", 4: (105.0, 46.0, 0.0)}
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (20, 20), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def webp_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 128, 0)).save(out, "WEBP")
    return out.getvalue()


def _pdf() -> bytes:
    """A real one-page PDF (the relay parses PDFs: a sketch of one is refused)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = _pdf()


def post_multipart(client: Any, secret: str, body: dict[str, Any], files: list[tuple[bytes, str]],
                   key: str = "m1", field: str = "files") -> Any:
    data: dict[str, Any] = {"submission": json.dumps(body, ensure_ascii=False)}
    data[field] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/api/v1/submissions", data=data, content_type="multipart/form-data",
                       headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key})


def forwarded(app: Any) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(sa.select(db.outbox.c.payload).where(
            db.outbox.c.event_type == "submission.created")).one()
    return row.payload["data"]


def counts() -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (db.submissions, db.outbox, db.attachments))  # type: ignore[return-value]


def stored_files(app: Any) -> list[Any]:
    from pathlib import Path

    root = Path(app.config["ATTACHMENT_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_multipart_with_all_types(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    files = [(jpeg_with_gps(), "ảnh chợ.JPG"), (png_bytes(), "b.png"), (webp_bytes(), "c.webp"),
             (PDF, "đơn.pdf")]
    r = post_multipart(client, site[1], submission_body, files)
    assert r.status_code == 201, r.get_json()
    data = forwarded(app)
    got = data["attachments"]
    assert [a["content_type"] for a in got] == ["image/jpeg", "image/png", "image/webp", "application/pdf"]
    assert got[0]["filename"] == "ảnh chợ.jpg" and got[3]["filename"] == "đơn.pdf"
    for a in got:
        assert set(a) == {"id", "filename", "content_type", "size", "sha256", "url"}
        assert a["url"].startswith("http://relay.test/api/v1/attachments/at1.")
        r = client.get(a["url"].removeprefix("http://relay.test"))
        assert r.status_code == 200
        assert r.mimetype == a["content_type"]
        assert hashlib.sha256(r.data).hexdigest() == a["sha256"] and len(r.data) == a["size"]
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    # The photo lost its EXIF (GPS, maker) but kept its orientation.
    photo = client.get(got[0]["url"].removeprefix("http://relay.test")).data
    with Image.open(io.BytesIO(photo)) as im:
        assert not im.getexif()
        assert "exif" not in im.info
        assert im.size == (30, 40)
    assert b"CameraMaker" not in photo
    assert len(stored_files(app)) == 4
    # No stored path carries the citizen's file name.
    assert all("ch" not in p.name and "pdf" not in p.name for p in stored_files(app))


def test_type_comes_from_content_not_name(app: Any, client: Any, site: Any,
                                          submission_body: dict[str, Any]) -> None:
    r = post_multipart(client, site[1], submission_body, [(png_bytes(), "../../etc/passwd.pdf")])
    assert r.status_code == 201
    a = forwarded(app)["attachments"][0]
    assert a["content_type"] == "image/png"
    assert a["filename"] == "passwd.png"


@pytest.mark.parametrize(("content", "name", "status", "code"), [
    (b"<html><script>alert(1)</script></html>", "a.jpg", 415, "attachment-type-not-allowed"),
    (b"MZ\x90\x00" + b"\x00" * 100, "setup.pdf", 415, "attachment-type-not-allowed"),
    (b"GIF89a" + b"\x00" * 50, "x.gif", 415, "attachment-type-not-allowed"),
    (b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10, "x.jpg", 422, "attachment-invalid"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "x.png", 422, "attachment-invalid"),
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "cut.pdf", 422, "attachment-invalid"),
    (b"%PDF-1.7\n<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>\n%%EOF", "js.pdf", 422, "attachment-unsafe"),
    (b"%PDF-1.7\n<</S/J#61vaScript>>\n%%EOF", "hex.pdf", 422, "attachment-unsafe"),
    (b"%PDF-1.7\ntrailer<</Encrypt 5 0 R>>\n%%EOF", "locked.pdf", 422, "attachment-unsafe"),
    (b"%PDF-1.7\n<</Type/Filespec/EmbeddedFile 3 0 R>>\n%%EOF", "emb.pdf", 422, "attachment-unsafe"),
    (b"", "empty.jpg", 422, "attachment-invalid"),
])
def test_bad_files_refused_and_nothing_stored(app: Any, client: Any, site: Any,
                                              submission_body: dict[str, Any], content: bytes,
                                              name: str, status: int, code: str) -> None:
    before = counts()
    r = post_multipart(client, site[1], submission_body, [(content, name)])
    body = assert_problem(r, status, code)
    assert body["errors"]["files"]
    assert counts() == before
    assert stored_files(app) == []


def test_decompression_bomb(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 Mpx, a few KB compressed
    assert len(out.getvalue()) < 100_000
    before = counts()
    r = post_multipart(client, site[1], submission_body, [(out.getvalue(), "bomb.png")])
    assert_problem(r, 422, "attachment-too-many-pixels")
    assert counts() == before


def test_too_many_and_too_large(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    app.config["MAX_ATTACHMENTS"] = 2
    r = post_multipart(client, site[1], submission_body, [(png_bytes(), f"{i}.png") for i in range(3)])
    assert_problem(r, 422, "too-many-attachments")
    app.config["MAX_ATTACHMENT_BYTES"] = 1000
    big = PDF[:-7] + b" " * 2000 + b"\n%%EOF\n"
    r = post_multipart(client, site[1], submission_body, [(big, "big.pdf")], key="m2")
    assert_problem(r, 413, "attachment-too-large")
    assert counts()[0] == 0


def test_files_in_other_parts_refused(client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    r = post_multipart(client, site[1], submission_body, [(png_bytes(), "a.png")], field="evil")
    assert_problem(r, 422, "validation-error")


def test_multipart_without_submission_part(client: Any, site: Any) -> None:
    r = client.post("/api/v1/submissions", data={"files": [(io.BytesIO(PDF), "a.pdf")]},
                    content_type="multipart/form-data",
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "x"})
    assert_problem(r, 400, "invalid-json")


def test_invalid_submission_stores_no_file(app: Any, client: Any, site: Any,
                                           submission_body: dict[str, Any]) -> None:
    body = {**submission_body, "title": ""}
    r = post_multipart(client, site[1], body, [(png_bytes(), "a.png")])
    assert_problem(r, 422, "validation-error")
    assert stored_files(app) == [] and counts() == (0, 0, 0)


def test_failed_transaction_removes_files(app: Any, client: Any, site: Any,
                                          submission_body: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from widget_server.store import outbox

    def boom(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("database went away")

    monkeypatch.setattr(outbox, "enqueue", boom)
    r = post_multipart(client, site[1], submission_body, [(png_bytes(), "a.png")])
    assert_problem(r, 500)
    assert stored_files(app) == [] and counts() == (0, 0, 0)


def test_idempotent_replay_keeps_one_copy(app: Any, client: Any, site: Any,
                                          submission_body: dict[str, Any]) -> None:
    files = [(png_bytes(), "a.png")]
    r1 = post_multipart(client, site[1], submission_body, files, key="same")
    r2 = post_multipart(client, site[1], submission_body, files, key="same")
    assert r1.status_code == r2.status_code == 201
    assert r2.headers["Idempotent-Replayed"] == "true"
    assert r1.get_json() == r2.get_json()
    assert len(stored_files(app)) == 1 and counts() == (1, 1, 1)
    # Other files under the same key are another request.
    r3 = post_multipart(client, site[1], submission_body, [(webp_bytes(), "b.webp")], key="same")
    assert_problem(r3, 422, "idempotency-key-reused")
    assert len(stored_files(app)) == 1


def test_links_expire_and_are_signed(app: Any, client: Any, site: Any,
                                     submission_body: dict[str, Any]) -> None:
    post_multipart(client, site[1], submission_body, [(PDF, "a.pdf")])
    data = forwarded(app)
    url = data["attachments"][0]["url"].removeprefix("http://relay.test")
    token = url.rsplit("/", 1)[1]
    assert_problem(client.get(url[:-3] + "xyz"), 404, "attachment-not-found")
    assert_problem(client.get("/api/v1/attachments/at1.forged"), 404, "attachment-not-found")
    assert_problem(client.get("/api/v1/attachments/../../etc/passwd"), 404)
    # A form token is no attachment link (salts differ).
    from widget_server.intake import tokens

    assert_problem(client.get("/api/v1/attachments/at1." + tokens.issue_form_token(site[0].key)[4:]), 404)
    app.config["ATTACHMENT_URL_MAX_AGE"] = -1
    assert_problem(client.get(url), 403, "attachment-link-expired")
    app.config["ATTACHMENT_URL_MAX_AGE"] = 3600
    assert client.get(f"/api/v1/attachments/{token}").status_code == 200


def test_refresh_urls(app: Any, client: Any, site: Any, submission_body: dict[str, Any],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    # itsdangerous stamps links to the second: hold its clock, then move it on by one.
    from itsdangerous.timed import TimestampSigner

    clock = [int(time.time())]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: clock[0])
    post_multipart(client, site[1], submission_body, [(PDF, "a.pdf")])
    data = forwarded(app)
    clock[0] += 1
    fresh = attachments.refresh_urls(data)
    assert fresh["attachments"][0]["url"] != data["attachments"][0]["url"]
    assert client.get(fresh["attachments"][0]["url"]).status_code == 200
    assert fresh["attachments"][0]["id"] == data["attachments"][0]["id"]
    assert {k: v for k, v in fresh.items() if k != "attachments"} == \
        {k: v for k, v in data.items() if k != "attachments"}
    assert attachments.refresh_urls({"id": "x"}) == {"id": "x"}


def test_deleted_attachment_gone(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    post_multipart(client, site[1], submission_body, [(PDF, "a.pdf")])
    data = forwarded(app)
    with db.write() as conn:
        keys = attachments.delete_for_submission(conn, data["id"])
    attachments.remove_files(keys)
    assert stored_files(app) == []
    url = data["attachments"][0]["url"].removeprefix("http://relay.test")
    assert_problem(client.get(url), 410, "attachment-deleted")


def test_storage_keys_are_opaque(app: Any) -> None:
    from widget_server.store.blobs import LocalStorage

    store = LocalStorage(app.config["ATTACHMENT_DIR"])
    key = store.put(b"abc")
    assert store.get(key) == b"abc" and store.exists(key)
    for bad in ("../x", "..", "/etc/passwd", key + "/../x"):
        with pytest.raises(KeyError):
            store.get(bad)
        assert not store.exists(bad)
    store.delete(key)
    store.delete(key)
    assert not store.exists(key)


def test_an_empty_file_input_is_no_file(app: Any, client: Any, site: Any,
                                        submission_body: dict[str, Any]) -> None:
    """Browsers send a part for an untouched file input: no name, no bytes, octet-stream."""
    r = post_multipart(client, site[1], submission_body, [(b"", "")])
    assert r.status_code == 201, r.get_json()
    assert counts() == (1, 1, 0)
    assert forwarded(app)["attachments"] == []


def _raw_part(client: Any, secret: str, body: dict[str, Any], disposition: bytes, key: str) -> Any:
    sub = json.dumps(body).encode()
    data = (b'--B\r\nContent-Disposition: form-data; name="submission"\r\n\r\n' + sub + b"\r\n"
            b"--B\r\nContent-Disposition: form-data; " + disposition + b"\r\nContent-Type: image/png\r\n\r\n"
            + png_bytes() + b"\r\n--B--\r\n")
    return client.post("/api/v1/submissions", data=data, headers={
        "Authorization": f"Bearer {secret}", "Idempotency-Key": key, "Content-Type": "multipart/form-data; boundary=B"})


def test_a_photo_sent_without_a_file_name_is_kept_not_dropped(app: Any, client: Any, site: Any,
                                                             submission_body: dict[str, Any]) -> None:
    """A part with bytes but an empty file name was taken for an untouched file input: the
    submission was accepted (201) and the photo silently dropped."""
    r = _raw_part(client, site[1], submission_body, b'name="files"; filename=""', "nameless")
    assert r.status_code == 201, r.get_json()
    assert [a["filename"] for a in forwarded(app)["attachments"]] == ["tep-dinh-kem.png"]


def test_a_photo_sent_as_a_plain_field_is_refused_not_dropped(client: Any, site: Any,
                                                             submission_body: dict[str, Any]) -> None:
    r = _raw_part(client, site[1], submission_body, b'name="files"', "field")
    assert_problem(r, 422, "validation-error")
    assert counts() == (0, 0, 0)


# --------------------------------------------------------------------------- image cost


def _solid(kind: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("1" if kind == "PNG" else "RGB", size).save(out, kind)
    return out.getvalue()


def test_a_png_just_under_the_old_pixel_limit_is_refused_from_its_header(client, site, submission_body):
    crafted = _solid("PNG", (6300, 6300))  # 39.7 megapixels in a few tens of KB
    assert len(crafted) < 200_000
    r = post_multipart(client, site[1], submission_body, [(crafted, "bom.png")])
    body = assert_problem(r, 422, "attachment-too-many-pixels")
    assert body["errors"]["files"]


def test_the_pixels_of_one_request_are_bounded(client, site, submission_body):
    # Five photos, each within the per-photo limit, 70 megapixels in all.
    from tests.helpers import post_large

    photos = [(io.BytesIO(_solid("JPEG", (4000, 3500))), f"p{i}.jpg") for i in range(5)]
    r = post_large(client, "/api/v1/submissions", data={
        "submission": json.dumps(submission_body), "files": photos},
        headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "many-pixels"})
    assert_problem(r, 422, "attachment-too-many-pixels")


def test_a_large_phone_photo_is_kept_at_a_readable_size(client, site, submission_body):
    r = post_multipart(client, site[1], submission_body, [(_solid("JPEG", (6000, 4000)), "anh.jpg")])
    assert r.status_code == 201, r.get_data(as_text=True)
    with db.read() as conn:
        key = conn.execute(sa.select(db.attachments.c.storage_key)).scalar_one()
    from widget_server.store.blobs import get_storage

    with Image.open(io.BytesIO(get_storage().get(key))) as kept:
        assert max(kept.size) == 3072 and kept.size[0] > kept.size[1]


# --------------------------------------------------------------------------- PDFs, parsed


def _objstm_pdf(objects: list[bytes]) -> bytes:
    """A PDF 1.5 whose objects all sit in one compressed object stream, found by an xref stream.

    Nothing in its bytes says ``/JavaScript``: a reader sees it only after FlateDecode.
    """
    import struct
    import zlib

    body, offsets = b"", []
    for obj in objects:
        offsets.append(len(body))
        body += obj + b"\n"
    header = b" ".join(b"%d %d" % (i + 1, off) for i, off in enumerate(offsets)) + b"\n"
    packed = zlib.compress(header + body)
    n = len(objects)
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    stm_off = len(out)
    out += (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (n + 1, n, len(header), len(packed))) + packed + b"\nendstream\nendobj\n"
    xref_off = len(out)
    rows = [struct.pack(">BHH", 0, 0, 65535), *[struct.pack(">BHH", 2, n + 1, i) for i in range(n)],
            struct.pack(">BHH", 1, stm_off, 0), struct.pack(">BHH", 1, xref_off, 0)]
    xref = zlib.compress(b"".join(rows))
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 2 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\n"
            b"stream\n" % (n + 2, n + 3, len(xref))) + xref + b"\nendstream\nendobj\n"
    return out + b"startxref\n%d\n%%%%EOF\n" % xref_off


_PAGES = [b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
          b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]


@pytest.mark.parametrize(("name", "objects"), [
    ("javascript", [b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", *_PAGES,
                    b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"]),
    ("launch", [b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", *_PAGES,
                b"<< /S /Launch /F (cmd.exe) >>"]),
    ("embedded file", [b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>", *_PAGES,
                       b"<< /Names [(x.exe) << /Type /Filespec /F (x.exe) >>] >>"]),
    ("page action", [b"<< /Type /Catalog /Pages 2 0 R >>", _PAGES[0],
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9 9] /AA << /O 4 0 R >> >>",
                     b"<< /S /URI /URI (https://evil.example) >>"]),
    ("escaped name", [b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", *_PAGES,
                      b"<< /S /J#61vaScript /J#53 (x) >>"]),
])
def test_pdfs_hiding_code_in_compressed_object_streams_are_refused(client, site, submission_body, name, objects):
    crafted = _objstm_pdf(objects)
    assert b"JavaScript" not in crafted and b"Launch" not in crafted and b"Embedded" not in crafted
    r = post_multipart(client, site[1], submission_body, [(crafted, "don.pdf")])
    assert_problem(r, 422, "attachment-unsafe")


def _objects(objects: list[bytes]) -> tuple[bytes, list[int]]:
    """A PDF's header and numbered objects (1, 2, …), and where each starts."""
    out, offsets = b"%PDF-1.7\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    return out, offsets


def _plain_pdf(objects: list[bytes]) -> bytes:
    """Those objects with a classic cross-reference table."""
    out, offsets = _objects(objects)
    xref = b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + xref + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, len(out))


def _refused(client: Any, site: Any, body: dict[str, Any], pdf: bytes) -> None:
    r = post_multipart(client, site[1], body, [(pdf, "don.pdf")])
    assert_problem(r, 422, "attachment-invalid")
    assert counts() == (0, 0, 0)


def test_a_pdf_whose_object_streams_decode_to_gigabytes_is_refused(client, site, submission_body):
    """Object streams of zeros, 1000:1 under FlateDecode: a 1.4 MB file decoded to 1.4 GB, held in
    memory for 16 s, and was kept; one of 10 MB (the size limit) took the worker down. (This
    one, 0.4 MB, decodes to 420 MB: under 500 KB the test client sends it without a temporary file.)"""
    import zlib

    zeros = zlib.compress(b"\0" * 70_000_000, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", *_PAGES] + [
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(zeros)
        + zeros + b"\nendstream" for _ in range(6)]
    bomb = _plain_pdf(objects)
    assert len(bomb) < 500_000
    _refused(client, site, submission_body, bomb)


def test_a_pdf_with_millions_of_cross_reference_entries_is_refused(client, site, submission_body):
    """A cross-reference stream of zeros: 10 KB as sent, two million entries read one by one
    (4 s of a worker for each of the five files a request may carry), and it was kept."""
    import struct
    import zlib

    out, offsets = _objects([b"<< /Type /Catalog /Pages 2 0 R >>", *_PAGES])
    rows = b"".join(struct.pack(">BHH", *row) for row in [
        (0, 0, 65535), *[(1, o, 0) for o in offsets], (1, len(out), 0)]) + b"\0" * 9_990_000
    packed = zlib.compress(rows, 9)
    bomb = out + (b"4 0 obj\n<< /Type /XRef /Size %d /W [1 2 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\n"
                  b"stream\n" % (len(rows) // 5, len(packed))) + packed + (
        b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % len(out))
    assert len(bomb) < 20_000
    _refused(client, site, submission_body, bomb)


def test_a_pdf_of_huge_arrays_is_refused(client, site, submission_body):
    """Arrays of zeros outside any stream: parsed at about 4 µs an entry, 10 MB of them took a
    worker 20 s per file (five files a request), and the file was kept."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", *_PAGES] + [b"[" + b"0 " * 80_000 + b"]"] * 3
    heavy = _plain_pdf(objects)
    assert len(heavy) < 500_000
    _refused(client, site, submission_body, heavy)


def test_a_plain_pdf_with_object_streams_is_kept_as_sent(client, site, submission_body):
    plain = _objstm_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", *_PAGES])
    r = post_multipart(client, site[1], submission_body, [(plain, "don.pdf")])
    assert r.status_code == 201, r.get_data(as_text=True)
    with db.read() as conn:
        key = conn.execute(sa.select(db.attachments.c.storage_key)).scalar_one()
    from widget_server.store.blobs import get_storage

    assert get_storage().get(key) == plain


def _pdf_with(open_action: Any = None, link: str | None = None) -> bytes:
    """A one-page PDF made by pypdf with an ``/OpenAction`` in its catalog, or a link on its page."""
    from pypdf import PdfWriter
    from pypdf.annotations import Link
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if open_action is not None:
        if open_action == "fit":
            value: Any = ArrayObject([writer.pages[0].indirect_reference, NameObject("/Fit")])
        else:
            value = DictionaryObject({NameObject(k): (NameObject(v) if k == "/S" else TextStringObject(v))
                                      for k, v in open_action.items()})
            if value["/S"] in ("/GoTo", "/GoToR"):
                value[NameObject("/D")] = ArrayObject([NumberObject(0), NameObject("/Fit")])
        writer._root_object[NameObject("/OpenAction")] = value
    if link is not None:
        writer.add_annotation(0, Link(rect=(50, 50, 200, 80), url=link))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_with_indirect_kind(uri: str) -> bytes:
    """A link whose action's kind (``/S``) is an indirect object naming ``/URI``: readers resolve it."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    kind = writer._add_object(NameObject("/URI"))
    action = DictionaryObject({NameObject("/S"): kind, NameObject("/URI"): TextStringObject(uri)})
    link = DictionaryObject({NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
                             NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (50, 50, 200, 80)]),
                             NameObject("/A"): action})
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("name, pdf", [
    ("link to a file, its kind an indirect object", _pdf_with_indirect_kind("file://203.0.113.9/share/x.pdf")),
    ("open action: another file on a share", _pdf_with({"/S": "/GoToR", "/F": "\\\\203.0.113.9\\share\\x.pdf"})),
    ("open action: a web address", _pdf_with({"/S": "/URI", "/URI": "http://203.0.113.9/track"})),
    ("open action: an embedded file's document", _pdf_with({"/S": "/GoToE"})),
    ("open action: a named action", _pdf_with({"/S": "/Named", "/N": "Print"})),
    ("link to a file on a share", _pdf_with(link="file://203.0.113.9/share/x.pdf")),
    ("link to a UNC path", _pdf_with(link="\\\\203.0.113.9\\share\\x.pdf")),
    ("link running script", _pdf_with(link="javascript:app.alert(1)")),
])
def test_pdfs_with_actions_that_reach_outside_are_refused(app, client, site, submission_body, name, pdf):
    r = post_multipart(client, site[1], submission_body, [(pdf, "don.pdf")])
    assert_problem(r, 422, "attachment-unsafe")
    assert r.get_json()["detail"] == "Không nhận tệp PDF có lệnh tự chạy khi mở hoặc liên kết tới tệp khác."
    assert counts() == (0, 0, 0) and stored_files(app) == []


@pytest.mark.parametrize("name, pdf", [
    ("opens at its first page", _pdf_with("fit")),
    ("opens with a go-to in the document", _pdf_with({"/S": "/GoTo"})),
    ("a web link, followed when clicked", _pdf_with(link="https://thanhhoa.gov.vn/van-ban")),
])
def test_pdfs_with_plain_destinations_and_web_links_are_kept(client, site, submission_body, name, pdf):
    r = post_multipart(client, site[1], submission_body, [(pdf, "don.pdf")])
    assert r.status_code == 201, r.get_data(as_text=True)


def mpo_with_gps(size: tuple[int, int] = (40, 30)) -> bytes:
    """A phone's multi-picture JPEG (MPO): the photo, then a second picture (a depth map)."""
    photo, depth = Image.new("RGB", size, (200, 30, 30)), Image.new("L", size, 128).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "Samsung"
    exif[GPS_TAG] = {1: "N", 2: (19.0, 48.0, 0.0), 3: "E", 4: (105.0, 46.0, 0.0)}
    out = io.BytesIO()
    photo.save(out, "MPO", save_all=True, append_images=[depth], exif=exif)
    return out.getvalue()


def test_a_multi_picture_phone_photo_is_kept_as_its_first_picture(app, client, site, submission_body):
    mpo = mpo_with_gps()
    assert mpo.startswith(b"\xff\xd8\xff\xe0")
    with Image.open(io.BytesIO(mpo)) as im:
        assert im.format == "MPO" and im.n_frames == 2
    r = post_multipart(client, site[1], submission_body, [(mpo, "IMG_0001.jpg")])
    assert r.status_code == 201, r.get_data(as_text=True)
    with db.read() as conn:
        key = conn.execute(sa.select(db.attachments.c.storage_key)).scalar_one()
    from widget_server.store.blobs import get_storage

    with Image.open(io.BytesIO(get_storage().get(key))) as kept:
        assert kept.format == "JPEG" and getattr(kept, "n_frames", 1) == 1
        assert kept.size == (40, 30) and not kept.getexif()
        assert kept.getpixel((20, 15))[0] > 150  # the photo, not the depth map


def test_a_multi_picture_photo_too_large_in_its_first_picture_is_refused(client, site, submission_body):
    from tests.helpers import post_large

    r = post_large(client, "/api/v1/submissions", data={
        "submission": json.dumps(submission_body), "files": [(io.BytesIO(mpo_with_gps((6001, 4001))), "p.jpg")]},
        headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "large-mpo"})
    assert_problem(r, 422, "attachment-too-many-pixels")


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_animated_png_and_webp_are_still_refused(client, site, submission_body, kind):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, kind, save_all=True, append_images=frames[1:], duration=100, loop=0)
    r = post_multipart(client, site[1], submission_body, [(out.getvalue(), "anim." + kind.lower())])
    assert_problem(r, 422, "attachment-invalid")
