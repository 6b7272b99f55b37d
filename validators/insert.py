"""Bulk inserts that skip rows whose key exists, on PostgreSQL and SQLite alike.

`INSERT ... ON CONFLICT DO NOTHING RETURNING key` is one statement per batch and tells
which rows were new, which is how intake answers `duplicate` without a query per tap and
stays exactly-once when the same batch arrives on two connections at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignoring_conflicts(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    *,
    conflict_column: str | tuple[str, ...],
    returning: str | None = None,
) -> set[Any]:
    """Insert `rows`, skipping those that conflict on `conflict_column` (a unique key's
    columns); return the `returning` values of the rows actually inserted (empty set if
    not asked)."""
    if not rows:
        return set()
    table = model.__table__  # type: ignore[attr-defined]
    key = (conflict_column,) if isinstance(conflict_column, str) else conflict_column
    if session.get_bind().dialect.name == "postgresql":
        return _insert_unnest(session, table, rows, key, returning)
    # Parameters given apart from the statement: SQLAlchemy sends them as
    # "insertmanyvalues" batches of one cached statement.
    statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
    if returning is None:
        session.execute(statement, list(rows))
        return set()
    result = session.execute(statement.returning(table.c[returning]), list(rows))
    return {row[0] for row in result}


def _insert_unnest(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: tuple[str, ...],
    returning: str | None,
) -> set[Any]:
    """One array per column, unnested server-side: one short statement whatever the
    batch size, which PostgreSQL plans once and psycopg does not have to re-parse."""
    names = tuple(rows[0])
    sql = _unnest_sql(table, names, key, returning)
    arrays = tuple([row[name] for row in rows] for name in names)
    result = session.connection().exec_driver_sql(sql, arrays)
    return {row[0] for row in result} if returning is not None else set()


@lru_cache(maxsize=64)
def _unnest_sql(
    table: Table, names: tuple[str, ...], key: tuple[str, ...], returning: str | None
) -> str:
    # Built once per shape: compiling the column types costs more than the insert itself
    # for a single tap.
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    casts = ", ".join(f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in names)
    # Only identifiers from our table metadata are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({casts}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    )
    return sql + (f" RETURNING {returning}" if returning is not None else "")
