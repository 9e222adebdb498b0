from __future__ import annotations

import json

import pytest

from widget_server.intake import sites


def test_sites_add_json_for_scripts(runner):
    result = runner.invoke(args=["sites", "add", "Báo Thanh Hóa", "--origin", "https://baothanhhoa.vn",
                                 "--origin", "https://m.baothanhhoa.vn", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["site_key"].startswith("pk_") and out["secret_key"].startswith("sk_")
    assert out["origins"] == ["https://baothanhhoa.vn", "https://m.baothanhhoa.vn"]
    assert sites.site_for_secret(out["secret_key"]).key == out["site_key"]


def test_sites_list_show_and_rotate(runner):
    added = json.loads(runner.invoke(args=["sites", "add", "Đài PT-TH", "--origin",
                                           "https://tv.example", "--json"]).output)
    listed = json.loads(runner.invoke(args=["sites", "list", "--json"]).output)
    assert [s["site_key"] for s in listed] == [added["site_key"]]
    assert "secret_key" not in listed[0]
    shown = runner.invoke(args=["sites", "show", added["site_key"]])
    assert "Đài PT-TH" in shown.output and added["secret_key"] not in shown.output
    rotated = json.loads(runner.invoke(args=["sites", "rotate-key", added["site_key"], "--json"]).output)
    assert rotated["secret_key"] != added["secret_key"]
    assert sites.site_for_secret(rotated["secret_key"]) is not None


def test_sites_add_rejects_a_bad_origin(runner):
    result = runner.invoke(args=["sites", "add", "X", "--origin", "ftp://x"])
    assert result.exit_code != 0 and "origin" in result.output


def test_site_errors_are_vietnamese_first_and_name_what_is_wrong(runner):
    """One wording for an unknown site key whichever command is given it, and an origin's
    refusal in Vietnamese too; a bad origin is a usage error in ``set`` as in ``add``."""
    for args in (["sites", "show", "pk_nope"], ["sites", "rotate-key", "pk_nope"],
                 ["sites", "set", "pk_nope", "--name", "Y"], ["stats", "--site", "pk_nope"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert "Không có trang pk_nope. / No site pk_nope." in result.output, (args, result.output)
    added = json.loads(runner.invoke(args=["sites", "add", "A", "--json"]).output)
    for args in (["sites", "add", "X", "--origin", "ftp://x"],
                 ["sites", "set", added["site_key"], "--origin", "ftp://x"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)
        assert "Error: Không phải origin http(s) hợp lệ" in result.output, (args, result.output)
        assert "'ftp://x'" in result.output


def test_db_upgrade_is_repeatable(runner):
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0


def test_an_operators_one_line_reports_say_it_in_english_too(runner):
    """Vietnamese first, English second, as every other message: these were Vietnamese only."""
    said = runner.invoke(args=["db", "upgrade"]).output
    assert said.startswith("Cơ sở dữ liệu đã cập nhật (head). / The database schema is at head."), said
    said = runner.invoke(args=["sites", "list"]).output
    assert said.startswith("Chưa có trang nào.") and "No site yet. Add one with: phanhoi-widget sites add" in said


def test_db_upgrade_to_an_unknown_revision_is_a_usage_error(runner):
    result = runner.invoke(args=["db", "upgrade", "--revision", "nope"])
    assert result.exit_code == 2 and "--revision" in result.output and "nope" in result.output, result.output
    assert "Error: --revision: không tìm được phiên bản lược đồ này" in result.output  # Vietnamese first


def test_show_unknown_site_fails(runner):
    assert runner.invoke(args=["sites", "show", "pk_none"]).exit_code != 0


def test_sites_set_changes_origins_categories_and_altcha(runner):
    added = json.loads(runner.invoke(args=["sites", "add", "Báo D", "--origin", "https://d.example",
                                           "--json"]).output)
    result = runner.invoke(args=["sites", "set", added["site_key"], "--origin", "https://new.example",
                                 "--category", "giao-thong", "--altcha", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["origins"] == ["https://new.example"]
    assert out["categories"] == ["giao-thong"] and out["altcha"] is True
    again = json.loads(runner.invoke(args=["sites", "set", added["site_key"], "--all-categories",
                                           "--json"]).output)
    assert again["categories"] is None and again["origins"] == ["https://new.example"]
    assert runner.invoke(args=["sites", "set", added["site_key"]]).exit_code != 0


def test_missing_secret_key_is_one_clear_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    # An instance folder of its own: the checkout's instance/ may hold a demo's secrets.
    env["PHANHOI_INSTANCE_PATH"] = str(tmp_path)
    exe = Path(sys.executable).parent / "phanhoi-widget"
    result = subprocess.run([str(exe), "sites", "list"], env=env, cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "PHANHOI_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Error: Chưa đặt PHANHOI_SECRET_KEY" in result.stderr  # Vietnamese first


def test_help_on_a_host_not_configured_yet_lists_the_commands_without_an_error(tmp_path):
    """The first thing an operator runs: it printed "Error: Chưa đặt PHANHOI_SECRET_KEY" (Flask
    loading the app to look for more commands), and so did a mistyped command before its own error."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env["PHANHOI_INSTANCE_PATH"] = str(tmp_path)
    exe = Path(sys.executable).parent / "phanhoi-widget"
    result = subprocess.run([str(exe), "--help"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    for command in ("demo", "serve", "worker", "db", "sites", "outbox", "reference", "stats", "users",
                    "open311", "retention"):
        assert f"\n  {command} " in result.stdout, command
    mistyped = subprocess.run([str(exe), "site", "list"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert mistyped.returncode == 2 and "No such command 'site'" in mistyped.stderr
    assert "SECRET_KEY" not in mistyped.stderr, mistyped.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "value", "said"), [
    ("PII_RETENTION_DAYS", "-1", "không được âm"),  # would redact every forwarded case at once
    ("OUTBOX_LEASE_SECONDS", "0", "phải lớn hơn 0"),
    ("SMTP_TIMEOUT", "0", "phải lớn hơn 0"),  # 0 makes every socket non-blocking
    ("OUTBOX_CONCURRENCY", "-4", "phải lớn hơn 0"),
    ("HTTP_TIMEOUT", "mười", "phải là một số"),
    ("MAX_ATTACHMENTS", "2.5", "phải là một số nguyên"),
])
def test_a_numeric_setting_out_of_its_range_is_one_clear_line(tmp_path, name, value, said):
    """A setting that cannot work stops the relay at start with its name and what it must be,
    Vietnamese first, instead of running with it (or dying on a traceback)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update(PHANHOI_INSTANCE_PATH=str(tmp_path), PHANHOI_SECRET_KEY="k" * 40,
               PHANHOI_DATABASE_URL=f"sqlite:///{tmp_path / 'relay.sqlite3'}", **{f"PHANHOI_{name}": value})
    exe = Path(sys.executable).parent / "phanhoi-widget"
    result = subprocess.run([str(exe), "sites", "list"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    first = result.stderr.strip().splitlines()[-1]
    assert first.startswith(f"Error: PHANHOI_{name}") and said in first and value in first, first
    assert " / " in first  # then in English


@pytest.mark.parametrize(("name", "value", "said"), [
    # The address the central system publishes for intake, pasted whole: every forward was a 404,
    # and the first submission went dead after one attempt.
    ("CENTRAL_URL", "https://phanhoi.thanhhoa.gov.vn/intake/v1/submissions", "dùng https://phanhoi.thanhhoa.gov.vn"),
    ("CENTRAL_URL", "https://relay:mat-khau@phanhoi.thanhhoa.gov.vn/intake/v1", "dùng https://phanhoi.thanhhoa.gov.vn"),
    ("CENTRAL_URL", "phanhoi.thanhhoa.gov.vn", "http(s)://"),  # every attempt an InvalidSchema retry
    ("PUBLIC_URL", "phanhoi.baothanhhoa.vn", "http(s)://"),  # links and the loader's URL without a scheme
    ("CENTRAL_SECRET", "mat-khau-chung", "whsec_"),  # every delivery a ValueError in the worker's log
    ("CENTRAL_EVENTS_SECRET", "whsec_abc", "whsec_"),  # every event from the central system refused
    ("CENTRAL_SECRET", "", "PHANHOI_CENTRAL_URL"),  # set beside a central URL: nothing could be signed
    ("LOG_LEVEL", "verbose", "DEBUG, INFO"),  # was logging's "ValueError: Unknown level" traceback
    ("DATABASE_URL", "db.internal:5432/phanhoi", "postgresql://"),  # was SQLAlchemy's traceback
    ("DATABASE_URL", "mysql://phanhoi:mat-khau@db.internal/phanhoi", "PostgreSQL"),  # a driver's traceback
])
def test_a_hand_written_setting_that_cannot_work_is_one_clear_line(tmp_path, name, value, said):
    """URLs and secrets an operator writes stop the relay and every command at start with one line
    naming the setting, Vietnamese first, instead of a worker that starts and fails every forward."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from phanhoi.webhooks import generate_secret

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update(PHANHOI_INSTANCE_PATH=str(tmp_path), PHANHOI_SECRET_KEY="k" * 40,
               PHANHOI_DATABASE_URL=f"sqlite:///{tmp_path / 'relay.sqlite3'}",
               PHANHOI_CENTRAL_URL="https://phanhoi.thanhhoa.gov.vn/", PHANHOI_CENTRAL_SECRET=generate_secret(),
               PHANHOI_CENTRAL_EVENTS_SECRET=generate_secret())
    env[f"PHANHOI_{name}"] = value
    exe = Path(sys.executable).parent / "phanhoi-widget"
    for args in (["worker", "--once"], ["sites", "list"]):
        result = subprocess.run([str(exe), *args], env=env, cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"Error: PHANHOI_{name}") and said in last, last
        assert " / " in last and "mat-khau" not in last  # then in English; never a password
    assert not (tmp_path / "relay.sqlite3").exists()


def test_the_settings_of_the_production_example_start(tmp_path):
    """A base URL with a trailing slash, or under a path, and secrets during a rotation are fine."""
    from phanhoi.webhooks import generate_secret

    from widget_server import settings_check

    for central in ("https://phanhoi.thanhhoa.gov.vn/", "https://cong.thanhhoa.gov.vn/phanhoi"):
        settings_check.check({"DATABASE_URL": "postgres://phanhoi@/phanhoi?host=/var/run/postgresql",
                              "PUBLIC_URL": "https://phanhoi.baothanhhoa.vn", "CENTRAL_URL": central,
                              "CENTRAL_SECRET": f"{generate_secret()}, {generate_secret()}",
                              "CENTRAL_EVENTS_SECRET": generate_secret()})
    # A level in any case, as operators write it ("debug" was a traceback), or logging's number.
    assert [settings_check.log_level(v) for v in ("debug", " Info ", "WARNING", 40)] == [10, 20, 30, 40]
    # No central system (sites forwarding to Open311 only): no secret needed.
    settings_check.check({"DATABASE_URL": f"sqlite:///{tmp_path}/r.db", "PUBLIC_URL": "http://127.0.0.1:5000"})


def test_numeric_settings_at_their_bounds_start(app_config):
    from widget_server import create_app

    # As the environment gives them: JSON numbers, or strings when they are not JSON.
    app = create_app({**app_config, "PII_RETENTION_DAYS": 0, "MAX_ATTACHMENTS": "0", "PROXY_HOPS": 0,
                      "OUTBOX_LEASE_SECONDS": 0.5, "HTTP_TIMEOUT": "0.2"})
    assert (app.config["PII_RETENTION_DAYS"], app.config["MAX_ATTACHMENTS"]) == (0, 0)
    assert app.config["OUTBOX_LEASE_SECONDS"] == 0.5


def test_a_database_out_of_reach_is_one_clear_line(tmp_path):
    """A database that is down, or a wrong port in its URL, was a traceback ending in the
    citizen's "what you typed is kept"; now one line naming it, never its password."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update(PHANHOI_INSTANCE_PATH=str(tmp_path), PHANHOI_SECRET_KEY="k" * 40,
               PHANHOI_DATABASE_URL=f"postgresql://phanhoi:mat-khau-bi-mat@127.0.0.1:{port}/phanhoi")
    exe = Path(sys.executable).parent / "phanhoi-widget"
    # The worker too: it started and logged a whole traceback every second.
    for args in (["users", "list"], ["sites", "list"], ["worker"]):
        result = subprocess.run([str(exe), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and "mat-khau-bi-mat" not in result.stderr
        assert f"127.0.0.1:{port}" in result.stderr and "PHANHOI_DATABASE_URL" in result.stderr


def test_sites_set_theme_with_a_logo(runner):
    added = json.loads(runner.invoke(args=["sites", "add", "Đài PT-TH", "--origin", "https://tv.example",
                                           "--json"]).output)
    logo = "data:image/png;base64,iVBORw0KGgo="
    result = runner.invoke(args=["sites", "set", added["site_key"], "--theme",
                                 json.dumps({"accent": "#9b1c1c", "logo": logo}), "--json"])
    assert result.exit_code == 0, result.output
    assert sites.get_site(added["site_key"]).theme == {"accent": "#9b1c1c", "logo": logo}
    refused = runner.invoke(args=["sites", "set", added["site_key"], "--theme", "{nope"])
    assert refused.exit_code == 2
    assert "--theme: không phải JSON hợp lệ" in refused.output and '{"accent": "#b00020"}' in refused.output


def test_a_theme_that_is_not_an_object_is_refused_and_the_sites_stay_readable(runner):
    for theme in ("[1]", '"dark"', "5"):
        result = runner.invoke(args=["sites", "add", "X", "--theme", theme])
        assert result.exit_code == 2 and "JSON object" in result.output, result.output
    added = json.loads(runner.invoke(args=["sites", "add", "Y", "--theme", '{"accent": "#b00020"}',
                                           "--json"]).output)
    result = runner.invoke(args=["sites", "set", added["site_key"], "--theme", "[1]"])
    assert result.exit_code == 2 and "JSON object" in result.output, result.output
    result = runner.invoke(args=["sites", "set", added["site_key"], "--name", "  "])
    assert result.exit_code == 2 and "name" in result.output, result.output
    listed = runner.invoke(args=["sites", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(s["name"], s["theme"]) for s in json.loads(listed.output)] == [("Y", {"accent": "#b00020"})]


def test_open311_sync_without_a_back_end_says_what_to_set(app, runner):
    app.config["OPEN311_URL"] = None
    result = runner.invoke(args=["open311", "sync"])
    assert result.exit_code == 2 and "PHANHOI_OPEN311_URL" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_codes_not_in_the_current_lists_are_refused_and_nothing_is_stored(runner):
    """A typo in --category would leave the site's form with nothing to choose."""
    result = runner.invoke(args=["sites", "add", "Báo E", "--origin", "https://e.example",
                                 "--category", "giao-thong", "--category", "giao-thongg"])
    assert result.exit_code == 2 and "giao-thongg" in result.output and "reference show" in result.output
    assert sites.list_sites() == []
    added = json.loads(runner.invoke(args=["sites", "add", "Báo E", "--origin", "https://e.example",
                                           "--category", "giao-thong", "--json"]).output)
    result = runner.invoke(args=["sites", "set", added["site_key"], "--agency", "so-khong-co"])
    assert result.exit_code == 2 and "so-khong-co" in result.output
    assert sites.get_site(added["site_key"]).agencies is None


def test_a_deactivated_site_is_still_shown_to_its_operator(runner):
    added = json.loads(runner.invoke(args=["sites", "add", "Báo G", "--origin", "https://g.example",
                                           "--json"]).output)
    assert runner.invoke(args=["sites", "set", added["site_key"], "--inactive"]).exit_code == 0
    shown = json.loads(runner.invoke(args=["sites", "show", added["site_key"], "--json"]).output)
    assert shown["site_key"] == added["site_key"] and shown["active"] is False
    figures = runner.invoke(args=["stats", "--site", added["site_key"], "--json"])
    assert figures.exit_code == 0, figures.output  # and its figures


def test_a_site_added_without_origins_is_told_where_it_still_takes_submissions(runner):
    bare = runner.invoke(args=["sites", "add", "Máy chủ đối tác"])
    assert bare.exit_code == 0, bare.output
    origins = next(line for line in bare.output.splitlines() if line.strip().startswith("origins:"))
    assert "bị từ chối trên mọi trang báo" in origins and "/s/" in origins and " / " in origins
    embedded = runner.invoke(args=["sites", "add", "Báo Mới", "--origin", "https://baomoi.example"])
    assert "từ chối" not in embedded.output and "https://baomoi.example" in embedded.output
