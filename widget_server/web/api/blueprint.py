"""The ``/api/v1`` blueprint the resource modules register their routes on."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
