"""The committed build (static/widget/build/) is what the sources build to today.

esbuild is pinned in package-lock.json, so a rebuild is byte-for-byte reproducible:
a difference means someone changed a source and did not run ``make widget``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from widget_server.web import assets

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_committed_build_is_not_stale(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "esbuild").is_dir():
        pytest.fail("Node.js and node_modules are needed to check the widget build: run `make setup`")
    out = tmp_path / "build"
    subprocess.run([node, str(ROOT / "static" / "widget" / "build.mjs"), "--outdir", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    fresh, committed = _files(out), _files(assets.build_dir())
    assert sorted(fresh) == sorted(committed), "the build's file list changed: run `make widget`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"static/widget/build is stale for {stale}: run `make widget` and commit it"

