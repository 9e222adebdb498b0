"""Tracking codes: short, Crockford base32, with a check character.

``PH-7K3M-9XQD`` reads aloud without ambiguity (no I, L, O, U), types on a
phone keypad, and a mistyped character is caught by the mod-37 check symbol
before any lookup (Crockford's base32 spec, "check symbol").
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
PREFIX = "PH"
BODY_LENGTH = 8  # 40 bits: a billion submissions before a collision is even likely to be tried twice

_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})


def _check(value: int) -> str:
    return CHECK_ALPHABET[value % 37]


def generate() -> str:
    value = secrets.randbits(5 * BODY_LENGTH)
    body = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(BODY_LENGTH)))
    return f"{PREFIX}-{body[:4]}-{body[4:]}{_check(value)}"


def normalise(code: str) -> str | None:
    """The canonical form of a typed code, or None when it cannot be one of ours."""
    raw = "".join(ch for ch in code.upper() if ch not in " -_.")
    if raw.startswith(PREFIX):
        raw = raw[len(PREFIX) :]
    if len(raw) != BODY_LENGTH + 1:
        return None
    body, check = raw[:-1], raw[-1]
    value = 0
    for ch in body:
        if ch not in _DECODE:
            return None
        value = value * 32 + _DECODE[ch]
    if check in "OIL":  # read-alike letters stand for the digits 0 and 1
        check = ALPHABET[_DECODE[check]]
    if _check(value) != check:
        return None
    canonical = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(BODY_LENGTH)))
    return f"{PREFIX}-{canonical[:4]}-{canonical[4:]}{check}"
