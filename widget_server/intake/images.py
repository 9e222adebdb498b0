"""Photos: decoded within a memory bound and encoded again, so nothing but pixels is kept.

A phone photo is at most 24 megapixels (48- and 50-megapixel sensors save 12 or 24 by
default), so larger images are refused from their header, before any decoding, and a
request may carry at most :data:`MAX_REQUEST_PIXELS` in all. JPEGs are decoded at a
reduced scale (libjpeg's DCT scaling, Pillow's ``draft``) straight to the size kept;
PNG and WebP, which cannot be decoded partly, get a lower limit. Everything is kept
at most :data:`MAX_SIDE` pixels on its long side: enough to read a street sign. A
multi-picture JPEG (MPO) is kept as its first picture, limits applied to it; an
animated PNG or WebP is refused.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = {"jpeg": 24_000_000, "png": 12_000_000, "webp": 12_000_000}
# Declared pixels of all images in one submission: five 12-megapixel photos.
MAX_REQUEST_PIXELS = 60_000_000
MAX_SIDE = 3072
FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError,
           Image.DecompressionBombWarning)


class TooManyPixels(Exception):
    pass


class BadImage(Exception):
    pass


def pixels(data: bytes, kind: str) -> int:
    """Width × height from the header (nothing decoded), or :class:`TooManyPixels`/:class:`BadImage`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[FORMATS[kind]]) as im:
                width, height = im.size
                # A phone's multi-picture JPEG (MPO: a depth map, a second view) is kept as its
                # first picture, the photo itself; the others are never decoded.
                frames = 1 if im.format == "MPO" else getattr(im, "n_frames", 1)
    except _ERRORS as exc:
        if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            raise TooManyPixels() from exc
        raise BadImage() from exc
    if width * height > MAX_PIXELS[kind] or frames > 1:
        raise TooManyPixels() if frames == 1 else BadImage()
    return width * height


def reencode(data: bytes, kind: str) -> bytes:
    """The photo upright, at most :data:`MAX_SIDE` on its long side, without EXIF or trailing bytes."""
    pixels(data, kind)
    fmt = FORMATS[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                if kind == "jpeg":
                    # Decode at 1/2, 1/4 or 1/8 scale when that still covers MAX_SIDE.
                    im.draft("RGB", (MAX_SIDE, MAX_SIDE))
                im.load()
                # Apply the EXIF orientation before EXIF is dropped, so photos stay upright.
                clean = ImageOps.exif_transpose(im).copy()
    except _ERRORS as exc:
        raise BadImage() from exc
    clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    clean.info = {}
    out = io.BytesIO()
    if kind == "jpeg":
        if clean.mode not in {"RGB", "L"}:
            clean = clean.convert("RGB")
        clean.save(out, "JPEG", quality=88, optimize=True)
    elif kind == "png":
        if clean.mode not in {"RGB", "RGBA", "L", "LA", "P"}:
            clean = clean.convert("RGBA")
        clean.save(out, "PNG", optimize=True)
    else:
        if clean.mode not in {"RGB", "RGBA"}:
            clean = clean.convert("RGBA")
        clean.save(out, "WEBP", quality=88)
    return out.getvalue()
