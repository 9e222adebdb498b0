"""Tracking codes: short, Crockford base32, with a check character.

``PH-7K3M-9XQD`` reads aloud without ambiguity (no I, L, O, U), types on a
phone keypad, and a mistyped character is caught before any lookup. The check
character is one of the same 32 symbols: the Damm algorithm over the
quasigroup ``x ∘ y = 2·x ⊕ y`` of GF(32), which catches every single-character
substitution and every swap of two neighbouring characters.

Codes issued before this check carried Crockford's mod-37 check symbol (which
could be ``*``, ``~``, ``$``, ``=`` or ``U``); they keep working.
"""

from __future__ import annotations

import re
import secrets
from typing import Literal

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LEGACY_CHECK_ALPHABET = ALPHABET + "*~$=U"
PREFIX = "PH"
BODY_LENGTH = 8  # 40 bits: a billion submissions before a collision is even likely to be tried twice

_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
_SEPARATORS = str.maketrans("", "", " -_.")
_BODY = re.compile(f"[{''.join(sorted(_DECODE))}]{{{BODY_LENGTH}}}")  # the characters _DECODE reads
_POLY = 0b100101  # x⁵ + x² + 1, irreducible over GF(2)

Verdict = Literal["valid", "mistyped", "malformed"]


def _times_two(x: int) -> int:
    x <<= 1
    return x ^ _POLY if x & 0b100000 else x


_DOUBLED = tuple(_times_two(x) for x in range(32))  # 2·x for every x, looked up


def _damm(digits: list[int]) -> int:
    """The Damm interim digit: 0 for a body followed by its check digit.

    ``2·x ⊕ y`` is a quasigroup (every row and column a permutation, so any single
    substitution changes the result), and ``2·(2·c ⊕ x) ⊕ y = 2·(2·c ⊕ y) ⊕ x``
    only when ``x = y`` because 2 ≠ 1 in GF(32) (so neighbour swaps change it too)."""
    interim = 0
    for digit in digits:
        interim = _DOUBLED[interim] ^ digit
    return interim


def _check(body: list[int]) -> str:
    # The check digit d with 2·r ⊕ d = 0 is d = 2·r.
    return ALPHABET[_DOUBLED[_damm(body)]]


def _legacy_check(value: int) -> str:
    return LEGACY_CHECK_ALPHABET[value % 37]


def _format(body: list[int], check: str) -> str:
    text = "".join(ALPHABET[d] for d in body)
    return f"{PREFIX}-{text[:4]}-{text[4:]}{check}"


def generate() -> str:
    value = secrets.randbits(5 * BODY_LENGTH)
    body = [(value >> (5 * i)) & 31 for i in reversed(range(BODY_LENGTH))]
    return _format(body, _check(body))


def _parse(code: str) -> tuple[list[int], str] | None:
    raw = code.upper().translate(_SEPARATORS)
    if raw.startswith(PREFIX):
        raw = raw[len(PREFIX) :]
    if len(raw) != BODY_LENGTH + 1:
        return None
    body_text, check = raw[:-1], raw[-1]
    if not _BODY.fullmatch(body_text):
        return None
    if check in "OIL":  # read-alike letters stand for the digits 0 and 1
        check = ALPHABET[_DECODE[check]]
    if check not in LEGACY_CHECK_ALPHABET:
        return None
    return [_DECODE[ch] for ch in body_text], check


def verdict(code: str) -> Verdict:
    """``valid``; ``mistyped`` — shaped like a code, but its check character does not
    match (a typo: worth its own message); ``malformed`` — not a code at all."""
    parsed = _parse(code)
    if parsed is None:
        return "malformed"
    return "valid" if normalise(code) is not None else "mistyped"


def has_current_check(code: str) -> bool:
    """Whether the code carries the check character codes are issued with now."""
    parsed = _parse(code)
    return parsed is not None and _check(parsed[0]) == parsed[1]


def normalise(code: str) -> str | None:
    """The canonical form of a typed code, or None when it cannot be one of ours."""
    parsed = _parse(code)
    if parsed is None:
        return None
    body, check = parsed
    if _check(body) == check:
        return _format(body, check)
    value = 0
    for digit in body:
        value = value * 32 + digit
    if _legacy_check(value) == check:  # issued before the Damm check
        return _format(body, check)
    return None
