from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

import ticketing.models  # noqa: F401  (registers every table)
from validators.partitions import not_a_partition


def test_the_migrations_build_exactly_the_tables_the_code_declares(
    connection: Connection,
) -> None:
    assert differences(connection) == []


def differences(connection: Connection) -> list[object]:
    """What autogenerate would change to make the database match the models."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": False, "include_name": not_a_partition}
    )
    return list(compare_metadata(context, SQLModel.metadata))
