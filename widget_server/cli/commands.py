"""The ``phanhoi-widget`` command: a Flask CLI group (``flask --app widget_server …`` works too)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from widget_server.cli import site_values
from widget_server.cli.group import RelayGroup
from widget_server.errors import DomainError, StoreUnavailableError
from widget_server.vocab import SITE_DESTINATIONS
from widget_server.store import db
from widget_server.intake import sites


def _create_app() -> Flask:
    from flask.cli import NoAppException

    from widget_server import create_app
    from widget_server.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        # A missing setting is the operator's to fix: say so in one line, not a traceback.
        raise NoAppException(str(exc)) from exc


@click.group(cls=RelayGroup, create_app=_create_app, add_default_commands=False,
             help="Phản hồi Widget relay: demo, serve, worker, db, sites, outbox, users, stats.")
def main() -> None:
    pass


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# --------------------------------------------------------------------------- db

db_group = click.Group("db", help="Database schema.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the schema migrations (Alembic)."""
    from alembic.util import CommandError

    try:
        db.upgrade(db.get_engine(), revision)
    except CommandError as exc:  # an unknown or ambiguous revision: nothing was applied
        raise click.UsageError(f"--revision: không tìm được phiên bản lược đồ này; không có gì thay đổi. / {exc}") from exc
    click.echo(f"Cơ sở dữ liệu đã cập nhật ({revision}). / The database schema is at {revision}.")


# --------------------------------------------------------------------------- sites

sites_group = click.Group("sites", help="Partner sites that embed the widget or submit server-side.")


NO_ORIGINS = "- (bị từ chối trên mọi trang báo; gửi bằng khóa bí mật, trang /s/ / refused on news pages; secret key, /s/)"


def _print_site(site: sites.Site, secret: str | None = None) -> None:
    click.echo(f"{site.name}")
    click.echo(f"  site_key:   {site.key}")
    if secret:
        click.echo(f"  secret_key: {secret}   (chỉ hiển thị một lần / shown once)")
    click.echo(f"  origins:    {', '.join(site.origins) or NO_ORIGINS}")
    click.echo(f"  locale:     {site.locale}   destination: {site.destination}   "
               f"altcha: {'on' if site.altcha else 'off'}")


@sites_group.command("add")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="An origin allowed to embed the form (repeat).")
@click.option("--locale", default="vi", type=click.Choice(["vi", "en"]), show_default=True)
@click.option("--category", "categories", multiple=True, help="Offer only these category codes.")
@click.option("--agency", "agencies", multiple=True, help="Offer only these agency codes.")
@click.option("--destination", default="central", show_default=True,
              type=click.Choice(sorted(SITE_DESTINATIONS)), help="Where submissions are forwarded.")
