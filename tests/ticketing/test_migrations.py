from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

import ticketing.models  # noqa: F401  (registers every table)


def test_the_migrations_build_exactly_the_tables_the_code_declares(
    connection: Connection,
) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    assert compare_metadata(context, SQLModel.metadata) == []
