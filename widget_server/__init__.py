"""Phản hồi Widget relay: intake, forwarding and status lookup for citizens' feedback."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

__version__ = "0.1.0"
__all__ = ["create_app", "__version__"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The relay application: defaults, then ``PHANHOI_*`` environment, then ``test_config``."""
    # Pages render from web/templates; the widget's static files are served by web/assets.py.
    # PHANHOI_INSTANCE_PATH moves the instance folder (SQLite file, attachments, demo secrets)
    # for the demo and every other command alike, so they share one database.
    instance = os.environ.get("PHANHOI_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, static_folder=None, template_folder="web/templates",
                instance_path=os.path.abspath(instance) if instance else None)
    from widget_server import config

    config.load(app, test_config)
    from widget_server import settings_check

    if not app.config.get("TESTING"):
        settings_check.check(app.config)
    app.config["LOG_LEVEL"] = settings_check.log_level(app.config["LOG_LEVEL"])
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.getLogger("widget_server").setLevel(app.config["LOG_LEVEL"])

    from widget_server.store import db
    from widget_server.web import api, assets, open311, openapi, pages, problems

    from widget_server import notify

    db.init_app(app)
    notify.init_app(app)
    problems.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(open311.bp)
    from widget_server.web import console

    console.init_app(app)
    app.cli = _commands_when_asked(app)

    from widget_server.web import compress, limits, security

    limits.init_app(app)
    security.init_app(app)
    compress.init_app(app)  # HTML pages gzip/br; the other after_request hooks only set headers
    return app


def _commands_when_asked(app: Flask) -> Any:
    """``app.cli`` with the relay's commands (``flask --app widget_server …``, the CLI runner)
    imported when a command line first asks for one: a web worker never loads the delivery
    worker, the demo or the HTTP client they use (about 5 MB of a gunicorn worker's memory)."""
    from flask.cli import AppGroup

    class Commands(AppGroup):
        loaded = False

        def _load(self) -> None:
            if not self.loaded:
                self.loaded = True
                from widget_server.cli import commands

                commands.init_app(app)

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            self._load()
            return super().get_command(ctx, cmd_name)

        def list_commands(self, ctx: Any) -> list[str]:
            self._load()
            return super().list_commands(ctx)

    group = Commands(name=app.cli.name)
    for command in app.cli.commands.values():  # any added before, by an extension
        group.add_command(command)
    return group
