"""Personal data in free text, found and hidden: phone numbers, emails and ID numbers in any
common spelling, and a person's own details written with or without diacritics.

Used wherever text a citizen (or a system echoing one) wrote leaves the relay's private
rows: a relay submission's published title and answer (``results/events.py``), and the
error texts of other systems kept in the outbox (``delivery/destinations``).

The text is read as NFKC (full-width digits and letters become ASCII, other scripts'
decimal digits become 0-9) when anything is looked for; what is not hidden stays as
written. What is hidden:

- phone numbers: every valid number ``phonenumbers`` finds (Vietnam as the default
  region: ``(+84) 912 345 678``, ``+84 (0) 912 345 678``, ``0912/345/678``,
  ``(0237) 3852 123``), and anything shaped like one that is not valid: the trunk 0 or
  +84 and a national number of 9 or 10 digits, with spaces, dots, dashes, slashes or
  parentheses between them;
- emails, and their spellings ``a [at] b.com``, ``a (at) b [dot] com``, ``a at b.com``;
- ID numbers: 9 (old ID card) or 12 digits (citizen ID) standing alone, whole;
- both also written against their label (``SĐT0912345678``, ``CCCD038090001234``);
- bank accounts: 6 to 19 digits after a label (``STK``, ``số tài khoản``, ``TK``, ``account``,
  ``a/c``), in groups or not, the label kept (``STK [đã ẩn]``); and card numbers: 13 to 19
  digits standing alone, or in groups of four;
- the ``known`` details (the person's name, address, email, phone), case- and
  diacritic-insensitively (``Le Van A``, ``LÊ VĂN A`` for ``Lê Văn A``), also written against a
  number (``Lê Văn A0912345678``); a one-word detail only with its diacritics, so that a name
  like "Hòa" does not hide "Hóa".

Dates (05/11/2026), amounts (1.500.000 đồng) and document numbers (91/2025/QH15) stay.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import phonenumbers

HIDDEN = "[đã ẩn]"
# What a detail found is covered with while the others are looked for: no pattern matches it.
_GONE = "\ue000"

_AT = r"(?:\s*@\s*|\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|chấm)\s*[\])}>]\s*|\.)"
_EMAIL = re.compile(
    r"(?<![\w.+%-])[\w.+%-]*[\w%+-]" + _AT + r"[\w-]+(?:" + _DOT + r"[\w-]+)*" + _DOT + r"[a-z]{2,}(?![\w-])",
    re.IGNORECASE)
# A bare "at" is a word in English sentences: that spelling only with an ASCII address.
_EMAIL_AT_WORD = re.compile(r"\s+at\s+", re.IGNORECASE)
_ASCII_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+\s+at\s+[A-Za-z0-9.-]+", re.IGNORECASE)
# 12 digits (citizen ID, also written 038 090 001 234) or 9 (old ID card), never part of a
# longer number, a date or an amount. A letter may come right before a number (its label
# written against it: "CCCD038090001234", "SĐT0912345678"); a digit, "_", "." or "/" not.
_ID = re.compile(r"(?<![\d_.,/-])(?:\d{12}|\d{9}|0\d{2}(?:[ .-]\d{3}){3}|0\d{3}(?:[ .-]\d{4}){2})"
                 r"(?![\w]|[.,/-]\d)")
# A bank account after its label (the label kept, the number hidden): "STK 0123 4567 8901",
# "số tài khoản: 19035678901234", "TK số 123456789", "a/c no. 00112233". Vietnamese banks' accounts
# have 6 to 19 digits; groups of digits with one space or dash between them (not dots: an
# amount after the word, "tài khoản 1.500.000 đồng", stays).
# Every gap is bounded ({1,3}): unbounded ones side by side made a label followed by a long run
# of spaces cost time in the square of its length.
_GAP = r"\s{1,3}"
_ACCOUNT = re.compile(
    r"(?<![^\W\d_])(?:stk|s[oố]" + _GAP + r"t[aà]i" + _GAP + r"kho[aả]n|t[aà]i" + _GAP + r"kho[aả]n(?:"
    + _GAP + r"ng[aâ]n" + _GAP + r"h[aà]ng)?|tk|account(?:" + _GAP + r"(?:number|no\.?))?|acct\.?|a/c(?:"
    + _GAP + r"no\.?)?)(?:" + _GAP + r"(?:s[oố]|no\.?|number))?\s{0,3}[:.\-#]?\s{0,3}"
    r"(?P<number>\d(?:[ \-]?\d){5,18})(?![\w]|[.,/-]\d)", re.IGNORECASE)
# A card number: 13 to 19 digits standing alone, or four groups of four.
_CARD = re.compile(r"(?<![\d_.,/-])(?:\d{13,19}|\d{4}(?:[ \-]\d{4}){3})(?![\w]|[.,/-]\d)")
# Shaped like a Vietnamese number: +84 (or (+84), 0084) with an optional (0), or the trunk 0
# (or "(0"), then digits with up to three separators between any two.
_SEP = r"[\s.\-/]{0,3}"
_PHONE_SHAPE = re.compile(
    r"(?<![\d_+/.-])(?P<cc>\(\s*(?:\+|00)?84\s*\)|(?:\+|00)84)?" + _SEP
    + r"(?:\(\s*0\s*\)" + _SEP + r"|\(\s*0|0)?"
    # Between two digits a gap of separators, or one with a ")" in it: matched one way only
    # (a ")" optional between two runs of separators split a gap of spaces every way it could).
    + r"\d(?:" + _SEP + r"(?:\)" + _SEP + r")?\d){7,10}(?!\d|[.\-/]\d)")


def normalise(value: str) -> tuple[str, list[int]]:
    """What the patterns read: the value in NFKC, every decimal digit as 0-9; with, for each of
    its characters, the index of the character of the (NFC) value it comes from."""
    read: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(value):
        for part in unicodedata.normalize("NFKC", char):
            digit = unicodedata.decimal(part, None)
            read.append(part if digit is None else str(digit))
            origin.append(index)
    return "".join(read), origin


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base if len(base) == 1 else char


def fold(value: str) -> str:
    """Lower case without diacritics, one character for one: ``Lê Văn A`` → ``le van a``."""
    return "".join(_fold_char(c) for c in value)


def _blank(read: str, spans: Iterable[tuple[int, int]]) -> str:
    """``read`` with the spans found covered by a character no pattern matches, length kept."""
    for start, end in spans:
        read = read[:start] + _GONE * (end - start) + read[end:]
    return read


# A detail stands whole: where it ends in a letter no letter beside it, where it ends in a digit
# no digit beside it (``Lê Văn A0912345678``: the name written against the number is hidden,
# and ``Số 12 ngõ 34`` is not found inside ``Số 12 ngõ 345``).
def _near(char: str) -> str:
    """What may not stand beside a detail's first or last character: a digit by a digit, a
    letter by a letter, any word character by anything else."""
    return r"\d" if char.isdigit() else r"[^\W\d_]" if char.isalpha() else r"\w"


def _edges(item: str) -> tuple[str, str]:
    return f"(?<!{_near(item[0])})", f"(?!{_near(item[-1])})"


def _known(read: str, item: str) -> list[tuple[int, int]]:
    words = item.split()
    before, after = _edges(item)
    if len(words) > 1:
        # Folding keeps one character for one, so the spans found are the text's own.
        haystack = fold(read)
        pattern = re.compile(before + r"\s+".join(re.escape(fold(w)) for w in words) + after)
    else:
        haystack = read
        pattern = re.compile(before + re.escape(item) + after, re.IGNORECASE)
    return [m.span() for m in pattern.finditer(haystack)]


def _known_phone(read: str, phone: str) -> list[tuple[int, int]]:
    digits = re.sub(r"\D", "", phone)
    national = digits[2:] if phone.startswith("+84") else digits.lstrip("0")
    if len(national) < 8:
        return []
    pattern = r"(?<!\d)" + r"[\s.\-/()]{0,3}".join(national) + r"(?!\d)"
    return [m.span() for m in re.finditer(pattern, read)]


def _is_email(match: re.Match[str]) -> bool:
    found = match.group()
    return not (_EMAIL_AT_WORD.search(found) and "@" not in found and not _ASCII_ADDRESS.fullmatch(found))


def _is_phone(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group())
    if match.group("cc"):
        digits = digits[4:] if digits.startswith("0084") else digits[2:]
    elif not digits.startswith("0"):
        return False  # no 0 and no +84: an amount or another number
    national = digits[1:] if digits.startswith("0") else digits
    return len(national) in (9, 10) and national[0] != "0"


def hide(value: str, known: Iterable[str | None] = (), *, mark: str = HIDDEN) -> str:
    """``value`` without the ``known`` details, nor anything shaped like a phone number, an
    email or an ID number; each replaced by ``mark``, the rest of the text as written."""
    value = unicodedata.normalize("NFC", value)
    read, origin = normalise(value)
    items = sorted({normalise(unicodedata.normalize("NFC", k))[0].strip()
                    for k in known if k and len(k.strip()) >= 3}, key=len, reverse=True)
    for item in items:
        read = _blank(read, _known(read, item))
    read = _blank(read, (m.span() for m in _EMAIL.finditer(read) if _is_email(m)))
    read = _blank(read, (m.span("number") for m in _ACCOUNT.finditer(read)))
    read = _blank(read, (m.span() for m in _CARD.finditer(read)))
    read = _blank(read, (m.span() for m in _ID.finditer(read)))
    matcher = phonenumbers.PhoneNumberMatcher(read, "VN", leniency=phonenumbers.Leniency.VALID)
    read = _blank(read, [(m.start, m.end) for m in matcher])
    read = _blank(read, (m.span() for m in _PHONE_SHAPE.finditer(read) if _is_phone(m)))
    for phone in (k for k in items if re.fullmatch(r"\+?[\d\s.()-]+", k)):
        read = _blank(read, _known_phone(read, phone))
    # Each run of hidden characters, in the value as written, becomes one mark.
    out, kept = [], 0
    for gone in re.finditer(_GONE + "+", read):
        start, end = origin[gone.start()], origin[gone.end() - 1] + 1
        out += [value[kept:start], mark]
        kept = end
    return "".join(out) + value[kept:]
