"""The console: accounts, sign-in, sessions, CSRF, who sees which site, and what each page changes."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import time

import pyotp
import pytest
import responses
import sqlalchemy as sa

from widget_server import create_app
from widget_server.accounts import audit, passwords, users
from widget_server.intake import sites
from widget_server.reach import beacons
from widget_server.store import db, operations
from widget_server.store.outbox import enqueue

PASSWORD = "mật-khẩu-đủ-dài-2026"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """scrypt at a lower cost for speed here; the cost travels in each hash, so verifying is unchanged."""
    monkeypatch.setattr(passwords, "N", 2**12)


@pytest.fixture
def other_site(app):
    return sites.create_site("Đài Phát thanh và Truyền hình", ["https://truyenhinh.example"])


@pytest.fixture
def admin(app):
    return users.add("quantri@tinh.example", admin=True, password=PASSWORD)[0]


@pytest.fixture
def editor(app, site):
    return users.add("bientap@bao.example", site_key=site[0].key, password=PASSWORD)[0]


def csrf_of(resp) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', resp.get_data(as_text=True)).group(1)


def sign_in(client, email, password=PASSWORD, **extra):
    token = csrf_of(client.get("/console/sign-in"))
    return client.post("/console/sign-in", data={"csrf": token, "email": email, "password": password, **extra})


def entries(action):
    return [e for e in audit.recent(limit=500) if e["action"] == action]


# --------------------------------------------------------------------------- passwords and accounts


def test_passwords_are_scrypt_with_a_salt_and_verify_only_themselves():
    monkey_n = passwords.N
    one, two = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert one != two and one.startswith(f"scrypt${monkey_n}$8$1$")
    assert passwords.verify_password(PASSWORD, one)
    assert not passwords.verify_password(PASSWORD + "x", one)
    assert not passwords.verify_password(PASSWORD, "md5$abc")


def test_the_default_cost_is_owasp_s_scrypt_minimum(monkeypatch):
    monkeypatch.undo()
    assert (passwords.N, passwords.R, passwords.P) == (2**17, 8, 1)


def test_users_command_adds_lists_disables_and_resets(app, runner, site):
    out = runner.invoke(args=["users", "add", "QuanTri@Tinh.Example", "--admin", "--json"])
    made = json.loads(out.output)
    assert made["email"] == "quantri@tinh.example" and made["role"] == "admin" and len(made["password"]) >= 12
    out = runner.invoke(args=["users", "add", "bientap@bao.example", "--site", site[0].key])
    assert "editor" in out.output and "shown once" in out.output
    listing = runner.invoke(args=["users", "list"]).output
    assert "quantri@tinh.example" in listing and site[0].key in listing and made["password"] not in listing
    assert users.authenticate("quantri@tinh.example", made["password"]).is_admin

    assert runner.invoke(args=["users", "disable", "quantri@tinh.example"]).exit_code == 0
    with pytest.raises(Exception, match="Wrong email"):
        users.authenticate("quantri@tinh.example", made["password"])
    reset = runner.invoke(args=["users", "reset", "quantri@tinh.example"]).output
    new_password = re.search(r"password: (\S+)", reset).group(1)
    assert users.authenticate("quantri@tinh.example", new_password)
    with pytest.raises(Exception, match="Wrong email"):
        users.authenticate("quantri@tinh.example", made["password"])
    actions = [e["action"] for e in audit.recent()]
    assert {"user.add", "user.disable", "user.reset"} <= set(actions)
    assert made["password"] not in json.dumps(audit.recent(), default=str)


@pytest.mark.parametrize("args", [
    ["users", "add", "a@b.example"],  # neither --admin nor --site
    ["users", "add", "a@b.example", "--admin", "--site", "pk_x"],
    ["users", "add", "not-an-email", "--admin"],
    ["users", "add", "a@b.example", "--site", "pk_nothing"],
])
def test_users_add_refuses_bad_arguments(app, runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert users.list_all() == []


def test_an_account_is_made_once(app, runner, admin):
    result = runner.invoke(args=["users", "add", admin.email, "--admin"])
    assert result.exit_code != 0 and "exists" in result.output


# --------------------------------------------------------------------------- sign-in and sessions


def test_pages_need_a_session(client):
    r = client.get("/console/sites")
    assert r.status_code == 303 and r.headers["Location"].startswith("/console/sign-in?next=/console/sites")


def test_sign_in_sets_a_strict_cookie_and_opens_the_console(client, admin):
    r = sign_in(client, admin.email)
    assert r.status_code == 303 and r.headers["Location"] == "/console/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # the test relay's public URL is http
    page = client.get("/console/")
    assert page.status_code == 200 and "Phễu" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_the_cookie_is_secure_behind_https(app_config, admin):
    app = create_app({**app_config, "PUBLIC_URL": "https://relay.example"})
    client = app.test_client()
    with app.app_context():
        r = sign_in(client, admin.email)
    assert "Secure" in r.headers["Set-Cookie"]
    db.get_engine(app).dispose()


def test_plain_http_sign_in_is_refused_off_loopback(app_config, admin):
    app = create_app({**app_config, "TESTING": False, "PUBLIC_URL": "https://relay.example"})
    client = app.test_client()
    with app.app_context():
        r = client.get("/console/sign-in", base_url="http://relay.example")
        assert r.status_code == 403 and "HTTPS" in r.get_data(as_text=True)
        assert client.get("/console/sign-in", base_url="https://relay.example").status_code == 200
        assert client.get("/console/sign-in", base_url="http://127.0.0.1:5000").status_code == 200
        # HEAD answers as GET does (not as a sign-in with an empty form).
        assert client.head("/console/sign-in", base_url="https://relay.example").status_code == 200
    db.get_engine(app).dispose()


def test_a_wrong_password_is_401_logged_and_opens_nothing(client, admin):
    r = sign_in(client, admin.email, "sai-mat-khau-roi")
    assert r.status_code == 401 and "Wrong email" in r.get_data(as_text=True)
    assert client.get("/console/").status_code == 303
    refused = entries("sign-in.refused")
    assert [e["target"] for e in refused] == [admin.email]
    assert "sai-mat-khau-roi" not in json.dumps(audit.recent(), default=str)


def test_an_unknown_email_gets_the_same_answer(client, admin):
    r = sign_in(client, "ai-do@khong.example")
    assert r.status_code == 401 and "Wrong email" in r.get_data(as_text=True)
    # Counted in the audit, without the address typed (it is no account's, maybe nobody's).
    [refused] = entries("sign-in.refused")
    assert (refused["actor"], refused["target"], refused["details"]) == ("?", None, {"account": "unknown"})
    assert "ai-do@khong.example" not in json.dumps(audit.recent(), default=str)


def test_sign_in_without_csrf_is_refused(client, admin, caplog):
    client.get("/console/sign-in")
    r = client.post("/console/sign-in", data={"email": admin.email, "password": PASSWORD})
    assert r.status_code == 403
    assert client.get("/console/").status_code == 303
    assert "csrf.refused refused (POST /console/sign-in)" in caplog.text  # logged; no account, no audit entry
    assert entries("csrf.refused") == []


def test_anonymous_refusals_write_nothing_to_the_database(client, admin, site):
    """Posts without an account (no cookie, or a cookie with only the sign-in page's CSRF token)
    are refused without a write: no one can grow the audit log or take the write lock at will."""
    before = len(audit.recent(limit=1000))
    padding = "x" * 100_000
    for _ in range(150):
        assert client.post("/console/sign-in", data={"email": admin.email, "padding": padding}).status_code == 403
        assert client.post(f"/console/sites/{site[0].key}", data={"padding": padding}).status_code == 403
    token = csrf_of(client.get("/console/sign-in"))  # a session with a CSRF token, but no account
    for _ in range(150):
        assert client.post("/console/sites", data={"csrf": token, "name": "x"}).status_code == 401
        assert client.post("/console/sign-out", data={"csrf": token}).status_code == 401
    assert len(audit.recent(limit=1000)) == before


def test_a_signed_in_account_s_refusals_are_audited(client, admin):
    sign_in(client, admin.email)
    assert client.post("/console/sites", data={"name": "x"}).status_code == 403
    assert [(e["actor"], e["target"]) for e in entries("csrf.refused")] == [(admin.email, "/console/sites")]


def test_the_next_page_is_a_console_page_only(client, admin):
    token = csrf_of(client.get("/console/sign-in"))
    r = client.post("/console/sign-in", data={"csrf": token, "email": admin.email, "password": PASSWORD,
                                              "next": "//evil.example/console/"})
    assert r.headers["Location"] == "/console/"


def test_a_second_factor_is_asked_for_when_the_account_has_one(client, app):
    user, password, uri = users.add("hai-buoc@tinh.example", admin=True, totp=True)
    secret = pyotp.parse_uri(uri).secret
    assert sign_in(client, user.email, password).status_code == 401
    assert sign_in(client, user.email, password, code="000000").status_code in {401}
    assert sign_in(client, user.email, password, code=pyotp.TOTP(secret).now()).status_code == 303


def test_a_one_time_code_opens_once(client, app):
    """RFC 6238 §5.2: a code accepted once is refused after, from any browser, within its window."""
    user, password, uri = users.add("hai-buoc@tinh.example", admin=True, totp=True)
    totp = pyotp.TOTP(pyotp.parse_uri(uri).secret)
    code = totp.now()
    assert sign_in(client, user.email, password, code=code).status_code == 303
    other = app.test_client()
    r = sign_in(other, user.email, password, code=code)
    assert r.status_code == 401 and "Wrong email" in r.get_data(as_text=True)
    assert other.get("/console/").status_code == 303
    assert entries("sign-in.refused")[0]["details"] == {"second_factor": "used before"}


def test_a_code_before_the_last_accepted_one_is_refused(client, app):
    user, password, uri = users.add("hai-buoc@tinh.example", admin=True, totp=True)
    totp = pyotp.TOTP(pyotp.parse_uri(uri).secret)
    now = time.time()
    later, current = totp.at(now + totp.interval), totp.at(now)
    assert sign_in(client, user.email, password, code=later).status_code == 303  # a fast clock
    assert sign_in(app.test_client(), user.email, password, code=current).status_code == 401
    # A reset with a new second factor starts afresh.
    _, password, uri = users.reset(user.email, totp=True)
    fresh = pyotp.TOTP(pyotp.parse_uri(uri).secret)
    assert sign_in(app.test_client(), user.email, password, code=fresh.now()).status_code == 303


def test_sign_in_is_rate_limited(app_config, admin):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "3 per minute"})
    client = app.test_client()
    with app.app_context():
        codes = [sign_in(client, admin.email, "sai-mat-khau-roi").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    db.get_engine(app).dispose()


def test_an_accounts_sign_ins_count_only_when_they_fail(app_config, admin):
    """The account's limit counts failures only; an address's counts every attempt."""
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "3 per minute",
                      "RATELIMIT_SIGN_IN_ACCOUNT": "3 per hour"})
    with app.app_context():
        codes = []
        for n in range(6):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
            codes.append(sign_in(client, admin.email).status_code)
        assert codes == [303] * 6
        # One address (the test client's own), a new browser each time.
        assert [sign_in(app.test_client(), admin.email).status_code for _ in range(4)] == [303, 303, 303, 429]
    db.get_engine(app).dispose()


def _burst(count, send):
    import threading

    answers = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        answers[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_burst_of_parallel_guesses_from_one_address_gets_no_more_than_its_limit(app_config, admin):
    """Requests that arrive together: a limit counting failures only checks before the answer and
    counts after it, so all of them passed its check. An address's every attempt counts at once."""
    import threading

    import requests
    from werkzeug.serving import make_server

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "10 per hour;5 per minute",
                      "RATELIMIT_SIGN_IN_ACCOUNT": "50 per hour"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        first = requests.Session()
        csrf = re.search(r'name="csrf" value="([^"]+)"', first.get(base + "/console/sign-in").text).group(1)
        cookies = first.cookies.get_dict()
        codes = _burst(30, lambda i: requests.post(
            base + "/console/sign-in", cookies=cookies, allow_redirects=False, timeout=60,
            data={"csrf": csrf, "email": admin.email, "password": f"doan-{i}"}).status_code)
    finally:
        server.shutdown()
        server.server_close()
        db.get_engine(app).dispose()
    assert codes.count(401) <= 5 and codes.count(429) >= 25, sorted(codes)


def _sign_in_from(app, admin, address, password):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return sign_in(client, admin.email, password).status_code


def test_fresh_addresses_get_few_guesses_at_a_closed_account(app_config, admin):
    """Past its limit an account is open to an address that has not failed on it, for its owner;
    not to as many guesses as an attacker has addresses (a whole IPv6 /64 is one address)."""
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "10 per hour",
                      "RATELIMIT_SIGN_IN_ACCOUNT": "4 per hour"})

    def attempt(address, password="sai-mat-khau-roi"):
        return _sign_in_from(app, admin, address, password)

    with app.app_context():
        assert [attempt(f"203.0.113.{n}") for n in range(1, 5)] == [401] * 4  # the account closes
        same_block = [attempt(f"2001:db8::{n:x}") for n in range(1, 6)]
        assert same_block == [401, 429, 429, 429, 429]  # one /64: one fresh address
        fresh = [attempt(f"198.51.{n}.1") for n in range(1, 40)]
        assert 0 < fresh.count(401) <= 10 and fresh[-1] == 429, fresh
    db.get_engine(app).dispose()


