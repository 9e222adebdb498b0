from __future__ import annotations

import time
from collections.abc import Iterator

import phanhoi._http
import pytest
import responses


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PHANHOI_BASE_URL",
        "PHANHOI_SITE_KEY",
        "PHANHOI_SITE_SECRET",
        "PHANHOI_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Pin the backoff (attempt n waits 0.1 * (n + 1) s) and record waits instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(phanhoi._http, "_backoff", lambda attempt: 0.1 * (attempt + 1))
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps
