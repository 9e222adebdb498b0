"""Relay throughput against bare Flask, backlog drain time and forwarding latency.

Everything runs on loopback, bounded in time (about five minutes per database):

1. **Throughput.** ``wrk`` (2 threads, 16 connections, 8 s per path) against gunicorn
   with 2 sync workers: a bare Flask app (``GET /`` and a ``POST`` of JSON) and the
   relay (the loader gzip, a site's configuration, the form page and the results page as
   a browser asks for them (``Accept-Encoding: gzip, deflate, br``) and
   ``GET /api/v1/results``, a status lookup, a
   durable submission), served the same way in the same run; and the relay with two views
   that do nothing (a ``GET``, and a ``POST`` of the lookup's body): what the relay's own
   hooks, routes and configuration cost before a path does any work; and bare Flask reading
   one row of the store and inserting one row durably (the store's own floor on this machine,
   on the run's database with the relay's settings). Ratios are to bare
   ``GET /`` for the reader paths and to bare ``POST`` for the submission: absolute
   numbers move with the machine and its load, the ratio is what the relay costs. Each
   relay path is compared with a bare run made just before it (``--no-adjacent``: with
   the first bare runs), since a shared machine's speed drifts within minutes, and in
   bursts of seconds: in three alternating pairs of short runs (``--rounds``; the same
   time in all), whose median ratio is the path's.
   Beside each, the gunicorn workers' CPU time per request (from ``/proc``), which the
   machine's other load moves far less than the request rate.
2. **Memory.** Each relay path is run until it has served at least 10,000 requests;
   then the resident size (RSS) of each gunicorn worker.
3. **Backlog drain.** 10,000 pending submissions, a stub central system answering every
   delivery after 20 ms, and one ``phanhoi-widget worker`` with its default settings:
   the seconds until the last is acknowledged (and how many the stub saw twice).
4. **201 → acknowledgement.** With that worker running, submissions one at a time; the
   median from the client's ``201`` to ``outbox.delivered_at``.

    bench/setup                                     # installs wrk (Debian) when missing
    python bench/throughput.py                      # SQLite in a temp folder
    python bench/throughput.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/throughput.py --json               # the figures for scripts
    python bench/throughput.py --parts http --paths status_lookup,submission --memory-requests 0

With a PostgreSQL URL, a throwaway database is created beside the one named and
dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

BARE_APP = '''
import fcntl, os, sqlite3

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Xin chào"


@app.post("/api/v1/submissions")
def create():
    body = request.get_json()
    return jsonify(id="x", tracking_code="PA000000", status="received", size=len(body)), 201


# The store's own floor under bare Flask: one read by key, one durable insert, on the run's
# store (its own table), with the relay's settings (SQLite: WAL, synchronous=FULL, a write gate).
STORE = os.environ.get("BENCH_STORE", "")
_held = []


def store():
    if not _held:
        if STORE.startswith("postgresql"):
            import psycopg
            _held.append(psycopg.connect(STORE, autocommit=True))
        else:
            conn = sqlite3.connect(STORE, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _held.extend([conn, open(os.environ["BENCH_STORE_GATE"], "a")])
    return _held[0]


def mark(sql):
    return sql if STORE.startswith("postgresql") else sql.replace("%s", "?")


@app.post("/api/v1/bench/store-read")
def store_read():
    body = request.get_json()
    row = store().execute(mark("SELECT id, body FROM bench_floor WHERE id = %s"), (1,)).fetchone()
    return jsonify(id=row[0], size=len(body) + len(row[1]))


@app.post("/api/v1/bench/store-write")
def store_write():
    body = request.get_data(as_text=True)
    request.get_json()
    conn = store()
    if not STORE.startswith("postgresql"):  # one writer at a time, as the relay's SQLite store
        fcntl.flock(_held[1], fcntl.LOCK_EX)
    try:
        conn.execute(mark("INSERT INTO bench_floor (body) VALUES (%s)"), (body,))
    finally:
        if not STORE.startswith("postgresql"):
            fcntl.flock(_held[1], fcntl.LOCK_UN)
    return jsonify(id="x", size=len(body)), 201
'''

BARE_IMPORTS = "import fcntl, os, sqlite3\n"


def store_floor(url: str | None, tmp: Path) -> tuple[str, str]:
    """The bare app's store (a SQLite file of its own, or the run's PostgreSQL database) with its
    one-row table; and its write gate's file."""
    ddl = "CREATE TABLE bench_floor (id {key} PRIMARY KEY, body TEXT NOT NULL)"
    if url:
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(ddl.format(key="BIGSERIAL"))
            conn.execute("INSERT INTO bench_floor (body) VALUES ('{}')")
        return conninfo, ""
    import sqlite3

    path = tmp / "store_floor.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(ddl.format(key="INTEGER"))
        conn.execute("INSERT INTO bench_floor (body) VALUES ('{}')")
    return str(path), str(tmp / "store_floor.lock")