def test_strangers_failures_do_not_lock_the_owner_out(app_config, admin):
    """Guesses from several addresses close the account to them; its owner, with the right
    password from an address that has not failed, still signs in. A guesser stays stopped."""
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "10 per hour",
                      "RATELIMIT_SIGN_IN_ACCOUNT": "4 per hour"})

    def attempt(address, password="sai-mat-khau-roi"):
        return _sign_in_from(app, admin, address, password)

    with app.app_context():
        # The account's budget, spent from four addresses (each one's first failure counts).
        assert [attempt(f"203.0.113.{n}") for n in range(1, 5)] == [401] * 4
        assert attempt("203.0.113.1") == 429 and attempt("203.0.113.4") == 429
        assert attempt("203.0.113.1", PASSWORD) == 429  # an address that failed: not even the right one
        assert attempt("198.51.100.7", PASSWORD) == 303  # the owner, elsewhere
        assert attempt("198.51.100.7", PASSWORD) == 303
        # A new address gets one guess at the closed account, then is closed out too.
        assert attempt("203.0.113.9") == 401
        assert attempt("203.0.113.9") == 429 and attempt("203.0.113.9", PASSWORD) == 429
        # A colleague's typo behind the owner's address, on their own account, changes nothing.
        colleague = users.add("bientap@bao.example", admin=True, password=PASSWORD)[0]
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "198.51.100.8"
        assert sign_in(client, colleague.email, "sai-mat-khau-roi").status_code == 401
        assert attempt("198.51.100.8", PASSWORD) == 303
    db.get_engine(app).dispose()


