"""Building blocks for a central system (e.g. "Hệ thống Phản hồi Thanh Hóa").

``IntakeReceiver`` verifies what the relay sends to ``POST /intake/v1/submissions``
and ``POST /intake/v1/events``; ``EventSender`` signs and sends events to the
relay's ``POST /api/v1/central/events``: ``submission.status_changed``
(``send_status``), ``result.published`` (``publish_result``: any PAKN the province
publishes, whether it came through the relay or not, with public fields only) and
``result.withdrawn`` (``withdraw_result``); for one result the relay keeps the newest
event by the body's ``timestamp``. Delivery is at-least-once in both
directions with a stable ``webhook-id``, so both sides drop duplicates by it, and
an id counts as seen only once what it carries is stored.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Protocol

import requests

from . import _http
from .events import RESULT_PUBLISHED, RESULT_WITHDRAWN, SUBMISSION_STATUS_CHANGED, Event
from .models import STATUSES
from .webhooks import DEFAULT_TOLERANCE, HeadersLike, parse_secrets, sign_headers, verify

__all__ = ["Delivery", "EventSender", "IntakeReceiver", "Received", "SeenIds", "SeenStore"]

EVENTS_PATH = "/api/v1/central/events"


class SeenStore(Protocol):
    """Where message ids are remembered: ``msg_id in store`` and ``store.add(msg_id)``
    (a ``set`` will do for a test; ``SeenIds`` for one process)."""

    def __contains__(self, msg_id: object, /) -> bool: ...

    def add(self, msg_id: str, /) -> None: ...


class SeenIds:
    """A bounded, thread-safe, in-memory ``SeenStore`` for one process.

    It forgets the oldest ids beyond ``max_size`` and everything on restart:
    production receivers should record ids in their own database, in the same
    transaction as the effect of the message."""

    def __init__(self, max_size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._max = max_size
        self._lock = threading.Lock()

    def add(self, msg_id: str) -> None:
        with self._lock:
            self._ids[msg_id] = None
            self._ids.move_to_end(msg_id)
            if len(self._ids) > self._max:
                self._ids.popitem(last=False)

    def __contains__(self, msg_id: object) -> bool:
        with self._lock:
            return msg_id in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)


@dataclass(frozen=True)
class Received:
    """A verified message; ``duplicate`` when its id was stored before."""

    event: Event
    duplicate: bool


class IntakeReceiver:
    """Verify and parse webhooks from the relay; remember ids only once they are stored.

    ``secret`` is the ``whsec_…`` shared with the relay: a list, or comma-separated
    as in the relay's settings, while rotating. It is checked here, so a wrong
    setting fails at start-up. Verifying and remembering are separate steps:

    * ``verify(body, headers)`` returns the event; store it and its ``event.id`` in
      your own database in one transaction (a unique key on the id drops duplicates);
    * or pass ``seen=`` and use ``with receiver.receive(body, headers) as msg:``
      the id is added to ``seen`` only when the block ends without an exception,
      so a message whose storing failed is taken again when the relay retries it.

    On ``WebhookVerificationError`` answer ``exc.status_code``: 401 for a message
    that is not authentic (the relay pauses and an operator looks), 400 for an
    authentic one it cannot read (``WebhookPayloadError``).

    >>> receiver = IntakeReceiver(os.environ["INTAKE_SECRET"], seen=SeenIds())
    >>> with receiver.receive(request.get_data(), request.headers) as msg:
    ...     if not msg.duplicate:
    ...         store(msg.event)  # raises: not remembered, the retry is processed
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        *,
        seen: SeenStore | None = None,
        mark_seen: Callable[[str], bool] | None = None,
        tolerance: int = DEFAULT_TOLERANCE,
    ) -> None:
        if isinstance(mark_seen, SeenIds):
            # The old pattern, which remembered an id before it was stored.
            raise TypeError("SeenIds is a store: pass seen=SeenIds() and use receive()")
        self._secret = parse_secrets(secret)
        self.seen = seen
        self._mark_seen = mark_seen
        self.tolerance = tolerance

    def __repr__(self) -> str:  # never show the secret
        return f"IntakeReceiver(secrets={len(self._secret)}, tolerance={self.tolerance})"

    def verify(self, body: bytes | str, headers: HeadersLike, *, now: int | None = None) -> Event:
        """The authentic event; raises ``WebhookVerificationError`` (``status_code`` to
        answer). Records nothing: storing the event and its ``id`` is up to you."""
        return verify(body, headers, self._secret, tolerance=self.tolerance, now=now)

    @contextmanager
    def receive(
        self, body: bytes | str, headers: HeadersLike, *, now: int | None = None
    ) -> Iterator[Received]:
        """Verify, tell whether the id was seen, and add it to ``seen`` only when the
        ``with`` block finishes without an exception."""
        if self.seen is None:
            raise TypeError("receive() needs IntakeReceiver(..., seen=...)")
        event = self.verify(body, headers, now=now)
        duplicate = event.id in self.seen
        yield Received(event, duplicate)
        if not duplicate:
            self.seen.add(event.id)

    def handle(
        self, body: bytes | str, headers: HeadersLike, *, now: int | None = None
    ) -> tuple[Event, bool]:
        """``(event, duplicate)`` with the ``mark_seen(msg_id) -> bool`` callback, which must
        record the id in the same database transaction that stores the event (so a
        failure rolls both back). With anything else use ``verify`` or ``receive``."""
        if self._mark_seen is None:
            raise TypeError("handle() needs IntakeReceiver(..., mark_seen=...); see receive()")
        event = self.verify(body, headers, now=now)
        duplicate = not self._mark_seen(event.id)
        return event, duplicate


