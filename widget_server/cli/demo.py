"""``phanhoi-widget demo``: the whole chain on one machine, nothing to configure.

Relay on ``127.0.0.1:P`` (SQLite in the instance folder: the same ``phanhoi.sqlite3``
every other ``phanhoi-widget`` command uses there), the reference central
system on ``127.0.0.1:P+1`` (its own SQLite there too), and an outbox worker
between them. Secrets are generated once and kept in ``demo-secrets.json`` in the
instance folder, so a restart keeps every tracking code and signature working.
Never use it in production: the secrets sit in a plain file.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
from flask import Flask

from widget_server.config import DEFAULT_DATABASE_FILE, DEMO_SECRETS_FILE

DEMO_SITE_NAME = "Báo Thanh Hóa (demo)"
SECRETS_FILE = DEMO_SECRETS_FILE
# The file earlier demos used; taken over (renamed) so their data is not left behind.
OLD_DATABASE_FILE = "relay.sqlite3"

log = logging.getLogger("widget_server.demo")


def default_instance_path() -> str:
    """Flask's instance folder for the package (``instance/`` beside it in a checkout)."""
    return Flask("widget_server").instance_path


def adopt_old_database(instance: Path) -> None:
    """``relay.sqlite3`` from an earlier demo becomes ``phanhoi.sqlite3`` (with its WAL files)."""
    old, new = instance / OLD_DATABASE_FILE, instance / DEFAULT_DATABASE_FILE
    if old.exists() and not new.exists():
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{old}{suffix}").exists():
                os.replace(f"{old}{suffix}", f"{new}{suffix}")


def cli_hint(instance: Path) -> str:
    """How to run the other commands against this demo's database, with this venv's command."""
    exe = Path(sys.executable).parent / "phanhoi-widget"
    command = str(exe) if exe.exists() else "phanhoi-widget"
    if instance != Path(default_instance_path()).resolve():
        command = f"PHANHOI_INSTANCE_PATH={instance} {command}"
    return command


def load_secrets(instance: Path) -> dict[str, Any]:
    """The demo's secrets, generated on first run and kept for the next ones."""
    import secrets as _secrets

    from phanhoi.webhooks import generate_secret

    path = instance / SECRETS_FILE
    stored: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    wanted = {
        "secret_key": lambda: _secrets.token_urlsafe(32),
        "central_secret": generate_secret,
        "central_events_secret": generate_secret,
        "central_app_secret_key": lambda: _secrets.token_urlsafe(32),
        "console_password": lambda: _secrets.token_urlsafe(12),
    }
    changed = False
    for name, make in wanted.items():
        if not stored.get(name):
            stored[name] = make()
            changed = True
    if changed:
        save_secrets(instance, stored)
    return stored


def save_secrets(instance: Path, stored: dict[str, Any]) -> None:
    path = instance / SECRETS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(stored, fh, indent=2)
    os.replace(tmp, path)


def ensure_site(app: Flask, instance: Path, stored: dict[str, Any], port: int) -> str:
    """Register the demo news site once; later runs reuse it (and fix its origins)."""
    from widget_server.intake import sites

    origins = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    with app.app_context():
        existing = sites.get_site(stored["site_key"]) if stored.get("site_key") else None
        if existing is None:
            existing = next((s for s in sites.list_sites() if s.name == DEMO_SITE_NAME), None)
        if existing is None:
            site, secret = sites.create_site(DEMO_SITE_NAME, origins)
            stored.update(site_key=site.key, site_secret=secret)
            save_secrets(instance, stored)
            return site.key
        if not set(sites.normalise_origin(o) for o in origins) <= set(existing.origins):
            sites.update_site(existing.key, origins=sorted(set(existing.origins) | set(origins)))
        if stored.get("site_key") != existing.key:
            stored.update(site_key=existing.key, site_secret=None)
            save_secrets(instance, stored)
        return existing.key


DEMO_ADMIN = "quantri@phanhoi.demo"


def ensure_admin(app: Flask, stored: dict[str, Any]) -> str:
    """The demo's province admin for ``/console/``, made once with the stored password."""
    from widget_server.accounts import users

    with app.app_context():
        if not any(u.email == DEMO_ADMIN for u in users.list_all()):
            users.add(DEMO_ADMIN, admin=True, password=stored["console_password"], actor="demo")
    return DEMO_ADMIN