def test_an_idle_session_ends_and_a_post_with_it_changes_nothing(client, admin, site):
    sign_in(client, admin.email)
    token = csrf_of(client.get(f"/console/sites/{site[0].key}"))
    with client.session_transaction("/console/") as s:
        s["seen"] = int(time.time()) - 2 * 3600
    r = client.post(f"/console/sites/{site[0].key}", data={
        "csrf": token, "name": "Đổi tên", "origins": "https://baothanhhoa.example"})
    assert r.status_code == 401 and "hết hạn" in r.get_data(as_text=True)
    assert sites.get_site(site[0].key).name == "Báo Thanh Hóa"
    assert entries("session.refused") == []  # no account any more: logged, not audited
    assert client.get("/console/").status_code == 303


def test_a_reset_or_a_disable_ends_open_sessions(client, admin):
    sign_in(client, admin.email)
    assert client.get("/console/").status_code == 200
    users.disable(admin.email)
    assert client.get("/console/").status_code == 303


def test_sign_out_ends_the_session(client, admin):
    sign_in(client, admin.email)
    token = csrf_of(client.get("/console/"))
    assert client.post("/console/sign-out", data={"csrf": token}).status_code == 303
    assert client.get("/console/").status_code == 303


def test_sign_out_ends_the_session_on_the_server_too(app, client, admin):
    """A copy of the cookie taken before the sign-out (another browser, a stolen one) opens
    nothing after it, and its CSRF token changes nothing."""
    sign_in(client, admin.email)
    token = csrf_of(client.get("/console/sites"))
    copy = app.test_client()
    copy.set_cookie("phanhoi_console", client.get_cookie("phanhoi_console", path="/console").value,
                    path="/console")
    assert copy.get("/console/sites").status_code == 200
    assert client.post("/console/sign-out", data={"csrf": token}).status_code == 303

    r = copy.get("/console/sites")
    assert r.status_code == 303 and r.headers["Location"].startswith("/console/sign-in")
    r = copy.post("/console/sites", data={"csrf": token, "name": "Báo Mới", "origins": "https://baomoi.example"})
    assert r.status_code == 401
    assert [s.name for s in sites.list_sites()] == []
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(operations.console_sessions)).scalar() == 0


