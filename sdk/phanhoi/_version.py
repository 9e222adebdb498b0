"""Single source of the SDK version (used in ``User-Agent`` and the embed manifest check)."""

__version__ = "0.1.0"
