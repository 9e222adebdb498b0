"""A page made once with holes for the per-response values, and gzipped once too.

The page's fixed parts are deflated once, each ending on a byte boundary (a sync flush);
per response the values go in as stored (uncompressed) deflate blocks between them, so a
response costs one CRC over the page instead of a compression. Each part is deflated with
the page before it as its dictionary, holes filled with NUL bytes of the values' length
(NUL never occurs in the page, so no match reaches into a hole): back-references may cross a
hole, so a value of another length than the one the page was made for is not spliced in
(that response is compressed as a whole instead). The result is one ordinary
gzip member that every decoder reads. (Brotli has no such splicing: a reader that accepts
gzip gets gzip for these pages; one that accepts only brotli gets it from ``compress.py``.)
"""

from __future__ import annotations

import gzip as _gzip
import re
import struct
import zlib
from dataclasses import dataclass

GZIP_LEVEL = 6
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, unknown OS
FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"


def _deflate(data: bytes, before: bytes) -> bytes:
    c = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15, zdict=before[-32768:]) if before else \
        zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


def _stored(data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 0xFFFF):
        chunk = data[i:i + 0xFFFF]
        out += b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
    return bytes(out)


@dataclass(frozen=True)
class Spliced:
    #: Fixed parts and hole names alternate: parts[0], holes[0], parts[1], …, parts[-1].
    parts: tuple[bytes, ...]
    deflated: tuple[bytes, ...]
    holes: tuple[str, ...]
    lengths: dict[str, int]

    @classmethod
    def make(cls, page: str, marks: dict[str, str], lengths: dict[str, int]) -> Spliced:
        """``marks`` maps each hole's name to the placeholder standing for it in ``page``,
        ``lengths`` to the length in bytes its values will have."""
        names = {mark: name for name, mark in marks.items()}
        pieces = re.split("(" + "|".join(re.escape(m) for m in marks.values()) + ")", page)
        parts = tuple(p.encode() for p in pieces[0::2])
        holes = tuple(names[m] for m in pieces[1::2])
        if "\0" in page:
            raise ValueError("a page with NUL characters cannot be spliced")
        deflated, before = [], b""
        for i, part in enumerate(parts):
            deflated.append(_deflate(part, before))
            before += part + (b"\0" * lengths[holes[i]] if i < len(holes) else b"")
        return cls(parts, tuple(deflated), holes, dict(lengths))

    def fill(self, values: dict[str, str], *, gzip: bool) -> bytes:
        filled = [v.encode() for v in (values[h] for h in self.holes)]
        body = bytearray(self.parts[0])
        for value, part in zip(filled, self.parts[1:], strict=True):
            body += value
            body += part
        if not gzip:
            return bytes(body)
        if any(len(v) != self.lengths[h] for h, v in zip(self.holes, filled, strict=True)):
            return _gzip.compress(bytes(body), compresslevel=GZIP_LEVEL, mtime=0)
        out = bytearray(GZIP_HEADER)
        out += self.deflated[0]
        for value, deflated in zip(filled, self.deflated[1:], strict=True):
            out += _stored(value)
            out += deflated
        out += FINAL_EMPTY_BLOCK
        out += struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
        return bytes(out)