def test_signing_out_ends_that_session_only(app, client, admin):
    sign_in(client, admin.email)
    elsewhere = app.test_client()
    sign_in(elsewhere, admin.email)
    assert client.post("/console/sign-out", data={"csrf": csrf_of(client.get("/console/"))}).status_code == 303
    assert client.get("/console/").status_code == 303
    assert elsewhere.get("/console/").status_code == 200


# --------------------------------------------------------------------------- who sees what


def test_an_editor_sees_only_their_site(client, editor, site, other_site):
    beacons.add(other_site[0].id, "web", "impression", beacons.hour_of(dt.datetime.now(dt.UTC)), 9)
    sign_in(client, editor.email)
    listing = client.get("/console/sites").get_data(as_text=True)
    assert site[0].key in listing and other_site[0].key not in listing
    overview = client.get("/console/").get_data(as_text=True)
    assert other_site[0].key not in overview
    assert "Thêm trang" not in listing  # adding sites is an admin's


@pytest.mark.parametrize("method,path", [
    ("GET", "/console/sites/{other}"),
    ("POST", "/console/sites/{other}"),
    ("POST", "/console/sites/{other}/rotate"),
    ("GET", "/console/sites/{other}/qr-print.svg"),
    ("GET", "/console/?site={other}"),
    ("GET", "/console/export.csv?site={other}"),
    ("GET", "/console/delivery"),
    ("POST", "/console/delivery/replay"),
    ("POST", "/console/sites"),
])
def test_an_editor_opening_another_site_or_an_admin_page_gets_403(client, editor, other_site, method, path):
    sign_in(client, editor.email)
    token = csrf_of(client.get("/console/"))
    url = path.format(other=other_site[0].key)
    data = {"csrf": token, "name": "Chiếm quyền", "origins": "https://evil.example", "id": "x", "all": "1"}
    r = client.get(url) if method == "GET" else client.post(url, data=data)
    assert r.status_code == 403
    assert sites.get_site(other_site[0].key).name == "Đài Phát thanh và Truyền hình"
    assert len(sites.list_sites()) == 2
    assert {e["action"] for e in audit.recent()} & {"site.forbidden", "page.forbidden"}


