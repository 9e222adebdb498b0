import unicodedata

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
