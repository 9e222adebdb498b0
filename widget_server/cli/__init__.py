"""The ``phanhoi-widget`` commands."""

from widget_server.cli.commands import init_app, main

__all__ = ["init_app", "main"]
