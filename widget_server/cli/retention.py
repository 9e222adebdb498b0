"""``phanhoi-widget retention run``: redact personal data past the retention window (run daily)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from widget_server.delivery import operators
from widget_server.intake.retention import run
from widget_server.results import events

retention_group = click.Group("retention", help="Personal-data retention: redact what is no longer needed.")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Report what would be redacted; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def retention_run(dry_run: bool, as_json: bool) -> None:
    """Redact personal data past PII_RETENTION_DAYS and act on deletion requests; read the
    relay's published results and the outbox's kept errors again for personal data."""
    report = run(dry_run=dry_run)
    # What was made public or kept before a spelling of personal data was known to the masking,
    # read again: the relay's published results, the errors kept in the outbox.
    hidden, masked = events.hide_again(dry_run=dry_run), operators.mask_errors(dry_run=dry_run)
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "results_hidden_again": hidden,
                               "outbox_errors_masked": masked}, ensure_ascii=False, indent=2))
        return
    prefix = "(thử) " if dry_run else ""
    click.echo(f"{prefix}Đã ẩn dữ liệu cá nhân: {len(report.redacted)} phản ánh; "
               f"tệp đã xóa: {report.attachments_deleted}; "
               f"lượt chuyển đã hủy: {report.forwards_cancelled}; "
               f"bản ghi outbox đã làm sạch: {report.outbox_rows_redacted}; "
               f"khóa Idempotency-Key hết hạn đã xóa: {report.idempotency_keys_purged}; "
               f"tệp không thuộc phản ánh nào đã xóa: {report.orphaned_files_deleted}; "
               f"kết quả công khai được ẩn thêm dữ liệu cá nhân: {hidden}; "
               f"lỗi trong outbox được che: {masked}.")
    if report.skipped_in_flight:
        click.echo(f"Đang gửi, xử lý ở lần chạy sau: {', '.join(report.skipped_in_flight)}")
