"""The `ticketing` command line: one Typer app, one sub-app per area."""

from __future__ import annotations

import typer

from ticketing.cli import (
    db,
    debts,
    devices,
    enrol,
    fare,
    keys,
    openapi,
    retention,
    serve,
    settle,
    simulate,
    tariff,
    users,
)

app = typer.Typer(
    help="ticketing: one contactless payment system for bus, tram, bike-share and parking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("simulate")(simulate.simulate)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(openapi.app, name="openapi")
app.add_typer(devices.app, name="devices")
app.add_typer(keys.app, name="keys")
app.add_typer(tariff.app, name="tariff")
app.add_typer(fare.app, name="fare")
app.command("settle")(settle.settle)
app.command("enrol")(enrol.enrol)
app.add_typer(debts.app, name="debts")
app.add_typer(retention.app, name="retention")


def main() -> None:
    app()
