"""``phanhoi-widget users``: the console's accounts (add, list, disable, reset)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from widget_server.accounts import users
from widget_server.errors import DomainError

users_group = click.Group("users", help="Console accounts: province admins and site editors.")


def _show_once(password: str | None, uri: str | None) -> None:
    if password:
        click.echo(f"  mật khẩu / password: {password}   (chỉ hiển thị một lần / shown once)")
    if uri:
        import segno

        click.echo(f"  TOTP: {uri}")
        click.echo("  Quét mã bằng ứng dụng xác thực / scan with an authenticator app:")
        segno.make(uri, error="m").terminal(compact=True)


@users_group.command("add")
@click.argument("email")
@click.option("--admin", is_flag=True, help="A province admin: every site.")
@click.option("--site", "site_key", default=None, help="A site editor: this site only.")
@click.option("--totp", is_flag=True, help="Require a one-time code (RFC 6238) at sign-in.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_add(email: str, admin: bool, site_key: str | None, totp: bool, password_stdin: bool,
              as_json: bool) -> None:
    """Make an account; prints its password (generated unless --password-stdin) once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user, password, uri = users.add(email, admin=admin, site_key=site_key, password=password, totp=totp)
    except DomainError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"email": user.email, "role": user.role, "site_key": user.site_key,
                               "password": None if password_stdin else password, "totp_uri": uri},
                              ensure_ascii=False))
        return
    click.echo(f"{user.email}  ({user.role}{' · ' + user.site_key if user.site_key else ''})")
    # A password the operator typed is not echoed back; a generated one is shown this once.
    _show_once(None if password_stdin else password, uri)


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_list(as_json: bool) -> None:
    """Every account, with its role and site (never a password)."""
    everyone = users.list_all()
    if as_json:
        click.echo(json.dumps([{"email": u.email, "role": u.role, "site_key": u.site_key, "totp": u.totp,
                                "disabled": u.disabled, "last_sign_in_at": u.last_sign_in_at}
                               for u in everyone], ensure_ascii=False, default=str))
        return
    if not everyone:
        click.echo("Chưa có tài khoản. / No accounts: phanhoi-widget users add EMAIL --admin")
    for u in everyone:
        flags = [u.role, u.site_key or "", "TOTP" if u.totp else "", "đã khóa/disabled" if u.disabled else ""]
        click.echo(f"{u.email:<40} {' '.join(f for f in flags if f)}")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Lock an account and end its sessions (``reset`` opens it again)."""
    try:
        user = users.disable(email)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Đã khóa {user.email}; mọi phiên đã kết thúc. / Disabled; signed out everywhere.")


@users_group.command("reset")
@click.argument("email")
@click.option("--totp/--no-totp", default=None, help="Issue a new second factor, or remove it.")
@with_appcontext
def users_reset(email: str, totp: bool | None) -> None:
    """A new password (printed once); the account is enabled and signed out everywhere."""
    try:
        user, password, uri = users.reset(email, totp=totp)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(user.email)
    _show_once(password, uri)
