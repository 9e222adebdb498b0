"""A minimal central-system receiver built on the ``phanhoi`` SDK, standard library only.

It accepts what the relay forwards: new submissions on ``POST /intake/v1/submissions``,
ratings and data requests (consent withdrawn, deletion asked) on ``POST
/intake/v1/events``. It verifies the Standard Webhooks signature (401 when it does not
match, so the relay pauses instead of dropping messages), remembers a ``webhook-id``
only once the message is stored, answers ``{central_id, status}``, and reports
progress back to the relay (``submission.status_changed``) with ``EventSender``.

    export PHANHOI_CENTRAL_SECRET=whsec_...         # the relay signs with it
    export PHANHOI_CENTRAL_EVENTS_SECRET=whsec_...  # we sign status events with it
    export PHANHOI_RELAY_URL=http://localhost:5000
    python examples/central_receiver_sdk.py          # listens on :8700 (PORT)

and start the relay with ``PHANHOI_CENTRAL_URL=http://localhost:8700``. For a full
reference system (storage, answers, dashboard) see ``examples/central_system``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from phanhoi import (
    Event,
    EventSender,
    IntakeReceiver,
    PhanHoiError,
    SeenIds,
    SubmissionCreated,
    SubmissionDataRequest,
    SubmissionRated,
    WebhookVerificationError,
)

log = logging.getLogger("central_receiver")
INTAKE_PATH = "/intake/v1/submissions"
EVENTS_PATH = "/intake/v1/events"


class Central:
    """In-memory state of this toy central system. A real one keeps the seen ids
    and the submissions in one database transaction."""

    def __init__(self, receiver: IntakeReceiver, sender: EventSender | None) -> None:
        self.receiver = receiver
        self.sender = sender
        self.central_ids: dict[str, str] = {}  # relay submission id -> our id
        #: Ratings and data requests received (a real system files them for an officer:
        #: a withdrawal or deletion must be acknowledged within 2 working days).
        self.events: list[Event] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def accept(self, event: SubmissionCreated) -> str:
        with self._lock:
            if event.submission_id not in self.central_ids:
                self.central_ids[event.submission_id] = f"TH-{next(self._numbers):06d}"
            return self.central_ids[event.submission_id]

    def record(self, event: SubmissionRated | SubmissionDataRequest) -> str | None:
        with self._lock:
            self.events.append(event)
            return self.central_ids.get(event.submission_id, event.central_id)

    def report_accepted(self, submission_id: str, central_id: str) -> None:
        """Tell the relay we took the case in (sequence 1 for this submission)."""
        if self.sender is None:
            return
        try:
            self.sender.send_status(
                submission_id,
                central_id,
                "accepted",
                sequence=1,
                note="Đã tiếp nhận, chuyển cơ quan có thẩm quyền xử lý",
                msg_id=f"evt_{central_id}_1",  # stable: a re-send is a duplicate
            )
        except PhanHoiError:
            log.exception("could not send status for %s", central_id)


def make_handler(central: Central) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path not in (INTAKE_PATH, EVENTS_PATH):
                self._send(HTTPStatus.NOT_FOUND, {"title": "Not Found", "status": 404})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                # The id is remembered only if this block ends without an exception: had
                # storing failed, the relay's retry would be processed, not skipped.
                with central.receiver.receive(body, self.headers) as msg:
                    status, payload = self._store(msg.event, msg.duplicate)
            except WebhookVerificationError as e:
                # 401: not authentic (the relay pauses until an operator resumes it);
                # 400 (WebhookPayloadError): authentic but unreadable, the sender's bug.
                status = HTTPStatus(e.status_code)
                payload = {"title": "Invalid webhook", "status": e.status_code, "detail": str(e)}
            # Answer once the id is remembered: a redelivery is then seen as one.
            self._send(status, payload)

        def _store(self, event: Event, duplicate: bool) -> tuple[HTTPStatus, dict[str, object]]:
            if isinstance(event, SubmissionCreated) and self.path == INTAKE_PATH:
                central_id = central.accept(event)
                if not duplicate:
                    log.info("new submission %s -> %s", event.tracking_code, central_id)
                    threading.Thread(
                        target=central.report_accepted,
                        args=(event.submission_id, central_id),
                        daemon=True,
                    ).start()
                # Duplicates get the same answer as the first delivery (idempotent).
                return HTTPStatus.OK, {"central_id": central_id, "status": "received"}
            if isinstance(event, SubmissionRated | SubmissionDataRequest) and self.path == EVENTS_PATH:
                found = central.record(event) if not duplicate else None
                if not duplicate:
                    what = event.kind if isinstance(event, SubmissionDataRequest) else "rating"
                    log.info("%s for %s", what, event.tracking_code)
                return HTTPStatus.OK, {"central_id": found, "status": "received"}
            # Authentic, but not something this receiver takes on this path: refuse it for
            # good (422) rather than pretend it was handled.
            return HTTPStatus.UNPROCESSABLE_ENTITY, {
                "title": f"{event.type} is not taken on {self.path}",
                "status": 422,
            }

        def _send(self, status: HTTPStatus, payload: dict[str, object]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            content_type = "application/json" if status < 400 else "application/problem+json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

    return Handler


def make_server(
    host: str, port: int, intake_secret: str, events_secret: str | None, relay_url: str | None
) -> ThreadingHTTPServer:
    receiver = IntakeReceiver(intake_secret, seen=SeenIds())  # checks the secret now
    sender = EventSender(relay_url, events_secret) if relay_url and events_secret else None
    return ThreadingHTTPServer((host, port), make_handler(Central(receiver, sender)))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = make_server(
        os.environ.get("HOST", "127.0.0.1"),
        int(os.environ.get("PORT", "8700")),
        os.environ["PHANHOI_CENTRAL_SECRET"],
        os.environ.get("PHANHOI_CENTRAL_EVENTS_SECRET"),
        os.environ.get("PHANHOI_RELAY_URL"),
    )
    log.info("central receiver on http://%s:%s/intake/v1/", *server.server_address[:2])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
