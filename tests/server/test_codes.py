import re

import pytest

from widget_server.intake import codes

FORMAT = re.compile(r"^PH-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}[0-9A-HJKMNP-TV-Z*~$=U]$")


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


def test_every_single_character_substitution_is_caught():
    code = codes.generate()
    positions = [i for i, ch in enumerate(code) if i >= 3 and ch != "-"][:-1]
    for pos in positions:
        for ch in codes.ALPHABET:
            if ch == code[pos]:
                continue
            typo = code[:pos] + ch + code[pos + 1:]
            assert codes.normalise(typo) is None, typo


@pytest.mark.parametrize("bad", ["", "PH", "PH-1234", "PH-ABCD-EFGH!", "X" * 50, "PH-ABCD-EFGHU1"])
def test_garbage_is_rejected(bad):
    assert codes.normalise(bad) is None
