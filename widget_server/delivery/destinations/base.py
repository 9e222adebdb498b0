"""The interface every destination adapter implements.

An adapter turns one outbox event into one attempt at delivery and reports
what happened as a :class:`Result`; the outbox decides what that means for the
row (delivered, retry later, dead) and for the destination (breaker, pause).
Adapters never touch the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

#: What an attempt means for the row and the destination:
#: ``delivered`` — done; ``retry`` — transient (5xx, timeout, 429), try again later;
#: ``rejected`` — the destination refused this event for good (other 4xx);
#: ``pause`` — the destination refuses our credentials (401/403), stop until an operator resumes;
#: ``disable`` — the destination is gone (410).
Outcome = Literal["delivered", "retry", "rejected", "pause", "disable"]


@dataclass(frozen=True)
class Event:
    """One outbox row as an adapter sees it."""

    id: str  # the Standard Webhooks message id: the same on every attempt
    type: str
    data: dict[str, Any]
    submission_id: str | None = None
    attempt: int = 1
    #: For adapters that cannot take a message back (SMTP has no idempotency key): call it
    #: just before the point of no return. It records the hand-over and answers False when
    #: this worker no longer holds the row, and the adapter must then stop without sending.
    handover: Callable[[], bool] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    status: int | None = None  # HTTP status, when there was an answer
    retry_after: float | None = None  # seconds the destination asked us to wait
    error: str | None = None  # short, free of personal data: it is stored and logged
    remote_id: str | None = None  # the destination's id for the submission (central_id)
    remote_status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


@runtime_checkable
class Destination(Protocol):
    name: str

    def deliver(self, event: Event) -> Result:
        """Make one attempt; never raise for network or HTTP failures, report them."""
        ...

    def close(self) -> None:
        ...
