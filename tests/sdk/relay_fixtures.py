"""What the relay really sends, recorded by tests/contract (never written by hand).

``PHANHOI_UPDATE_FIXTURES=1 pytest tests/contract`` records them again; the contract
tests fail when the relay's shapes and these files part ways.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "fixtures" / "relay"


def load(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def body(name: str) -> bytes:
    """The document as the relay puts it on the wire (compact JSON, UTF-8)."""
    return json.dumps(load(name), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