# --------------------------------------------------------------------------- sites and keys


@pytest.mark.parametrize("origin", [
    "https://bao.example/path", "https://*.bao.example", "ftp://bao.example", "http://bao.example",
    "https://user@bao.example", "https://bao.example?x=1", "https://bao.example#top", "https://bao",
    "javascript:alert(1)", "bao.example",
])
def test_origins_are_validated_strictly(client, admin, site, origin):
    sign_in(client, admin.email)
    token = csrf_of(client.get(f"/console/sites/{site[0].key}"))
    r = client.post(f"/console/sites/{site[0].key}", data={"csrf": token, "name": "Báo Thanh Hóa",
                                                           "origins": f"https://baothanhhoa.example\n{origin}"})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.get_data(as_text=True)
    assert sites.get_site(site[0].key).origins == ["https://baothanhhoa.example"]


def test_site_settings_are_saved_and_logged(client, editor, site):
    sign_in(client, editor.email)
    token = csrf_of(client.get(f"/console/sites/{site[0].key}"))
    r = client.post(f"/console/sites/{site[0].key}", data={
        "csrf": token, "name": "Báo Thanh Hóa điện tử", "accent": "#8A1414",
        "origins": "https://baothanhhoa.example\nhttps://Báo.example\nhttp://localhost:8080"})
    assert r.status_code == 303
    saved = sites.get_site(site[0].key)
    assert saved.name == "Báo Thanh Hóa điện tử" and saved.theme["accent"] == "#8a1414"
    idn = sites.normalise_origin("https://Báo.example")
    assert idn.startswith("https://xn--") and saved.origins == ["http://localhost:8080", "https://baothanhhoa.example", idn]
    assert entries("site.update")[0]["actor"] == editor.email


