"""Keyset pagination, one scheme for every list of the API.

In: `limit` (1 to 500, default 100) and `cursor` (opaque; absent for the first page).
Out: the page's items and `next_cursor`, null on the last page. A cursor is the sort key
of the last item served, so a page never skips or repeats an item when rows are added
meanwhile (OFFSET would), and reading page n costs what reading page 1 does.

The cursor is base64url of a small JSON array: the list's name, then the key. It is not
signed: a forged one only moves the position inside what the caller may read anyway. A
cursor that does not decode, or was given out by another list, is refused with 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query

from validators.errors import ValidatorsError

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_CURSOR_CHARS = 512
# A key's integers go to the database: keep them inside a signed 64-bit column.
_INT_RANGE = range(-(2**63), 2**63)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}")]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_CURSOR_CHARS,
        description="`next_cursor` of the previous page; absent for the first page",
    ),
]
NEXT_CURSOR_DOC = "Cursor of the next page; null on the last page"

KeyPart = str | int | date
Key = tuple[KeyPart, ...]
T = TypeVar("T")


class InvalidCursor(ValidatorsError):
    code = "invalid_cursor"
    kind = "bad_request"


def encode(kind: str, key: Key) -> str:
    parts = [part.isoformat() if isinstance(part, date) else part for part in key]
    raw = json.dumps([kind, *parts], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(cursor: str | None, kind: str, types: Sequence[type]) -> tuple[Any, ...] | None:
    """The key inside `cursor`, each part of the given type (str, int, date or datetime);
    None for no cursor; InvalidCursor for anything this list did not give out."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        value = json.loads(raw)
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise InvalidCursor("The cursor is not one this list gave out.") from exc
    if not isinstance(value, list) or len(value) != len(types) + 1 or value[0] != kind:
        raise InvalidCursor("The cursor is not one this list gave out.")
    try:
        return tuple(_part(item, wanted) for item, wanted in zip(value[1:], types, strict=True))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidCursor("The cursor is not one this list gave out.") from exc


def _part(item: object, wanted: type) -> KeyPart:
    if wanted is int and isinstance(item, int) and not isinstance(item, bool):
        if item in _INT_RANGE:
            return item
    elif wanted is str and isinstance(item, str) and len(item) <= MAX_CURSOR_CHARS:
        # Keys we give out are printable; a NUL would reach PostgreSQL, which refuses it.
        if item.isprintable():
            return item
    elif wanted is datetime and isinstance(item, str):
        moment = datetime.fromisoformat(item)
        if moment.tzinfo is not None:
            # In UTC here, as the database takes it: a moment that has none
            # (0001-01-01T00:00+14:00) is refused now, not by the driver later.
            return moment.astimezone(UTC)
    elif wanted is date and isinstance(item, str) and len(item) == 10:
        return date.fromisoformat(item)
    raise ValueError(f"not a {wanted.__name__}")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def page(rows: Sequence[T], *, limit: int, kind: str, key: Callable[[T], Key]) -> Page[T]:
    """`rows`: up to `limit + 1` rows read after the cursor, in order; the extra row only
    says another page follows."""
    if len(rows) <= limit:
        return Page(list(rows), None)
    items = list(rows[:limit])
    return Page(items, encode(kind, key(items[-1])))


def after(
    items: Sequence[T],
    *,
    key: Callable[[T], Any],
    position: Any | None,
    limit: int,
    descending: bool = False,
) -> list[T]:
    """Keyset over a list already in memory and sorted by `key` (unique): the first
    `limit` items after `position`, as `LIMIT` would give them. For lists bounded by
    their query (a date range), cheaper to read whole than in pieces."""
    if position is None:
        return list(items[:limit])
    if descending:
        rest = [item for item in items if key(item) < position]
    else:
        rest = [item for item in items if key(item) > position]
    return rest[:limit]
