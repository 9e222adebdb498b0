"""The browser fixture of the widget's tests, for the operator pages' phone test."""

from tests.widget.conftest import browser  # noqa: F401
