"""A reference central system ("Hệ thống Phản hồi Thanh Hóa", in miniature).

It is the far side of the relay's forward protocol, small enough to read in one
sitting and complete enough to run the whole chain locally (``phanhoi-widget
demo``) and in end-to-end tests:

* ``POST /intake/v1/submissions`` and ``/intake/v1/events`` — Standard Webhooks
  verified, duplicates dropped by ``webhook-id``, answered ``{central_id, status}``;
* ``GET /intake/v1/reference`` — categories and agencies;
* ``/`` and ``/submissions/<central_id>`` — a Vietnamese operator page that
  accepts, rejects, answers and publishes, sending signed
  ``submission.status_changed`` events back to the relay;
* ``/results`` — "Công khai kết quả": results published with edited public text
  (``result.published``), also for PAKN that never came through the relay, and
  withdrawn (``result.withdrawn``).

Settings (``create_app`` mapping, or ``CENTRAL_*`` environment variables):
``DATABASE`` (SQLite path), ``SECRET_KEY`` (signs the operator forms' CSRF
tokens), ``INTAKE_SECRET`` (``whsec_…`` shared with the relay's
``PHANHOI_CENTRAL_SECRET``), ``EVENTS_SECRET`` (``whsec_…``, the relay's
``PHANHOI_CENTRAL_EVENTS_SECRET``), ``RELAY_URL``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE=None,
        SECRET_KEY=None,
        INTAKE_SECRET=None,
        EVENTS_SECRET=None,
        RELAY_URL="http://127.0.0.1:5000",
        EVENT_TIMEOUT=(3.0, 10.0),
        EVENT_RETRIES=2,
        DEADLINE_DAYS=17,
    )
    app.config.from_prefixed_env("CENTRAL")
    if config:
        app.config.update(config)
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("central_system needs SECRET_KEY (it signs the operator forms)")
    if not app.config["DATABASE"]:
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE"] = os.path.join(app.instance_path, "central.sqlite3")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from . import intake, operator, publish, store

    store.init(app.config["DATABASE"])
    app.teardown_appcontext(operator.close_db)
    app.register_blueprint(intake.bp)
    app.register_blueprint(operator.bp)
    app.register_blueprint(publish.bp)

    @app.after_request
    def _headers(resp: Response) -> Response:
        # Everything is served from here: no external assets, never framed.
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'",
        )
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        return resp

    return app
