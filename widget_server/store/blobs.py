"""Where attachment bytes live: a small interface and a local filesystem implementation.

Keys are random and chosen here, never derived from what a citizen named the
file, so no upload can steer a path. Another backend (an S3-compatible store
hosted in Vietnam, say) only has to implement :class:`Storage`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app

_KEY = re.compile(r"^[0-9a-f]{32}$")


class StorageError(Exception):
    pass


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns a new opaque key."""

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``KeyError`` when there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    def exists(self, key: str) -> bool: ...

    def written_before(self, cutoff: float) -> Iterator[list[str]]:
        """The keys last written before ``cutoff`` (seconds since the epoch), a batch at a time."""

    def drop_unfinished(self, cutoff: float) -> int:
        """Remove writes begun before ``cutoff`` and never finished (a process killed inside
        ``put``); how many."""


class LocalStorage:
    """Files under ``root/ab/<key>``: written to a temporary file, fsynced, then renamed."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except (FileNotFoundError, KeyError):
            pass

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except KeyError:
            return False

    def written_before(self, cutoff: float) -> Iterator[list[str]]:
        for folder in self._folders():
            keys = [entry.name for entry in _entries(folder)
                    if _KEY.match(entry.name) and _mtime(entry) < cutoff]
            if keys:
                yield keys

    def drop_unfinished(self, cutoff: float) -> int:
        dropped = 0
        for folder in self._folders():
            for entry in _entries(folder):
                if entry.name.startswith(".tmp-") and _mtime(entry) < cutoff:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        dropped += 1
        return dropped

    def _folders(self) -> list[str]:
        return sorted(entry.path for entry in _entries(self.root)
                      if len(entry.name) == 2 and entry.is_dir(follow_symlinks=False))


def _entries(folder: str | os.PathLike[str]) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as found:
            return list(found)
    except FileNotFoundError:
        return []


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:
        return float("inf")  # gone meanwhile: nothing to do


def get_storage(app: Flask | None = None) -> Storage:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get("phanhoi_storage")
    if storage is None:
        storage = app.extensions["phanhoi_storage"] = LocalStorage(app.config["ATTACHMENT_DIR"])
    return storage  # type: ignore[no-any-return]
