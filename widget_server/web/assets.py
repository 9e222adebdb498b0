"""The widget's static files, with ETags, cache lifetimes and versioned names.

What is served is the build output, ``static/widget/build/`` (esbuild's minified
files, made by ``make widget`` from the readable sources beside it and committed),
held in memory with its gzip and brotli forms.

``/static/widget/loader.js`` is the stable URL partners paste once, so it is
cached briefly (``max-age=300``) and revalidated by ETag. Every file also has a
content-addressed name, ``loader.<hash10>.js``, cached for a year as
``immutable``; ``manifest.json`` maps stable names to versioned ones and gives
the loader's Subresource Integrity hash for pinned embeds.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import mimetypes
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, request

import widget_server

bp = Blueprint("assets", __name__)

SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"
_VERSIONED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<ext>\.[a-z0-9]+)$")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}


def widget_dir() -> Path:
    """Installed wheels carry the files inside the package; a checkout keeps them at the root."""
    packaged = Path(widget_server.__file__).parent / "static" / "widget"
    if packaged.is_dir():
        return packaged
    return Path(widget_server.__file__).resolve().parent.parent / "static" / "widget"


def build_dir() -> Path:
    """The files browsers get: the minified build, never the sources."""
    return widget_dir() / "build"


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    gzip: bytes
    brotli: bytes | None
    hash10: str
    integrity: str
    mtime_ns: int

    @property
    def versioned(self) -> str:
        stem, dot, ext = self.name.rpartition(".")
        return f"{stem}.{self.hash10}.{ext}" if dot else f"{self.name}.{self.hash10}"


_cache: dict[str, Asset] = {}
_lock = threading.Lock()


def _compress_br(body: bytes) -> bytes | None:
    try:
        import brotli  # type: ignore[import-untyped]
    except ImportError:  # brotli is optional at run time; gzip always works
        return None
    return brotli.compress(body, quality=11)


# Files already read are answered from memory; the disk is looked at again at most once a
# second per file (a rebuilt widget is served within that second, with its new hash).
RECHECK_SECONDS = 1.0
_checked: dict[str, float] = {}


def get_asset(name: str) -> Asset | None:
    """The built file, re-read when it changes on disk (looked at at most once a second)."""
    now = time.monotonic()
    cached = _cache.get(name)
    if cached is not None and now - _checked.get(name, float("-inf")) < RECHECK_SECONDS:
        return cached
    asset = _load(name)
    if asset is not None:
        _checked[name] = now
    return asset


def _load(name: str) -> Asset | None:
    root = build_dir().resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file() or path.suffix == ".md":
        return None
    mtime = path.stat().st_mtime_ns
    cached = _cache.get(name)
    if cached and cached.mtime_ns == mtime:
        return cached
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    asset = Asset(
        name=name,
        body=body,
        gzip=gzip.compress(body, compresslevel=9, mtime=0),
        brotli=_compress_br(body),
        hash10=digest[:10],
        integrity="sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode(),
        mtime_ns=mtime,
    )
    with _lock:
        _cache[name] = asset
    return asset


def _all_names() -> list[str]:
    root = build_dir()
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != "manifest.json" and not p.name.startswith(".")
        and p.suffix != ".md"
    )


def versioned_url(name: str) -> str:
    """``form.js`` → ``/static/widget/form.<hash10>.js`` for pages that link our files."""
    asset = get_asset(name)
    if asset is None:
        return f"/static/widget/{name}"
    return f"/static/widget/{asset.versioned}"


def manifest() -> dict:
    files = {}
    for name in _all_names():
        asset = get_asset(name)
        if asset:
            files[name] = {"path": asset.versioned, "integrity": asset.integrity,
                           "bytes": len(asset.body)}
    loader = get_asset("loader.js")
    return {
        "version": loader.hash10 if loader else None,
        "loader": loader.versioned if loader else None,
        "integrity": loader.integrity if loader else None,
        "files": files,
    }


def _respond(body: bytes, content_type: str, etag: str, cache: str,
             *, gz: bytes | None = None, br: bytes | None = None) -> Response:
    encoding = None
    accepted = request.accept_encodings
    if br is not None and accepted["br"]:
        body, encoding = br, "br"
    elif gz is not None and accepted["gzip"]:
        body, encoding = gz, "gzip"
    # One representation per encoding, so each gets its own validator (RFC 9110 §8.8.3).
    tag = f"{etag}-{encoding}" if encoding else etag
    headers = {
        "Cache-Control": cache,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # News sites load the loader cross-origin; pinned embeds use SRI, which needs CORS.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.if_none_match.contains_weak(tag) or request.if_none_match.star_tag:
        resp = Response(status=304, headers=headers)
        resp.set_etag(tag)
        return resp
    resp = Response(body, content_type=content_type, headers=headers)
    if encoding:
        resp.headers["Content-Encoding"] = encoding
    resp.set_etag(tag)
    return resp


@bp.get("/static/widget/manifest.json")
def manifest_json() -> Response:
    body = json.dumps(manifest(), ensure_ascii=False, sort_keys=True).encode()
    etag = hashlib.sha256(body).hexdigest()[:16]
    return _respond(body, "application/json", etag, SHORT_CACHE)


@bp.get("/static/widget/<path:filename>")
def widget_file(filename: str) -> Response:
    cache = SHORT_CACHE
    asset = get_asset(filename)
    if asset is None:
        match = _VERSIONED.match(filename)
        if match is None:
            abort(404)
        stem = match["stem"]
        asset = get_asset(stem + match["ext"])
        # Only the current version is kept; an old hash is a miss, not a wrong file.
        if asset is None or asset.hash10 != match["hash"]:
            abort(404)
        cache = LONG_CACHE
    suffix = Path(asset.name).suffix
    ctype = _TYPES.get(suffix) or mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    return _respond(asset.body, ctype, asset.hash10, cache, gz=asset.gzip, br=asset.brotli)
