"""BER-TLV parser: the length forms, and nothing but typed errors on bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.card import tlv
from kiosk.card.errors import CardDataError
from kiosk.card.holder import parse_holder


def test_length_forms():
    assert tlv.parse_one(bytes.fromhex("DF2203414243")).value == b"ABC"
    long_value = bytes(200)
    item = tlv.parse_one(bytes.fromhex("DF2381C8") + long_value)
    assert item.tag == 0xDF23 and item.value == long_value
    item = tlv.parse_one(bytes.fromhex("FF20820120") + bytes(0x120))
    assert item.tag == 0xFF20 and len(item.value) == 0x120 and item.end == 5 + 0x120
    assert tlv.parse_one(bytes.fromhex("900103")).value == b"\x03"


@pytest.mark.parametrize("raw", [
    "", "DF", "DF22", "DF2205414243", "DF2281", "DF22820100", "DF2280", "DF2283000001",
    "FF20820120" + "00" * 10, "1F", "1F8181818101",
])
def test_malformed_is_typed(raw):
    with pytest.raises(tlv.TlvError):
        tlv.parse_one(bytes.fromhex(raw))


def test_total_length_from_prefix():
    assert tlv.total_length(bytes.fromhex("FF20")) is None
    assert tlv.total_length(bytes.fromhex("FF2082")) is None
    assert tlv.total_length(bytes.fromhex("FF20820160")) == 5 + 0x160
    with pytest.raises(tlv.TlvError):
        tlv.total_length(bytes.fromhex("FF2085000000"))


def test_repeated_child_refused():
    with pytest.raises(tlv.TlvError):
        tlv.children(bytes.fromhex("900101900101"))


@given(st.binary(max_size=600))
@settings(max_examples=400, deadline=None)
def test_fuzz_parser_only_typed_errors(data):
    try:
        for item in tlv.iterate(data):
            assert item.end <= len(data)
        tlv.total_length(data)
        tlv.children(data)
    except tlv.TlvError:
        pass


@st.composite
def holder_files(draw):
    """Well-formed EF 0002 files, then maybe damaged."""
    def item(tag, value):
        return tlv.encode(tag, value)
    name = draw(st.text(min_size=1, max_size=40)).encode()
    address = draw(st.text(max_size=150)).encode()
    body = item(0xDF21, bytes(8)) + item(0xDF22, name) + item(0xDF23, address) + \
        item(0xDF24, draw(st.sampled_from([b"19850307", b"20000229", b"19990230", b"1985"]))) + \
        item(0xDF25, draw(st.sampled_from([b"0", b"1", b"2", b"9", b"3", b""])))
    data = bytearray(item(0xFF20, body))
    for _ in range(draw(st.integers(0, 3))):
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@given(holder_files())
@settings(max_examples=400, deadline=None)
def test_fuzz_holder_only_typed_errors(data):
    try:
        holder = parse_holder(data)
    except CardDataError:
        return
    assert holder.name and holder.sex.value in "0129"
