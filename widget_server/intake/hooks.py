"""Extension points: where a layer above intake (``widget_server.notify``) joins intake's work.

Intake never imports the layers above it; they register here, per app, and intake
calls what is registered at the right moment, inside its own transaction where it
has one. Each hook list is empty until a layer registers (``notify.init_app``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy.engine import Connection

#: (site, cleaned submission) → raise ``marshmallow.ValidationError`` to refuse it.
Validator = Callable[[Any, dict[str, Any]], None]
#: (conn, site, cleaned submission, stored row) inside the submission's transaction.
OnSubmission = Callable[[Connection, Any, dict[str, Any], dict[str, Any]], None]
#: (conn, submission row before the change, new status, now) inside the status event's transaction.
OnStatus = Callable[[Connection, Any, str, dt.datetime], None]
#: (conn, submission id, now) inside the transaction that redacts a submission's personal data.
OnRedact = Callable[[Connection, str, dt.datetime], None]
#: (site) → entries added to the site's public config.
ConfigPart = Callable[[Any], dict[str, Any]]


def writes_when(predicate: Callable[[dict[str, Any]], bool]) -> Callable[[OnSubmission], OnSubmission]:
    """Declares when an ``on_submission`` hook writes: only for the cleaned submissions
    ``predicate`` accepts; it is called for those alone. A submission no hook writes for is
    stored on PostgreSQL by one statement that commits by itself (``submissions.py``,
    ``at_once.py``); a hook without this declaration is called for every submission, inside
    its transaction."""

    def mark(hook: OnSubmission) -> OnSubmission:
        hook.phanhoi_writes_when = predicate  # type: ignore[attr-defined]
        return hook

    return mark


@dataclass
class Hooks:
    validators: list[Validator] = field(default_factory=list)
    on_submission: list[OnSubmission] = field(default_factory=list)
    on_status: list[OnStatus] = field(default_factory=list)
    on_redact: list[OnRedact] = field(default_factory=list)
    config: list[ConfigPart] = field(default_factory=list)

    def for_submission(self, data: dict[str, Any]) -> list[OnSubmission]:
        """The ``on_submission`` hooks to run for this cleaned submission: those that may write
        for it (``writes_when``). When there are none, PostgreSQL stores it by one statement
        that commits by itself."""
        return [hook for hook in self.on_submission if getattr(hook, "phanhoi_writes_when", _always)(data)]


def _always(_data: dict[str, Any]) -> bool:
    return True


def of(app: Flask) -> Hooks:
    """The app's hooks, created on first use."""
    return app.extensions.setdefault("phanhoi_hooks", Hooks())  # type: ignore[no-any-return]


def current() -> Hooks:
    """The current app's hooks; none outside an app context."""
    return of(current_app) if has_app_context() else Hooks()
