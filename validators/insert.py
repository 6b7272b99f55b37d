"""Bulk inserts that skip rows whose key exists, on PostgreSQL and SQLite alike.

`INSERT ... ON CONFLICT DO NOTHING RETURNING key` is one statement per batch and tells
which rows were new, which is how intake answers `duplicate` without a query per tap and
stays exactly-once when the same batch arrives on two connections at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignoring_conflicts(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    *,
    conflict_column: str,
    returning: str | None = None,
) -> set[Any]:
    """Insert `rows`, skipping those that conflict on `conflict_column`; return the
    `returning` values of the rows actually inserted (empty set if not asked)."""
    if not rows:
        return set()
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        build(table).values(list(rows)).on_conflict_do_nothing(index_elements=[conflict_column])
    )
    if returning is None:
        session.execute(statement)
        return set()
    result = session.execute(statement.returning(table.c[returning]))
    return {row[0] for row in result}
