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


from tests.helpers import free_port as _free_port


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
        # gunicorn's arbiter accepts connections before its worker has imported the app:
        # until then a request may be refused, time out or be dropped. All of those mean
        # "not yet"; only a process that exited is a failure.
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                if ready.status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        assert ready.json() == {"status": "ready"}
        # The access log carries no query strings: an old client's lookup has ?contact= in it.
        requests.get(f"http://127.0.0.1:{port}/api/v1/submissions/PH-0000-00000",
                     params={"contact": "0912345678"}, timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    log = out.decode()
    assert proc.returncode == 0, log
    assert "/api/v1/submissions/PH-0000-00000" in log
    assert "0912345678" not in log
    # No control socket in the user's home: one path for every `serve` of the user (gunicorn 27).
    assert "Control socket" not in log and "gunicorn.ctl" not in log, log


def _ended(proc: subprocess.Popen) -> str:
    """What a serve that should stop by itself printed (killed after a minute if it does not)."""
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return out.decode()


def _serve(app_config: dict, tmp_path: Path, port: int, *args: str, **env_extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update({
        "PHANHOI_SECRET_KEY": app_config["SECRET_KEY"],
        "PHANHOI_DATABASE_URL": app_config["DATABASE_URL"],
        "PHANHOI_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **env_extra,
    })
    exe = Path(sys.executable).parent / "phanhoi-widget"
    return subprocess.Popen([str(exe), "serve", "--port", str(port), *args], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_ready(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)


@pytest.mark.slow
def test_a_newline_in_a_path_does_not_forge_an_access_log_line(app_config, tmp_path):
    port = _free_port()
    proc = _serve(app_config, tmp_path, port, "--workers", "1")
    forged = '127.0.0.1 "GET /admin/forged" 200 0 0.000001s'
    try:
        _wait_ready(proc, port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            path = "/nope%0d%0a" + forged.replace(" ", "%20").replace('"', "%22")
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            while sock.recv(65536):
                pass
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    lines = out.decode().splitlines()
    assert any("/nope" in line for line in lines), lines
    assert not any(line.startswith(forged) for line in lines), lines
    assert any("/nope\\x0d\\x0a127.0.0.1" in line for line in lines), lines


@pytest.mark.parametrize("storage", ["memory://"])
def test_serve_refuses_several_workers_with_limits_in_process_memory(app_config, tmp_path, storage):
    """N workers on memory:// would each count alone: N times every limit. Refused, with the fix."""
    port = _free_port()
    proc = _serve(app_config, tmp_path, port, "--workers", "2", PHANHOI_RATELIMIT_STORAGE_URI=storage)
    log = _ended(proc)
    assert proc.returncode != 0, log
    assert "PHANHOI_RATELIMIT_STORAGE_URI" in log and "--workers 1" in log


def test_serve_refuses_a_limit_store_that_does_not_answer(app_config, tmp_path):
    """A Redis out of reach started the relay with every rate limit silently off (the limiter lets
    requests through when its store fails); now one line naming the setting, never its password."""
    port, dead = _free_port(), _free_port()
    proc = _serve(app_config, tmp_path, port, "--workers", "2",
                  PHANHOI_RATELIMIT_STORAGE_URI=f"redis://:mat-khau-redis@127.0.0.1:{dead}/0")
    log = _ended(proc)
    assert proc.returncode == 1, log
    last = log.strip().splitlines()[-1]
    assert last.startswith("Error: Kho giới hạn tần suất không trả lời"), log  # Vietnamese first
    assert f"redis://127.0.0.1:{dead}/0" in last and "PHANHOI_RATELIMIT_STORAGE_URI" in last
    assert "mat-khau-redis" not in log and "Traceback" not in log and "Listening at" not in log


@pytest.mark.slow
@pytest.mark.redis
def test_serve_runs_several_workers_on_a_shared_limit_store(app_config, tmp_path):
    """With Redis the workers share one count: 2 workers allow the documented 3 lookups, not 6."""
    port = _free_port()
    import uuid

    proc = _serve(app_config, tmp_path, port, "--workers", "2",
                  PHANHOI_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
                  PHANHOI_RATELIMIT_LOOKUP="3 per minute", PHANHOI_RATELIMIT_KEY_PREFIX="t" + uuid.uuid4().hex)
    try:
        _wait_ready(proc, port)
        codes = []
        for _ in range(8):
            # A fresh connection each time, so gunicorn spreads them over both workers.
            with requests.Session() as s:
                r = s.post(f"http://127.0.0.1:{port}/api/v1/submissions/PH-0000-00000/lookup",
                           json={"contact": "0912345678"}, timeout=5)
            codes.append(r.status_code)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert codes.count(404) == 3 and codes.count(429) == 5, (codes, out.decode()[-2000:])


@pytest.mark.slow
def test_serve_answers_503_when_the_store_stays_locked(app_config, database_url, submission_body, site, tmp_path):
    """A store locked by another session past the wait: gunicorn's worker answers 503 with
    Retry-After (the worker's timeout is longer than the wait), and goes on serving."""
    from tests.helpers import store_locked

    port = _free_port()
    proc = _serve(app_config, tmp_path, port, "--workers", "1")
    headers = {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "served-locked"}
    url = f"http://127.0.0.1:{port}/api/v1/submissions"
    try:
        _wait_ready(proc, port)
        with store_locked(database_url, release_after=45):
            started = time.monotonic()
            refused = requests.post(url, json=submission_body, headers=headers, timeout=60)
            waited = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        # PHANHOI_STORE_WAIT_SECONDS (10 s), with room to spare before the worker's timeout: a
        # wait as long as the timeout (30 s each) let gunicorn kill the worker first, racing it.
        assert waited < 20, waited
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.headers["Retry-After"] == "30"
        stored = requests.post(url, json=submission_body, headers=headers, timeout=30)
        assert stored.status_code == 201, stored.text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "WORKER TIMEOUT" not in out.decode()
