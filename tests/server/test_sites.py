from __future__ import annotations

import datetime as dt

import pytest

from widget_server.intake import sites


@pytest.mark.parametrize(
    ("given", "stored"),
    [("https://BaoThanhHoa.vn/", "https://baothanhhoa.vn"),
     ("https://baothanhhoa.vn:443/bai-viet?x=1", "https://baothanhhoa.vn"),
     ("http://localhost:8000", "http://localhost:8000"),
     ("https://báo.vn", "https://xn--bo-mia.vn")],
)
def test_origins_are_normalised(app, given, stored):
    assert sites.normalise_origin(given) == stored


@pytest.mark.parametrize("bad", ["ftp://x.vn", "javascript:alert(1)", "not a url", "https://"])
def test_bad_origins_are_refused(app, bad):
    with pytest.raises(sites.SiteError):
        sites.create_site("X", [bad])


def test_secret_is_shown_once_and_stored_hashed(app):
    site, secret = sites.create_site("Báo Văn hóa", ["https://vh.example"])
    assert secret.startswith("sk_") and site.key.startswith("pk_")
    import sqlalchemy as sa

    from widget_server.store import db

    with db.read() as conn:
        stored = conn.execute(sa.select(db.sites.c.secret_hash)).scalar_one()
    assert secret not in stored and len(stored) == 64
    assert sites.site_for_secret(secret).key == site.key
    assert sites.site_for_secret(secret + "x") is None
    assert sites.site_for_secret("pk_" + secret[3:]) is None


def test_rotation_keeps_the_old_key_for_the_grace_period(app):
    site, old = sites.create_site("Báo A", ["https://a.example"])
    new = sites.rotate_secret(site.key, grace=dt.timedelta(days=7))
    assert sites.site_for_secret(new).key == site.key
    assert sites.site_for_secret(old).key == site.key
    newer = sites.rotate_secret(site.key, grace=dt.timedelta(seconds=-1))
    assert sites.site_for_secret(newer) is not None
    assert sites.site_for_secret(new) is None  # the grace period is over
    assert sites.site_for_secret(old) is None


def test_inactive_sites_are_invisible(app):
    site, secret = sites.create_site("Báo B", ["https://b.example"])
    sites.update_site(site.key, active=False)
    assert sites.get_site(site.key, inactive=True).key == site.key  # for its citizens' status pages
    assert sites.get_site(site.key) is None  # and for nothing else
    assert sites.site_for_secret(secret) is None


def test_origin_allowed(app):
    site, _ = sites.create_site("Báo C", ["https://c.example"])
    assert sites.origin_allowed(site, "https://C.example")
    assert not sites.origin_allowed(site, "https://c.example.evil.test")
    assert not sites.origin_allowed(site, None)
    assert not sites.origin_allowed(site, "null")


def test_destination_must_be_a_known_adapter(app):
    with pytest.raises(sites.SiteError):
        sites.create_site("X", ["https://x.example"], destination="fax")
    site, _ = sites.create_site("Y", ["https://y.example"], destination="open311")
    assert site.destination == "open311"
    with pytest.raises(sites.SiteError):
        sites.update_site(site.key, destination="nowhere")


@pytest.mark.parametrize("bad", [
    "https://a.example *", "https://a.example;report-uri https://evil.example", "https://a.example 'self'",
    "https://a.example/path", "https://a.example?x=1", "https://a.example#x", "https://user@a.example",
    "https://a..example", "https://-a.example", "https://[::1", "https://a.example:99999",
    "https://a_b.example", "https://1.2.3.400",
])
def test_origins_set_by_an_operator_are_scheme_host_and_port_only(app, bad):
    with pytest.raises(sites.SiteError):
        sites.create_site("X", [bad])
    created, _ = sites.create_site("Y", ["https://ok.example"])
    with pytest.raises(sites.SiteError):
        sites.update_site(created.key, origins=[bad])


@pytest.mark.parametrize(("given", "stored"), [
    ("http://[::1]:8080", "http://[::1]:8080"),
    ("https://[2001:DB8::0:1]", "https://[2001:db8::1]"),
    ("http://192.0.2.7:8000/", "http://192.0.2.7:8000"),
])
def test_ip_origins_are_stored_as_browsers_send_them(app, given, stored):
    site, _ = sites.create_site("IP", [given])
    assert site.origins == [stored]
    assert sites.origin_allowed(site, stored)


def test_sites_add_refuses_a_wildcard_origin(runner):
    from widget_server.cli.commands import sites_add

    result = runner.invoke(sites_add, ["Báo X", "--origin", "https://a.example *"])
    assert result.exit_code != 0
    assert "origin" in result.output
    assert sites.list_sites() == []


@pytest.mark.parametrize(("option", "value"), [("--theme", '"red"'), ("--theme", "[1]"), ("--theme", "null"),
                                               ("--name", ""), ("--name", "   ")])
def test_sites_set_refuses_a_value_that_would_break_the_site(app, runner, option, value):
    """A theme that is not an object (a typo of the JSON) or an empty name was stored: the CLI
    ended in a traceback, and the site's config, the site list and the console failed after it."""
    site, _ = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.vn"])
    result = runner.invoke(args=["sites", "set", site.key, option, value])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ("JSON" if option == "--theme" else "tên") in result.output
    assert sites.list_sites()[0].name == "Báo Thanh Hóa" and sites.list_sites()[0].theme == {}
    assert app.test_client().get(f"/api/v1/sites/{site.key}/config").status_code == 200


def test_sites_add_refuses_a_theme_that_is_not_an_object(app, runner):
    result = runner.invoke(args=["sites", "add", "Báo X", "--origin", "https://x.example.vn", "--theme", "[1]"])
    assert result.exit_code == 2 and "JSON" in result.output and "Traceback" not in result.output
    assert sites.list_sites() == []


@pytest.mark.parametrize("option", ["--category", "--agency"])
def test_an_unknown_category_or_agency_code_is_refused(app, runner, option):
    """A mistyped code was stored: the site's form then offered no category (or agency) at all,
    and no citizen could send anything."""
    site, _ = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.vn"])
    result = runner.invoke(args=["sites", "set", site.key, option, "khong-co"])
    assert result.exit_code == 2 and "khong-co" in result.output and "Traceback" not in result.output
    assert (sites.list_sites()[0].categories, sites.list_sites()[0].agencies) == (None, None)
    config = app.test_client().get(f"/api/v1/sites/{site.key}/config").get_json()
    assert config["categories"] and config["agencies"]
    added = runner.invoke(args=["sites", "add", "Báo X", "--origin", "https://x.example.vn", option, "khong-co"])
    assert added.exit_code == 2 and len(sites.list_sites()) == 1
    known = config["categories" if option == "--category" else "agencies"][0]["code"]
    assert runner.invoke(args=["sites", "set", site.key, option, known]).exit_code == 0
