"""BER-TLV as the My Number card uses it: multi-byte tags, short / `81` / `82` lengths.

Every malformed input raises `TlvError` (a `CardDataError`), never IndexError: the data
comes from a card we do not control.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kiosk.card.errors import CardDataError


class TlvError(CardDataError):
    """Truncated, overlong or otherwise malformed TLV data."""


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    start: int   # offset of the tag's first byte in the buffer parsed
    end: int     # offset just after the value

    @property
    def encoded_length(self) -> int:
        return self.end - self.start


def _tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError(f"tag missing at offset {pos}")
    first = data[pos]
    tag, pos = first, pos + 1
    if first & 0x1F == 0x1F:  # the tag continues while bit 8 of the next byte is set
        while True:
            if pos >= len(data):
                raise TlvError("tag truncated")
            b = data[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
            if tag > 0xFFFFFF:
                raise TlvError("tag longer than 3 bytes")
    return tag, pos


def header(data: bytes, pos: int = 0) -> tuple[int, int, int]:
    """Parse a tag and a length: (tag, length, offset of the value)."""
    tag, pos = _tag(data, pos)
    if pos >= len(data):
        raise TlvError("length missing")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return tag, first, pos
    count = first & 0x7F
    if count not in (1, 2):  # 80 (indefinite) and lengths of 3+ bytes never occur here
        raise TlvError(f"unsupported length form {first:02X}")
    if pos + count > len(data):
        raise TlvError("length truncated")
    length = int.from_bytes(data[pos:pos + count], "big")
    return tag, length, pos + count


def parse_one(data: bytes, pos: int = 0) -> Tlv:
    tag, length, value_at = header(data, pos)
    end = value_at + length
    if end > len(data):
        raise TlvError(f"tag {tag:X}: length {length} runs past the data ({len(data) - value_at})")
    return Tlv(tag, bytes(data[value_at:end]), pos, end)


def iterate(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Tlv]:
    """Consecutive TLVs in data[start:end]; offsets stay relative to `data`."""
    stop = len(data) if end is None else end
    view = bytes(data[:stop])
    pos = start
    while pos < stop:
        item = parse_one(view, pos)
        yield item
        pos = item.end


def children(data: bytes) -> dict[int, Tlv]:
    """The TLVs inside a constructed value, by tag (a repeated tag is an error)."""
    out: dict[int, Tlv] = {}
    for item in iterate(data):
        if item.tag in out:
            raise TlvError(f"tag {item.tag:X} repeated")
        out[item.tag] = item
    return out


def total_length(prefix: bytes) -> int | None:
    """Bytes the TLV starting `prefix` needs in all, or None if the header is incomplete."""
    try:
        _, length, value_at = header(prefix)
    except TlvError:
        if len(prefix) >= 6:  # a header is at most 3 tag + 3 length bytes: it is malformed
            raise
        return None
    return value_at + length


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    if n <= 0xFFFF:
        return b"\x82" + n.to_bytes(2, "big")
    raise ValueError("length too large")


def encode(tag: int, value: bytes) -> bytes:
    width = (tag.bit_length() + 7) // 8 or 1
    return tag.to_bytes(width, "big") + encode_length(len(value)) + value
