"""A site's theme: its colour, checked for WCAG 2.2 contrast before it reaches any CSS, and its logo."""

from __future__ import annotations

import re
from typing import Any

# A logo is a small image carried in the theme itself (``data:``): the pages load nothing
# from anywhere else (their CSP says img-src 'self' data:), so no third party sees a reader.
LOGO = re.compile(r"^data:image/(?:png|jpeg|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$")
LOGO_MAX_CHARS = 48 * 1024
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
# WCAG 2.2 SC 1.4.3: white text on the accent (buttons) and accent text on white.
MIN_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def contrast_with_white(colour: str) -> float | None:
    """WCAG contrast ratio of ``#rgb[a]``/``#rrggbb[aa]`` (over white) against white, or None."""
    if not isinstance(colour, str) or not HEX_COLOUR.match(colour):
        return None
    rgb = _opaque(colour)
    lum = 0.2126 * _channel(rgb[0]) + 0.7152 * _channel(rgb[1]) + 0.0722 * _channel(rgb[2])
    return 1.05 / (lum + 0.05)


def _opaque(colour: str) -> tuple[int, int, int]:
    digits = colour[1:]
    if len(digits) in {3, 4}:
        digits = "".join(ch * 2 for ch in digits)
    r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
    # The pages are white, so a translucent accent is what it looks like over white.
    return tuple(round(c * alpha + 255 * (1 - alpha)) for c in (r, g, b))  # type: ignore[return-value]


def theme_accent(theme: Any) -> str | None:
    """The site's accent as ``#rrggbb`` when it is a valid colour with 4.5:1 against white."""
    accent = theme.get("accent") if isinstance(theme, dict) else None
    if not isinstance(accent, str):
        return None
    ratio = contrast_with_white(accent)
    if ratio is None or ratio < MIN_CONTRAST:
        return None
    return "#{:02x}{:02x}{:02x}".format(*_opaque(accent))


def theme_logo(theme: Any) -> str | None:
    """The site's logo as a ``data:`` URL, when it is a small PNG, JPEG, WebP or SVG image."""
    logo = theme.get("logo") if isinstance(theme, dict) else None
    if not isinstance(logo, str) or len(logo) > LOGO_MAX_CHARS or not LOGO.match(logo):
        return None
    return logo