@dataclass(frozen=True)
class Delivery:
    """The relay accepted an event: its ``msg_id`` and the relay's answer."""

    msg_id: str
    status_code: int
    body: Any


#: Vietnam's time zone (UTC+7, no daylight saving time).
VN_TZ = timezone(timedelta(hours=7))


def _iso(value: datetime | date | str | None) -> str | None:
    """ISO 8601 with an offset, which the relay requires. A naive datetime is taken
    as UTC; a bare ``date`` deadline means the end of that day in Vietnam."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, 23, 59, 59, tzinfo=VN_TZ)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


class EventSender(_http.SessionOwner):
    """Send signed events from the central system to the relay.

    Each event keeps one ``webhook-id`` (also sent as ``Idempotency-Key``) across
    retries so the relay applies it once; the ``webhook-timestamp`` and signature
    are fresh on every attempt so a slow retry never falls outside the relay's
    tolerance. Retries follow the same policy as ``Client``."""

    def __init__(
        self,
        relay_url: str,
        secret: str | Sequence[str],
        *,
        timeout: _http.Timeout = _http.DEFAULT_TIMEOUT,
        max_retries: int = _http.DEFAULT_MAX_RETRIES,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(timeout=timeout, max_retries=max_retries, session=session)
        self.relay_url = _http.checked_url(relay_url, sends_secret=False)
        self._secret = parse_secrets(secret)

    def __repr__(self) -> str:
        return f"EventSender(relay_url={self.relay_url!r})"


    def send_status(
        self,
        submission_id: str,
        central_id: str | None,
        status: str,
        *,
        sequence: int,
        note: str | None = None,
        answer: str | None = None,
        agency: str | None = None,
        deadline: datetime | date | str | None = None,
        updated_at: datetime | str | None = None,
        msg_id: str | None = None,
    ) -> Delivery:
        """Send ``submission.status_changed``. ``sequence`` must grow with every
        change of one submission: the relay keeps the highest and ignores older
        ones arriving late. Pass ``msg_id`` (e.g. derived from your own event row)
        to make re-sends after a crash idempotent too."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
            raise ValueError("sequence must be an integer from 1 up (the relay refuses 0)")
        data = {
            "submission_id": submission_id,
            "central_id": central_id,
            "status": status,
            "note": note,
            "answer": answer,
            "agency": agency,
            "deadline": _iso(deadline),
            "sequence": sequence,
            "updated_at": _iso(updated_at) or _iso(datetime.now(UTC)),
        }
        return self.send(SUBMISSION_STATUS_CHANGED, data, msg_id=msg_id)

    def publish_result(
        self,
        result_id: str,
        *,
        title: str,
        answer: str,
        question: str | None = None,
        central_id: str | None = None,
        category: str | None = None,
        agency: str | None = None,
        commune_code: str | None = None,
        received_at: datetime | str | None = None,
        answered_at: datetime | str | None = None,
        deadline: datetime | date | str | None = None,
        url: str | None = None,
        msg_id: str | None = None,
    ) -> Delivery:
        """Send ``result.published``: the public record of one PAKN. Only public text belongs
        here (edited for publication): never the citizen's name, contact or attachments.
        ``central_id`` links it to a submission that came through the relay, if one did;
        sending it again with the same ``result_id`` replaces the earlier version."""
        if not result_id or not title or not answer:
            raise ValueError("result_id, title and answer are required")
        data = {
            "result_id": result_id,
            "central_id": central_id,
            "title": title,
            "question": question,
            "answer": answer,
            "category": category,
            "agency": agency,
            "commune_code": commune_code,
            "received_at": _iso(received_at),
            "answered_at": _iso(answered_at),
            "deadline": _iso(deadline),
            "url": url,
        }
        return self.send(RESULT_PUBLISHED, data, msg_id=msg_id)

    def withdraw_result(self, result_id: str, *, msg_id: str | None = None) -> Delivery:
        """Send ``result.withdrawn``: the result leaves the relay's lists, pages, feeds and caches."""
        if not result_id:
            raise ValueError("result_id is required")
        return self.send(RESULT_WITHDRAWN, {"result_id": result_id}, msg_id=msg_id)

    def send(
        self, event_type: str, data: Mapping[str, Any], *, msg_id: str | None = None
    ) -> Delivery:
        """Sign and send any event ``{type, timestamp, data}``."""
        msg_id = msg_id or "msg_" + secrets.token_urlsafe(18)
        body = json.dumps(
            {
                "type": event_type,
                "timestamp": datetime.now(UTC).isoformat(),
                "data": dict(data),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        fixed = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": msg_id,
        }
        response = _http.request(
            self._session,
            "POST",
            self.relay_url + EVENTS_PATH,
            timeout=self.timeout,
            max_retries=self.max_retries,
            headers=fixed,
            make_headers=lambda: sign_headers(body, self._secret, msg_id=msg_id),
            data=body,
        )
        try:
            answer: Any = response.json() if response.content else None
        except ValueError:
            answer = response.text
        return Delivery(msg_id=msg_id, status_code=response.status_code, body=answer)
