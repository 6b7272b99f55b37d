"""Writing many rows fast: COPY on PostgreSQL, executemany elsewhere.

A closed day of a million taps writes millions of rows (legs, charges, shares, ledger
postings). Row-by-row ORM inserts would take minutes; COPY streams them in one round
trip per table. Ids are reserved up front (`reserve_ids`) so rows that reference each
other (a charge and its shares, a transaction and its postings) are written without
reading anything back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
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
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        )
        return [row[0] for row in rows]
    start = session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + 1 + count))


def _copy_value(value: Any) -> Any:
    # psycopg's COPY adapts dates, datetimes, ints and strings itself; JSON lists are
    # written as their text.
    if isinstance(value, list | dict):
        import json

        return json.dumps(value)
    return value


def insert_rows(
    session: Session, model: type[SQLModel], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert tuples (in `columns` order); returns how many. No conflict handling: callers
    check for existing keys first, under the close's lock."""
    table = table_of(model)
    if is_postgresql(session):
        raw = session.connection().connection.driver_connection
        assert raw is not None
        count = 0
        names = ", ".join(columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_copy_value(v) for v in row])
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


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing(
    session: Session, column: sa.Column[Any], keys: Sequence[Any], *extra: sa.Column[Any]
) -> dict[Any, tuple[Any, ...]]:
    """{key: (extra columns...)} for the keys already stored (in chunks of IN lists)."""
    found: dict[Any, tuple[Any, ...]] = {}
    for part in chunks(sorted(set(keys))):
        rows = session.execute(sa.select(column, *extra).where(column.in_(list(part))))
        for row in rows:
            found[row[0]] = tuple(row[1:])
    return found


def day_text(day: date | datetime) -> str:
    return day.isoformat()
