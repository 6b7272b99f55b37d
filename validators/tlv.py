"""BER-TLV as EMV cards and terminals write it (EMV Book 3, Annex B).

The parser reads data a device sent us, so every byte is hostile: it is bounded in size and
nesting, and anything it cannot read raises `TlvError`, never an `IndexError` or a
`RecursionError`. Errors name a position and a tag, never a value: the values are card
data (the PAN among them).
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_INPUT_BYTES = 4096
"""A validator's whole EMV payload is a few hundred bytes; 4 KiB leaves room without letting
a device make us walk megabytes."""

MAX_DEPTH = 8
"""Templates nested deeper than this are refused. Real cards nest 2 or 3 levels (6F > A5 >
BF0C); the bound keeps a crafted "depth bomb" cheap to reject."""

MAX_TAG_BYTES = 3
"""ISO/IEC 7816-4 tags are at most 3 bytes (EMV uses 1 or 2)."""

_PADDING = (0x00, 0xFF)
"""EMV Book 3 B1: 00 and FF may appear before, between or after objects (record padding)."""


class TlvError(ValueError):
    """Data that is not well-formed BER-TLV. `reason` is a stable snake_case code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_tlv(data: bytes) -> Mapping[str, bytes]:
    """Map each primitive tag (upper-case hex, e.g. "5A", "5F24") to its value.

    Constructed objects (templates such as 70, 77, 6F, A5) are descended into and are not
    themselves in the result, so a tag is found whatever template the device wrapped it in.
    When a tag occurs more than once, the first occurrence in document order wins: a
    later duplicate cannot override what the card put first.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise TlvError("input_too_large", f"TLV data exceeds {MAX_INPUT_BYTES} bytes")
    found: dict[str, bytes] = {}
    _parse_into(found, data, 0, len(data), 0)
    return found


def _parse_into(found: dict[str, bytes], data: bytes, pos: int, end: int, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TlvError("too_deep", f"templates nested more than {MAX_DEPTH} levels")
    while pos < end:
        first = data[pos]
        if first in _PADDING:
            pos += 1
            continue
        tag_start = pos
        pos += 1
        if first & 0x1F == 0x1F:
            # Subsequent tag bytes follow while bit 8 is set; the last one has it clear.
            while True:
                if pos >= end:
                    raise TlvError("truncated_tag", f"tag at offset {tag_start} is cut off")
                if pos - tag_start >= MAX_TAG_BYTES:
                    raise TlvError("tag_too_long", f"tag at offset {tag_start} is too long")
                more = data[pos] & 0x80
                pos += 1
                if not more:
                    break
        tag = data[tag_start:pos].hex().upper()

        if pos >= end:
            raise TlvError("truncated_length", f"tag {tag} has no length")
        length = data[pos]
        pos += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0:
                raise TlvError("indefinite_length", f"tag {tag} uses the indefinite form")
            if count > 3:
                # 0x84 and up would announce >16 MiB; nothing in EMV is that large.
                raise TlvError("length_too_long", f"tag {tag} has a {count}-byte length")
            if pos + count > end:
                raise TlvError("truncated_length", f"tag {tag} length is cut off")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if length > end - pos:
            raise TlvError("value_overruns", f"tag {tag} claims more bytes than remain")

        value_end = pos + length
        if first & 0x20:
            _parse_into(found, data, pos, value_end, depth + 1)
        elif tag not in found:
            found[tag] = data[pos:value_end]
        pos = value_end
