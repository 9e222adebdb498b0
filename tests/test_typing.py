"""The relay and the reference central system type-check (the SDK has its own, stricter test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_is_clean_on_the_relay():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "widget_server", "examples/central_system"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
