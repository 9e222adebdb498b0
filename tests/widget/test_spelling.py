"""The Vietnamese a reader sees: spelt right and stored as NFC.

Every user-facing text of the widget and the relay's pages (the i18n files, the templates,
the widget's scripts, the relay's Python, which holds its messages) is scanned. NFC matters
beyond looks: a decomposed "ộ" is two characters to a length check or a search, one to a reader.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [*(ROOT / "static" / "widget" / "i18n").glob("*.json"),
     *(ROOT / "static" / "widget").glob("*.js"),
     *(ROOT / "widget_server").rglob("*.html"),
     *(ROOT / "widget_server").rglob("*.py"),
     ROOT / "README.md", ROOT / "static" / "widget" / "README.md"]
)
# In "oai" the tone mark sits on the "a" ("điện thoại", "loại", "ngoài"), never on the "o".
MISSPELT = re.compile("[òóỏõọ]ai", re.IGNORECASE)


def test_the_scan_covers_the_texts() -> None:
    names = {p.name for p in SOURCES}
    assert {"vi.json", "en.json", "form.html", "track.html", "loader.js"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_vietnamese_is_nfc_and_spelt_right(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    decomposed = [n + 1 for n, line in enumerate(text.splitlines())
                  if unicodedata.normalize("NFC", line) != line]
    assert not decomposed, f"not NFC on lines {decomposed}"
    misspelt = [(text.count("\n", 0, m.start()) + 1, m.group()) for m in MISSPELT.finditer(text)]
    assert not misspelt, f"tone mark on the o of 'oai' (thọai → thoại): {misspelt}"