# The relay with two views that do nothing, served like the relay: what its own hooks, routes and
# configuration cost a request before a path does any work (bare Flask's own two views, mounted
# in the relay; bare_app.py is beside it).
RELAY_FLOOR_APP = '''
from bare_app import create, index

from widget_server.wsgi import app

app.add_url_rule("/bench/floor", "bench_floor", index)
app.add_url_rule("/api/v1/bench/floor", "bench_floor_post", create, methods=["POST"])
'''

# The central system, stubbed: every delivery acknowledged after ``DELAY`` seconds.
STUB_CENTRAL = '''
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = float(sys.argv[2])
seen, lock = {}, threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body leave in two writes; with Nagle's algorithm on, the body waited
    # for the client's delayed ACK (40 ms on Linux): every answer took 60 ms, not 20 ms.
    # Web servers in front of a real central system (nginx, gunicorn) set TCP_NODELAY too.
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            seen[self.headers.get("webhook-id")] = seen.get(self.headers.get("webhook-id"), 0) + 1
        time.sleep(DELAY)
        body = json.dumps({"central_id": "C-1", "status": "received"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            body = json.dumps({"ids": len(seen), "twice": sum(1 for n in seen.values() if n > 1)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
server.request_queue_size = 128
server.serve_forever()
'''

# wrk scripts. Each wrk thread numbers its requests apart, and each run of wrk has its own id
# (``wrk(...)`` passes a new one): idempotency keys never repeat, within a run or across the
# warm-up, the measured run and the memory runs (a repeated key is a replay that writes nothing).
POST_LUA = '''
counter = 0
run = ""
local ids = 0
function setup(thread) ids = ids + 1; thread:set("tid", ids) end
function init(args) run = args[1] or "" end
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
request = function()
  counter = counter + 1
  {per_request}
  return wrk.format(nil, nil, nil, nil)
end
'''


