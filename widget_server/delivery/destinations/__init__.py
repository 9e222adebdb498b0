"""Where the outbox delivers: adapters behind one small interface (see ``base``).

``central`` speaks this project's forward protocol (Standard Webhooks over HTTP);
``open311`` speaks Open311 GeoReport v2 to city back-ends. A site picks one by
name (``phanhoi-widget sites add … --destination open311``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from widget_server.delivery.destinations.base import Destination, Event, Result

__all__ = ["Destination", "Event", "Result", "UnknownDestinationError", "build"]


class UnknownDestinationError(LookupError):
    """No adapter is configured under this name."""


def build(name: str, config: Mapping[str, Any]) -> Destination:
    """The adapter for a destination name (``sites.destination``), from the app's settings."""
    if name == "central":
        from widget_server.delivery.destinations.central import CentralDestination

        return CentralDestination.from_config(config)
    if name == "open311":
        from widget_server.delivery.destinations.open311 import Open311Destination

        return Open311Destination.from_config(config)
    raise UnknownDestinationError(name)
