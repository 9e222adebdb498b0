"""Fixtures of the reference central system's tests: the app on a fresh SQLite file, its
client and secrets."""

from __future__ import annotations

import pytest
from phanhoi.webhooks import generate_secret

import central_system

RELAY = "http://relay.test"


@pytest.fixture
def secrets_():
    return {"intake": generate_secret(), "events": generate_secret()}


@pytest.fixture
def central(tmp_path, secrets_):
    app = central_system.create_app({
        "DATABASE": str(tmp_path / "central.sqlite3"),
        "SECRET_KEY": "test-secret-key-for-the-central-app",
        "INTAKE_SECRET": secrets_["intake"],
        "EVENTS_SECRET": secrets_["events"],
        "RELAY_URL": RELAY,
        "EVENT_RETRIES": 0,
        "TESTING": True,
    })
    return app


@pytest.fixture
def client(central):
    return central.test_client()
