"""The SDK README's central-system example, run as a province's developer would copy it:
its secrets filled in, served by Flask, fed what the relay really sends (tests/contract)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from phanhoi.webhooks import generate_secret, sign_headers

from tests.sdk import relay_fixtures

README = Path(__file__).resolve().parents[2] / "sdk" / "README.md"


@pytest.fixture
def central(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    [block] = [b for b in re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.S)
               if "IntakeReceiver(INTAKE_SECRET)" in b]
    secret = generate_secret()
    block = block.replace('INTAKE_SECRET = "whsec_…"', f'INTAKE_SECRET = "{secret}"', 1)
    block = block.replace('EVENTS_SECRET = "whsec_…"', f'EVENTS_SECRET = "{generate_secret()}"', 1)
    monkeypatch.chdir(tmp_path)  # its database, "central.sqlite3", is made where it runs
    namespace: dict[str, Any] = {"__name__": "central_readme"}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace["app"].test_client(), secret


@pytest.mark.parametrize(("name", "path"), [("submission_created", "/intake/v1/submissions"),
                                            ("submission_data_request", "/intake/v1/events")])
def test_a_redelivery_gets_the_first_answer(central: tuple[Any, str], name: str, path: str) -> None:
    """The relay retries when the first answer was lost (a timeout): "answer duplicates with
    2xx and the same body", or the relay records the delivery without the central id."""
    client, secret = central
    body = relay_fixtures.body(name)
    answers = []
    for _ in range(2):
        headers = {**sign_headers(body, secret, msg_id="msg_readme_1"), "Content-Type": "application/json"}
        r = client.post(path, data=body, headers=headers)
        answers.append((r.status_code, r.get_json()))
    assert answers[0][0] == 200 and answers[0][1]["central_id"]
    assert answers[1] == answers[0]


def test_a_forgery_is_401(central: tuple[Any, str]) -> None:
    client, _secret = central
    body = relay_fixtures.body("submission_created")
    r = client.post("/intake/v1/submissions", data=body, headers=sign_headers(body, generate_secret()))
    assert r.status_code == 401
