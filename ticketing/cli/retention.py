"""`ticketing retention run`: delete what is kept no longer (docs/privacy.md)."""

from __future__ import annotations

import json

import typer

from settlement import retention
from ticketing.cli.common import job
from validators.schema import utc_now

app = typer.Typer(help="Data retention (GDPR).", no_args_is_help=True)


@app.command("run")
def run() -> None:
    """Delete trips past their retention period; safe to run again."""
    now = utc_now()
    with job() as session:
        result = retention.run(session, today=now.date(), now=now)
    typer.echo(
        json.dumps(
            {
                "taps_deleted": result.taps_deleted,
                "legs_deleted": result.legs_deleted,
                "adjustments_deleted": result.adjustments_deleted,
                "partitions_dropped": result.partitions_dropped,
            }
        )
    )
