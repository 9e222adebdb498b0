"""The ``/console`` blueprint the console's page modules register their routes on."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
