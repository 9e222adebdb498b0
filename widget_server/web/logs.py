"""Log lines that cannot be forged: control characters in what a client sent are escaped.

A path is percent-decoded before it is logged, so ``/x%0a127.0.0.1 "GET /admin" 200``
would otherwise write a second, genuine-looking line. Every control character (and the
backslash that introduces the escapes) is written as ``\\xNN`` instead: in gunicorn's
access log (``serve`` passes :class:`AccessLogger`) and in the relay's own log records.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def escape(value: str) -> str:
    """``/a\\nb`` → ``/a\\x0ab``: one log record stays one line."""
    return _CONTROL.sub(lambda m: "\\\\" if m.group() == "\\" else f"\\x{ord(m.group()):02x}", value)


class EscapeFilter(logging.Filter):
    """Escapes control characters in a record's arguments (paths, header values)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(escape(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: escape(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


class AccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with every access-log atom escaped (``serve --logger-class``)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return {k: escape(v) if isinstance(v, str) else v
                for k, v in super().atoms(resp, req, environ, request_time).items()}


def init_app(app: Any) -> None:
    for logger in (app.logger, logging.getLogger("werkzeug"), logging.getLogger("widget_server")):
        if not any(isinstance(f, EscapeFilter) for f in logger.filters):
            logger.addFilter(EscapeFilter())