def test_a_low_contrast_accent_is_refused(client, admin, site):
    sign_in(client, admin.email)
    token = csrf_of(client.get(f"/console/sites/{site[0].key}"))
    r = client.post(f"/console/sites/{site[0].key}", data={
        "csrf": token, "name": "Báo Thanh Hóa", "origins": "https://baothanhhoa.example", "accent": "#ffff00"})
    assert r.status_code == 422 and sites.get_site(site[0].key).theme == {}


def test_the_embed_snippet_pins_the_loader_with_sri(client, admin, site):
    from widget_server.web import assets

    sign_in(client, admin.email)
    raw = client.get(f"/console/sites/{site[0].key}?variant=button&channel=tv&nonce=1").get_data(as_text=True)
    page = html.unescape(raw)  # the snippet sits escaped in a textarea
    assert "<script async" not in raw
    loader = assets.get_asset("loader.js")
    assert f"/static/widget/{loader.versioned}" in page and loader.integrity in page
    assert 'data-channel="tv"' in page and 'data-variant="button"' in page and "NONCE_CUA_TRANG" in page


@pytest.mark.parametrize("kind,ctype,magic", [("svg", "image/svg+xml", b"<svg"), ("png", "image/png", b"\x89PNG")])
def test_qr_codes_for_print_and_tv(client, admin, site, kind, ctype, magic):
    sign_in(client, admin.email)
    r = client.get(f"/console/sites/{site[0].key}/qr-tv.{kind}")
    assert r.status_code == 200 and r.mimetype == ctype and magic in r.data[:200]


def test_a_key_rotation_shows_the_secret_once_and_keeps_the_old_one_for_the_grace(client, admin, site):
    sign_in(client, admin.email)
    token = csrf_of(client.get(f"/console/sites/{site[0].key}"))
    r = client.post(f"/console/sites/{site[0].key}/rotate", data={"csrf": token, "grace_days": "7"})
    new = re.search(r'value="(sk_[^"]+)"', r.get_data(as_text=True)).group(1)
    assert sites.site_for_secret(new).key == site[0].key
    assert sites.site_for_secret(site[1]).key == site[0].key  # the old one, within the grace
    assert new not in client.get(f"/console/sites/{site[0].key}").get_data(as_text=True)
    logged = entries("site.key-rotated")
    assert logged[0]["details"] == {"grace_days": 7} and new not in json.dumps(audit.recent(), default=str)


def test_an_admin_adds_a_site_and_sees_its_secret_once(client, admin):
    sign_in(client, admin.email)
    token = csrf_of(client.get("/console/sites"))
    r = client.post("/console/sites", data={"csrf": token, "name": "Báo Mới", "origins": "https://baomoi.example"})
    assert r.status_code == 201
    secret = re.search(r'value="(sk_[^"]+)"', r.get_data(as_text=True)).group(1)
    assert sites.site_for_secret(secret).name == "Báo Mới"


