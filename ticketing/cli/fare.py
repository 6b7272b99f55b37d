"""`ticketing fare ...`: quote journeys against a tariff directory."""

from __future__ import annotations

import typer

app = typer.Typer(help="Price journeys with a tariff directory.", no_args_is_help=True)


@app.command()
def quote() -> None:
    """Placeholder until the fare engine lands."""
    raise typer.Exit(1)
