"""The package is typed: ``py.typed`` ships (``make lint`` runs ``mypy --strict`` on it)."""

from __future__ import annotations

from pathlib import Path

import phanhoi

PACKAGE = Path(phanhoi.__file__).parent


def test_py_typed_marker() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_all_is_explicit_and_resolvable() -> None:
    assert phanhoi.__version__ == "0.1.0"
    assert len(phanhoi.__all__) == len(set(phanhoi.__all__))
    for name in phanhoi.__all__:
        assert getattr(phanhoi, name) is not None
