"""`ticketing users ...`: accounts for riders, finance staff and admins."""

from __future__ import annotations

from typing import Annotated

import typer

from ticketing import auth
from ticketing.cli.common import engine_for, fail, settings_or_exit
from ticketing.db import make_session_factory, unit_of_work
from ticketing.errors import ApiError
from ticketing.users import Role

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("add")
def add(
    email: Annotated[str, typer.Option(help="Login email (case-insensitive, unique).")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    role: Annotated[Role, typer.Option(help="What the account may do.")],
) -> None:
    """Create an account."""
    settings = settings_or_exit()
    try:
        with unit_of_work(make_session_factory(engine_for(settings))) as session:
            user = auth.create_user(
                session, email=email, password=password, role=role, now=auth.utc_now()
            )
            user_id = user.id
    except ApiError as exc:
        fail(exc.code, exc.detail)
    typer.echo(f"user {user_id} {email} ({role.value}) created")
