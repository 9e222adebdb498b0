"""The package is typed: ``py.typed`` ships and ``mypy --strict`` is clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import phanhoi
import pytest

PACKAGE = Path(phanhoi.__file__).parent


def test_py_typed_marker() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_all_is_explicit_and_resolvable() -> None:
    assert phanhoi.__version__ == "0.1.0"
    assert len(phanhoi.__all__) == len(set(phanhoi.__all__))
    for name in phanhoi.__all__:
        assert getattr(phanhoi, name) is not None


@pytest.mark.skipif(
    shutil.which("mypy", path=str(Path(sys.executable).parent)) is None,
    reason="mypy not installed",
)
def test_mypy_strict_clean(tmp_path: Path) -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    assert mypy is not None
    result = subprocess.run(
        [mypy, "--strict", "--no-incremental", "--cache-dir", str(tmp_path), str(PACKAGE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
