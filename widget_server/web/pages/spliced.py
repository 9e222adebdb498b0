"""A page made once with holes for the per-response values, and gzipped once too.

The page's fixed parts are deflated once, each ending on a byte boundary (a sync flush);
per response the values go in as stored (uncompressed) deflate blocks between them, so a
response costs one CRC over the page instead of a compression. The result is one ordinary
gzip member that every decoder reads. (Brotli has no such splicing: a reader that accepts
gzip gets gzip for these pages; one that accepts only brotli gets it from ``compress.py``.)
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

GZIP_LEVEL = 6
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, unknown OS
FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
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

    @classmethod
    def make(cls, page: str, marks: dict[str, str]) -> Spliced:
        """``marks`` maps each hole's name to the placeholder standing for it in ``page``."""
        names = {mark: name for name, mark in marks.items()}
        pieces = re.split("(" + "|".join(re.escape(m) for m in marks.values()) + ")", page)
        parts = tuple(p.encode() for p in pieces[0::2])
        return cls(parts, tuple(_deflate(p) for p in parts), tuple(names[m] for m in pieces[1::2]))

    def fill(self, values: dict[str, str], *, gzip: bool) -> bytes:
        filled = [v.encode() for v in (values[h] for h in self.holes)]
        body = bytearray(self.parts[0])
        for value, part in zip(filled, self.parts[1:]):
            body += value
            body += part
        if not gzip:
            return bytes(body)
        out = bytearray(GZIP_HEADER)
        out += self.deflated[0]
        for value, deflated in zip(filled, self.deflated[1:]):
            out += _stored(value)
            out += deflated
        out += FINAL_EMPTY_BLOCK
        out += struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
        return bytes(out)
