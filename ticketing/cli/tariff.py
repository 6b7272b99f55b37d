"""`ticketing tariff load DIR`: publish a tariff version."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from fare import TariffError
from ticketing.cli.common import audited, fail, job
from validators import tariffs
from validators.schema import utc_now

app = typer.Typer(help="Tariff versions.", no_args_is_help=True)


@app.command("load")
def load(
    directory: Annotated[Path, typer.Argument(help="Tariff directory (DESIGN §4.1).")],
    effective_from: Annotated[
        str | None,
        typer.Option(help="First service day it prices (YYYY-MM-DD); default: today."),
    ] = None,
) -> None:
    """Store a new tariff version and make it active from a service day on."""
    try:
        day = date.fromisoformat(effective_from) if effective_from else utc_now().date()
    except ValueError:
        fail("invalid_date", f"--effective-from {effective_from!r} is not YYYY-MM-DD.")
    try:
        with job() as session:
            version = tariffs.publish_directory(
                session, directory, effective_from=day, now=utc_now()
            )
            version_id = version.id
            audited(
                session,
                "publish_tariff",
                f"tariff_version:{version_id}",
                directory=str(directory),
                effective_from=day.isoformat(),
            )
    except TariffError as exc:
        fail("invalid_tariff", str(exc))
    typer.echo(f"tariff version {version_id} ({directory}) active from {day}")
