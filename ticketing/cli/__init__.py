"""The `ticketing` command line: one Typer app, one sub-app per area."""

from __future__ import annotations

import typer

from ticketing.cli import db, fare, openapi, serve, users

app = typer.Typer(
    help="ticketing: one contactless payment system for bus, tram, bike-share and parking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(openapi.app, name="openapi")
app.add_typer(fare.app, name="fare")


def main() -> None:
    app()
