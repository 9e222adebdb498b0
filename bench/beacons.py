"""Reach beacons per second: the relay's beacon endpoint under gunicorn against a bare Flask
endpoint served and loaded the same way, in the same run.

Both get the same request, the one ``navigator.sendBeacon`` sends from a registered news page
(``text/plain`` body ``{"e":"impression","ch":"web"}``, ``Origin``, a browser's user agent).
The bare endpoint parses the JSON and answers 204; the relay also checks the site, the origin,
the user agent and its rate limits, and adds 1 to the counter row of the hour (an upsert).
The load generator is wrk (Debian's package; ``make bench`` installs it when missing), in short
runs interleaved relay/bare; the ratio is the median of the rounds' ratios. After the run, the
counter table must hold one row whose count equals the beacons answered 204.

    python bench/beacons.py                     # SQLite in a temp folder (about a minute)
    python bench/beacons.py --database-url postgresql://postgres@127.0.0.1:5432/phanhoi_bench
    python bench/beacons.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import free_port, gunicorn, wait_ready  # noqa: E402

ORIGIN = "https://baothanhhoa.example"
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
BODY = '{"e":"impression","ch":"web"}'

BARE_APP = '''
import json

from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/sites/<site_key>/beacon")
def beacon(site_key):
    data = json.loads(request.get_data())
    return Response(status=204 if data.get("e") else 422)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
'''

WRK_SCRIPT = f'''
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["Origin"] = "{ORIGIN}"
wrk.headers["User-Agent"] = "{USER_AGENT}"
'''


def run_wrk(url: str, script: Path, seconds: int, connections: int, threads: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    return {"per_second": round(rate, 1), "requests": total, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seconds", type=int, default=4, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved relay/bare pairs")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: `apt-get install wrk` (or `make bench`, which does it)", file=sys.stderr)
        return 2

    from widget_server import create_app
    from widget_server.intake import sites
    from widget_server.store import db, operations

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'relay.sqlite3'}"
        secret_key = secrets.token_urlsafe(32)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "TESTING": True})
        engine = db.get_engine(app)
        db.upgrade(engine)
        with app.app_context():
            with db.write() as conn:
                conn.execute(sa.delete(operations.reach_counters))
            site, _ = sites.create_site("Báo Thanh Hóa (bench)", [ORIGIN])
        (folder / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        script = folder / "beacon.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")},
               "PHANHOI_DATABASE_URL": url, "PHANHOI_SECRET_KEY": secret_key,
               # The limits would stop a benchmark from one address; they are measured, not skipped.
               "PHANHOI_RATELIMIT_BEACON": "100000000 per minute"}
        relay_port, bare_port = free_port(), free_port()
        relay = gunicorn("widget_server.wsgi:app", relay_port, env, str(Path(__file__).resolve().parent.parent))
        bare = gunicorn("bare_app:app", bare_port, env, tmp)
        try:
            wait_ready(f"http://127.0.0.1:{relay_port}/healthz", relay)
            wait_ready(f"http://127.0.0.1:{bare_port}/healthz", bare)
            path = f"/api/v1/sites/{site.key}/beacon"
            # Warm-up (imports, the user-agent cache, connection pools), then the measured runs.
            run_wrk(f"http://127.0.0.1:{relay_port}{path}", script, 2, 4, 1)
            run_wrk(f"http://127.0.0.1:{bare_port}{path}", script, 2, 4, 1)
            with app.app_context(), db.read() as conn:
                before = conn.execute(sa.select(sa.func.sum(operations.reach_counters.c["count"]))).scalar() or 0
            # Short runs, interleaved and in alternating order: on a shared machine the load
            # drifts, and two long runs one after the other would compare different moments.
            rounds = []
            for n in range(args.rounds):
                targets = [("relay", relay_port), ("bare", bare_port)]
                figures = {}
                for name, port in targets if n % 2 == 0 else targets[::-1]:
                    figures[name] = run_wrk(f"http://127.0.0.1:{port}{path}", script, args.seconds,
                                            args.connections, args.threads)
                rounds.append(figures)
        finally:
            for proc in (relay, bare):
                proc.terminate()
                proc.wait(timeout=30)
        with app.app_context(), db.read() as conn:
            rows = conn.execute(sa.select(operations.reach_counters)).all()
        engine.dispose()
    counted = sum(r._mapping["count"] for r in rows) - before  # r.count is the tuple method to mypy
    ratios = [r["relay"]["per_second"] / r["bare"]["per_second"] for r in rounds]
    relay_figures = {"per_second": statistics.median(r["relay"]["per_second"] for r in rounds),
                     "requests": sum(r["relay"]["requests"] for r in rounds),
                     "non_2xx": sum(r["relay"]["non_2xx"] for r in rounds)}
    bare_figures = {"per_second": statistics.median(r["bare"]["per_second"] for r in rounds),
                    "requests": sum(r["bare"]["requests"] for r in rounds)}
    result = {
        "database": "postgresql" if url.startswith("postgres") else "sqlite",
        "gunicorn_workers": 2, "wrk": {"seconds": args.seconds, "rounds": args.rounds,
                                       "connections": args.connections, "threads": args.threads},
        "relay": relay_figures, "bare_flask": bare_figures,
        "ratio": round(statistics.median(ratios), 3), "ratios": [round(r, 3) for r in ratios],
        "counter_rows": len(rows), "counted_in_run": counted,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"beacons/s (median of {args.rounds} rounds)  relay {relay_figures['per_second']:>8.1f}   "
              f"bare Flask {bare_figures['per_second']:>8.1f}   ratio {result['ratio']} "
              f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
        print(f"  {result['database']}, gunicorn 2 workers, wrk -t{args.threads} -c{args.connections} "
              f"{args.seconds}s per run")
        print(f"counter rows after the run: {len(rows)} (one per site, channel, event and hour); "
              f"beacons counted in the run: {counted} of {relay_figures['requests']} answered; "
              f"relay non-2xx: {relay_figures['non_2xx']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
