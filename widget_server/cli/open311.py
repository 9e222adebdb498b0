"""``phanhoi-widget open311 sync``: read an Open311 back-end's statuses back by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from widget_server.delivery.destinations.open311 import Open311Destination
from widget_server.delivery.open311_sync import sync

open311_group = click.Group("open311", help="Open311 back-ends: read statuses back.")


@open311_group.command("sync")
@with_appcontext
def sync_command() -> None:
    """Resolve batch tokens and apply the back-end's statuses (the worker does this periodically)."""
    if not current_app.config.get("OPEN311_URL"):
        raise click.UsageError("Chưa đặt PHANHOI_OPEN311_URL (địa chỉ GeoReport v2 của hệ thống tiếp nhận). / "
                               "PHANHOI_OPEN311_URL is not set (the back-end's GeoReport v2 address).")
    destination = Open311Destination.from_config(current_app.config)
    try:
        report = sync(destination)
    finally:
        destination.close()
    click.echo(f"Đã kiểm tra {report.checked}, cập nhật {report.applied} trạng thái, "
               f"{report.resolved} token; {report.unreachable} chưa có trả lời. / "
               f"{report.checked} checked, {report.applied} statuses applied, "
               f"{report.resolved} tokens resolved, {report.unreachable} unanswered.")
