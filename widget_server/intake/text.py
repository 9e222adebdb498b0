"""Text hygiene for everything a citizen types.

All input is normalised to Unicode NFC; control, zero-width and bidi-override
characters are removed (they hide text from reviewers: "Trojan Source",
CVE-2021-42574). NFC keeps "Hóa" and "Hoá" apart, so comparisons use a folded key.
"""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls except tab and newline; zero-width and bidi formatting characters; BOM;
# U+FFFE and U+FFFF, which XML 1.0 forbids (one of them made the Atom feed unreadable).
_STRIP = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff]"
)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def clean(value: str, *, multiline: bool = False) -> str:
    """NFC, no invisible characters, collapsed spaces, trimmed."""
    value = unicodedata.normalize("NFC", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _STRIP.sub("", value)
    if multiline:
        lines = [_SPACES.sub(" ", line).strip() for line in value.split("\n")]
        value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    else:
        value = _SPACES.sub(" ", value.replace("\n", " "))
    return value.strip()


def fold(value: str) -> str:
    """A comparison key: case, tone placement and diacritics folded (đ → d)."""
    decomposed = unicodedata.normalize("NFD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").strip()


# Vietnamese collation (CLDR's ``vi`` tailoring, as ICU applies it), three levels:
# letters first, with ă â đ ê ô ơ ư as letters of their own ("Đ…" after "D…", "Tân"
# before "Trúc"); then tone marks, in ICU's order (none, huyền, hỏi, ngã, sắc, nặng),
# only where the letters tie; then case. Old and new tone placement ("Hóa", "Hoá")
# differ only where a tone sits, which the second level orders consistently.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}
# Marks that make a letter of its own, by base letter: breve, circumflex, horn.
_LETTER_MARKS = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê",
                 ("o", "\u0302"): "ô", ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
# Tone marks, in the order CLDR's vi tailoring gives them (&̀<<̉<<̃<<́<<̣).
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vi_sort_key(value: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A sort key that orders Vietnamese text as a Vietnamese reader (and ICU ``vi``) does."""
    primary: list[int] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in unicodedata.normalize("NFD", value):
        if unicodedata.combining(ch):
            if not primary:
                continue
            base = _ALPHABET[primary[-1] - 3000] if primary[-1] >= 3000 else ""
            letter = _LETTER_MARKS.get((base, ch))
            if letter:
                primary[-1] = 3000 + _LETTER_RANK[letter]
            else:  # a tone, or a mark from another language: a second-level difference
                secondary[-1] = secondary[-1] * 8 + _TONES.get(ch, 6)
            continue
        lower = ch.lower()
        if lower in _LETTER_RANK:
            weight = 3000 + _LETTER_RANK[lower]
        elif lower.isdigit():
            weight = 2000 + (unicodedata.digit(lower, 0))
        elif lower.isspace() or not lower.isalnum():
            weight = ord(lower) % 1000  # spaces and punctuation sort before digits and letters
        else:
            weight = 4000 + ord(lower)
        primary.append(weight)
        secondary.append(0)
        tertiary.append(0 if ch == lower else 1)
    return tuple(primary), tuple(secondary), tuple(tertiary)
