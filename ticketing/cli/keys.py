"""`ticketing keys ...`: the card-decryption keys devices seal card data to."""

from __future__ import annotations

from typing import Annotated

import typer

from ticketing.app import validators_context
from ticketing.cli.common import job, settings_or_exit
from validators import audit, cardkeys
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
        audit.record(
            session,
            actor=audit.command_line_actor(),
            action="rotate_card_key",
            subject=kid,
            now=utc_now(),
        )
    typer.echo(f"published card key {kid}")


@app.command("retire")
def retire(kid: Annotated[str, typer.Option(help="Key id to retire.")]) -> None:
    """Stop opening envelopes sealed to this key."""
    with job() as session:
        cardkeys.retire(session, kid=kid, now=utc_now())
        audit.record(
            session,
            actor=audit.command_line_actor(),
            action="retire_card_key",
            subject=kid,
            now=utc_now(),
        )
    typer.echo(f"retired card key {kid}")


@app.command("list")
def list_keys() -> None:
    """Every card key and its status."""
    with job() as session:
        for key in cardkeys.all_keys(session):
            typer.echo(f"{key.kid}\t{key.status}\t{key.created_at:%Y-%m-%d %H:%M}")
