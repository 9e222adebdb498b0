"""Attachment links are signed when an event is sent, not when it was stored: they expire."""

from __future__ import annotations

import json

import responses
import sqlalchemy as sa

from tests.server.test_attachments import png_bytes
from widget_server.store import db
from widget_server.delivery.worker import Worker

INTAKE = "http://central.test/intake/v1/submissions"


@responses.activate
def test_forwarded_attachment_links_are_fresh_and_download(app, client, site, submission_body):
    _, secret = site
    image = png_bytes()
    r = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {secret}",
                                                    "Idempotency-Key": "att-1"},
                    data={"submission": json.dumps(submission_body),
                          "files": [(__import__("io").BytesIO(image), "ảnh chợ.png", "image/png")]},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    # Make the stored link useless, as an expired one would be by the time of a late retry.
    with db.write() as conn:
        row = conn.execute(sa.select(db.outbox)).one()
        payload = dict(row.payload)
        payload["data"] = {**payload["data"], "attachments": [
            {**a, "url": "http://relay.test/api/v1/attachments/expired"}
            for a in payload["data"]["attachments"]]}
        conn.execute(sa.update(db.outbox).where(db.outbox.c.id == row.id).values(payload=payload))

    responses.add(responses.POST, INTAKE, json={"central_id": "TH-1", "status": "received"}, status=201)
    assert Worker(app, "w").run_once() == 1
    sent = json.loads(responses.calls[0].request.body)
    [attachment] = sent["data"]["attachments"]
    assert attachment["url"] != "http://relay.test/api/v1/attachments/expired"
    assert attachment["content_type"] == "image/png" and attachment["size"] > 0
    path = attachment["url"].removeprefix("http://relay.test")
    download = client.get(path)
    assert download.status_code == 200
    assert download.data[:8] == b"\x89PNG\r\n\x1a\n"
