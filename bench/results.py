"""Public results under load: the results API and the board page against a bare Flask ``GET /``.

Both apps run under gunicorn with 2 workers on loopback, in the same run, loaded by
``wrk`` (a real HTTP load generator; installed with apt when missing). The relay's
store holds 10,000 published results. The figure to watch is the **ratio** relay /
bare Flask (goal ≥ 0.5): absolute numbers move with the machine. Public answers are
cached per version of the results (widget_server/results/cache.py), so what is
measured is mostly the relay's request handling, headers and the version check.

    python bench/results.py                  # SQLite in a temp folder (about a minute)
    python bench/results.py --database-url postgresql://postgres@127.0.0.1:5432/phanhoi_bench
    python bench/results.py --json           # the same figures for scripts
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import free_port, gunicorn, wait_ready  # noqa: E402

BARE_APP = '''
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
'''
RESULTS = 10_000


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def seed(database_url: str) -> str:
    """A site and 10,000 published results, written straight to the store (fast, and the same rows
    the events would write)."""
    from widget_server import create_app
    from widget_server.intake import reference, sites
    from widget_server.results import listing
    from widget_server.store import db
    from widget_server.store.published import results

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32)})
    engine = db.get_engine(app)
    db.upgrade(engine)
    with app.app_context():
        site, _secret = sites.create_site("Báo Thanh Hóa (bench)", ["https://bench.example"])
        categories = [c["code"] for c in reference.current_categories()]
        agencies = [a["code"] for a in reference.current_agencies()]
        now = dt.datetime.now(dt.UTC)
        rows = []
        for n in range(RESULTS):
            answered = now - dt.timedelta(hours=n)
            title = f"Phản ánh số {n} về rác thải, đèn đường và hóa đơn tiền nước"
            answer = "Cơ quan chức năng đã kiểm tra, xử lý và trả lời người dân. " * 3
            rows.append({
                "id": f"TH-{n:06d}", "origin": "central", "title": title, "answer": answer,
                "question": None, "category": categories[n % len(categories)],
                "agency": agencies[n % len(agencies)], "received_at": answered - dt.timedelta(days=n % 25),
                "answered_at": answered, "deadline": answered - dt.timedelta(days=n % 25) + dt.timedelta(days=17),
                "search_key": " " + " ".join(listing.words(title + " " + answer)) + " ",
                "sort_at": answered, "event_at": answered, "published_at": answered, "updated_at": answered,
                "site_id": site.id if n % 3 == 0 else None,
            })
        with db.write(engine) as conn:
            conn.execute(sa.insert(results), rows)
    engine.dispose()
    return site.key


# What every browser sends with a page request: the board is compressed for it (once per version).
BROWSER = "Accept-Encoding: gzip, deflate, br"


def run_wrk(wrk: str, url: str, seconds: int, connections: int, header: str | None = None) -> dict[str, float]:
    extra = ["-H", header] if header else []
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"rps": rps, "non_2xx": int(errors.group(1)) if errors else 0,
            "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else -1.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="phanhoi-results-bench-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'relay.sqlite3'}"
    site_key = seed(database_url)
    (tmp / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    relay_port, bare_port = free_port(), free_port()
    env.update({"PHANHOI_SECRET_KEY": secrets.token_urlsafe(32), "PHANHOI_DATABASE_URL": database_url,
                "PHANHOI_PUBLIC_URL": f"http://127.0.0.1:{relay_port}", "PHANHOI_LOG_LEVEL": "WARNING",
                "PHANHOI_RATELIMIT_ENABLED": "false"})
    root = str(Path(__file__).resolve().parent.parent)
    relay = gunicorn("widget_server.wsgi:app", relay_port, env, root)
    bare = gunicorn("bare_app:app", bare_port, env, str(tmp))
    figures: dict[str, Any] = {"results": RESULTS, "seconds": args.seconds, "connections": args.connections}
    try:
        relay_url, bare_url = f"http://127.0.0.1:{relay_port}", f"http://127.0.0.1:{bare_port}"
        wait_ready(relay_url + "/healthz", relay)
        wait_ready(bare_url + "/", bare)
        targets = {
            "bare Flask GET /": bare_url + "/",
            "GET /api/v1/results": relay_url + "/api/v1/results",
            "GET /api/v1/results?q=hoa+don&page=3": relay_url + "/api/v1/results?q=hoa+don&page=3",
            "GET /p/KEY (board)": f"{relay_url}/p/{site_key}",
            "GET /p/KEY (board), as a browser asks": f"{relay_url}/p/{site_key}",
            "GET /api/v1/scoreboard": relay_url + "/api/v1/scoreboard",
        }
        for name, url in targets.items():
            header = BROWSER if name.endswith("as a browser asks") else None
            run_wrk(wrk, url, 2, args.connections, header)  # warm both workers and their caches
            figures[name] = run_wrk(wrk, url, args.seconds, args.connections, header)
    finally:
        for proc in (relay, bare):
            proc.terminate()
            proc.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)
    base = figures["bare Flask GET /"]["rps"]
    for name in targets:
        figures[name]["ratio"] = round(figures[name]["rps"] / base, 2)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{RESULTS:,} published results; wrk -t2 -c{args.connections} -d{args.seconds}s; gunicorn, 2 workers\n")
    print(f"{'target':48} {'req/s':>10} {'p50 ms':>8} {'ratio':>6} {'non-2xx':>8}")
    for name in targets:
        f = figures[name]
        print(f"{name:48} {f['rps']:>10.0f} {f['p50_ms']:>8.2f} {f['ratio']:>6.2f} {f['non_2xx']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
