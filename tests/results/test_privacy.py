"""Published submissions full of names, phones, emails and addresses: every public output
(API, pages, feed, Open311, the widget variants' framed pages) is scanned for any of it."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
import sqlalchemy as sa

from widget_server.store import db

PEOPLE = [
    {"name": "Nguyễn Thị Hồng Nhung", "phone": "0912345678", "email": "hong.nhung@example.vn",
     "address": "Số 12 ngõ 34 phố Trần Phú, phường Hạc Thành"},
    {"name": "Trần Văn Bình", "phone": "0387654321", "email": "binh.tran@example.com",
     "address": "Thôn Yên Trung, xã Đông Tiến"},
    {"name": "Lê Hoàng Long", "phone": None, "email": "long.le+pakn@example.org",
     "address": "Khu phố 5, phường Quảng Hưng"},
]


def _forms(person: dict[str, Any]) -> list[str]:
    out = [person["name"], person["address"], person["name"].split()[-2] + " " + person["name"].split()[-1]]
    if person["email"]:
        out += [person["email"], person["email"].split("@")[0]]
    if person["phone"]:
        p = person["phone"]
        out += [p, "+84" + p[1:], p[1:], f"{p[:4]} {p[4:7]} {p[7:]}", f"{p[:4]}.{p[4:7]}.{p[7:]}"]
    return out


def test_no_public_output_carries_personal_data(app: Any, client: Any, site: Any,
                                                submission_body: dict[str, Any],
                                                submit_and_publish: Any, publish: Any) -> None:
    for n, person in enumerate(PEOPLE):
        p = person["phone"]
        spoken = f"{p[:4]} {p[4:7]} {p[7:]}" if p else person["email"]
        body = {
            **submission_body,
            "title": f"{person['name']} ({spoken}) phản ánh về rác ở {person['address']}"[:200],
            "content": (f"Tôi là {person['name']}, ở {person['address']}, điện thoại {p}, "
                        f"email {person['email']}. Rác thải tồn đọng nhiều ngày."),
            "location": {"commune_code": None, "address": person["address"], "lat": 19.8, "lon": 105.77},
            "submitter": {"name": person["name"], "phone": p, "email": person["email"]},
            "confidential": n != 0,  # even a citizen who allowed publishing is not published
        }
        submit_and_publish(body, answer=f"Trả lời bà/ông {person['name']} ({p or person['email']}): "
                                        f"đã thu gom rác tại {person['address']}.",
                           central_id=f"TH-{n}")
    publish("KQ-C", title="Kết quả do hệ thống tỉnh công khai")  # a published result alongside
    with db.read() as conn:
        internal = [r for row in conn.execute(sa.select(db.submissions.c.id, db.submissions.c.tracking_code))
                    for r in row]
    items = client.get("/api/v1/results?per_page=100").get_json()["items"]
    assert len(items) == 4
    key = site[0].key
    urls = ["/api/v1/results?per_page=100", "/api/v1/scoreboard", f"/p/{key}", f"/p/{key}/feed.atom",
            f"/p/{key}/scoreboard", "/open311/v2/services.json", "/open311/v2/requests.json",
            "/open311/v2/requests.xml", f"/w/{key}/results", f"/w/{key}/scoreboard",
            f"/w/{key}/results?origin=https://baothanhhoa.example"]
    for item in items:
        urls += [f"/api/v1/results/{item['id']}", f"/p/{key}/{item['id']}",
                 f"/open311/v2/requests/{item['id']}.json", f"/open311/v2/requests/{item['id']}.xml"]
    secrets = [s for person in PEOPLE for s in _forms(person)] + internal
    scanned = 0
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        body = r.get_data(as_text=True)
        scanned += 1
        for secret in secrets:
            assert secret.casefold() not in body.casefold(), f"{secret!r} in {url}"
        assert "Rác thải tồn đọng nhiều ngày" not in body, url  # the citizen's content
    assert scanned == len(urls)
    # What was published is the title and answer with the details taken out, not nothing.
    titles = {i["title"] for i in items}
    assert any("phản ánh về rác" in t for t in titles)
    assert all("đã thu gom rác" in i["answer"] for i in items if i["id"] != "KQ-C")


SUBMITTER = {"name": "Lê Văn A", "phone": "0912345678", "email": "le.van.a@gmail.com"}
# Ordinary text an answer is full of, which hiding personal data must leave as it is.
ORDINARY = ["05/11/2026", "1.500.000 đồng", "91/2025/QH15", "Nghị định 01/2026/NĐ-CP",
            "15.000.000.000 đồng", "lúc 10:30 ngày 12.11.2026", "từ 05/11/2026-06/11/2026", "Thanh Hóa",
            "diện tích 100 m² …"]


def _folded(text: str) -> str:
    """NFKC, lower case, without diacritics: how a reader could still recognise a detail."""
    text = unicodedata.normalize("NFKC", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).casefold()


@pytest.mark.parametrize("written", [
    "(+84) 912 345 678", "+84 (0) 912 345 678", "0912  345  678", "0912/345/678", "０９１２３４５６７８",
    "+84912345678", "0912.345.678", "(0237) 3852 123", "0237-3852-123", "Le Van A", "LÊ VĂN A", "lê văn a",
    "le.van.a [at] gmail.com", "le.van.a (at) gmail.com", "le.van.a at gmail.com", "LE.VAN.A@GMAIL.COM",
    "other.person [at] example [dot] vn", "038090001234", "038 090 001 234", "173456789",
])
def test_every_spelling_of_personal_data_is_hidden(app: Any, client: Any, site: Any,
                                                   submission_body: dict[str, Any],
                                                   submit_and_publish: Any, written: str) -> None:
    body = {**submission_body, "title": f"Rác ở chợ, liên hệ {written}",
            "submitter": SUBMITTER}
    submit_and_publish(body, answer=(f"Trả lời {written}: ngày 05/11/2026 đã thu gom, chi phí 1.500.000 đồng "
                                     "theo Luật 91/2025/QH15 và Nghị định 01/2026/NĐ-CP; dự toán "
                                     "15.000.000.000 đồng; lúc 10:30 ngày 12.11.2026 tại Thanh Hóa, "
                                     "từ 05/11/2026-06/11/2026, diện tích 100 m² …"),
                       central_id="TH-1")
    item = client.get("/api/v1/results").get_json()["items"][0]
    assert "[đã ẩn]" in item["title"] and "[đã ẩn]" in item["answer"]
    assert item["title"] == "Rác ở chợ, liên hệ [đã ẩn]"
    for kept in ORDINARY:
        assert kept in item["answer"], kept
    key = site[0].key
    urls = ["/api/v1/results", f"/api/v1/results/{item['id']}", f"/p/{key}", f"/p/{key}/{item['id']}",
            f"/p/{key}/feed.atom", "/open311/v2/requests.json", "/open311/v2/requests.xml",
            f"/open311/v2/requests/{item['id']}.json", f"/w/{key}/results"]
    digits = "".join(c for c in unicodedata.normalize("NFKC", written) if c.isdigit())
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        text = r.get_data(as_text=True)
        if r.is_json:
            text = json.dumps(r.get_json(), ensure_ascii=False)
        seen = _folded(text)
        assert _folded(written) not in seen, url
        assert "le van a" not in seen and "le.van.a" not in seen, url
        if digits:
            # Not even part of the number: the last digits of an ID are not left behind.
            assert digits[-4:] not in "".join(c if c.isdigit() else " " for c in seen).split(), url
            assert digits[-6:] not in seen.replace(" ", ""), url


@pytest.mark.parametrize("written", ["SĐT0912345678", "sđt0987654321", "Zalo0987.654.321", "ĐT:0987654321",
                                     "LH+84987654321", "CCCD038090001234"])
def test_a_number_written_against_its_label_is_hidden(client: Any, submission_body: dict[str, Any],
                                                       submit_and_publish: Any, written: str) -> None:
    # "SĐT0912345678" (no space after the label) is how many readers write a number: it was
    # published as written, the submitter's own phone included.
    submit_and_publish({**submission_body, "title": f"Rác ở chợ, {written}"}, answer=f"Đã gọi {written}.")
    item = client.get("/api/v1/results").get_json()["items"][0]
    digits = "".join(c for c in written if c.isdigit())
    for text in (item["title"], item["answer"]):
        assert digits[-6:] not in "".join(c for c in text if c.isdigit()), text
        assert "[đã ẩn]" in text


@pytest.mark.parametrize("written", ["STK 0123 4567 8901", "Stk:0123456789012", "số tài khoản: 19035678901234",
                                     "tài khoản ngân hàng số 0123-4567-8901", "a/c no. 00112233",
                                     "thẻ 4111 1111 1111 1111", "thẻ 4111111111111111"])
def test_a_bank_account_or_card_number_is_hidden(client: Any, submission_body: dict[str, Any],
                                                  submit_and_publish: Any, written: str) -> None:
    # An answer about a refund or compensation names the account it was paid into: published
    # as written, a citizen's bank account number was public.
    submit_and_publish({**submission_body, "title": f"Hoàn tiền, {written}"},
                       answer=f"Đã chuyển khoản vào {written}; số dư tài khoản 1.500.000 đồng.")
    item = client.get("/api/v1/results").get_json()["items"][0]
    digits = "".join(c for c in written if c.isdigit())
    for text in (item["title"], item["answer"]):
        assert digits[-6:] not in "".join(c for c in text if c.isdigit()), text
        assert "[đã ẩn]" in text
    assert "số dư tài khoản 1.500.000 đồng" in item["answer"]  # an amount after the word stays


@pytest.mark.parametrize("written", ["Lê Văn A0912345678", "LÊ VĂN A0912345678", "Le Van A 0912345678"])
def test_a_name_written_against_a_number_is_hidden(client: Any, submission_body: dict[str, Any],
                                                    submit_and_publish: Any, written: str) -> None:
    # "Lê Văn A0912345678": the number was hidden and the name, glued to it, was published.
    submit_and_publish({**submission_body, "title": f"Rác ở chợ, {written}", "submitter": SUBMITTER},
                       answer=f"Đã gọi {written}.")
    item = client.get("/api/v1/results").get_json()["items"][0]
    for text in (item["title"], item["answer"]):
        assert "le van a" not in _folded(text), text
        assert "[đã ẩn]" in text


def test_a_known_detail_ending_in_a_number_is_not_found_inside_a_longer_one(
        client: Any, submission_body: dict[str, Any], submit_and_publish: Any) -> None:
    location = {"commune_code": None, "address": "Số 12 ngõ 34", "lat": 19.8, "lon": 105.77}
    submit_and_publish({**submission_body, "title": "Rác ở Số 12 ngõ 345 và Số 12 ngõ 34", "location": location},
                       answer="Đã thu gom.")
    assert client.get("/api/v1/results").get_json()["items"][0]["title"] == "Rác ở Số 12 ngõ 345 và [đã ẩn]"


@pytest.mark.parametrize("long_run", ["a" * 20_000, "0" * 20_000, "a." * 10_000, "0/" * 10_000,
                                      "STK" + " " * 20_000 + "x", "số tài khoản" + " " * 20_000 + ":"])
def test_hiding_takes_time_in_proportion_to_the_text(long_run: str) -> None:
    # An answer is the central system's text: a long run of one character must not make the
    # patterns try every split of it (that took a minute for 20,000 characters).
    import time

    from widget_server.intake.personal import hide

    started = time.perf_counter()
    hide(long_run, ["Lê Văn A", "0912345678", "le.van.a@gmail.com"])
    assert time.perf_counter() - started < 5


def test_what_was_published_or_kept_before_is_hidden_at_the_next_retention_run(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any], submit_and_publish: Any,
        runner: Any) -> None:
    """A result published, and an error kept, before a spelling was known to the masking (here
    as an earlier relay left them) lose it at the next daily ``retention run``."""
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.store.published import results

    sid = submit_and_publish({**submission_body, "submitter": SUBMITTER}, answer="Đã thu gom xong.")
    leaked = "Đã thu gom xong, gọi (+84) 912 345 678 hoặc Le Van A."
    with db.write() as conn:
        conn.execute(sa.update(results).where(results.c.submission_id == sid).values(answer=leaked))
        conn.execute(sa.update(db.outbox).where(db.outbox.c.submission_id == sid)
                     .values(last_error="HTTP 422: Số 0912 345 678 của Lê Văn A không hợp lệ"))
    assert "912 345 678" in client.get("/api/v1/results").get_json()["items"][0]["answer"]
    dry = runner.invoke(args=["retention", "run", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["results_hidden_again"] == 1
    done = runner.invoke(args=["retention", "run"])
    assert done.exit_code == 0, done.output
    answer = client.get("/api/v1/results").get_json()["items"][0]["answer"]
    assert answer == "Đã thu gom xong, gọi [đã ẩn] hoặc [đã ẩn]."
    with db.read() as conn:
        errors = [r.last_error for r in conn.execute(sa.select(db.outbox.c.last_error)
                                                     .where(db.outbox.c.submission_id == sid))]
    assert errors and not any("345" in e or "Lê Văn" in e for e in errors), errors
    again = runner.invoke(args=["retention", "run", "--json"])
    assert json.loads(again.output)["results_hidden_again"] == 0  # nothing left to hide


def test_digits_spaced_out_cost_about_what_ordinary_text_costs() -> None:
    """Digits with runs of spaces between them (a table pasted as text): each gap is matched one
    way, not split every way between the separators around an optional ")" (20 KB took a second,
    sixty times ordinary text, with the publishing transaction held meanwhile)."""
    import time

    from widget_server.intake.personal import hide

    def took(text: str) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            hide(text, ["Lê Văn A", "0912345678"])
            best = min(best, time.perf_counter() - started)
        return best

    ordinary = ("Rác thải tồn đọng ở cổng chợ Vườn Hoa, phường Hạc Thành, đã được thu gom ngày "
                "05/11/2026 theo Nghị định 01/2026/NĐ-CP. ") * 170
    spaced = ("0   1   2   3   4   5   6 x " * 714)[:len(ordinary)]
    assert took(spaced) < 15 * took(ordinary)  # about 6 now; 60 and more before


def test_a_result_republished_during_the_retention_run_keeps_its_new_text(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any], submit_and_publish: Any,
        monkeypatch: Any) -> None:
    """The run reads, hides, then writes: a result republished in between is not put back to
    the text the run had read."""
    from widget_server.intake import personal
    from widget_server.results import events
    from widget_server.store import db
    from widget_server.store.published import results

    sid = submit_and_publish({**submission_body, "submitter": SUBMITTER}, answer="Đã thu gom xong.")
    with db.write() as conn:
        conn.execute(sa.update(results).where(results.c.submission_id == sid)
                     .values(answer="Gọi 0912 345 678 để biết thêm"))
    hide = personal.hide

    def republished_meanwhile(value: str, known: Any = (), **kwargs: Any) -> str:
        with db.write() as conn:
            conn.execute(sa.update(results).where(results.c.submission_id == sid)
                         .values(answer="Đã sửa xong ngày 06/12/2026."))
        return hide(value, known, **kwargs)

    monkeypatch.setattr(personal, "hide", republished_meanwhile)
    events.hide_again()
    with db.read() as conn:
        answer = conn.execute(sa.select(results.c.answer).where(results.c.submission_id == sid)).scalar_one()
    assert answer == "Đã sửa xong ngày 06/12/2026."
