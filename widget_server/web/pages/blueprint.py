"""The widget pages' blueprint: the framed form, the full-page form, the lookup, the demo."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)
