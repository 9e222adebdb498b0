"""The status vocabulary, in one place for the SDK, the relay, its database and its catalogues.

``received`` (stored by the relay) → ``forwarded`` (the central system acknowledged) →
``accepted`` | ``rejected`` → ``in_progress`` → ``answered`` → ``published``.
``overdue`` is computed from the deadline; it is not a status.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ANSWERED", "FINAL", "IN_PROGRESS", "STATUSES", "Status"]


class Status(StrEnum):
    """A submission's status, in the order a submission normally passes through them."""

    RECEIVED = "received"
    FORWARDED = "forwarded"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    PUBLISHED = "published"


#: Every status value, in order.
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
#: The citizen has an answer (and may rate it).
ANSWERED: frozenset[str] = frozenset({Status.ANSWERED, Status.PUBLISHED})
#: Nothing more will happen to the submission.
FINAL: frozenset[str] = frozenset({Status.REJECTED, Status.PUBLISHED})
#: Still waiting for an answer (these can be overdue).
IN_PROGRESS: frozenset[str] = frozenset(
    {Status.RECEIVED, Status.FORWARDED, Status.ACCEPTED, Status.IN_PROGRESS})
