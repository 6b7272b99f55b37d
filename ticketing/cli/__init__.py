"""The `ticketing` command line: one Typer app, one sub-app per area."""

from __future__ import annotations

import typer

from ticketing.cli import fare

app = typer.Typer(
    help="ticketing: one contactless payment system for bus, tram, bike-share and parking.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(fare.app, name="fare")


def main() -> None:
    app()