def build(port: int, instance: Path) -> tuple[Flask, Flask, dict[str, Any]]:
    """The relay and central apps, migrated and wired to each other."""
    import central_system

    from widget_server import create_app
    from widget_server.store import db

    instance.mkdir(parents=True, exist_ok=True)
    adopt_old_database(instance)
    stored = load_secrets(instance)
    relay_url = f"http://127.0.0.1:{port}"
    central_url = f"http://127.0.0.1:{port + 1}"
    app = create_app({
        "DEMO": True,
        "SECRET_KEY": stored["secret_key"],
        # The instance's default database, which the other commands open too
        # (PHANHOI_DATABASE_URL, when set, wins for both).
        "DATABASE_URL": os.environ.get("PHANHOI_DATABASE_URL") or f"sqlite:///{instance / DEFAULT_DATABASE_FILE}",
        "ATTACHMENT_DIR": str(instance / "attachments"),
        "PUBLIC_URL": relay_url,
        "CENTRAL_URL": central_url,
        "CENTRAL_SECRET": stored["central_secret"],
        "CENTRAL_EVENTS_SECRET": stored["central_events_secret"],
        "OUTBOX_POLL_SECONDS": 0.5,
    })
    db.upgrade(db.get_engine(app))
    app.config["DEMO_SITE_KEY"] = ensure_site(app, instance, stored, port)
    ensure_admin(app, stored)
    central = central_system.create_app({
        "DATABASE": str(instance / "central.sqlite3"),
        "SECRET_KEY": stored["central_app_secret_key"],
        "INTAKE_SECRET": stored["central_secret"],
        "EVENTS_SECRET": stored["central_events_secret"],
        "RELAY_URL": relay_url,
    })
    return app, central, stored


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=int,
              help="Relay port; the reference central system listens on PORT+1.")
@click.option("--instance", "instance_path", envvar="PHANHOI_INSTANCE_PATH",
              type=click.Path(file_okay=False), default=None,
              help="Folder for the demo's databases and secrets "
                   "(env PHANHOI_INSTANCE_PATH; default: the package's instance folder).")
def demo_command(port: int, instance_path: str | None) -> None:
    """Run relay, worker and the reference central system locally, for trying things out."""
    from werkzeug.serving import make_server

    from widget_server.delivery.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines carry ?contact=
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not news
    if importlib.util.find_spec("central_system") is None:
        raise click.ClickException(
            "Bản demo cần hệ thống trung tâm mẫu (phanhoi-central-example), không nằm trong gói của máy chủ "
            "chuyển tiếp: trong bản sao mã nguồn, chạy `make demo` hoặc `pip install ./examples`. / The demo needs "
            "the reference central system (phanhoi-central-example), which the relay's wheel does not carry: in "
            "a checkout, run `make demo` or `pip install ./examples`.")
    instance = Path(instance_path or default_instance_path()).resolve()
    app, central, stored = build(port, instance)

    try:
        relay_server = make_server("127.0.0.1", port, app, threaded=True)
        central_server = make_server("127.0.0.1", port + 1, central, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"Cổng {port} hoặc {port + 1} đang bận / port busy: {exc}") from exc
    worker = Worker(app, "demo")
    threads = [
        threading.Thread(target=central_server.serve_forever, name="central", daemon=True),
        threading.Thread(target=worker.run, name="worker", daemon=True),
        threading.Thread(target=relay_server.serve_forever, name="relay", daemon=True),
    ]
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    for thread in threads:
        thread.start()
    try:
        # The province's published results, so the board, scoreboard and feed show something.
        from central_system import publish

        publish.seed_demo(central)
    except Exception:  # noqa: BLE001 - the demo runs on without them; the operator page can resend
        log.warning("could not publish the demo's results yet", exc_info=True)

    click.echo(f"""
Phản hồi Widget — chế độ demo / demo mode   (dữ liệu / data: {instance})

  Trang báo mẫu có banner / sample news page:   http://localhost:{port}/demo
  Hệ thống tỉnh (trang cán bộ) / central operator page:   http://127.0.0.1:{port + 1}/
  Relay API:   http://127.0.0.1:{port}/api/v1   (site_key {app.config["DEMO_SITE_KEY"]})
  Kết quả công khai / public results:   http://localhost:{port}/p/{app.config["DEMO_SITE_KEY"]}
    bảng xếp hạng / scoreboard:   http://localhost:{port}/p/{app.config["DEMO_SITE_KEY"]}/scoreboard
    Atom:   http://localhost:{port}/p/{app.config["DEMO_SITE_KEY"]}/feed.atom
    Open311:   http://localhost:{port}/open311/v2/requests.json
  Bảng điều khiển / console:   http://127.0.0.1:{port}/console/
    đăng nhập / sign in:   {DEMO_ADMIN}   mật khẩu / password: {stored["console_password"]}

Gửi một phản ánh trên trang báo, xử lý và trả lời trên trang cán bộ, rồi tra cứu
bằng mã theo dõi. / Submit on the news page, answer it on the operator page, then
look it up with the tracking code.

Dòng lệnh, cùng dữ liệu này / the command line, on this same data:
  {cli_hint(instance)} sites list
Nhấn Ctrl-C để dừng. / Press Ctrl-C to stop.
""")
    while not stop.wait(0.5):
        pass
    click.echo("Đang dừng… / Stopping…")
    worker.stop()
    relay_server.shutdown()
    central_server.shutdown()
    for thread in threads:
        thread.join(timeout=15)
    relay_server.server_close()
    central_server.server_close()
    click.echo("Đã dừng. / Stopped.")
