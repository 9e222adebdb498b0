"""Reference data: communes, categories and agencies, and the central system's own lists."""

from __future__ import annotations

import json

import pytest
import responses

from tests.helpers import assert_problem
from widget_server.intake import reference

REFERENCE = "http://central.test/intake/v1/reference"
CENTRAL_LISTS = {
    "categories": [{"code": "moi-truong", "name": "Môi trường"},
                   {"code": "thue", "name": "Thuế"},
                   {"code": "an-ninh", "name": "An ninh, trật tự"}],
    "agencies": [{"code": "cong-an-tinh", "name": "Công an tỉnh Thanh Hóa"},
                 {"code": "thue-tinh", "name": "Thuế tỉnh Thanh Hóa"}],
}


def test_thanh_hoa_has_166_communes_with_official_codes(app):
    communes = reference.communes(38)
    assert len(communes) == 166
    names = [c["name"] for c in communes]
    assert sum(n.startswith("Phường ") for n in names) == 19
    assert sum(n.startswith("Xã ") for n in names) == 147
    assert {"code": "14797", "name": "Phường Hạc Thành"} in communes


@responses.activate
def test_sync_replaces_the_default_lists_everywhere(app, runner, client, site):
    responses.add(responses.GET, REFERENCE, json=CENTRAL_LISTS)
    result = runner.invoke(args=["reference", "sync", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"categories": 3, "agencies": 2}
    cfg = client.get(f"/api/v1/sites/{site[0].key}/config").get_json()
    assert [c["code"] for c in cfg["categories"]] == ["moi-truong", "thue", "an-ninh"]
    assert cfg["agencies"][0]["name"] == "Công an tỉnh Thanh Hóa"
    shown = runner.invoke(args=["reference", "show"])
    assert "an-ninh" in shown.output and "giao-thong" not in shown.output
    said = runner.invoke(args=["reference", "sync"]).output  # the text: Vietnamese, then English
    assert "Đã cập nhật 3 lĩnh vực, 2 cơ quan từ" in said and "/ 3 categories, 2 agencies taken from" in said


@responses.activate
def test_a_category_gone_from_the_central_list_is_refused(app, client, site, submission_body):
    responses.add(responses.GET, REFERENCE, json=CENTRAL_LISTS)
    reference.sync("http://central.test")
    submission_body["category"] = "giao-thong"  # a default, but not the central system's
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k"})
    assert "category" in assert_problem(r, 422)["errors"]


@pytest.mark.parametrize("answer", [
    {"json": {"categories": [], "agencies": []}},
    {"json": {"categories": [{"code": "x"}], "agencies": CENTRAL_LISTS["agencies"]}},
    {"json": {"categories": [{"code": "Bad Code!", "name": "x"}], "agencies": CENTRAL_LISTS["agencies"]}},
    {"json": {**CENTRAL_LISTS, "categories": CENTRAL_LISTS["categories"] * 2}},
    {"json": ["not", "an", "object"]},
    {"body": "<html>not json</html>"},
    {"status": 503, "json": {}},
])
@responses.activate
def test_a_malformed_central_answer_changes_nothing(app, runner, answer):
    responses.add(responses.GET, REFERENCE, **answer)
    result = runner.invoke(args=["reference", "sync", "--central", "http://central.test"])
    assert result.exit_code != 0
    assert reference.current_categories() == reference.DEFAULT_CATEGORIES
    # The operator is told in Vietnamese first, with the address asked and that nothing changed.
    assert result.output.startswith("Error: Không lấy được danh mục từ http://central.test"), result.output
    assert "không có gì thay đổi" in result.output


def test_sync_from_the_reference_central_system(app, tmp_path):
    """The far side is ours: the reference central system's own endpoint, through its test client."""
    import central_system

    central = central_system.create_app({"DATABASE": str(tmp_path / "c.sqlite3"),
                                         "SECRET_KEY": "c" * 32, "INTAKE_SECRET": "",
                                         "EVENTS_SECRET": ""})

    class Session:  # requests-compatible enough for reference.sync
        def get(self, url, **kwargs):
            path = url.removeprefix("http://central.local")
            resp = central.test_client().get(path)

            class R:
                status_code = resp.status_code

                def raise_for_status(self):
                    assert resp.status_code == 200

                def json(self):
                    return resp.get_json()
            return R()

    counts = reference.sync("http://central.local", session=Session())
    assert counts["categories"] >= 5 and counts["agencies"] >= 3


@responses.activate
def test_a_site_whose_chosen_codes_are_all_gone_keeps_a_form_and_is_named(app, runner, client, site,
                                                                          submission_body):
    """The central system renamed its codes: a site offered only "giao-thong" would have had a
    form with nothing to choose and refused every submission."""
    from widget_server.intake import sites

    sites.update_site(site[0].key, categories=["giao-thong", "moi-truong"], agencies=["so-gtvt"])
    responses.add(responses.GET, REFERENCE, json=CENTRAL_LISTS)
    result = runner.invoke(args=["reference", "sync", "--central", "http://central.test"])
    assert result.exit_code == 0, result.output
    # Each site's codes no longer listed are named, with what to do.
    assert f"{site[0].key} (Báo Thanh Hóa): --category giao-thong không còn" in result.output
    assert f"{site[0].key} (Báo Thanh Hóa): --agency so-gtvt không còn" in result.output
    cfg = client.get(f"/api/v1/sites/{site[0].key}/config").get_json()
    assert [c["code"] for c in cfg["categories"]] == ["moi-truong"]  # what is left of the choice
    assert [a["code"] for a in cfg["agencies"]] == ["cong-an-tinh", "thue-tinh"]  # none left: all
    submission_body.update(category="moi-truong", agency="thue-tinh")
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k2"})
    assert r.status_code == 201, r.get_data(as_text=True)
