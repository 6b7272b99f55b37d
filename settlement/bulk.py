"""Writing many rows fast: COPY on PostgreSQL, executemany elsewhere.

A closed day of a million taps writes millions of rows (legs, charges, shares, ledger
postings). Row-by-row ORM inserts would take minutes; COPY streams them in one round
trip per table. Ids are reserved up front (`reserve_ids`) so rows that reference each
other (a charge and its shares, a transaction and its postings) are written without
reading anything back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg._copy_base import TextFormatter  # the formatter of Copy.write_row, used alone
from psycopg.adapt import Transformer
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
        # One array rather than a row per id: hundreds of thousands of ids per close.
        ids: list[int] = session.execute(
            sa.text(
                "SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) "
                "FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        ).scalar_one()
        return ids
    start = session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + 1 + count))


def _json_columns(table: sa.Table, columns: Sequence[str]) -> list[int]:
    return [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)]


def _json_dumped(json_at: Sequence[int], rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    if not json_at:
        yield from rows
        return
    for row in rows:
        converted = list(row)
        for i in json_at:
            converted[i] = json.dumps(converted[i])
        yield converted


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
        json_at = _json_columns(table, columns)
        count = 0
        names = ", ".join(columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in _json_dumped(json_at, rows):
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


def copy_text(
    model: type[SQLModel], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> bytes:
    """Rows (in `columns` order) in COPY's text format, ready for `write_batches`.

    Made where the rows are made (a pricing worker process), so that the process holding
    the database connection only streams bytes. It needs no connection: psycopg's own
    row formatter (the C one that `Copy.write_row` uses) with the default adapters.
    """
    formatter = TextFormatter(Transformer())
    out = bytearray()
    for row in _json_dumped(_json_columns(table_of(model), columns), rows):
        out += formatter.write_row(row)
    out += formatter.end()
    return bytes(out)


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
    json_at = _json_columns(table, columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    names = ", ".join(columns)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for batch in batches:
            if isinstance(batch, bytes):
                if batch:
                    copy.write(batch)
            else:
                for row in _json_dumped(json_at, batch):
                    copy.write_row(row)


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