@click.option("--altcha/--no-altcha", default=False, help="Require a proof-of-work challenge.")
@click.option("--theme", default="{}", help='JSON, e.g. {"accent": "#b00020"}')
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def sites_add(name: str, origins: tuple[str, ...], locale: str, categories: tuple[str, ...],
              agencies: tuple[str, ...], destination: str, altcha: bool, theme: str,
              as_json: bool) -> None:
    """Register a site; prints its public site key and its secret key (once)."""
    site_values.known_codes("--category", categories, "categories")
    site_values.known_codes("--agency", agencies, "agencies")
    try:
        site, secret = sites.create_site(
            name, list(origins), locale=locale, categories=list(categories) or None,
            agencies=list(agencies) or None, destination=destination, altcha=altcha,
            theme=site_values.theme(theme))
    except (sites.SiteError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        _echo_json({**site.public(), "secret_key": secret})
    else:
        _print_site(site, secret)


@sites_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sites_list(as_json: bool) -> None:
    """List registered sites."""
    all_sites = sites.list_sites()
    if as_json:
        _echo_json([s.public() for s in all_sites])
        return
    if not all_sites:
        click.echo("Chưa có trang nào. Thêm bằng: / No site yet. Add one with: phanhoi-widget sites add TÊN --origin https://…")
    for site in all_sites:
        _print_site(site)


@sites_group.command("show")
@click.argument("site_key")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sites_show(site_key: str, as_json: bool) -> None:
    """Show one site (a deactivated one too)."""
    site = sites.get_site(site_key, inactive=True)
    if site is None:
        raise click.ClickException(sites.SiteError.NO_SITE.format(site_key))
    if as_json:
        _echo_json(site.public())
    else:
        _print_site(site)


@sites_group.command("rotate-key")
@click.argument("site_key")
@click.option("--grace-days", default=7, show_default=True, type=click.IntRange(0, 30),
              help="Days the old key keeps working (0-30, as in the console).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sites_rotate(site_key: str, grace_days: int, as_json: bool) -> None:
    """Issue a new secret key; the old one is accepted for --grace-days more."""
    try:
        secret = sites.rotate_secret(site_key, grace=datetime.timedelta(days=grace_days))
    except sites.SiteError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        return _echo_json({"site_key": site_key, "secret_key": secret, "previous_valid_days": grace_days})
    click.echo(f"secret_key: {secret}\n" + (
        f"Khóa cũ còn hiệu lực {grace_days} ngày. / The old key works {grace_days} more day(s)."
        if grace_days else "Khóa cũ đã hết hiệu lực. / The old key no longer works."))


@sites_group.command("set")
@click.argument("site_key")
@click.option("--name", default=None)
@click.option("--origin", "origins", multiple=True, help="Replace the allowed origins (repeat).")
@click.option("--category", "categories", multiple=True, help="Offer only these categories (repeat).")
@click.option("--all-categories", is_flag=True, help="Offer every category again.")
@click.option("--agency", "agencies", multiple=True, help="Offer only these agencies (repeat).")
@click.option("--all-agencies", is_flag=True, help="Offer every agency again.")
@click.option("--locale", default=None, type=click.Choice(["vi", "en"]))
@click.option("--altcha/--no-altcha", default=None, help="Require (or stop requiring) proof of work.")
@click.option("--active/--inactive", default=None, help="An inactive site's widget shows nothing.")
@click.option("--theme", default=None, help='JSON, e.g. {"accent": "#b00020", "logo": "data:image/png;base64,…"}')
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sites_set(site_key: str, name: str | None, origins: tuple[str, ...],
              categories: tuple[str, ...], all_categories: bool, agencies: tuple[str, ...],
              all_agencies: bool, locale: str | None, altcha: bool | None, active: bool | None,
              theme: str | None, as_json: bool) -> None:
    """Change a site's settings."""
    site_values.known_codes("--category", categories, "categories")
    site_values.known_codes("--agency", agencies, "agencies")
    values: dict[str, Any] = {}
    if theme is not None:
        values["theme"] = site_values.theme(theme)
    if name is not None:
        values["name"] = site_values.name(name)
    for key, value in (("locale", locale), ("altcha", altcha), ("active", active)):
        if value is not None:
            values[key] = value
    if origins:
        values["origins"] = list(origins)
    if categories or all_categories:
        values["categories"] = list(categories) or None
    if agencies or all_agencies:
        values["agencies"] = list(agencies) or None
    if not values:
        raise click.UsageError("Không có gì để thay đổi: thêm ví dụ --origin, --category hoặc --altcha. "
                               "/ Nothing to change: give e.g. --origin, --category or --altcha.")
    if origins:  # a bad origin is a usage error here as in `sites add`
        try:
            values["origins"] = sites.parse_origins(list(origins))
        except sites.SiteError as exc:
            raise click.UsageError(str(exc)) from exc
    try:
        site = sites.update_site(site_key, **values)
    except sites.SiteError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(site.public())
    else:
        _print_site(site)


# --------------------------------------------------------------------------- reference

reference_group = click.Group("reference", help="Categories and agencies offered by the forms.")


@reference_group.command("sync")
@click.option("--central", "central_url", default=None,
              help="Central system base URL (default: PHANHOI_CENTRAL_URL).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def reference_sync(central_url: str | None, as_json: bool) -> None:
    """Take the central system's own categories and agencies (GET {central}/intake/v1/reference)."""
    from widget_server.intake import reference

    url = central_url or current_app.config.get("CENTRAL_URL")
    if not url:
        raise click.UsageError("Cần --central URL hoặc PHANHOI_CENTRAL_URL. / Give --central URL or set "
                               "PHANHOI_CENTRAL_URL.")
    try:
        counts = reference.sync(url, timeout=float(current_app.config["HTTP_TIMEOUT"]))
    except reference.ReferenceError as exc:
        raise click.ClickException(f"Không lấy được danh mục từ {url}; không có gì thay đổi. / {exc}") from exc
    if as_json:
        _echo_json(counts)
    else:
        click.echo(f"Đã cập nhật {counts['categories']} lĩnh vực, {counts['agencies']} cơ quan từ {url}. / "
                   f"{counts['categories']} categories, {counts['agencies']} agencies taken from {url}.")
    for line in site_values.unlisted():
        click.echo(line, err=True)


@reference_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def reference_show(as_json: bool) -> None:
    """The categories and agencies the forms offer now."""
    from widget_server.intake import reference

    lists = {"categories": reference.current_categories(), "agencies": reference.current_agencies()}
    if as_json:
        _echo_json(lists)
        return
    for kind, title in (("categories", "Lĩnh vực"), ("agencies", "Cơ quan")):
        click.echo(f"{title}:")
        for item in lists[kind]:
            click.echo(f"  {item['code']:<24} {item['name']}")


# --------------------------------------------------------------------------- stats


@click.command("stats")
@click.option("--site", "site_key", default=None, help="One site (default: all).")
@click.option("--since", default=None, help="From this day, YYYY-MM-DD.")
@click.option("--until", default=None, help="The funnel up to this day, YYYY-MM-DD (default today).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def stats_command(site_key: str | None, since: str | None, until: str | None, as_json: bool) -> None:
    """SIPAS figures, then the reach funnel per site, channel and day (last 30 days by default)."""
    from widget_server.cli.reach import echo_funnel
    from widget_server.intake import stats
    from widget_server.reach import funnel

    site_id = None
    if site_key:
        site = sites.get_site(site_key, inactive=True)  # a site deactivated since: its figures stay
        if site is None:
            raise click.ClickException(sites.SiteError.NO_SITE.format(site_key))
        site_id = site.id
    try:
        figures = stats.compute(site_id, stats.parse_since(since))
        reach = funnel.compute(None if site_id is None else [site_id], funnel.parse_day(since),
                               funnel.parse_day(until))
    except StoreUnavailableError:
        raise  # a database without tables: the group says what to run
    except DomainError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        _echo_json({**figures, "funnel": reach})
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.1f} %"

    click.echo(f"Tổng số phản ánh:        {figures['total']}")
    click.echo(f"Đã trả lời:              {figures['answered']}   (đúng hạn {pct(figures['on_time_rate'])})")
    click.echo(f"Đang xử lý:              {figures['in_progress']}   (quá hạn {figures['overdue']})")
    click.echo(f"Không tiếp nhận:         {figures['rejected']}")
    click.echo(f"Hài lòng:                {pct(figures['satisfaction_rate'])} của {figures['rated']} đánh giá")
    echo_funnel(reach)


def init_app(app: Flask) -> None:
    """Commands are attached to the group below, so ``flask --app widget_server`` sees them too."""
    for command in (db_group, sites_group, reference_group, stats_command, *_worker_commands()):
        if command.name not in app.cli.commands:
            app.cli.add_command(command)


def _worker_commands() -> tuple[click.Command, ...]:
    from widget_server.cli import demo, outbox, retention, serve, users

    return (serve.serve, *outbox.COMMANDS, demo.demo_command, retention.retention_group, users.users_group)


for _command in (db_group, sites_group, reference_group, stats_command, *_worker_commands()):
    main.add_command(_command)
