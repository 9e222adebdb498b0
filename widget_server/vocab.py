"""The relay's vocabularies, one home each.

Statuses come from the SDK (``phanhoi.statuses``) so partner code, the relay, its
database CHECK constraints and the i18n catalogues share one list; a test checks
that every catalogue names each status exactly once.
"""

from __future__ import annotations

import datetime as dt

from phanhoi.statuses import ANSWERED, FINAL, IN_PROGRESS, STATUSES, Status

__all__ = ["ANSWERED", "CITIZEN_REQUEST_KINDS", "CONSOLE_ROLES", "DATA_REQUEST_KINDS", "DESTINATIONS", "FINAL",
           "FIRST_DAY", "IN_PROGRESS", "LAST_DAY", "NOTICE_CHANNELS", "NOTICE_DESTINATIONS", "REACH_EVENTS",
           "SITE_DESTINATIONS", "STATUSES", "Status", "VIAS", "VN_TIME"]

#: The days a date given to the relay may fall on (in UTC, or Vietnam's days for a filter): a
#: window's other end (a day more, a year less, a time zone's hours) is still a date, and no
#: submission or result is older or newer.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
#: Vietnam's time (UTC+7, no daylight saving): the days of filters, periods and pages.
VN_TIME = dt.timezone(dt.timedelta(hours=7))

#: How a submission reached the relay: the framed form, the full page (/s/), or a partner's server.
VIAS: tuple[str, ...] = ("form", "page", "api")
#: What a citizen may ask about their personal data (Law 91/2025/QH15).
DATA_REQUEST_KINDS: tuple[str, ...] = ("withdraw_consent", "delete")
#: What a citizen may ask with a tracking code: the data requests above (told to the central
#: system) and ``withdraw_notify``, which ends the separate consent to be told of the answer
#: (the relay sends that notice itself, so nothing is forwarded).
CITIZEN_REQUEST_KINDS: tuple[str, ...] = (*DATA_REQUEST_KINDS, "withdraw_notify")

#: How a citizen may ask to be told of the answer → the outbox destination that sends the notice.
NOTICE_CHANNELS: dict[str, str] = {"email": "notify-email", "sms": "notify-sms"}
#: The outbox destinations of notices: not part of a submission's ordered conversation with its
#: central system (neither waits for the other), never a site's destination.
NOTICE_DESTINATIONS: tuple[str, ...] = tuple(NOTICE_CHANNELS.values())
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
    # Notices to citizens (widget_server.notify): never a site's destination.
    "notify-email": "widget_server.delivery.destinations.smtp:SmtpDestination",
    "notify-sms": "widget_server.delivery.destinations.sms:SmsGatewayDestination",
}
#: Where a site's submissions may go: every destination but the citizens' notices.
SITE_DESTINATIONS: tuple[str, ...] = tuple(d for d in DESTINATIONS if d not in NOTICE_DESTINATIONS)
