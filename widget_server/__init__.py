"""Phản hồi Widget relay: intake, forwarding and status lookup for citizens' feedback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

__version__ = "0.1.0"
__all__ = ["create_app", "__version__"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The relay application: defaults, then ``PHANHOI_*`` environment, then ``test_config``."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    from . import config

    config.load(app, test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.getLogger("widget_server").setLevel(app.config["LOG_LEVEL"])

    from . import api, assets, cli, db, openapi, pages, problems, stats

    db.init_app(app)
    problems.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(stats.bp)
    cli.init_app(app)

    from . import altcha_pow, attachments, limits, security

    attachments.init_app(app)
    altcha_pow.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    return app
