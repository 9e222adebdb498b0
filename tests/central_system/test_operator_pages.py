"""What the operator sees in the reference central system (issue 10, item 14): the commune,
the attachments, one word per idea, reject after the way forward. The phone-sized page is
tested in Chromium with the widget's browser tests (tests/widget/test_operator_phone_browser.py)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any


from tests.central_system.test_central_app import created_body, post_signed

FILES = [{"id": "att-1", "filename": "ảnh-chợ.jpg", "content_type": "image/jpeg", "size": 20480,
          "sha256": "0" * 64, "url": "http://relay.test/api/v1/attachments/tok-1"},
         {"id": "att-2", "filename": "biên-bản.pdf", "content_type": "application/pdf", "size": 1000,
          "sha256": "1" * 64, "url": "http://relay.test/api/v1/attachments/tok-2"}]


def _detail(client: Any, secrets_: dict[str, str], **extra: Any) -> str:
    body = created_body(**extra)
    r = post_signed(client, "/intake/v1/submissions", body, secrets_["intake"])
    return client.get(f"/submissions/{r.get_json()['central_id']}").get_data(as_text=True)


def test_commune_is_kept_and_shown(client: Any, central: Any, secrets_: dict[str, str]) -> None:
    page = _detail(client, secrets_, location={"commune_code": "14797", "address": "Cổng chợ Vườn Hoa"})
    assert "Phường Hạc Thành (14797)" in page
    assert "Cổng chợ Vườn Hoa" in page
    conn = sqlite3.connect(central.config["DATABASE"])
    assert conn.execute("SELECT commune_code FROM submissions").fetchone()[0] == "14797"


def test_an_older_database_gains_the_commune_column(tmp_path: Any, secrets_: dict[str, str]) -> None:
    import central_system

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    old_schema = re.sub(r"\n\s*commune_code[^\n]*", "", central_system.store.SCHEMA)
    conn.executescript(old_schema)
    conn.close()
    app = central_system.create_app({"DATABASE": str(path), "SECRET_KEY": "k" * 32,
                                     "INTAKE_SECRET": secrets_["intake"], "EVENTS_SECRET": secrets_["events"],
                                     "RELAY_URL": "http://relay.test", "TESTING": True})
    page = _detail(app.test_client(), secrets_, location={"commune_code": "14797", "address": None})
    assert "Phường Hạc Thành" in page


def test_attachments_are_listed(client: Any, secrets_: dict[str, str]) -> None:
    page = _detail(client, secrets_, attachments=FILES)
    assert '<a href="http://relay.test/api/v1/attachments/tok-1" rel="noreferrer">ảnh-chợ.jpg</a>' in page
    assert "biên-bản.pdf</a> (application/pdf, 1 KB)" in page
    assert "Không có." in _detail(client, secrets_, relay_id="sub-2")


def test_one_word_per_idea_and_reject_last(client: Any, secrets_: dict[str, str]) -> None:
    page = _detail(client, secrets_)
    # "Nhận" is what arrived; "Tiếp nhận xử lý" the decision; the deadline is the citizen's word.
    assert "Mới nhận" in page and "Nhận lúc" in page and "Hạn trả lời" in page
    assert "Mới tiếp nhận" not in page and "Tiếp nhận lúc" not in page and "Hạn xử lý" not in page
    buttons = re.findall(r'<button type="submit" name="submit" value="(\w+)">([^<]+)</button>', page)
    assert buttons == [("accept", "Tiếp nhận xử lý"), ("reject", "Không tiếp nhận")]
    listing = client.get("/").get_data(as_text=True)
    assert "<th>Nhận lúc</th><th>Hạn trả lời</th>" in listing


def test_reject_comes_after_answer(client: Any, central: Any, secrets_: dict[str, str]) -> None:
    from central_system import operator

    order = list(operator.ACTIONS)
    assert order.index("reject") > order.index("answer") and order[-1] == "reject"
