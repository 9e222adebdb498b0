"""What a web worker imports: neither the CLI's commands nor an HTTP client (a gunicorn worker's
memory; bench/README.md, "PostgreSQL round trips"). Each check runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

_APP = """
import json, sys
from widget_server import create_app
app = create_app(json.loads(sys.argv[1]))
with app.test_client() as c:
    assert c.get("/healthz").status_code == 200
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("requests", "urllib3")
                        or m.startswith("widget_server.cli") or m.startswith("widget_server.delivery.worker"))))
"""


def _loaded(code: str, *args: str) -> list[str]:
    import json

    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_web_worker_loads_no_http_client_and_no_cli(app_config: dict[str, Any], tmp_path: Path) -> None:
    import json

    assert _loaded(_APP, json.dumps(app_config)) == []


def test_the_sdk_verifies_webhooks_without_an_http_client() -> None:
    code = ("import json, sys, phanhoi.webhooks, phanhoi.statuses, phanhoi.embed, phanhoi.models\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'requests')))")
    assert _loaded(code) == []


def test_the_sdk_names_still_load_on_first_use() -> None:
    code = ("import json, phanhoi\n"
            "missing = [n for n in phanhoi.__all__ if getattr(phanhoi, n, None) is None]\n"
            "from phanhoi import Client, EventSender, verify_headers\n"
            "print(json.dumps(missing + sorted(set(phanhoi.__all__) - set(dir(phanhoi)))))")
    assert _loaded(code) == []


def test_the_relay_commands_are_there_when_a_command_line_asks(runner: Any) -> None:
    result = runner.invoke(args=["--help"])
    assert result.exit_code == 0, result.output
    for name in ("db", "sites", "worker", "outbox", "serve", "users"):
        assert f"  {name} " in result.output, result.output
