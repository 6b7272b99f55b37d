"""`ticketing users ...`: accounts for riders, finance staff and admins."""

from __future__ import annotations

from typing import Annotated

import typer

from ticketing import auth
from ticketing.cli.common import job
from ticketing.users import Role

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("add")
def add(
    email: Annotated[str, typer.Option(help="Login email (case-insensitive, unique).")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    role: Annotated[Role, typer.Option(help="What the account may do.")],
) -> None:
    """Create an account."""
    with job() as session:
        user = auth.create_user(
            session, email=email, password=password, role=role, now=auth.utc_now()
        )
        user_id = user.id
    typer.echo(f"user {user_id} {email} ({role.value}) created")
