"""Writing many rows fast: COPY on PostgreSQL, executemany elsewhere.

A closed day of a million taps writes millions of rows (legs, charges, shares, ledger
postings). Row-by-row ORM inserts would take minutes; COPY streams them in one round
trip per table. Ids are reserved up front (`reserve_ids`) so rows that reference each
other (a charge and its shares, a transaction and its postings) are written without
reading anything back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, SQLModel

from settlement.store import table_of

CHUNK = 5_000


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def reserve_ids(session: Session, model: type[SQLModel], count: int) -> list[int]:
    """`count` fresh primary keys of `model`'s integer `id`.

    PostgreSQL hands them out from the column's sequence (safe with concurrent writers);
    SQLite has one writer at a time (BEGIN IMMEDIATE), so max(id) + 1 onwards is ours
    until the transaction ends.
    """
    if count <= 0:
        return []
    table = table_of(model)
    if is_postgresql(session):
        rows = session.execute(
            sa.text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        )
        return [row[0] for row in rows]
    start = session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + 1 + count))


def insert_rows(
    session: Session, model: type[SQLModel], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert tuples (in `columns` order); returns how many. No conflict handling: callers
    check for existing keys first, under the close's lock."""
    table = table_of(model)
    if is_postgresql(session):
        raw = session.connection().connection.driver_connection
        assert raw is not None
        # psycopg's COPY adapts dates, datetimes, ints and strings itself; JSON columns
        # are written as their text.
        json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)]
        count = 0
        names = ", ".join(columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = list(row)  # noqa: PLW2901 (a converted copy of the same row)
                    for i in json_at:
                        row[i] = json.dumps(row[i])
                copy.write_row(row)
                count += 1
        return count
    batch: list[dict[str, Any]] = []
    count = 0
    statement = table.insert()
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) >= CHUNK:
            session.execute(statement, batch)
            count += len(batch)
            batch = []
    if batch:
        session.execute(statement, batch)
        count += len(batch)
    return count


# COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html): columns
# separated by tabs, rows by newlines, NULL as \N, and backslash, tab, newline and
# carriage return escaped inside values.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_json(value: Any) -> str:
    return json.dumps(value).translate(_ESCAPES)


def _copy_other(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):  # an enum member, say
        return str.translate(value, _ESCAPES)
    if isinstance(value, (list, dict)):
        return _copy_json(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, int):
        return int.__repr__(value)
    raise TypeError(f"No COPY text form for {type(value).__name__}.")


# Dispatch on the exact type: one dict lookup per value instead of a chain of isinstance.
_COPY_TEXT: dict[type, Callable[[Any], str]] = {
    str: lambda value: value.translate(_ESCAPES),
    int: int.__repr__,
    type(None): lambda _: "\\N",
    bool: lambda value: "t" if value else "f",
    datetime: datetime.isoformat,
    date: date.isoformat,
    list: _copy_json,
    dict: _copy_json,
}


def copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows in COPY text format, ready for `write_batches`.

    Made where the rows are made (a pricing worker process, say), so that the process
    holding the database connection only streams bytes. Timestamps must be aware: their
    ISO form carries the offset, which `timestamptz` reads exactly.
    """
    lookup = _COPY_TEXT.get
    lines = [
        "\t".join([(lookup(type(value)) or _copy_other)(value) for value in row]) for row in rows
    ]
    if not lines:
        return b""
    lines.append("")
    return "\n".join(lines).encode()


Batch = bytes | Sequence[Sequence[Any]]


def write_batches(
    session: Session, model: type[SQLModel], columns: Sequence[str], batches: Iterable[Batch]
) -> None:
    """Insert batches of rows (in `columns` order), each either tuples or `copy_text`
    bytes (PostgreSQL only), in one COPY on PostgreSQL."""
    if not is_postgresql(session):
        for batch in batches:
            assert not isinstance(batch, bytes), "COPY text needs PostgreSQL"
            insert_rows(session, model, columns, batch)
        return
    table = table_of(model)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    names = ", ".join(columns)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for batch in batches:
            if isinstance(batch, bytes):
                if batch:
                    copy.write(batch)
            elif batch:
                copy.write(copy_text(batch))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def key_filters(
    session: Session, column: sa.Column[Any], keys: Sequence[Any]
) -> Iterable[sa.ColumnElement[bool]]:
    """Conditions `column in keys`, one per query to run: a single `= ANY(array)` on
    PostgreSQL (a 100,000-item IN list costs seconds to build), IN lists elsewhere."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    if is_postgresql(session):
        yield column == sa.any_(sa.bindparam(None, wanted, type_=postgresql.ARRAY(column.type)))
        return
    for part in chunks(wanted):
        yield column.in_(list(part))


def existing(
    session: Session, column: sa.Column[Any], keys: Sequence[Any], *extra: sa.Column[Any]
) -> dict[Any, tuple[Any, ...]]:
    """{key: (extra columns...)} for the keys already stored."""
    found: dict[Any, tuple[Any, ...]] = {}
    for condition in key_filters(session, column, keys):
        for row in session.execute(sa.select(column, *extra).where(condition)):
            found[row[0]] = tuple(row[1:])
    return found
