"""The relay's vocabularies, one home each.

Statuses come from the SDK (``phanhoi.statuses``) so partner code, the relay, its
database CHECK constraints and the i18n catalogues share one list; a test checks
that every catalogue names each status exactly once.
"""

from __future__ import annotations

from phanhoi.statuses import ANSWERED, FINAL, IN_PROGRESS, STATUSES, Status

__all__ = ["ANSWERED", "CONSOLE_ROLES", "DATA_REQUEST_KINDS", "DESTINATIONS", "FINAL", "IN_PROGRESS",
           "REACH_EVENTS", "STATUSES", "Status", "VIAS"]

#: How a submission reached the relay: the framed form, the full page (/s/), or a partner's server.
VIAS: tuple[str, ...] = ("form", "page", "api")
#: What a citizen may ask about their personal data (Law 91/2025/QH15).
DATA_REQUEST_KINDS: tuple[str, ...] = ("withdraw_consent", "delete")
#: What the widget counts with a beacon: a viewable impression of the banner (≥ 50 % visible for
#: one continuous second, the IAB rule), an opened form, an opened lookup (results) view.
REACH_EVENTS: tuple[str, ...] = ("impression", "open", "results_view")
#: Console accounts: a province admin manages every site, a site editor their own.
CONSOLE_ROLES: tuple[str, ...] = ("admin", "editor")

#: Where the outbox delivers: destination name → the adapter class (``module:Class``). The one
#: registry: ``sites`` validates names against it and the worker builds adapters from it. A new
#: adapter is one line here and one module under ``widget_server/delivery/destinations/``.
DESTINATIONS: dict[str, str] = {
    "central": "widget_server.delivery.destinations.central:CentralDestination",
    "open311": "widget_server.delivery.destinations.open311:Open311Destination",
}
