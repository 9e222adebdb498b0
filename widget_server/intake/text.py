"""Text hygiene for everything a citizen types.

All input is normalised to Unicode NFC; control, zero-width and bidi-override
characters are removed (they hide text from reviewers: "Trojan Source",
CVE-2021-42574). NFC keeps "Hóa" and "Hoá" apart, so comparisons use a folded key.
"""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls except tab and newline; zero-width and bidi formatting characters; BOM.
_STRIP = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]"
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
