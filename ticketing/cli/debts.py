"""`ticketing debts retry`: resubmit declined card-days within the recovery policy."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ticketing.cli.common import job, settings_or_exit

app = typer.Typer(help="Debts of declined card-days.", no_args_is_help=True)


@app.command("retry")
def retry(
    max_attempts: Annotated[int, typer.Option(min=1, help="Retries per debt (Visa allows 6).")] = 6,
    window_days: Annotated[
        int, typer.Option(min=1, help="Days after the decline during which to retry.")
    ] = 14,
) -> None:
    """Charge open debts again; a paid debt takes its card off the deny list at once."""
    from settlement.context import DebtPolicy
    from settlement.debts import retry_debts
    from ticketing.app import settlement_context
    from validators.schema import utc_now

    settings = settings_or_exit()
    processor = settlement_context(settings).processor()
    with job(settings) as session:
        result = retry_debts(
            session,
            processor=processor,
            policy=DebtPolicy(max_attempts=max_attempts, window_days=window_days),
            now=utc_now,
        )
    typer.echo(json.dumps(result.as_dict()))
