"""A gunicorn worker's memory while a 600 MB chunked body arrives.

Starts ``phanhoi-widget serve --workers 1`` on a SQLite database in a temp folder,
sends each endpoint a chunked body of ``--megabytes`` (600 by default) over a raw
socket, stops sending as soon as the relay answers, and samples the worker's resident
memory (``VmRSS`` in ``/proc``) every 20 ms meanwhile. Prints, per endpoint, the
answer, the bytes the client got to send before it, and the worker's RSS before
and at its peak. Linux only (``/proc``).

    python bench/big_body.py                 # 600 MB per endpoint
    python bench/big_body.py --megabytes 100 --json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ENDPOINTS = [
    ("/api/v1/central/events", {"webhook-id": "m1", "webhook-timestamp": "1", "webhook-signature": "v1,x"}),
    ("/api/v1/submissions/PH-AAAA-AAAAA/rating", {}),
    ("/api/v1/submissions/PH-AAAA-AAAAA/data-request", {}),
    ("/api/v1/submissions/PH-AAAA-AAAAA/lookup", {}),
    ("/api/v1/submissions", {"Authorization": "Bearer sk_bench", "Idempotency-Key": "k"}),
]
CHUNK = b" " * (64 * 1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def send_chunked(port: int, path: str, headers: dict[str, str], total: int) -> tuple[str, int]:
    """(status line, bytes of body sent before the answer came)."""
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            "Transfer-Encoding: chunked", "Connection: close", *[f"{k}: {v}" for k, v in headers.items()]]
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n")
                sent += len(CHUNK)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer.split(b"\r\n", 1)[0].decode() or "(connection closed)", sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    total = args.megabytes * 1024 * 1024
    port = free_port()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
        env.update({"PHANHOI_SECRET_KEY": secrets.token_urlsafe(32),
                    "PHANHOI_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                    "PHANHOI_CENTRAL_EVENTS_SECRET": "whsec_" + "QUJD" * 8,
                    "PHANHOI_RATELIMIT_ENABLED": "false"})
        exe = Path(sys.executable).parent / "phanhoi-widget"
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--workers", "1"], env=env, cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("the relay did not start") from None
                    time.sleep(0.2)
            (worker,) = children(proc.pid)
            for path, headers in ENDPOINTS:
                before = rss_kb(worker)
                peak = before
                done = threading.Event()

                def sample(done: threading.Event = done) -> None:
                    nonlocal peak
                    while not done.is_set():
                        peak = max(peak, rss_kb(worker))
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                started = time.monotonic()
                status, sent = send_chunked(port, path, headers, total)
                elapsed = time.monotonic() - started
                time.sleep(0.1)
                done.set()
                sampler.join()
                results.append({"path": path, "answer": status, "body_sent_bytes": sent,
                                "seconds": round(elapsed, 2), "rss_before_kb": before, "rss_peak_kb": peak,
                                "rss_growth_kb": peak - before})
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    if args.json:
        print(json.dumps({"megabytes": args.megabytes, "results": results}, indent=2))
        return
    print(f"{args.megabytes} MB chunked body, one gunicorn worker:")
    for r in results:
        print(f"  {r['path']:<48} {r['answer']:<36} sent {r['body_sent_bytes'] / 1048576:7.1f} MB  "
              f"RSS {r['rss_before_kb'] / 1024:6.1f} → {r['rss_peak_kb'] / 1024:6.1f} MB "
              f"(+{r['rss_growth_kb'] / 1024:.1f})  {r['seconds']} s")


if __name__ == "__main__":
    main()
