"""`ticketing keys ...`: the card-decryption keys devices seal card data to."""

from __future__ import annotations

from typing import Annotated

import typer

from ticketing.app import validators_context
from ticketing.cli.common import audited, job, settings_or_exit
from validators import cardkeys
from validators.schema import utc_now

app = typer.Typer(help="Card-decryption keys (HPKE X25519).", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Publish a new key; older keys still open envelopes until retired."""
    settings = settings_or_exit()
    wrapper = validators_context(settings).key_wrapper
    with job(settings) as session:
        key = cardkeys.rotate(session, wrapper=wrapper, now=utc_now())
        kid = key.kid
        audited(session, "rotate_card_key", kid)
    typer.echo(f"published card key {kid}")


@app.command("retire")
def retire(kid: Annotated[str, typer.Option(help="Key id to retire.")]) -> None:
    """Stop opening envelopes sealed to this key."""
    with job() as session:
        cardkeys.retire(session, kid=kid, now=utc_now())
        audited(session, "retire_card_key", kid)
    typer.echo(f"retired card key {kid}")


@app.command("list")
def list_keys() -> None:
    """Every card key and its status."""
    with job() as session:
        for key in cardkeys.all_keys(session):
            typer.echo(f"{key.kid}\t{key.status}\t{key.created_at:%Y-%m-%d %H:%M}")
