"""The typed contact of a lookup, rewritten to the form a submission stored (intake/contacts.py).

A Vietnamese number typed as ``0…`` or ``+84…`` skips the phone library; what matters is that
it lands on the same E.164 string whenever the number is one a submission could have stored
(a valid number: ``parse_phone`` refuses the rest), so the keyed digests match exactly when
they did before.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from typing import Any

import phonenumbers
import pytest
from marshmallow import ValidationError

from widget_server.intake import contacts
from widget_server.intake.phones import PHONE_SEPARATORS, parse_phone


def _library(typed: str) -> str | None:
    try:
        number = phonenumbers.parse(PHONE_SEPARATORS.sub("", typed), "VN")
    except phonenumbers.NumberParseException:
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _valid(e164: str | None) -> bool:
    if not e164:
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


def _typed_numbers() -> list[str]:
    rng = random.Random(20261206)
    found = []
    # Real prefixes (mobile 03x–09x, landlines 02xx) and random digits, typed as people type them.
    for _ in range(20_000):
        nsn = str(rng.choice("123456789")) + "".join(rng.choice("0123456789") for _ in range(rng.choice((8, 9, 10))))
        style = rng.randrange(4)
        if style == 0:
            found.append("0" + nsn)
        elif style == 1:
            found.append("+84" + nsn)
        elif style == 2:
            found.append(f"0{nsn[:3]} {nsn[3:6]} {nsn[6:]}")
        else:
            found.append(f"(+84) {nsn[:2]}-{nsn[2:]}")
    example = phonenumbers.example_number_for_type
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        number = example("VN", kind)
        found.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
        found.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return found


def test_the_shortcut_gives_what_the_library_gives_for_every_number_a_submission_can_store() -> None:
    typed = _typed_numbers()
    checked = valid = 0
    for number in typed:
        fast, slow = contacts._phone_form(number), _library(number)
        if _valid(slow) or _valid(fast):
            valid += 1
            assert fast == slow, number
        checked += 1
    assert valid > 1_000  # the sample holds many valid numbers, mobiles and landlines
    assert checked == len(typed)


@pytest.mark.parametrize("typed", ["0912345678", "0912 345 678", "+84912345678", "(+84) 91-2345678",
                                   "02373852345", "+842373852345"])
def test_a_stored_number_is_found_however_it_is_typed(typed: str) -> None:
    assert contacts._phone_form(typed) == parse_phone(typed)


def test_digests_stay_those_already_stored(app: Any) -> None:
    """The digest is HMAC-SHA256 under a key derived from the secret key: rows stored by any
    earlier version must still match, whatever way the digest is worked out now."""
    def stored(secret: str, message: bytes) -> str:
        key = hmac.new(secret.encode(), b"phanhoi.contact.v1", hashlib.sha256).digest()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    with app.app_context():
        app.config["SECRET_KEY_FALLBACKS"] = ["older-secret"]
        current = str(app.config["SECRET_KEY"])
        assert contacts.digest("phone", "+84912345678") == stored(current, b"phone:+84912345678")
        assert contacts.digest("email", "ba@example.vn", "older-secret") == stored("older-secret", b"email:ba@example.vn")
        # Twice, from the keyed hashes kept between calls: the copies leave them as they were.
        for _ in range(2):
            assert contacts.contact_digests("0912 345 678") == [
                stored("older-secret", b"phone:+84912345678"), stored(current, b"phone:+84912345678")]
        # Whatever a Python configuration file puts there, the current key still finds the row.
        app.config["SECRET_KEY_FALLBACKS"] = {"older-secret"}
        assert contacts.contact_digests("0912345678")[-1] == stored(current, b"phone:+84912345678")


def _library_parse(typed: str) -> str | None:
    """What ``parse_phone`` gave when every number went through the library: E.164, or None
    when it refused the number."""
    try:
        number = phonenumbers.parse(PHONE_SEPARATORS.sub("", typed), "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def test_a_submitted_number_is_accepted_and_stored_as_the_library_would() -> None:
    """parse_phone skips the parsing for Vietnamese mobiles and landlines: it must accept the
    same numbers and store the same E.164 string as the library, and refuse the same."""
    accepted = 0
    for typed in _typed_numbers() + ["1800 1234", "+1 650 253 0000", "0084912345678", "84912345678",
                                     "0212345678", "091234567", "09123456789", "+840912345678"]:
        expected = _library_parse(typed)
        try:
            got: str | None = parse_phone(typed)
        except ValidationError:
            got = None
        assert got == expected, typed
        accepted += got is not None
    assert accepted > 1_000
