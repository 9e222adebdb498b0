"""``phanhoi-widget demo`` end to end: start, submit, see it reach the central system, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import free_port

EXE = str(Path(sys.executable).parent / "phanhoi-widget")


def free_port_pair() -> int:
    """A port P with P+1 free too (the central system listens there); ``launch`` retries if
    something else takes one before the demo binds it."""
    return free_port(span=2)


def wait_for(predicate, timeout=60.0, proc=None):
    """Poll until ``predicate`` is true; a busy machine may answer slowly, so any request error
    (refused, timed out) only means "not yet". On timeout, say what the demo printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    printed = b"".join(proc.printed).decode(errors="replace")[-3000:] if proc is not None else ""
    raise AssertionError(f"timed out; the demo printed:\n{printed}")


def start(port: int, instance: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env["PHANHOI_INSTANCE_PATH"] = str(instance)
    proc = subprocess.Popen([EXE, "demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Read what the demo prints as it prints it: a pipe nobody reads fills up and stalls it.
    proc.printed = []  # type: ignore[attr-defined]
    proc.reader = threading.Thread(  # type: ignore[attr-defined]
        target=lambda: proc.printed.extend(iter(lambda: proc.stdout.read1(65536), b"")), daemon=True)
    proc.reader.start()
    return proc


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        proc.reader.join(5)
        proc.stdout.close()
        raise AssertionError("demo did not stop on SIGINT:\n" + b"".join(proc.printed).decode())
    proc.reader.join(5)
    proc.stdout.close()
    return b"".join(proc.printed)


def launch(instance: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the demo and wait until it answers; on a port taken meanwhile, again on another."""
    for _ in range(5):
        port = free_port_pair()
        proc = start(port, instance)
        try:
            wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok, proc=proc)
        except AssertionError:
            if proc.poll() is not None and b"in use" in b"".join(proc.printed):
                stop(proc)
                continue
            stop(proc)
            raise
        return proc, port
    raise AssertionError("no port pair the demo could bind")


@pytest.mark.slow
def test_demo_runs_the_whole_chain_and_stops_on_ctrl_c(tmp_path):
    proc, port = launch(tmp_path)
    relay, central = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    http = requests.Session()
    try:
        wait_for(lambda: http.get(central + "/", timeout=5).ok, proc=proc)
        secrets = json.loads((tmp_path / "demo-secrets.json").read_text())
        config = http.get(f"{relay}/api/v1/sites/{secrets['site_key']}/config", timeout=5).json()
        assert config["name"] == "Báo Thanh Hóa (demo)"
        body = {
            "category": config["categories"][0]["code"], "agency": None,
            "title": "Đèn đường hỏng", "content": "Ba cột đèn trước số 120 Lê Lợi không sáng.",
            "location": {"address": "120 Lê Lợi"},
            "submitter": {"name": "Nguyễn Thị Hoa", "phone": "0383456789", "email": None},
            "confidential": True, "consent": {"version": config["consent"]["version"],
                                               "accepted": True},
        }
        r = http.post(relay + "/api/v1/submissions", json=body, timeout=10, headers={
            "Authorization": f"Bearer {secrets['site_secret']}", "Idempotency-Key": "demo-1"})
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]
        wait_for(lambda: http.post(f"{relay}/api/v1/submissions/{code}/lookup",
                                   json={"contact": "0383456789"}, timeout=5
                                   ).json()["status"] == "forwarded", proc=proc)
        assert code in http.get(central + "/", timeout=5).text
        demo_page = http.get(f"http://localhost:{port}/demo", timeout=5)
        assert demo_page.status_code == 200
        sign_in = http.get(f"{relay}/console/sign-in", timeout=5)
        token = sign_in.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        signed_in = http.post(f"{relay}/console/sign-in", timeout=10, data={
            "csrf": token, "email": "quantri@phanhoi.demo", "password": secrets["console_password"]})
        assert signed_in.status_code == 200 and "Tổng quan" in signed_in.text
    finally:
        http.close()
        started = time.monotonic()
        output = stop(proc)
    assert proc.returncode == 0, output.decode()
    assert time.monotonic() - started < 20  # Ctrl-C ends it promptly (generous for a busy machine)
    text = output.decode()
    assert f"http://localhost:{port}/demo" in text and f"http://127.0.0.1:{port + 1}/" in text
    assert "0383456789" not in text
    # The demo made a province admin and says how to sign in to the console.
    assert f"http://127.0.0.1:{port}/console/" in text
    assert "quantri@phanhoi.demo" in text and secrets["console_password"] in text

    # A restart keeps the secrets, the site and the data.
    proc, port = launch(tmp_path)
    relay = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.post(
            f"{relay}/api/v1/submissions/{code}/lookup", json={"contact": "0383456789"}, timeout=5
        ).status_code == 200, proc=proc)
    finally:
        output = stop(proc)
    assert proc.returncode == 0, output.decode()
    assert json.loads((tmp_path / "demo-secrets.json").read_text()) == secrets


def _cli(instance: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    return subprocess.run([EXE, *args], env={**clean, "PHANHOI_INSTANCE_PATH": str(instance), **env},
                          capture_output=True, text=True, timeout=60, cwd=instance)


@pytest.mark.slow
def test_cli_after_the_demo_uses_the_demo_database(tmp_path):
    """Issue 10, item 15: `make demo`, then `phanhoi-widget sites list` in another terminal."""
    proc, port = launch(tmp_path)
    output = stop(proc).decode()
    # The demo says how to reach its data from the command line, with this venv's command.
    assert f"PHANHOI_INSTANCE_PATH={tmp_path} {EXE} sites list" in output
    listed = _cli(tmp_path, "sites", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Báo Thanh Hóa (demo)"]
    assert sorted(p.name for p in tmp_path.glob("*.sqlite3")) == ["central.sqlite3", "phanhoi.sqlite3"]


@pytest.mark.parametrize("command", [("sites", "list"), ("stats",)])
def test_a_database_without_tables_is_one_line_and_left_as_it_was(tmp_path, command):
    result = _cli(tmp_path, *command, PHANHOI_SECRET_KEY="k" * 40)
    assert result.returncode == 1
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "phanhoi-widget db upgrade" in lines[0], lines
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no empty database left behind


def test_a_write_to_a_database_without_tables_leaves_nothing_behind(tmp_path):
    """A write opens the write gate's lock file beside the database: it goes with the database."""
    result = _cli(tmp_path, "sites", "add", "X", "--origin", "https://a.example",
                  PHANHOI_SECRET_KEY="k" * 40)
    assert result.returncode == 1
    assert "phanhoi-widget db upgrade" in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_demo_database_is_taken_over(tmp_path):
    import sqlite3

    from widget_server.cli.demo import adopt_old_database

    conn = sqlite3.connect(tmp_path / "relay.sqlite3")
    conn.execute("CREATE TABLE sites (id TEXT)")
    conn.execute("INSERT INTO sites VALUES ('kept')")
    conn.commit()
    conn.close()
    adopt_old_database(tmp_path)
    assert not (tmp_path / "relay.sqlite3").exists()
    conn = sqlite3.connect(tmp_path / "phanhoi.sqlite3")
    assert conn.execute("SELECT id FROM sites").fetchall() == [("kept",)]
    conn.close()
