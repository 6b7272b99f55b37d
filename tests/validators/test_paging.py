"""The paging helpers: walking the pages of any list gives the list, whatever the page
size; a cursor is either one the list gave out or refused as such."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validators import paging

Row = tuple[date, int]
rows = st.lists(
    st.tuples(st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.integers(-(2**40), 2**40)),
    unique=True,
    max_size=60,
)


def walk(whole: list[Row], limit: int, *, descending: bool) -> list[Row]:
    """Page through `whole` as a route does: read `limit + 1` after the cursor's key."""
    served: list[Row] = []
    cursor: str | None = None
    for _ in range(len(whole) + 2):
        key = paging.decode(cursor, "rows", (date, int))
        read = paging.after(
            whole, key=lambda r: r, position=key, limit=limit + 1, descending=descending
        )
        page = paging.page(read, limit=limit, kind="rows", key=lambda r: r)
        assert len(page.items) <= limit
        served.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return served
    raise AssertionError("the cursor does not move")


@given(rows, st.integers(1, 70), st.booleans())
def test_walking_the_pages_gives_the_whole_list_once_in_order(
    items: list[Row], limit: int, descending: bool
) -> None:
    whole = sorted(items, reverse=descending)
    assert walk(whole, limit, descending=descending) == whole


@given(st.text(max_size=600))
def test_any_text_is_a_cursor_or_refused(text: str) -> None:
    try:
        key = paging.decode(text, "rows", (date, int))
    except paging.InvalidCursor:
        return
    assert key is not None and isinstance(key[0], date) and isinstance(key[1], int)


@given(
    st.tuples(
        st.dates(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=100).filter(str.isprintable)
    )
)
def test_a_cursor_gives_back_its_key(key: tuple[date, int, str]) -> None:
    cursor = paging.encode("k", key)
    assert paging.decode(cursor, "k", (date, int, str)) == key


@pytest.mark.parametrize(
    "cursor",
    [
        paging.encode("other", (date(2026, 1, 1), 1)),  # another list's
        paging.encode("rows", (date(2026, 1, 1),)),  # too short
        paging.encode("rows", ("2026-01-01", "1")),  # a string for the id
        paging.encode("rows", ("2026-13-01", 1)),  # no such day
        paging.encode("rows", ("2026-01-01", True)),  # a boolean is not an id
        paging.encode("rows", ("2026-01-01", 2**64)),  # overflows the column
        "bm90IGpzb24",  # "not json"
        "%%%",
    ],
)
def test_tampered_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(paging.InvalidCursor):
        paging.decode(cursor, "rows", (date, int))


@pytest.mark.parametrize(
    "part",
    [
        "0001-01-01T00:00:00+14:00",  # before the first moment UTC can name
        "9999-12-31T23:59:59-14:00",  # after the last one
        "2026-01-01T08:00:00",  # no offset: which moment?
    ],
)
def test_moments_the_database_cannot_take_are_refused(part: str) -> None:
    with pytest.raises(paging.InvalidCursor):
        paging.decode(paging.encode("m", (part,)), "m", (datetime,))


def test_a_moment_comes_back_in_utc() -> None:
    cursor = paging.encode("m", ("2026-11-26T09:00:00+01:00",))
    assert paging.decode(cursor, "m", (datetime,)) == (datetime(2026, 11, 26, 8, 0, tzinfo=UTC),)


def test_a_string_with_a_control_character_is_refused() -> None:
    # PostgreSQL refuses NUL in text: such a key must never reach it.
    with pytest.raises(paging.InvalidCursor):
        paging.decode(paging.encode("s", ("a\x00b",)), "s", (str,))
