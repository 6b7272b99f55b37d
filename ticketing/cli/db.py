"""`ticketing db ...`: schema migrations."""

from __future__ import annotations

import typer

from ticketing.app import bootstrap, validators_context
from ticketing.cli.common import engine_for, settings_or_exit
from ticketing.db import current_revision, make_session_factory, upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database to the latest schema and give a new installation its first
    card key and tariff (safe to run again)."""
    settings = settings_or_exit()
    engine = engine_for(settings)
    upgrade(engine)
    bootstrap(make_session_factory(engine), validators_context(settings))
    with engine.connect() as connection:
        current = current_revision(connection)
    typer.echo(f"database at revision {current}")
