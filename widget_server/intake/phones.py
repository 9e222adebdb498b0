"""Phone numbers as a submission stores them: E.164, checked by the ``phonenumbers`` library.

A Vietnamese mobile or landline typed as 0… or +84… is matched against the library's own
patterns for those two kinds without being parsed (parsing and the validity check were 65 µs,
a twentieth of a submission); every other number, and every refusal, goes through the library
(tests/server/test_contacts.py holds the two to the same answer).
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from marshmallow import ValidationError

PHONE_SEPARATORS = re.compile(r"[\s().-]")
# The trunk prefix 0 or the country code +84, then a national significant number of 9 or 10
# digits (mobiles 9, landlines 10) that does not start with 0.
_VN_NATIONAL = re.compile(r"0([1-9][0-9]{8,9})")
_VN_E164 = re.compile(r"\+84([1-9][0-9]{8,9})")


def parse_phone(value: str) -> str:
    """A Vietnamese (or international) number as E.164, or ValidationError."""
    digits = PHONE_SEPARATORS.sub("", value)
    national = vn_national_number(digits)
    if national and _common_vn_number(national):
        return "+84" + national
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("Số điện thoại không hợp lệ.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "Số điện thoại không hợp lệ. Số di động có 10 chữ số, ví dụ 0912 345 678."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def vn_national_number(digits: str) -> str | None:
    """The national significant number of a Vietnamese number typed as 0… or +84… (separators
    already taken out), without checking that it is valid; None for any other spelling."""
    plain = _VN_NATIONAL.fullmatch(digits) or _VN_E164.fullmatch(digits)
    return plain.group(1) if plain else None


@functools.cache
def _vn_patterns() -> tuple[tuple[frozenset[int], re.Pattern[str]], ...]:
    """The library's patterns for Vietnam: all its numbers, then its mobiles, then its landlines."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("VN")
    assert metadata is not None
    return tuple((frozenset(desc.possible_length), re.compile(desc.national_number_pattern))
                 for desc in (metadata.general_desc, metadata.mobile, metadata.fixed_line)
                 if desc is not None and desc.national_number_pattern)


def _common_vn_number(nsn: str) -> bool:
    """Whether the national number is a valid Vietnamese mobile or landline by the library's
    metadata (as ``is_valid_number`` decides it for those kinds)."""
    (all_lengths, all_numbers), *kinds = _vn_patterns()
    if len(nsn) not in all_lengths or not all_numbers.fullmatch(nsn):
        return False
    return any(len(nsn) in lengths and pattern.fullmatch(nsn) for lengths, pattern in kinds)