def test_a_post_without_csrf_changes_nothing(client, admin, site):
    sign_in(client, admin.email)
    r = client.post(f"/console/sites/{site[0].key}/rotate", data={"grace_days": "0"})
    assert r.status_code == 403
    assert sites.site_for_secret(site[1]) is not None
    with db.read() as conn:
        row = conn.execute(sa.select(db.sites.c.previous_secret_hash).where(db.sites.c.id == site[0].id)).one()
    assert row.previous_secret_hash is None


# --------------------------------------------------------------------------- delivery and export


def test_dead_rows_are_listed_with_their_error_and_replayed(client, admin, site):
    with db.write() as conn:
        row_id = enqueue(conn, destination="central", event_type="submission.created", data={})
        conn.execute(sa.update(db.outbox).where(db.outbox.c.id == row_id).values(
            state="dead", attempts=20, last_status=503, last_error="central: 503 Service Unavailable"))
    sign_in(client, admin.email)
    page = client.get("/console/delivery")
    assert "503 Service Unavailable" in page.get_data(as_text=True)
    r = client.post("/console/delivery/replay", data={"csrf": csrf_of(page), "id": row_id})
    assert r.status_code == 303
    with db.read() as conn:
        state, attempts = conn.execute(sa.select(db.outbox.c.state, db.outbox.c.attempts)
                                       .where(db.outbox.c.id == row_id)).one()
    assert (state, attempts) == ("pending", 0)
    assert entries("outbox.replay")[0]["details"] == {"rows": 1}


@responses.activate
def test_rows_being_retried_are_listed_with_their_last_error(app, client, admin, site, submission_body):
    """Only dead rows showed their error: a central system answering 503 (or a certificate that
    expired) left the console saying nothing for the hours of retries before a row dies."""
    from widget_server.delivery.worker import Worker
    from widget_server.intake import submissions

    app.config["CENTRAL_URL"] = "http://central.test"
    responses.add(responses.POST, "http://central.test/intake/v1/submissions", status=503,
                  json={"title": "Bảo trì hệ thống"})
    created = submissions.create_submission(site[0], dict(submission_body), via="api")
    Worker(app, "w").run_once()
    sign_in(client, admin.email)
    page = html.unescape(client.get("/console/delivery").get_data(as_text=True))
    retrying = page.split('id="h-retrying"')[1].split('id="h-dead"')[0]
    assert created["tracking_code"] in retrying and "503" in retrying and "Bảo trì hệ thống" in retrying
    assert "Không có dòng hỏng" in page.split('id="h-dead"')[1]  # not dead: still being tried
    assert created["tracking_code"] not in page.split('id="h-dead"')[1]


def test_export_is_csv_of_the_funnel(client, admin, site):
    beacons.add(site[0].id, "tv", "impression", beacons.hour_of(dt.datetime.now(dt.UTC)), 7)
    sign_in(client, admin.email)
    r = client.get("/console/export.csv")
    lines = r.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert r.mimetype == "text/csv" and lines[0].startswith("day,site,channel,impressions,opens")
    assert f",{site[0].key},tv,7,0,0,0,0,0" in lines[1]


def test_a_bad_period_is_400_with_a_message(client, admin):
    sign_in(client, admin.email)
    assert client.get("/console/?since=hôm-qua").status_code == 400
    assert client.get("/console/?since=2026-11-20&until=2026-11-01").status_code == 400
    assert client.get("/console/?until=9999-12-31").status_code == 400  # no day after it
    assert client.get("/console/?until=0001-01-01").status_code == 400  # no 29 days before it