# The same request every time: wrk builds it once, as it does for a GET without a script.
STATIC_POST_LUA = '''
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:  # not listening yet, or still importing
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def gunicorn(app_path: str, port: int, env: dict[str, str], cwd: str, workers: int = 2) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_path],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def submission(consent_version: str, n: int | str) -> dict[str, Any]:
    return {
        "category": "moi-truong", "agency": None,
        "title": f"Rác thải tồn đọng ở chợ ({n})",
        "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi hôi thối ảnh hưởng người dân.",
        "location": {"commune_code": None, "address": "Cổng chợ Vườn Hoa", "lat": 19.8,
                     "lon": 105.77},
        "submitter": {"name": "Lê Văn A", "phone": "0912345678", "email": None},
        "confidential": True, "consent": {"version": consent_version, "accepted": True},
        "source_url": "https://bench.example/bai-viet",
    }


def lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def post_script(tmp: Path, name: str, body: Any, headers: dict[str, str], per_request: str = "",
                dynamic: bool = True) -> Path:
    path = tmp / f"{name}.lua"
    path.write_text((POST_LUA if dynamic else STATIC_POST_LUA).replace("{body}", lua_string(json.dumps(body, ensure_ascii=False)))
                    .replace("{headers}", "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}"
                                                    for k, v in headers.items()))
                    .replace("{per_request}", per_request))
    return path


def get_script(tmp: Path, name: str, headers: dict[str, str]) -> Path:
    path = tmp / f"{name}.lua"
    path.write_text("\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()))
    return path


def wrk(url: str, script: Path | None, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    tail = [url]
    if script:
        cmd += ["-s", str(script)]
        tail += ["--", secrets.token_hex(6)]  # the run's id, for scripts that name keys with it
    out = subprocess.run([*cmd, *tail], check=True, capture_output=True, text=True).stdout
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"per_second": round(per_second, 1), "requests": total,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else None,
            "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2) if p50 else None}


def kind_of(name: str) -> str:
    return next((kind for kind in ("bare", "floor", "store") if name.startswith(kind + "_")), "relay")


def fsyncs_per_second(folder: Path, seconds: float = 2.0) -> float:
    """How many small write + fsync rounds the disk under ``folder`` takes a second: the
    ceiling of durable commits for one writer (SQLite's WAL with ``synchronous=FULL``)."""
    path = folder / "fsync.probe"
    count = 0
    with path.open("wb") as f:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            f.write(b"x" * 512)
            f.flush()
            os.fsync(f.fileno())
            count += 1
    path.unlink()
    return round(count / seconds, 1)


def _workers(master: subprocess.Popen[bytes], name: str) -> list[str]:
    """``/proc/<pid>/<name>`` of each gunicorn worker (the master's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / name).read_text()
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == str(master.pid):
            found.append(text)
    return found


def workers_cpu_seconds(master: subprocess.Popen[bytes], part: str = "both") -> float:
    """CPU time (user + system) the master's workers have used so far: with the requests served,
    the CPU a request costs, a figure the machine's other load moves far less than req/s."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in _workers(master, "stat"):
        fields = stat.rsplit(")", 1)[1].split()
        user, system = int(fields[11]), int(fields[12])
        total += {"user": user, "system": system}.get(part, user + system) / tick
    return total


def worker_rss_mb(master: subprocess.Popen[bytes]) -> list[float]:
    """Resident size of each gunicorn worker (the master's children), in MB."""
    out = []
    for status in _workers(master, "status"):
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        out.append(round(int(fields["VmRSS"].split()[0]) / 1024, 1))
    return sorted(out)


# --------------------------------------------------------------------------- databases


def throwaway_database(admin_url: str) -> tuple[str, Any]:
    """A new PostgreSQL database beside ``admin_url``'s, and a function that drops it."""
    from widget_server.store import db

    name = "phanhoi_bench_" + secrets.token_hex(4)
    admin = sa.create_engine(db.normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(db.normalise_url(admin_url)).set(database=name)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def backlog(app: Any, site: Any, consent: str, count: int) -> None:
    """``count`` accepted submissions with their pending outbox rows, stored as the relay stores them."""
    from widget_server.intake import rows, submissions
    from widget_server.store import db

    with app.test_request_context():
        site_data = submissions.validate(site, submission(consent, "backlog"))
        done = 0
        while done < count:
            with db.write() as conn:
                for _ in range(min(1000, count - done)):
                    row = rows.new_row(site, site_data, via="api", src=None)
                    # No forwarded body made ahead: _insert makes it in the transaction.
                    made = submissions._Made(rows.receipt(row, site.key), None, None)
                    submissions._insert(conn, site, site_data, row, made, store_attachments=None)
                    done += 1


def stored(app: Any) -> int:
    from widget_server.store import db

    with db.read(db.get_engine(app)) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one())


def pending(app: Any) -> int:
    from widget_server.store import db

    with db.read(db.get_engine(app)) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.outbox)
                                .where(db.outbox.c.state == "pending")).scalar_one())


# --------------------------------------------------------------------------- one run


def run(database_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    from phanhoi.webhooks import generate_secret

    from widget_server import create_app
    from widget_server.intake import reference, sites, submissions
    from widget_server.store import db

    tmp = Path(tempfile.mkdtemp(prefix="phanhoi-bench-"))
    drop = None
    if database_url:
        database_url, drop = throwaway_database(database_url)
    relay_port, bare_port, floor_port, central_port = free_port(), free_port(), free_port(), free_port()
    relay_url = f"http://127.0.0.1:{relay_port}"
    bare_url = f"http://127.0.0.1:{bare_port}"
    floor_url = f"http://127.0.0.1:{floor_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update({
        "PHANHOI_SECRET_KEY": secrets.token_urlsafe(32),
        "PHANHOI_DATABASE_URL": database_url or f"sqlite:///{tmp / 'relay.sqlite3'}",
        "PHANHOI_PUBLIC_URL": relay_url,
        "PHANHOI_CENTRAL_URL": f"http://127.0.0.1:{central_port}",
        "PHANHOI_CENTRAL_SECRET": generate_secret(),
        "PHANHOI_CENTRAL_EVENTS_SECRET": generate_secret(),
        "PHANHOI_ATTACHMENT_DIR": str(tmp / "attachments"),
        "PHANHOI_RATELIMIT_ENABLED": "false",
        "PHANHOI_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    saved_env = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("PHANHOI_")})
    app = create_app()
    os.environ.clear()
    os.environ.update(saved_env)
    db.upgrade(db.get_engine(app))
    with app.test_request_context():
        site, token = sites.create_site("Báo Thanh Hóa (bench)", ["https://bench.example"])
        consent = reference.consent_for(site.name).version
        tracked = submissions.create_submission(site, submission(consent, "tracked"), via="api")
    env["BENCH_STORE"], env["BENCH_STORE_GATE"] = store_floor(database_url, tmp)
    (tmp / "bare_app.py").write_text(BARE_APP)
    (tmp / "relay_floor.py").write_text(RELAY_FLOOR_APP)
    (tmp / "stub_central.py").write_text(STUB_CENTRAL)

    lookup_post = any(r.rule.endswith("/lookup") for r in app.url_map.iter_rules())
    code = tracked["tracking_code"]
    json_headers = {"Accept": "application/json"}
    browser = {"Accept-Encoding": "gzip, deflate, br"}
    submit_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    key_line = 'wrk.headers["Idempotency-Key"] = "b-" .. run .. "-" .. tid .. "-" .. counter'
    paths: dict[str, tuple[str, Path | None, str]] = {
        "bare_get": (bare_url + "/", None, "bare"),
        "bare_post": (bare_url + "/api/v1/submissions",
                      post_script(tmp, "bare_post", submission(consent, 1), {}), "bare"),
        # The relay doing nothing: a GET like bare Flask's, and a POST of the lookup's request.
        "floor_get": (floor_url + "/bench/floor", None, "reader"),
        "floor_post": (floor_url + "/api/v1/bench/floor",
                       post_script(tmp, "floor_post", {"contact": "0912345678"}, json_headers, dynamic=False),
                       "reader"),
        # Bare Flask with one read of the store (the lookup's one statement) and one durable
        # insert (a submission's commit): what any Flask app on this machine pays for its store.
        "store_read": (bare_url + "/api/v1/bench/store-read",
                       post_script(tmp, "store_read", {"contact": "0912345678"}, json_headers, dynamic=False),
                       "reader"),
        "store_write": (bare_url + "/api/v1/bench/store-write",
                        post_script(tmp, "store_write", submission(consent, 3), {}, dynamic=False), "write"),
        "loader_gzip": (relay_url + "/static/widget/loader.js",
                        get_script(tmp, "gzip", {"Accept-Encoding": "gzip"}), "reader"),
        "site_config": (f"{relay_url}/api/v1/sites/{site.key}/config",
                        get_script(tmp, "json", json_headers), "reader"),
        # The pages as every browser asks for them: brotli or gzip accepted.
        "form_page": (f"{relay_url}/w/{site.key}/form?origin=https://bench.example",
                      get_script(tmp, "page", browser), "reader"),
        "results_page": (f"{relay_url}/p/{site.key}", get_script(tmp, "page", browser), "reader"),
        "results_api": (relay_url + "/api/v1/results", get_script(tmp, "json", json_headers), "reader"),
        "status_lookup": (
            (f"{relay_url}/api/v1/submissions/{code}/lookup",
             post_script(tmp, "lookup", {"contact": "0912345678"}, json_headers, dynamic=False), "reader")
            if lookup_post else
            (f"{relay_url}/api/v1/submissions/{code}?contact=0912345678",
             get_script(tmp, "lookup", json_headers), "reader")),
        "submission": (relay_url + "/api/v1/submissions",
                       post_script(tmp, "submit", submission(consent, 2), submit_headers, key_line),
                       "write"),
    }

    posts_against_get = {"floor_post", "store_read"} | ({"status_lookup"} if lookup_post else set())
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {"database": "postgresql" if database_url else "sqlite",
                               "cpus": os.cpu_count(), "lookup": "POST" if lookup_post else "GET",
                               "paths": {}}
    try:
        bare = gunicorn("bare_app:app", bare_port, env, str(tmp), args.workers)
        relay = gunicorn("widget_server.wsgi:app", relay_port, env, str(ROOT), args.workers)
        floor = gunicorn("relay_floor:app", floor_port, env, str(tmp), args.workers)
        procs += [bare, relay, floor]
        wait_ready(bare_url + "/", bare)
        wait_ready(floor_url + "/bench/floor", floor)
        wait_ready(relay_url + "/healthz", relay)
        results["fsync_per_second"] = fsyncs_per_second(tmp)
        results["load_before"] = os.getloadavg()
        for name, (url, script, _kind) in paths.items():
            if "http" not in args.parts:
                break
            if args.paths and kind_of(name) != "bare" and name not in args.paths:
                results["paths"][name] = {"per_second": 0.0, "requests": 0, "non_2xx": 0,
                                          "socket_errors": None, "skipped": True}
                continue
            ref_name = "bare_post" if _kind == "write" else "bare_get"
            server = {"bare": bare, "floor": floor, "store": bare}.get(kind_of(name), relay)
            adjacent = kind_of(name) != "bare" and args.adjacent
            wrk(url, script, 1, args)  # warm both workers up
            stored_before = stored(app) if name == "submission" else 0
            # The machine's speed drifts by a quarter within minutes, and in bursts of seconds:
            # each path is compared with a bare run just before it, in ``--rounds`` short pairs
            # (the same time in all), and the median of the pairs' ratios is its ratio.
            rounds = args.rounds if adjacent else 1
            seconds = args.seconds / rounds
            runs, refs, posts, cpu, cpu_system = [], [], [], 0.0, 0.0
            for _ in range(rounds):
                if adjacent:
                    ref_url, ref_script, _ = paths[ref_name]
                    refs.append(wrk(ref_url, ref_script, seconds, args)["per_second"])
                    if name in posts_against_get:
                        # The goal compares the lookup with bare GET (it was a GET when it was
                        # set); a POST with a JSON body costs bare Flask more too: shown beside it.
                        post_url, post_lua, _ = paths["bare_post"]
                        posts.append(wrk(post_url, post_lua, seconds, args)["per_second"])
                cpu_before = workers_cpu_seconds(server)
                sys_before = workers_cpu_seconds(server, "system")
                runs.append(wrk(url, script, seconds, args))
                cpu += workers_cpu_seconds(server) - cpu_before
                cpu_system += workers_cpu_seconds(server, "system") - sys_before
            answered = sum(r["requests"] for r in runs)
            results["paths"][name] = {
                "per_second": round(statistics.median(r["per_second"] for r in runs), 1),
                "requests": answered,
                "non_2xx": sum(r["non_2xx"] for r in runs),
                "socket_errors": "; ".join(r["socket_errors"] for r in runs if r["socket_errors"]) or None,
                "p50_ms": statistics.median(r["p50_ms"] or 0 for r in runs),
                "cpu_system_ms": round(cpu_system * 1000 / max(answered, 1), 3),
                "cpu_ms": round(cpu * 1000 / max(answered, 1), 3),
            }
            if refs:
                ratios = [r["per_second"] / ref for r, ref in zip(runs, refs, strict=True)]
                results["paths"][name].update(
                    bare=round(statistics.median(refs), 1), bare_path=ref_name,
                    ratio=round(statistics.median(ratios), 2), rounds=[round(x, 2) for x in ratios])
            if posts:
                results["paths"][name].update(bare_post=round(statistics.median(posts), 1), ratio_to_post=round(
                    statistics.median(r["per_second"] / p for r, p in zip(runs, posts, strict=True)), 2))
            if name == "submission":  # every answer a new submission, none a replay
                results["paths"][name]["stored"] = stored(app) - stored_before
            print(f"  {results['database']} {name}: {results['paths'][name]}", file=sys.stderr)
        results["load_after"] = os.getloadavg()
        for name in paths:
            if "http" not in args.parts:
                results["paths"][name] = {"per_second": 1.0, "requests": 0, "non_2xx": 0,
                                          "socket_errors": None}
        bare_get = results["paths"]["bare_get"]["per_second"]
        bare_post = results["paths"]["bare_post"]["per_second"]
        for name, (_url, _script, kind) in paths.items():
            if "ratio" in results["paths"][name]:  # the median of its rounds
                continue
            base = bare_post if kind in ("write", "bare") and name != "bare_get" else bare_get
            results["paths"][name]["ratio"] = round(results["paths"][name]["per_second"] / base, 2)
        # Memory after at least 10,000 requests of each kind (or as many as --memory-seconds allow).
        served = {}
        for name, (url, script, _kind) in paths.items():
            r = results["paths"][name]
            served[name] = r["requests"]
            short = args.memory_requests - r["requests"]
            if kind_of(name) == "relay" and short > 0 and "http" in args.parts and not r.get("skipped"):
                served[name] += wrk(url, script, min(short / max(r["per_second"], 1.0) * 1.2 + 1,
                                                     args.memory_seconds), args)["requests"]
        results["worker_rss_mb"] = worker_rss_mb(relay)
        results["served"] = {k: v for k, v in served.items() if kind_of(k) == "relay"}
        for server in (bare, floor):
            server.terminate()
            server.wait(10)

        if "drain" not in args.parts:
            results["backlog"] = {"rows": 0, "seconds": None, "left": 0, "central_twice": 0,
                                  "load": os.getloadavg()}
            results["ack"] = {"samples": 0, "median_ms": None, "p90_ms": None}
            return results
        # Backlog drain: the stub central system, then one worker with its defaults.
        central = subprocess.Popen([sys.executable, str(tmp / "stub_central.py"), str(central_port),
                                    str(args.central_delay)])
        procs.append(central)
        wait_ready(f"http://127.0.0.1:{central_port}/", central)
        missing = args.backlog - pending(app)
        if missing > 0:
            backlog(app, site, consent, missing)
        results["backlog"] = {"rows": pending(app)}
        started = time.monotonic()
        worker = subprocess.Popen([str(Path(sys.executable).parent / "phanhoi-widget"), "worker",
                                   "--id", "bench"], env=env, cwd=str(ROOT),
                                  stdout=subprocess.DEVNULL, stderr=(tmp / "worker.log").open("wb"))
        procs.append(worker)
        deadline = started + args.drain_limit
        rows = left = results["backlog"]["rows"]
        # The memory top-ups may leave more than --backlog pending: the figure is the time
        # until --backlog of them are delivered.
        target = max(0, rows - args.backlog)
        while left > target and time.monotonic() < deadline:
            time.sleep(0.25)
            left = pending(app)
        drained_at = time.monotonic()
        while left and time.monotonic() < deadline:  # the rest, so the 201 → ack samples start idle
            time.sleep(0.25)
            left = pending(app)
        seen = requests.get(f"http://127.0.0.1:{central_port}/", timeout=5).json()
        if left:
            print((tmp / "worker.log").read_text()[-2000:], file=sys.stderr)
        results["backlog"].update({
            "seconds": round(drained_at - started, 1) if drained_at < deadline else None,
            "delivered": rows - left,
            "left": left, "central_ids": seen["ids"], "central_twice": seen["twice"],
            "load": os.getloadavg()})

        # 201 → acknowledgement, one submission at a time, the worker idle in between.
        http = requests.Session()
        acked_at: dict[str, float] = {}
        for n in range(args.latency_samples):
            r = http.post(relay_url + "/api/v1/submissions", json=submission(consent, n), timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"lat-{n}"})
            assert r.status_code == 201, r.text
            acked_at[r.json()["id"]] = time.time()
            time.sleep(0.137)  # off the poll grid
        http.close()
        delays: list[float] = []
        until = time.monotonic() + 30
        while time.monotonic() < until:
            with db.read(db.get_engine(app)) as conn:
                done = conn.execute(sa.select(db.outbox.c.submission_id, db.outbox.c.delivered_at)
                                    .where(db.outbox.c.submission_id.in_(list(acked_at)),
                                           db.outbox.c.state == "delivered")).all()
            if len(done) == len(acked_at):
                delays = sorted(row.delivered_at.timestamp() - acked_at[row.submission_id] for row in done)
                break
            time.sleep(0.2)
        results["ack"] = {"samples": len(delays),
                          "median_ms": round(statistics.median(delays) * 1000, 1) if delays else None,
                          "p90_ms": round(delays[int(len(delays) * 0.9)] * 1000, 1) if delays else None}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        db.get_engine(app).dispose()
        if drop:
            drop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


LABELS = {
    "bare_get": "bare Flask `GET /`",
    "bare_post": "bare Flask `POST` JSON",
    "floor_get": "relay, a view doing nothing (`GET`)",
    "floor_post": "relay, a view doing nothing (`POST` of the lookup's body)",
    "store_read": "bare Flask reading one row of the store (`POST`)",
    "store_write": "bare Flask inserting one row, durably (`POST`)",
    "loader_gzip": "`loader.js` (gzip)",
    "site_config": "site config",
    "form_page": "form page (a browser's `Accept-Encoding`)",
    "results_page": "results page `/p/KEY` (a browser's `Accept-Encoding`)",
    "results_api": "`GET /api/v1/results`",
    "status_lookup": "status lookup",
    "submission": "submission (durable)",
}


def table(runs: list[dict[str, Any]]) -> str:
    head = "| path | " + " | ".join(f"{r['database']} req/s | ratio | worker CPU ms/req" for r in runs) + " |"
    lines = [head, "|---|" + "---:|---:|---:|" * len(runs)]
    for name, label in LABELS.items():
        if all(r["paths"][name].get("skipped") for r in runs):
            continue
        if name == "status_lookup":
            label += f" ({runs[0]['lookup']})"
        cells = " | ".join(f"{r['paths'][name]['per_second']:,.0f} | {r['paths'][name]['ratio']:.2f} | "
                           f"{r['paths'][name].get('cpu_ms', 0):.2f}" for r in runs)
        lines.append(f"| {label} | {cells} |")
        if any("ratio_to_post" in r["paths"][name] for r in runs):
            cells = " | ".join(f"{r['paths'][name]['per_second']:,.0f} | "
                               f"{r['paths'][name].get('ratio_to_post', 0):.2f} | "
                               f"{r['paths'][name].get('cpu_ms', 0):.2f}" for r in runs)
            lines.append(f"| {label}, against a bare `POST` just before it | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", action="append", default=None,
                        help="'sqlite' (a temp file) or a PostgreSQL URL; repeat for several runs")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="wrk time per path (and per bare reference), split over --rounds")
    parser.add_argument("--rounds", type=int, default=3,
                        help="pairs of a bare run and the path's, alternating; the ratio is their median")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn sync workers of each server (the goals are set for 2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--memory-requests", type=int, default=10_000)
    parser.add_argument("--memory-seconds", type=float, default=40.0,
                        help="longest top-up run per path before the RSS is read")
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--central-delay", type=float, default=0.020)
    parser.add_argument("--drain-limit", type=float, default=120.0, help="longest wait for the drain")
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--parts", default="http,drain",
                        help="what to run: http (wrk and memory), drain (backlog and 201 → ack)")
    parser.add_argument("--paths", type=lambda v: set(v.split(",")), default=None,
                        help="only these relay paths (comma-separated names, e.g. status_lookup,submission);"
                             " the bare Flask paths always run")
    parser.add_argument("--no-adjacent", dest="adjacent", action="store_false",
                        help="compare every path with the first bare runs, not with a bare run just before it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: run bench/setup first")
    sys.path.insert(0, str(ROOT))
    runs = [run(None if url == "sqlite" else url, args) for url in (args.database_url or ["sqlite"])]
    if args.json:
        print(json.dumps(runs, indent=2))
        return
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s; gunicorn, {args.workers} sync workers each; "
          f"{os.cpu_count()} CPUs")
    print(table(runs))
    for r in runs:
        refs = {kind: [p["bare"] for p in r["paths"].values() if p.get("bare_path") == name]
                for kind, name in (("GET", "bare_get"), ("POST", "bare_post"))}
        if any(refs.values()):
            print(f"{r['database']}: each ratio the median of {args.rounds} against a bare run just before "
                  "the path (median bare " + ", ".join(f"{kind} {min(v):,.0f}–{max(v):,.0f} req/s"
                                                        for kind, v in refs.items() if v)
                  + "); the bare rows are the first runs; the pairs' ratios: "
                  + "; ".join(f"{name} {' '.join(f'{x:.2f}' for x in p['rounds'])}"
                              for name, p in r["paths"].items() if p.get("rounds")))
    for r in runs:
        b, a = r["backlog"], r["ack"]
        drained = (f"{args.backlog:,} delivered in {b['seconds']} s" if b["seconds"] is not None
                   else f"{b.get('delivered', 0):,} delivered in {args.drain_limit:g} s")
        print(f"{r['database']}: load {r['load_before'][0]:.2f} → {r['load_after'][0]:.2f}; "
              f"disk {r['fsync_per_second']:,.0f} fsync/s; "
              f"worker RSS {r['worker_rss_mb']} MB after ≥{min(r['served'].values(), default=0):,} "
              f"requests per path; "
              f"backlog of {b['rows']:,}: {drained} (load {b['load'][0]:.2f}; "
              f"{b['central_twice']} delivered twice); 201 → ack median {a['median_ms']} ms "
              f"(p90 {a['p90_ms']} ms, {a['samples']} samples)")
        sub = r["paths"]["submission"]
        if "stored" in sub:
            print(f"  submissions stored in the measured run: {sub['stored']:,} of {sub['requests']:,} "
                  f"answered" + ("" if sub["stored"] >= sub["requests"] else " (some answers were replays)"))
        for name, p in r["paths"].items():
            if p["non_2xx"] or p["socket_errors"]:
                print(f"  {name}: {p['non_2xx']} non-2xx answers; {p['socket_errors'] or ''}")


if __name__ == "__main__":
    main()
