"""`ticketing keys ...`: the card-decryption keys devices seal card data to, and the
state of a card-token key rotation (docs/privacy.md)."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from typing import Annotated

import typer

from ticketing.app import validators_context
from ticketing.cli.common import audited, job, settings_or_exit
from validators import cardkeys, tokenlinks
from validators.schema import utc_now

app = typer.Typer(
    help="Card-decryption keys (HPKE X25519) and card-token key rotation.", no_args_is_help=True
)


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


@app.command("token-rotation-status")
def token_rotation_status() -> None:
    """Cards known per card-token key, and how many were seen again under a newer key."""
    settings = settings_or_exit()
    ring = validators_context(settings).token_keys
    roles = {ring.current.kid: "current", **{key.kid: "previous" for key in ring.previous}}
    with job(settings) as session:
        for row in tokenlinks.status(session):
            role = roles.get(row.kid, "dropped")
            typer.echo(
                f"{row.kid}\t{role}\t{row.cards} cards\t{row.carried_forward} linked to a newer key"
            )


@app.command("deny-list-key")
def deny_list_key() -> None:
    """The deny-list key validators hold, as settings: pin it before a token-key rotation
    (every validator is given it already, with the deny list)."""
    key = validators_context(settings_or_exit()).device_key
    typer.echo(f"TICKETING_CARD_DENY_LIST_KEY_ID={key.kid}")
    secret = urlsafe_b64encode(key.secret).rstrip(b"=").decode("ascii")
    typer.echo(f"TICKETING_CARD_DENY_LIST_KEY={secret}")
