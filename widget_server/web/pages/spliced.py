"""A page made once with holes for the per-response values, and gzipped once too.

The page's fixed parts are deflated once, each ending on a byte boundary (a sync flush);
per response the values go in as stored (uncompressed) deflate blocks between them, so a
response costs no compression, and the gzip trailer's CRC-32 is carried over each fixed part by
tables made with the page (``_carry``), so it costs no pass over the page either. Each part is
deflated with the page before it as its dictionary, holes filled with NUL bytes of the values' length
(NUL never occurs in the page, so no match reaches into a hole): back-references may cross a
hole, so a value of another length than the one the page was made for is not spliced in
(that response is compressed as a whole instead). The result is one ordinary
gzip member that every decoder reads. (Brotli has no such splicing: a reader that accepts
gzip gets gzip for these pages; one that accepts only brotli gets it from ``compress.py``.)
"""

from __future__ import annotations

import array
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


def _carry_tables(n: int) -> array.array[int]:
    """What ``n`` bytes carry a CRC-32 to, as eight tables of sixteen (a nibble of it each).

    CRC-32 is linear: ``zlib.crc32(part, crc) == _carry(tables, crc) ^ zlib.crc32(part)`` for
    every ``part`` of ``n`` bytes, whatever came before it. The images of the 32 bits are found
    with zlib itself (a run of ``n`` zero bytes from each bit alone); 512 bytes a part."""
    zeros = bytes(n)
    base = zlib.crc32(zeros)
    bits = [zlib.crc32(zeros, 1 << i) ^ base for i in range(32)]
    tables = array.array("I")
    for k in range(8):
        for nibble in range(16):
            image = 0
            for i in range(4):
                if nibble >> i & 1:
                    image ^= bits[4 * k + i]
            tables.append(image)
    return tables


def _carry(t: array.array[int], crc: int) -> int:
    return (t[crc & 15] ^ t[16 | crc >> 4 & 15] ^ t[32 | crc >> 8 & 15] ^ t[48 | crc >> 12 & 15]
            ^ t[64 | crc >> 16 & 15] ^ t[80 | crc >> 20 & 15] ^ t[96 | crc >> 24 & 15] ^ t[112 | crc >> 28])


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
    #: The CRC-32 of each fixed part alone, and (after the first) the tables carrying a CRC over it.
    crcs: tuple[int, ...]
    carries: tuple[array.array[int], ...]

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
        return cls(parts, tuple(deflated), holes, dict(lengths), tuple(zlib.crc32(p) for p in parts),
                   tuple(_carry_tables(len(p)) for p in parts[1:]))

    def fill(self, values: dict[str, str], *, gzip: bool) -> bytes:
        filled = [v.encode() for v in (values[h] for h in self.holes)]
        if not gzip or any(len(v) != self.lengths[h] for h, v in zip(self.holes, filled, strict=True)):
            body = bytearray(self.parts[0])
            for value, part in zip(filled, self.parts[1:], strict=True):
                body += value
                body += part
            return _gzip.compress(bytes(body), compresslevel=GZIP_LEVEL, mtime=0) if gzip else bytes(body)
        out = bytearray(GZIP_HEADER)
        out += self.deflated[0]
        crc, size = self.crcs[0], len(self.parts[0])
        for value, deflated, part_crc, carry, part in zip(
                filled, self.deflated[1:], self.crcs[1:], self.carries, self.parts[1:], strict=True):
            out += _stored(value)
            out += deflated
            crc = _carry(carry, zlib.crc32(value, crc)) ^ part_crc
            size += len(value) + len(part)
        out += FINAL_EMPTY_BLOCK
        out += struct.pack("<II", crc, size & 0xFFFFFFFF)
        return bytes(out)
