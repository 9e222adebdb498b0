"""``phanhoi-widget serve`` starts gunicorn on the app, with migrations applied."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_and_stops_on_sigterm(app_config, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update({
        "PHANHOI_SECRET_KEY": app_config["SECRET_KEY"],
        "PHANHOI_DATABASE_URL": app_config["DATABASE_URL"],
        "PHANHOI_PUBLIC_URL": f"http://127.0.0.1:{port}",
    })
    exe = Path(sys.executable).parent / "phanhoi-widget"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--workers", "1"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or listening while the worker still imports the app.
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert ready.json() == {"status": "ready"}
        # The access log must not carry query strings: lookups have ?contact= in them.
        requests.get(f"http://127.0.0.1:{port}/api/v1/submissions/PH-0000-00000",
                     params={"contact": "0912345678"}, timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    log = out.decode()
    assert proc.returncode == 0, log
    assert "/api/v1/submissions/PH-0000-00000" in log
    assert "0912345678" not in log
