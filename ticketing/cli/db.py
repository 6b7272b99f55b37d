"""`ticketing db ...`: schema migrations."""

from __future__ import annotations

import typer

from ticketing.cli.common import engine_for, settings_or_exit
from ticketing.db import current_revision, upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database to the latest schema (safe to run again)."""
    settings = settings_or_exit()
    engine = engine_for(settings)
    upgrade(engine)
    with engine.connect() as connection:
        current = current_revision(connection)
    typer.echo(f"database at revision {current}")
