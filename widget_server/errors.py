"""The domain's own errors: one base with a stable code, no HTTP in sight.

The web layer turns them into problem+json for the API and into catalogue keys
for the pages, in one table (``widget_server/web/problems.py``); the domain never
imports it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Something the caller asked for cannot be done; ``code`` says what, ``message`` says it in words."""

    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None,
                 errors: dict[str, list[str]] | None = None, **details: Any) -> None:
        super().__init__(message or code or self.code)
        self.message = message
        if code:
            self.code = code
        self.errors = errors
        self.details = details

    def __str__(self) -> str:
        return self.message or self.code


class NotFoundError(DomainError):
    code = "not-found"


class InvalidError(DomainError):
    """Input that cannot be accepted as it is (``errors`` maps dotted field paths to messages)."""

    code = "validation-error"


class ConflictError(DomainError):
    """The request clashes with what is already stored (a second rating, a reused key)."""

    code = "conflict"


class RefusedError(DomainError):
    """Not allowed for this caller (a failed bot check, an expired link)."""

    code = "refused"


class GoneError(DomainError):
    """It existed and is gone on purpose (retention, deletion)."""

    code = "gone"


class TooLargeError(DomainError):
    code = "too-large"


class UnsupportedError(DomainError):
    """A kind of input the relay does not take (a file type)."""

    code = "unsupported"


class StoreUnavailableError(DomainError):
    """The store cannot take writes right now (disk full, database down)."""

    code = "store-unavailable"

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        super().__init__(message or "Hệ thống tạm thời không lưu được dữ liệu. Vui lòng thử lại sau "
                         "ít phút; nội dung bạn đã nhập vẫn được giữ nguyên.", **kwargs)
