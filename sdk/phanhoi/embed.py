"""Helpers for putting the widget on a page: the ``<script>`` snippet, the
full-page form URL for plain links, and QR codes for print and TV.

Every value written into HTML is escaped; a site key is data, never markup.
"""

from __future__ import annotations

import html
import io
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import PhanHoiError

if TYPE_CHECKING:  # the HTTP client is imported by the one helper that fetches
    import requests

    from . import _http

__all__ = [
    "LANGS",
    "VARIANTS",
    "Manifest",
    "embed_snippet",
    "fetch_manifest",
    "qr_svg",
    "standalone_url",
    "track_url",
]

VARIANTS = ("banner", "button", "inline")
LANGS = ("vi", "en")

# A loader file name as the relay publishes it: no path, no query.
_LOADER_NAME = re.compile(r"^loader\.[A-Za-z0-9._-]+\.js$")
_INTEGRITY = re.compile(r"^sha384-[A-Za-z0-9+/]+={0,2}$")
# A reach channel as the loader and the relay take it (else the page counts as "web").
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class Manifest:
    """``/static/widget/manifest.json``: the current versioned loader and its SRI hash."""

    __slots__ = ("integrity", "loader", "version")

    def __init__(self, version: str, loader: str, integrity: str) -> None:
        self.version = version
        self.loader = loader
        self.integrity = integrity

    def __repr__(self) -> str:
        return f"Manifest(version={self.version!r}, loader={self.loader!r})"

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        if not isinstance(data, dict):
            raise PhanHoiError("widget manifest is not a JSON object")
        version, loader, integrity = (data.get(k) for k in ("version", "loader", "integrity"))
        if not (
            isinstance(version, str) and isinstance(loader, str) and isinstance(integrity, str)
        ):
            raise PhanHoiError("widget manifest lacks version, loader or integrity")
        # Refuse anything that could point the script tag elsewhere or weaken SRI.
        if not _LOADER_NAME.match(loader):
            raise PhanHoiError(f"widget manifest has an unexpected loader name: {loader!r}")
        if not _INTEGRITY.match(integrity):
            raise PhanHoiError("widget manifest integrity is not a sha384 hash")
        return cls(version, loader, integrity)


def _relay(relay_url: str) -> str:
    parts = urlsplit(relay_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"relay_url must be an http(s) URL, got {relay_url!r}")
    return relay_url.rstrip("/")


def fetch_manifest(
    relay_url: str,
    *,
    session: requests.Session | None = None,
    timeout: _http.Timeout | None = None,
    max_retries: int | None = None,
) -> Manifest:
    """Fetch the relay's widget manifest (with the usual retries)."""
    from . import _http

    url = _relay(relay_url) + "/static/widget/manifest.json"
    own = session is None
    sess = _http.new_session() if session is None else session
    try:
        response = _http.request(
            sess, "GET", url, timeout=_http.DEFAULT_TIMEOUT if timeout is None else timeout,
            max_retries=_http.DEFAULT_MAX_RETRIES if max_retries is None else max_retries)
        try:
            data = response.json()
        except ValueError as e:
            raise PhanHoiError("widget manifest is not JSON") from e
        return Manifest.from_dict(data)
    finally:
        if own:
            sess.close()


def embed_snippet(
    relay_url: str,
    site_key: str,
    variant: str = "banner",
    lang: str = "vi",
    pin: bool = True,
    *,
    session: requests.Session | None = None,
    manifest: Manifest | None = None,
    channel: str | None = None,
) -> str:
    """The ``<script>`` tag to paste into an article template.

    With ``pin=True`` (recommended) the tag loads the versioned loader named in
    the relay's manifest with Subresource Integrity, so a changed file on the
    relay cannot run on the news site unnoticed; upgrade by regenerating the
    snippet. ``pin=False`` loads ``/static/widget/loader.js`` (always the
    newest, no integrity). Pass ``manifest`` to skip the network call. ``channel``
    (``tv``, ``radio``, ``facebook``…; the relay counts ``web`` without it) is the channel
    the reach figures count this page under."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if not site_key:
        raise ValueError("site_key is required")
    if channel is not None and not _CHANNEL.match(channel):
        raise ValueError(f"channel must be a slug (a-z, 0-9, -; at most 32), got {channel!r}")
    relay = _relay(relay_url)
    integrity: str | None = None
    if pin:
        m = manifest if manifest is not None else fetch_manifest(relay, session=session)
        src, integrity = f"{relay}/static/widget/{m.loader}", m.integrity
    else:
        src = f"{relay}/static/widget/loader.js"
    attrs = [("src", src), ("data-site", site_key), ("data-variant", variant), ("data-lang", lang)]
    if channel is not None:
        attrs.append(("data-channel", channel))
    if integrity is not None:
        attrs += [("integrity", integrity), ("crossorigin", "anonymous")]
    rendered = " ".join(f'{name}="{html.escape(value, quote=True)}"' for name, value in attrs)
    return f"<script async {rendered}></script>"


def standalone_url(relay_url: str, site_key: str, src: str | None = None) -> str:
    """The full-page form ``{relay}/s/{site_key}``, for plain links, print and QR codes.
    ``src`` tags where readers came from (``print``, ``tv``, ``facebook``…)."""
    url = f"{_relay(relay_url)}/s/{quote(site_key, safe='')}"
    if src:
        url += "?" + urlencode({"src": src})
    return url


def qr_svg(
    relay_url: str,
    site_key: str,
    src: str = "print",
    *,
    scale: int = 4,
    border: int = 4,
    title: str | None = "Phản ánh, kiến nghị",
) -> str:
    """An SVG QR code of ``standalone_url(relay_url, site_key, src)`` for print ("print")
    or TV ("tv"). Needs the optional ``segno`` dependency: ``pip install phanhoi[qr]``."""
    try:
        import segno
    except ImportError as e:
        raise PhanHoiError(
            "QR codes need the optional 'segno' package: pip install 'phanhoi[qr]'"
        ) from e
    # Error level "m" (15 %) survives smudged newsprint and TV compression.
    code = segno.make(standalone_url(relay_url, site_key, src), error="m", micro=False)
    buffer = io.BytesIO()
    # With the SVG namespace the string works both inline in HTML and saved as a .svg file.
    code.save(
        buffer,
        kind="svg",
        scale=scale,
        border=border,
        title=title,
        xmldecl=False,
        svgns=True,
        nl=False,
        encoding="utf-8",
    )
    return buffer.getvalue().decode("utf-8")


def track_url(relay_url: str, site_key: str, code: str | None = None) -> str:
    """The status lookup page ``{relay}/w/{site_key}/track``, with the tracking code
    filled in when given (the citizen still types their phone or email)."""
    if not site_key:
        raise ValueError("site_key is required")
    url = f"{_relay(relay_url)}/w/{quote(site_key, safe='')}/track"
    if code:
        url += "?" + urlencode({"code": code})
    return url
