"""`ticketing db ...`: schema migrations and partitions."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ticketing.app import bootstrap, validators_context
from ticketing.cli.common import engine_for, migrate, settings_or_exit
from ticketing.db import current_revision, make_session_factory
from validators.partitions import MONTHS_AHEAD, ensure_months, list_partitions, months_around
from validators.schema import utc_now

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database to the latest schema and give a new installation its first
    card key and tariff (safe to run again)."""
    settings = settings_or_exit()
    engine = engine_for(settings)
    migrate(engine)
    bootstrap(make_session_factory(engine), validators_context(settings))
    with engine.connect() as connection:
        current = current_revision(connection)
    typer.echo(f"database at revision {current}")


@app.command("partitions")
def partitions_command(
    ahead: Annotated[
        int, typer.Option(min=0, max=24, help="Months after this one to create now.")
    ] = MONTHS_AHEAD,
) -> None:
    """Create the coming months' partitions (PostgreSQL) and list them all as JSON: table,
    partition, month (null for the default partition) and estimated rows."""
    engine = engine_for(settings_or_exit())
    with engine.begin() as connection:
        created = ensure_months(connection, months_around(utc_now().date(), ahead))
        found = list_partitions(connection)
    typer.echo(
        json.dumps(
            {
                "partitioned": bool(found),
                "created": created,
                "partitions": [
                    {
                        "table": p.table,
                        "partition": p.name,
                        "month": p.month.isoformat()[:7] if p.month else None,
                        "rows_estimate": p.rows,
                    }
                    for p in found
                ],
            }
        )
    )
