import re

import pytest

from widget_server.intake import codes

# Every character, the check character included, is one of Crockford's 32 symbols.
FORMAT = re.compile(r"^PH-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{5}$")


def test_generated_codes_have_the_documented_shape_and_are_canonical():
    for _ in range(500):
        code = codes.generate()
        assert FORMAT.match(code), code
        assert codes.normalise(code) == code


def test_codes_are_unique_enough():
    assert len({codes.generate() for _ in range(5000)}) == 5000


@pytest.mark.parametrize("typed", ["{c}", "{lc}", "{nodash}", "  {c}  ", "{spaced}"])
def test_typing_variants_normalise(typed):
    code = codes.generate()
    variants = {
        "c": code, "lc": code.lower(), "nodash": code.replace("-", ""),
        "spaced": code.replace("-", " "),
    }
    assert codes.normalise(typed.format(**variants)) == code


def test_read_alike_letters_are_accepted_for_digits():
    code = codes.generate()
    body = code[3:7] + code[8:]
    typed = body.replace("0", "O").replace("1", "I")
    assert codes.normalise(typed) == code


def _typos(code):
    """Every code one substituted character away (the check character included)."""
    for pos, ch in enumerate(code):
        if pos < 3 or ch == "-":
            continue
        for other in codes.ALPHABET:
            if other != ch:
                yield code[:pos] + other + code[pos + 1:]


def _swaps(code):
    raw = code[3:7] + code[8:]
    for i in range(len(raw) - 1):
        if raw[i] != raw[i + 1]:
            swapped = raw[:i] + raw[i + 1] + raw[i] + raw[i + 2:]
            yield f"PH-{swapped[:4]}-{swapped[4:]}"


def test_every_single_character_substitution_and_neighbour_swap_is_caught():
    for _ in range(200):
        code = codes.generate()
        for typo in [*_typos(code), *_swaps(code)]:
            assert not codes.has_current_check(typo), (code, typo)


def test_a_typo_is_told_apart_from_garbage():
    code = codes.generate()
    typo = code[:-1] + next(ch for ch in "0123456789" if ch != code[-1])
    if codes.normalise(typo) is None:  # 1 in 37 typos happens to pass the old check
        assert codes.verdict(typo) == "mistyped"
    assert codes.verdict(code) == "valid"
    assert codes.verdict("PH-ABCD-EFG") == "malformed"
    assert codes.verdict("PH-ABCD-EFG!Z") == "malformed"


def test_new_codes_never_use_a_symbol_outside_the_32():
    outside = [c for c in (codes.generate() for _ in range(20_000)) if c[-1] not in codes.ALPHABET]
    assert outside == []


# Codes issued with the mod-37 check symbol (Crockford's), before the Damm check.
LEGACY_CODES = ["PH-84G7-ZWYRU", "PH-3K44-KKAT$", "PH-210J-MWSM~", "PH-HSSB-5EZ0*", "PH-RRD0-HCXT="]


def _legacy(body):
    value = 0
    for ch in body:
        value = value * 32 + codes.ALPHABET.index(ch)
    return "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"[value % 37]


@pytest.mark.parametrize("code", LEGACY_CODES)
def test_codes_issued_with_the_old_check_still_verify(code):
    body = code[3:7] + code[8:12]
    assert _legacy(body) == code[-1], "fixture: a real legacy code"
    assert codes.normalise(code) == code
    assert codes.normalise(code.lower().replace("-", "")) == code
    assert codes.verdict(code) == "valid"


def test_legacy_codes_with_a_check_among_the_32_still_verify():
    import random

    rng = random.Random(7)
    for _ in range(200):
        body = "".join(rng.choice(codes.ALPHABET) for _ in range(8))
        code = f"PH-{body[:4]}-{body[4:]}{_legacy(body)}"
        assert codes.normalise(code) == code


@pytest.mark.parametrize("bad", ["", "PH", "PH-1234", "PH-ABCD-EFGH!", "X" * 50, "PH-ABCD-EFGHU1"])
def test_garbage_is_rejected(bad):
    assert codes.normalise(bad) is None


def _mistype(code):
    """A one-character typo of ``code`` that fails both the new and the old check."""
    return next(t for t in _typos(code) if codes.verdict(t) == "mistyped")


def test_a_mistyped_code_gets_its_own_answer_not_the_wrong_contact_404(client, site, submission_body):
    from tests.helpers import assert_problem

    headers = {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k1"}
    code = client.post("/api/v1/submissions", json=submission_body, headers=headers).get_json()[
        "tracking_code"]
    contact = submission_body["submitter"]["phone"]
    assert client.get(f"/api/v1/submissions/{code}", query_string={"contact": contact}).status_code == 200
    wrong_contact = client.get(f"/api/v1/submissions/{code}", query_string={"contact": "0999999999"})
    assert_problem(wrong_contact, 404, "submission-not-found")
    typo = _mistype(code)
    mistyped = assert_problem(
        client.get(f"/api/v1/submissions/{typo}", query_string={"contact": contact}),
        422, "tracking-code-mistyped")
    assert "gõ nhầm" in mistyped["title"]
    for path, body in (("rating", {"contact": contact, "satisfied": True}),
                       ("data-request", {"contact": contact, "kind": "delete"})):
        assert_problem(client.post(f"/api/v1/submissions/{typo}/{path}", json=body), 422,
                       "tracking-code-mistyped")


def test_the_track_page_says_a_code_looks_mistyped(client, site, submission_body):
    headers = {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k1"}
    code = client.post("/api/v1/submissions", json=submission_body, headers=headers).get_json()[
        "tracking_code"]
    url = f"/w/{site[0].key}/track"
    resp = client.post(url, data={"code": _mistype(code), "contact": "0912345678"})
    assert resp.status_code == 422
    assert _alert(resp).startswith("Mã theo dõi có vẻ bị gõ nhầm")
    resp = client.post(url, data={"code": code, "contact": "0999999999"})
    assert resp.status_code == 404 and _alert(resp).startswith("Không tìm thấy phản ánh")


def _alert(resp):
    html = resp.get_data(as_text=True)
    match = re.search(r'<p class="msg bad" role="alert"[^>]*>([^<]*)</p>', html)
    assert match, html
    return match.group(1)
