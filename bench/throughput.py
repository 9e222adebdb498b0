"""Relay throughput and forwarding latency.

1. **Latency**: relay (gunicorn, 2 workers) + ``phanhoi-widget worker`` + the
   reference central system, healthy. Submissions are sent one at a time; for
   each, the time from the client receiving ``201`` to the worker recording the
   central system's acknowledgement (``outbox.delivered_at``). Median and p90,
   once per worker poll interval.
2. **Throughput**: accepted submissions per second (``201`` after commit) under
   gunicorn with 2 workers, against a bare Flask JSON endpoint served and loaded
   the same way in the same run; the ratio is the figure to watch, because
   absolute numbers depend on the machine. The worker is stopped meanwhile.

The load generator is a separate process (threads, one ``requests.Session``
each), bounded by a request count and a time limit.

    python bench/throughput.py                       # SQLite in a temp folder
    python bench/throughput.py --database-url postgresql://postgres@127.0.0.1/bench
    python bench/throughput.py --json                # figures for scripts
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

BARE_APP = '''
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/submissions")
def create():
    body = request.get_json()
    return jsonify(id="x", tracking_code="PA000000", status="received", size=len(body)), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=5).ok:
                return
        except requests.RequestException:  # not listening yet, or still importing
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def gunicorn(app_path: str, port: int, env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", app_path],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def submission(consent_version: str, n: int) -> dict[str, Any]:
    return {
        "category": "moi-truong", "agency": None,
        "title": f"Rác thải tồn đọng ở chợ ({n})",
        "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi hôi thối ảnh hưởng người dân.",
        "location": {"commune_code": None, "address": "Cổng chợ Vườn Hoa", "lat": 19.8,
                     "lon": 105.77},
        "submitter": {"name": "Lê Văn A", "phone": "0912345678", "email": None},
        "confidential": True, "consent": {"version": consent_version, "accepted": True},
        "source_url": "https://baothanhhoa.example/bai-viet",
    }


# --------------------------------------------------------------------------- load generator


def load(url: str, token: str, consent: str, count: int, seconds: float, threads: int) -> dict[str, Any]:
    """Runs in its own process: POST until ``count`` answers or ``seconds`` pass."""
    lock = threading.Lock()
    issued = 0
    ok = errors = 0
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds

    def run() -> None:
        nonlocal issued, ok, errors
        with requests.Session() as http:
            while True:
                with lock:
                    if issued >= count or time.monotonic() > stop_at:
                        return
                    issued += 1
                    n = issued
                started = time.perf_counter()
                try:
                    r = http.post(url, json=submission(consent, n), timeout=30, headers={
                        "Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{n}-{os.getpid()}"})
                    good = r.status_code == 201
                except requests.RequestException:
                    good = False
                elapsed = time.perf_counter() - started
                with lock:
                    if good:
                        ok += 1
                        latencies.append(elapsed)
                    else:
                        errors += 1

    # Warm both gunicorn workers up before the clock starts.
    with requests.Session() as http:
        for n in range(40):
            http.post(url, json=submission(consent, -n), timeout=30, headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": f"warm-{n}-{os.getpid()}"})
    began = time.perf_counter()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "ok": ok, "errors": errors, "seconds": round(elapsed, 3),
        "per_second": round(ok / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
    }


def run_load(url: str, token: str, consent: str, args: argparse.Namespace) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--load", url, "--token", token, "--consent", consent,
         "--count", str(args.count), "--seconds", str(args.seconds), "--threads", str(args.threads)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# --------------------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--count", type=int, default=3000, help="most requests per load run")
    parser.add_argument("--seconds", type=float, default=15.0, help="longest load run")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--consent", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.token, args.consent, args.count, args.seconds,
                              args.threads)))
        return

    import logging

    from werkzeug.serving import make_server

    import central_system
    from phanhoi.webhooks import generate_secret
    from widget_server import create_app
    from widget_server.store import db
    from widget_server.intake import reference, sites

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="phanhoi-bench-"))
    relay_port, bare_port = free_port(), free_port()
    relay_url = f"http://127.0.0.1:{relay_port}"
    central_secret, events_secret = generate_secret(), generate_secret()

    central = central_system.create_app({
        "DATABASE": str(tmp / "central.sqlite3"), "SECRET_KEY": secrets.token_urlsafe(32),
        "INTAKE_SECRET": central_secret, "EVENTS_SECRET": events_secret, "RELAY_URL": relay_url})
    central_server = make_server("127.0.0.1", 0, central, threaded=True)
    threading.Thread(target=central_server.serve_forever, args=(0.1,), daemon=True).start()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update({
        "PHANHOI_SECRET_KEY": secrets.token_urlsafe(32),
        "PHANHOI_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'relay.sqlite3'}",
        "PHANHOI_PUBLIC_URL": relay_url,
        "PHANHOI_CENTRAL_URL": f"http://127.0.0.1:{central_server.server_port}",
        "PHANHOI_CENTRAL_SECRET": central_secret,
        "PHANHOI_CENTRAL_EVENTS_SECRET": events_secret,
        "PHANHOI_RATELIMIT_ENABLED": "false",
        "PHANHOI_LOG_LEVEL": "WARNING",
    })
    os.environ.update({k: v for k, v in env.items() if k.startswith("PHANHOI_")})
    app = create_app()
    db.upgrade(db.get_engine(app))
    with app.app_context():
        site, token = sites.create_site("Báo Thanh Hóa (bench)", ["https://bench.example"])
        consent = reference.consent_for(site.name).version
    (tmp / "bare_app.py").write_text(BARE_APP)

    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {"database": "postgresql" if args.database_url else "sqlite",
                               "cpus": os.cpu_count()}
    try:
        relay = gunicorn("widget_server.wsgi:app", relay_port, env, os.getcwd())
        procs.append(relay)
        wait_ready(relay_url + "/healthz", relay)

        # 1. latency, healthy central system
        results["latency"] = {}
        http = requests.Session()
        for poll in ("0.25", "1.0"):  # the default, and a slow poll (PostgreSQL wakes on NOTIFY)
            worker = subprocess.Popen(
                [str(Path(sys.executable).parent / "phanhoi-widget"), "worker", "--id", "bench"],
                env={**env, "PHANHOI_OUTBOX_POLL_SECONDS": poll},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(worker)
            time.sleep(2.0)
            acked_at: dict[str, float] = {}
            for n in range(args.latency_samples):
                r = http.post(relay_url + "/api/v1/submissions", json=submission(consent, n),
                              timeout=10, headers={"Authorization": f"Bearer {token}",
                                                   "Idempotency-Key": f"lat-{poll}-{n}"})
                assert r.status_code == 201, r.text
                acked_at[r.json()["id"]] = time.time()
                time.sleep(0.137)  # off the poll grid
            deadline = time.monotonic() + 30
            delays: list[float] = []
            while time.monotonic() < deadline:
                with db.read(db.get_engine(app)) as conn:
                    done = conn.execute(sa.select(db.outbox.c.submission_id, db.outbox.c.delivered_at)
                                        .where(db.outbox.c.submission_id.in_(list(acked_at)),
                                               db.outbox.c.state == "delivered")).all()
                if len(done) == len(acked_at):
                    delays = sorted(row.delivered_at.timestamp() - acked_at[row.submission_id]
                                    for row in done)
                    break
                time.sleep(0.2)
            worker.terminate()
            worker.wait(10)
            results["latency"][f"poll_{poll}s"] = {
                "samples": len(delays),
                "median_ms": round(statistics.median(delays) * 1000, 1) if delays else None,
                "p90_ms": round(delays[int(len(delays) * 0.9)] * 1000, 1) if delays else None,
            }
        http.close()

        # 2. throughput, relay vs bare Flask, same server and load
        bare = gunicorn("bare_app:app", bare_port, env, str(tmp))
        procs.append(bare)
        wait_ready(f"http://127.0.0.1:{bare_port}/healthz", bare)
        results["bare_flask"] = run_load(f"http://127.0.0.1:{bare_port}/api/v1/submissions",
                                         token, consent, args)
        results["relay"] = run_load(relay_url + "/api/v1/submissions", token, consent, args)
        results["ratio"] = round(results["relay"]["per_second"]
                                 / results["bare_flask"]["per_second"], 3)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        central_server.shutdown()
        db.get_engine(app).dispose()

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"database: {results['database']}, cpus: {results['cpus']}, "
          f"load: {args.threads} threads, ≤{args.count} requests, ≤{args.seconds}s")
    for name in ("bare_flask", "relay"):
        r = results[name]
        print(f"{name:>10}: {r['per_second']:>7} req/s  ({r['ok']} ok, {r['errors']} errors, "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms)")
    print(f"     ratio: {results['ratio']} (relay / bare Flask)")
    for name, r in results["latency"].items():
        print(f"201 → central ack ({name}): median {r['median_ms']} ms, p90 {r['p90_ms']} ms, "
              f"{r['samples']} samples")


if __name__ == "__main__":
    main()
