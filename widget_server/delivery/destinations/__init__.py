"""Where the outbox delivers: adapters behind one small interface (see ``base``).

``central`` speaks this project's forward protocol (Standard Webhooks over HTTP);
``open311`` speaks Open311 GeoReport v2 to city back-ends. A site picks one by
name (``phanhoi-widget sites add … --destination open311``); the names and their
classes are registered in ``widget_server.vocab.DESTINATIONS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, cast

from widget_server.delivery.destinations.base import Destination, Event, Result
from widget_server.vocab import DESTINATIONS

__all__ = ["Destination", "Event", "Result", "UnknownDestinationError", "build"]


class UnknownDestinationError(LookupError):
    """No adapter is configured under this name."""


def build(name: str, config: Mapping[str, Any]) -> Destination:
    """The adapter for a destination name (``sites.destination``), from the app's settings."""
    target = DESTINATIONS.get(name)
    if target is None:
        raise UnknownDestinationError(name)
    module, _, cls = target.partition(":")
    adapter = getattr(importlib.import_module(module), cls)
    return cast(Destination, adapter.from_config(config))
