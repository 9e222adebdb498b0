"""``phanhoi-widget retention run``: redact personal data past the retention window (run daily)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from widget_server.intake.retention import run

retention_group = click.Group("retention", help="Personal-data retention: redact what is no longer needed.")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Report what would be redacted; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def retention_run(dry_run: bool, as_json: bool) -> None:
    """Redact personal data past PII_RETENTION_DAYS and act on deletion requests."""
    report = run(dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    prefix = "(thử) " if dry_run else ""
    click.echo(f"{prefix}Đã ẩn dữ liệu cá nhân: {len(report.redacted)} phản ánh; "
               f"tệp đã xóa: {report.attachments_deleted}; "
               f"lượt chuyển đã hủy: {report.forwards_cancelled}; "
               f"bản ghi outbox đã làm sạch: {report.outbox_rows_redacted}; "
               f"khóa Idempotency-Key hết hạn đã xóa: {report.idempotency_keys_purged}.")
    if report.skipped_in_flight:
        click.echo(f"Đang gửi, xử lý ở lần chạy sau: {', '.join(report.skipped_in_flight)}")
