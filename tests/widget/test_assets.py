"""Serving the widget's files: ETags, cache lifetimes, versioned names, manifest, budgets."""

from __future__ import annotations

import base64
import gzip
import hashlib
from typing import Any

import pytest

from widget_server.web import assets


def test_loader_is_short_cached_with_etag(client: Any) -> None:
    resp = client.get("/static/widget/loader.js")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["ETag"]
    again = client.get("/static/widget/loader.js", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    # A proxy's weakened copy of the tag still matches (If-None-Match compares weakly).
    weak = client.get("/static/widget/loader.js", headers={"If-None-Match": "W/" + resp.headers["ETag"]})
    assert weak.status_code == 304


def test_manifest_points_at_an_immutable_versioned_loader(client: Any) -> None:
    manifest = client.get("/static/widget/manifest.json").get_json()
    assert len(manifest["version"]) == 10
    assert manifest["loader"] == f"loader.{manifest['version']}.js"
    assert set(manifest["files"]) >= {"loader.js", "form.js", "form.css"}
    resp = client.get("/static/widget/" + manifest["loader"])
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    digest = base64.b64encode(hashlib.sha384(resp.data).digest()).decode()
    assert manifest["integrity"] == "sha384-" + digest
    assert resp.data == client.get("/static/widget/loader.js").data
    etag = resp.headers["ETag"]
    assert client.get("/static/widget/" + manifest["loader"],
                      headers={"If-None-Match": etag}).status_code == 304


def test_manifest_revalidates(client: Any) -> None:
    resp = client.get("/static/widget/manifest.json")
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/static/widget/manifest.json", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_compressed_representations(client: Any, encoding: str) -> None:
    plain = client.get("/static/widget/loader.js")
    resp = client.get("/static/widget/loader.js", headers={"Accept-Encoding": encoding})
    assert resp.headers["Content-Encoding"] == encoding
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["ETag"] != plain.headers["ETag"]
    if encoding == "gzip":
        assert gzip.decompress(resp.data) == plain.data


@pytest.mark.parametrize(
    "path",
    [
        "/static/widget/loader.0000000000.js",
        "/static/widget/nope.js",
        "/static/widget/../../pyproject.toml",
        "/static/widget/%2e%2e/%2e%2e/pyproject.toml",
        "/static/widget/README.md",
    ],
)
def test_misses_are_404(client: Any, path: str) -> None:
    assert client.get(path).status_code == 404


def test_served_files_are_the_committed_build(client: Any) -> None:
    """The relay serves esbuild's output byte for byte: no rewriting on the way out."""
    build = assets.build_dir()
    for name in ("loader.js", "dialog.js", "form.js", "form.css", "altcha.js", "demo/demo.css"):
        assert client.get(f"/static/widget/{name}").data == (build / name).read_bytes(), name
    # The readable sources are not served.
    assert client.get("/static/widget/banner.css").status_code == 404
    assert client.get("/static/widget/build.mjs").status_code == 404


def _served_gzip(client: Any, *names: str) -> int:
    total = 0
    for name in names:
        resp = client.get(f"/static/widget/{name}", headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip", name
        total += len(resp.data)
    return total


def test_budgets_on_served_compressed_bytes(client: Any, site: Any) -> None:
    loader = _served_gzip(client, "loader.js")
    assert loader <= 4096, f"loader.js: {loader} B gzip > 4096 B"
    dialog = loader + _served_gzip(client, "dialog.js")
    assert dialog <= 6 * 1024 + 64, f"loader.js + dialog.js: {dialog} B gzip > 6 KB + 64 B"
    form = _served_gzip(client, "form.js", "form.css")
    assert form <= 12 * 1024, f"form page: {form} B gzip > 12 KB"
    altcha = form + _served_gzip(client, "altcha.js")
    assert altcha <= 12 * 1024, f"form page with ALTCHA: {altcha} B gzip > 12 KB"
    # The page itself counts too (issue 10, item 6): served compressed, within its own budget.
    page = client.get(f"/w/{site[0].key}/form", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert len(page.data) <= 9 * 1024, f"form page HTML: {len(page.data)} B gzip > 9 KB"
    assert len(page.data) + form <= 20 * 1024, f"form page, all of it: {len(page.data) + form} B gzip > 20 KB"


def test_bench_report_agrees_with_the_budgets() -> None:
    from bench.widget_size import report

    data = report()
    for label, group in data["budgets"].items():
        assert group["ok"], f"{label}: {group['gzip']} B gzip > {group['budget_gzip']} B"
