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
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from psycopg._copy_base import format_row_text  # the formatter of Copy.write_row, used alone
from psycopg.adapt import Transformer
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, SQLModel

from validators.schema import table_of

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
        # One array rather than a row per id: hundreds of thousands of ids per close. The
        # sequence is named once: looked up per id, it costs five times the draw.
        sequence = session.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        ids: list[int] = session.execute(
            sa.text(
                "SELECT array_agg(nextval(CAST(:sequence AS regclass))) FROM generate_series(1, :n)"
            ),
            {"sequence": sequence, "n": count},
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


def _time_columns(table: sa.Table, columns: Sequence[str]) -> list[int]:
    def is_time(kind: Any) -> bool:
        return isinstance(kind, sa.DateTime | sa.Date) or (
            isinstance(kind, sa.TypeDecorator) and is_time(kind.impl)
        )

    return [i for i, name in enumerate(columns) if is_time(table.c[name].type)]


def copy_text(
    model: type[SQLModel], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> bytes:
    """Rows (in `columns` order) in COPY's text format, ready for `write_batches`.

    Made where the rows are made (a pricing worker process), so that the process holding
    the database connection only streams bytes. It needs no connection: psycopg's own
    row formatter (the C one that `Copy.write_row` uses) with the default adapters.
    Dates and times go as their ISO text, which PostgreSQL reads as the same values:
    psycopg's adapters for them are Python, several times slower on millions of rows.
    """
    table = table_of(model)
    json_at = _json_columns(table, columns)
    time_at = _time_columns(table, columns)
    transformer = Transformer()
    out = bytearray()
    for row in rows:
        if json_at or time_at:
            values = list(row)
            for i in json_at:
                values[i] = json.dumps(values[i])
            for i in time_at:
                value = values[i]
                if isinstance(value, datetime):
                    values[i] = value.isoformat(" ")
                elif value is not None:
                    values[i] = value.isoformat()
            row = values  # noqa: PLW2901 (the row as it is written)
        format_row_text(row, transformer, out)
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


def plain_rows(session: Session, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of a query as tuples. On PostgreSQL they come through the driver, without
    SQLAlchemy's result processing (a third of the time for hundreds of thousands of
    rows): only for columns whose values need no conversion (strings, integers)."""
    if not is_postgresql(session):
        return [tuple(row) for row in session.execute(query)]
    raw = session.connection().connection.driver_connection
    assert raw is not None
    compiled = query.compile(dialect=session.get_bind().dialect)
    with raw.cursor() as cursor:
        cursor.execute(str(compiled), compiled.params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def existing(
    session: Session, column: sa.Column[Any], keys: Sequence[Any], *extra: sa.Column[Any]
) -> dict[Any, tuple[Any, ...]]:
    """{key: (extra columns...)} for the keys already stored."""
    found: dict[Any, tuple[Any, ...]] = {}
    for condition in key_filters(session, column, keys):
        for row in session.execute(sa.select(column, *extra).where(condition)):
            found[row[0]] = tuple(row[1:])
    return found
