from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validators.sealing import encode_tlv
from validators.tlv import MAX_DEPTH, MAX_INPUT_BYTES, TlvError, parse_tlv


def reason_of(data: bytes) -> str:
    with pytest.raises(TlvError) as caught:
        parse_tlv(data)
    return caught.value.reason


def test_flat_primitives_are_found_by_upper_case_hex_tag() -> None:
    data = bytes.fromhex("5A 08 4111111111111111 5F24 03 301231 9F36 02 0102")
    assert parse_tlv(data) == {
        "5A": bytes.fromhex("4111111111111111"),
        "5F24": bytes.fromhex("301231"),
        "9F36": bytes.fromhex("0102"),
    }


def test_three_byte_tag() -> None:
    assert parse_tlv(bytes.fromhex("DF8101 01 AA")) == {"DF8101": b"\xaa"}


def test_tag_longer_than_three_bytes_is_refused() -> None:
    assert reason_of(bytes.fromhex("9F818101 01 AA")) == "tag_too_long"


@pytest.mark.parametrize(
    ("length_bytes", "size"),
    [("7F", 127), ("8180", 128), ("81FF", 255), ("820100", 256), ("83000FA0", 4000)],
)
def test_short_and_long_form_lengths(length_bytes: str, size: int) -> None:
    value = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert parse_tlv(bytes.fromhex("C1" + length_bytes) + value) == {"C1": value}


def test_non_minimal_long_form_is_accepted_as_ber_allows() -> None:
    assert parse_tlv(bytes.fromhex("5A 8102 AABB")) == {"5A": b"\xaa\xbb"}


def test_indefinite_length_is_refused() -> None:
    assert reason_of(bytes.fromhex("70 80 5A01AA 0000")) == "indefinite_length"


def test_length_of_four_bytes_is_refused() -> None:
    assert reason_of(bytes.fromhex("5A 8400000001 AA")) == "length_too_long"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("9F", "truncated_tag"),
        ("9F81", "truncated_tag"),
        ("5A", "truncated_length"),
        ("5A82", "truncated_length"),
        ("5A8201", "truncated_length"),
        ("5A05 0102", "value_overruns"),
        ("5A83FFFFFF 0102", "value_overruns"),
        ("5A01AA 9F36", "truncated_length"),
    ],
)
def test_truncated_or_overlong_data(data: str, reason: str) -> None:
    assert reason_of(bytes.fromhex(data)) == reason


def test_nested_templates_are_searched() -> None:
    inner = encode_tlv("5A", b"\x41\x11") + encode_tlv("9F36", b"\x00\x07")
    data = encode_tlv("6F", encode_tlv("84", b"\xa0") + encode_tlv("A5", encode_tlv("77", inner)))
    assert parse_tlv(data) == {"84": b"\xa0", "5A": b"\x41\x11", "9F36": b"\x00\x07"}


def test_child_cannot_read_past_its_template() -> None:
    # 5A claims 5 bytes; its template holds 3, although the input has more after it.
    data = bytes.fromhex("70 03 5A05AA 9F3602 0001")
    assert reason_of(data) == "value_overruns"


def test_first_occurrence_wins_even_across_templates() -> None:
    data = encode_tlv("70", encode_tlv("5A", b"\x01")) + encode_tlv("5A", b"\x02")
    assert parse_tlv(data) == {"5A": b"\x01"}


def test_padding_between_objects_is_skipped() -> None:
    data = bytes.fromhex("00 FF 5A01AA 0000 FFFF 9F3602 0001 00")
    assert parse_tlv(data) == {"5A": b"\xaa", "9F36": b"\x00\x01"}


def test_padding_inside_a_template_is_skipped() -> None:
    assert parse_tlv(bytes.fromhex("70 05 00 5A01AA FF")) == {"5A": b"\xaa"}


def test_empty_input_gives_nothing() -> None:
    assert parse_tlv(b"") == {}


def nested(levels: int, leaf: bytes) -> bytes:
    data = leaf
    for _ in range(levels):
        data = encode_tlv("70", data)
    return data


def test_nesting_up_to_the_bound_is_read() -> None:
    assert parse_tlv(nested(MAX_DEPTH, encode_tlv("5A", b"\x01"))) == {"5A": b"\x01"}


def test_nesting_past_the_bound_is_refused() -> None:
    assert reason_of(nested(MAX_DEPTH + 1, encode_tlv("5A", b"\x01"))) == "too_deep"


def test_depth_bomb_is_refused_not_a_recursion_error() -> None:
    bomb = nested(900, b"")
    assert len(bomb) <= MAX_INPUT_BYTES
    assert reason_of(bomb) == "too_deep"


def test_size_bound() -> None:
    at_bound = encode_tlv("C1", bytes(MAX_INPUT_BYTES - 4))
    assert len(at_bound) == MAX_INPUT_BYTES
    assert parse_tlv(at_bound) == {"C1": bytes(MAX_INPUT_BYTES - 4)}
    assert reason_of(at_bound + b"\x00") == "input_too_large"


def test_error_text_names_tags_not_values() -> None:
    with pytest.raises(TlvError) as caught:
        parse_tlv(bytes.fromhex("5A08 4111111111111111 9F3603 01"))
    assert "4111" not in str(caught.value)
    assert "9F36" in str(caught.value)


@given(st.binary(max_size=600))
def test_random_bytes_parse_or_raise_only_tlv_error(data: bytes) -> None:
    try:
        result = parse_tlv(data)
    except TlvError as exc:
        assert exc.reason
    else:
        assert all(isinstance(v, bytes) for v in result.values())


PRIMITIVE_TAGS = ["5A", "5F24", "5F34", "9F36", "9F26", "9F24", "4F", "82", "95", "DF8101"]
objects = st.lists(st.tuples(st.sampled_from(PRIMITIVE_TAGS), st.binary(max_size=300)), max_size=8)


@given(objects, st.booleans())
def test_encoded_objects_read_back_first_occurrence(
    items: list[tuple[str, bytes]], wrap: bool
) -> None:
    data = b"".join(encode_tlv(tag, value) for tag, value in items)
    if wrap:
        data = encode_tlv("70", data)
    expected: dict[str, bytes] = {}
    for tag, value in items:
        expected.setdefault(tag, value)
    assert parse_tlv(data) == expected


@given(objects, st.data())
def test_mutated_tlv_raises_only_tlv_error(
    items: list[tuple[str, bytes]], data: st.DataObject
) -> None:
    encoded = bytearray(encode_tlv("70", b"".join(encode_tlv(t, v) for t, v in items)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(encoded) - 1))
        encoded[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(encoded)))
    with contextlib.suppress(TlvError):
        parse_tlv(bytes(encoded[:cut]))
