import unicodedata
from typing import Any

import pytest

from widget_server.intake import text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Thanh Hoa\u0301", "Thanh Hoá"),  # decomposed → NFC
        ("Rác\u200bthải", "Rácthải"),  # zero-width space removed
        ("abc\u202eevil", "abcevil"),  # RTL override removed (Trojan Source)
        ("a\u0000b\u0007c", "abc"),  # control characters removed
        ("\ufeffĐường", "Đường"),  # BOM removed
        ("  nhiều    khoảng   trắng  ", "nhiều khoảng trắng"),
        ("dòng 1\ndòng 2", "dòng 1 dòng 2"),
    ],
)
def test_clean_single_line(raw, expected):
    assert text.clean(raw) == expected
    assert unicodedata.is_normalized("NFC", text.clean(raw))


def test_clean_multiline_keeps_paragraphs():
    raw = "Đoạn 1\r\n\r\n\r\n\r\nĐoạn 2  \n  dòng"
    assert text.clean(raw, multiline=True) == "Đoạn 1\n\nĐoạn 2\ndòng"


def test_fold_treats_old_and_new_tone_placement_alike():
    assert "Hóa" != "Hoá"
    assert text.fold("Thanh Hóa") == text.fold("THANH HOÁ") == "thanh hoa"
    assert text.fold("Đông Sơn") == "dong son"


# --- Vietnamese collation (issue 10, item 8) -----------------------------------------

@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Xã Định Tân", "Xã Yên Định"),  # Đ is a letter after D, not after Y
        ("Dân", "Đa"),
        ("Đa", "Em"),
        ("Xã Tân Ninh", "Xã Trúc Lâm"),  # â after a, before r
        ("Ngọc", "Nguyệt"),  # o before u, whatever the tones
        ("Cam", "Căn"), ("Căn", "Cân"), ("Cân", "Cb"),  # a < ă < â
        ("Ôn", "Ơn"), ("Ơn", "Pa"), ("Ung", "Ưng"), ("Ưng", "Vinh"),
        ("ma", "mà"), ("mà", "mả"), ("mả", "mã"), ("mã", "má"), ("má", "mạ"),  # the tones, ICU's order
        ("Hải Bình", "Hàm Rồng"),  # letters decide before tones do
        ("hoa", "Hoa"),  # then case
        ("Phường Hạc Thành", "Xã An Nông"),
        ("Ả", "A Lưới"),  # a shorter word first
    ],
)
def test_vietnamese_collation_pairs(before: str, after: str) -> None:
    assert text.vi_sort_key(before) < text.vi_sort_key(after)
    assert sorted([after, before], key=text.vi_sort_key) == [before, after]


def test_thanh_hoa_communes_in_vietnamese_order(app: Any) -> None:
    from widget_server.intake import reference

    names = [c["name"] for c in reference.communes(38)]
    assert names.index("Phường Bỉm Sơn") < names.index("Phường Đào Duy Từ") < names.index("Phường Hạc Thành")
    xa = [n.removeprefix("Xã ") for n in names if n.startswith("Xã ")]
    # Every "Đ…" right after the "C…" and before the "G…", none after "Y…".
    firsts = [n[0] for n in xa]
    assert firsts.index("Đ") > max(i for i, c in enumerate(firsts) if c == "C")
    assert max(i for i, c in enumerate(firsts) if c == "Đ") < firsts.index("G")
    assert firsts[-1] == "Y"
    assert names.index("Phường Tân Dân") < names.index("Phường Trúc Lâm")
    assert names == sorted(names, key=text.vi_sort_key)


def test_collation_agrees_with_icu_on_every_ward_in_the_country() -> None:
    """ICU's ``vi`` collation is the reference; PyICU needs ICU's headers to build, so this
    runs where it is installed (``pip install pyicu``) and says so where it is not."""
    icu = pytest.importorskip("icu", reason="PyICU not installed: pip install pyicu")
    from vietnam_provinces import Province, Ward

    names = sorted({w.name for w in Ward.iter_all()} | {p.name for p in Province.iter_all()})
    names += ["Hóa", "Hoá", "hoa", "Hòa", "Thủy", "Thuỷ", "ĐÀ", "đà", "A 1", "A1", "a-b", "Ưu", "ưu"]
    collator = icu.Collator.createInstance(icu.Locale("vi"))
    assert sorted(names, key=text.vi_sort_key) == sorted(names, key=collator.getSortKey)


@pytest.mark.parametrize(("typed", "name"), [("hac thanh", "Phường Hạc Thành"), ("HẠC THÀNH", "Phường Hạc Thành"),
                                              ("dao duy tu", "Phường Đào Duy Từ"), ("thuy", "Xã Thủy")])
def test_fold_finds_names_with_or_without_diacritics(typed: str, name: str) -> None:
    assert text.fold(typed) in text.fold(name)
