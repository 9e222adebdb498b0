"""The citizen's pages over HTTP: texts, branding, the QR code of the lookup (issue 10, items 10–12)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from widget_server.intake import reference, sites

ROOT = Path(__file__).resolve().parents[2]
# The new tone placement ("hoá", "thuỷ", "xoá") where the old one is the project's ("hóa",
# "thủy", "xóa", as in the official names "Thanh Hóa", "Xã Định Hòa"): a tone on the
# o of oa/oe or the u of uy at the end of a syllable. "qu" is not such a pair.
NEW_STYLE = re.compile(r"(?<![qQ])(?:[oO][áàảãạ]|[oO][éèẻẽẹ]|[uU][ýỳỷỹỵ])(?!\w)")


def _texts() -> dict[str, str]:
    """Everything a citizen, a news site's reader or an operator can read, by source."""
    out: dict[str, str] = {}
    for path in sorted((ROOT / "static/widget/i18n").glob("*.json")):
        out[str(path)] = json.dumps(json.loads(path.read_text("utf-8")), ensure_ascii=False)
    for folder in ("widget_server/web/templates", "examples/central_system/templates"):
        for path in sorted((ROOT / folder).rglob("*.html")):
            out[str(path)] = path.read_text("utf-8")
    for path in sorted((ROOT / "static/widget").glob("*.js")):
        out[str(path)] = path.read_text("utf-8")
    # String literals in the relay and the reference central system (messages, CLI output).
    for folder in ("widget_server", "examples/central_system", "sdk/phanhoi"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            # Docstrings are for developers (text.py names both styles on purpose).
            docs = {id(n.body[0].value) for n in ast.walk(tree)
                    if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                    and n.body and isinstance(n.body[0], ast.Expr)}
            out[str(path)] = "\n".join(n.value for n in ast.walk(tree) if id(n) not in docs
                                       and isinstance(n, ast.Constant) and isinstance(n.value, str))
    return out


def test_one_tone_mark_style_throughout() -> None:
    found = {src: sorted(set(NEW_STYLE.findall(text))) for src, text in _texts().items()}
    assert {src: marks for src, marks in found.items() if marks} == {}


def test_intro_states_the_provincial_scope(client: Any, site: Any) -> None:
    html = client.get(f"/s/{site[0].key}").get_data(as_text=True)
    for words in ("sản xuất, kinh doanh và đời sống dân sinh", "chậm trễ, gây phiền hà, sách nhiễu",
                  "thủ tục hành chính", "Khiếu nại và tố cáo"):
        assert words in html, words


def test_consent_version_is_sent_not_shown(client: Any, site: Any) -> None:
    html = client.get(f"/s/{site[0].key}").get_data(as_text=True)
    version = reference.consent_for(site[0].name).version
    assert f'name="consent.version" value="{version}"' in html
    visible = re.sub(r"<input[^>]*>|<script.*?</script>", "", html, flags=re.S)
    assert version not in visible and version.split(".")[-1] not in visible


def test_agency_names_are_current_and_shared_with_the_central_system(client: Any, site: Any) -> None:
    from central_system import reference as central_reference

    cfg = client.get(f"/api/v1/sites/{site[0].key}/config").get_json()
    names = [a["name"] for a in cfg["agencies"]]
    assert "Thuế tỉnh Thanh Hóa" in names and "Công an tỉnh Thanh Hóa" in names
    assert not any("Cục Thuế" in n for n in names)
    assert central_reference.AGENCIES == cfg["agencies"]
    assert central_reference.CATEGORIES == cfg["categories"]


def test_full_page_branding_with_logo(app: Any, client: Any) -> None:
    logo = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    site, _ = sites.create_site("Đài PT-TH Thanh Hóa", ["https://tv.example"], theme={"logo": logo})
    html = client.get(f"/s/{site.key}").get_data(as_text=True)
    assert f'<img class="brand-l" src="{logo}" alt="" height="40">' in html
    assert '<p class="brand-n">Đài PT-TH Thanh Hóa</p>' in html
    assert "Hệ thống Phản hồi Thanh Hóa" in html.split('class="brand-s"')[1].split("</p>")[0]
    # The lookup page reached from a QR code says the same.
    assert '<p class="brand-n">Đài PT-TH Thanh Hóa</p>' in client.get(f"/w/{site.key}/track").get_data(as_text=True)
    # Only small images carried in the theme: nothing the page would fetch from elsewhere.
    other, _ = sites.create_site("Báo X", ["https://x.example"], theme={"logo": "https://cdn.example/logo.png"})
    assert "brand-l" not in client.get(f"/s/{other.key}").get_data(as_text=True)


def test_framed_form_has_no_branding(client: Any, site: Any) -> None:
    html = client.get(f"/w/{site[0].key}/form?origin=https://baothanhhoa.example").get_data(as_text=True)
    assert 'class="brand"' not in html


def test_qr_code_of_the_lookup_page(app: Any, client: Any, site: Any) -> None:
    from widget_server.intake import codes

    code = codes.generate()
    resp = client.get(f"/w/{site[0].key}/qr.svg", query_string={"code": code.lower(), "lang": "en"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "image/svg+xml"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'"
    svg = resp.get_data(as_text=True)
    assert svg.startswith("<svg") and f"<title>{code}</title>" in svg
    # What it encodes: the relay's own lookup page with the code (segno draws the same
    # URL the same way every time, so the drawing names the URL).
    import io

    import segno

    drawn = io.BytesIO()
    from urllib.parse import urlencode

    url = f"http://relay.test/w/{site[0].key}/track?" + urlencode({"code": code, "lang": "en"})
    segno.make(url, error="m", micro=False).save(
        drawn, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, nl=False, title=code)
    assert svg == drawn.getvalue().decode()
    assert client.get(f"/w/{site[0].key}/qr.svg?code=nope").status_code == 404
    assert client.get(f"/w/pk_unknown/qr.svg?code={code}").status_code == 404


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_success_page_without_javascript_shows_due_date_and_qr(app: Any, client: Any, site: Any,
                                                             lang: str) -> None:
    from tests.widget.test_pages import _form, _token, _valid

    key = site[0].key
    html = client.post(f"/s/{key}?lang={lang}", data={**_valid(app, site[0], _token(_form(client, key))),
                                                     "lang": lang}).get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', html).group(1)
    assert re.search(r'<strong data-due>\d\d/\d\d/20\d\d</strong>', html)
    assert "17" in html.split('id="ok-due"')[1].split("</p>")[0]
    assert f'src="/w/{key}/qr.svg?lang={lang}&amp;code={code}"' in html