def test_a_day_out_of_range_or_a_period_too_long_is_400_not_500(client, admin, runner):
    """Days a date type holds but no period means (year 9999, year 1) were a 500 with a
    traceback; a period since 1900 a page of 14 MB, a row for every day."""
    sign_in(client, admin.email)
    for query in ("until=9999-12-31", "since=0001-01-01", "since=1900-01-01&until=2026-11-30",
                  "since=2020-01-01&until=2026-11-30"):
        page = client.get(f"/console/?{query}")
        assert page.status_code == 400 and "role=\"alert\"" in page.get_data(as_text=True), query
        assert client.get(f"/console/export.csv?{query}").status_code == 400, query
    assert client.get("/console/?since=2024-12-01&until=2026-11-30").status_code == 200  # two years
    for option in ("--until", "--since"):
        result = runner.invoke(args=["stats", option, "9999-12-31"])
        assert result.exit_code == 2 and "9998-12-31" in result.output and "Traceback" not in result.output


def test_the_audit_page_shows_an_editor_only_their_site(client, admin, editor, site, other_site):
    audit.record(admin.email, "site.update", other_site[0].key, site_id=other_site[0].id)
    sign_in(client, editor.email)
    page = client.get("/console/audit").get_data(as_text=True)
    assert other_site[0].key not in page and "sign-in" in page


def test_a_password_can_come_from_standard_input(app, runner):
    result = runner.invoke(args=["users", "add", "nhap@tinh.example", "--admin", "--password-stdin"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0 and PASSWORD not in result.output  # typed, so not echoed
    assert users.authenticate("nhap@tinh.example", PASSWORD).is_admin
    short = runner.invoke(args=["users", "add", "ngan@tinh.example", "--admin", "--password-stdin"],
                          input="ngan\n")
    assert short.exit_code != 0 and len(users.list_all()) == 1


def test_nothing_on_standard_input_makes_no_account(app, runner):
    """An empty line (or none: a pipe from a command that printed nothing) is no password: the
    account is not made with a generated one that --password-stdin never shows."""
    for given in ("\n", ""):
        result = runner.invoke(args=["users", "add", "rong@tinh.example", "--admin", "--password-stdin"],
                               input=given)
        assert result.exit_code == 2 and "12" in result.output and "Traceback" not in result.output
    assert users.list_all() == []


def test_a_session_seen_idle_ends_for_every_copy_of_its_cookie(app, client, admin):
    """The owner's tab idles out while a copy of its cookie is kept busy elsewhere: the idle
    session ends on the relay, so the copy stops opening the console too."""
    sign_in(client, admin.email)
    cookie = client.get_cookie("phanhoi_console", path="/console").value
    copy = app.test_client()
    copy.set_cookie("phanhoi_console", cookie, path="/console")
    assert copy.get("/console/").status_code == 200
    with client.session_transaction("/console/") as s:
        s["seen"] = int(time.time()) - 2 * 3600
    assert client.get("/console/").status_code == 303  # the owner's tab: expired
    assert copy.get("/console/").status_code == 303  # and so is the copy kept fresh
    assert sign_in(client, admin.email).status_code == 303
    assert client.get("/console/").status_code == 200 and copy.get("/console/").status_code == 303


def test_a_site_without_origins_says_where_its_form_still_works(client, admin):
    """A site may have no origins (a partner that sends from its server only); its page says
    that the banner is then refused on every news page, where it would show a snippet as usual."""
    sign_in(client, admin.email)
    token = csrf_of(client.get("/console/sites"))
    assert client.post("/console/sites", data={"csrf": token, "name": "Máy chủ đối tác", "origins": ""}).status_code == 201
    assert client.post("/console/sites", data={"csrf": token, "name": "Báo Mới",
                                               "origins": "https://baomoi.example"}).status_code == 201
    bare, embedded = sorted(sites.list_sites(), key=lambda s: bool(s.origins))
    page = client.get(f"/console/sites/{bare.key}").get_data(as_text=True)
    assert 'id="no-origins"' in page and "chưa có nguồn nào" in page.lower()
    assert f"/s/{bare.key}" in page
    assert 'id="no-origins"' not in client.get(f"/console/sites/{embedded.key}").get_data(as_text=True)
    # What it says is so: the relay's own page takes submissions for it.
    assert client.get(f"/s/{bare.key}").status_code == 200
