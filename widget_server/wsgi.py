"""WSGI entry point: ``gunicorn widget_server.wsgi:app``."""

from widget_server import create_app

app = create_app()
