"""``phanhoi-widget demo``: the central system publishes a few results at start, and the board,
scoreboard, feed and Open311 view show them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from tests.server.test_demo import launch, stop, wait_for


@pytest.mark.slow
def test_demo_shows_published_results(tmp_path: Path) -> None:
    proc, port = launch(tmp_path)
    relay = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(relay + "/api/v1/results", timeout=5).json()["total"] >= 4, proc=proc)
        key = json.loads((tmp_path / "demo-secrets.json").read_text())["site_key"]
        board = requests.get(f"{relay}/p/{key}", timeout=5)
        assert board.status_code == 200 and "Đèn chiếu sáng hỏng" in board.text
        scores = requests.get(f"{relay}/p/{key}/scoreboard", timeout=5).text
        assert "Thuế tỉnh" in scores and "<meter" in scores
        feed = ET.fromstring(requests.get(f"{relay}/p/{key}/feed.atom", timeout=5).content)
        assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) >= 4
        assert len(requests.get(f"{relay}/open311/v2/requests.json", timeout=5).json()) >= 4
    finally:
        output = stop(proc)
    assert proc.returncode == 0, output.decode()
    assert f"/p/{key}/feed.atom" in output.decode()
