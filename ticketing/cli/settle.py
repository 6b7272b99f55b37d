"""`ticketing settle --service-day YYYY-MM-DD`: close a service day (DESIGN §2 step 2)."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer

from ticketing.cli.common import audited, fail, job, settings_or_exit


def settle(
    service_day: Annotated[
        str, typer.Option("--service-day", help="The service day to close (YYYY-MM-DD).")
    ],
) -> None:
    """Price every card's day, charge it once, post the ledger, write the statements.

    Safe to rerun: a closed day is not charged again, and a run that was interrupted
    resumes with the same idempotency keys. Prints one JSON summary line.
    """
    from settlement.closing import close_service_day
    from ticketing.app import settlement_context, validators_context
    from validators import audit
    from validators.schema import utc_now
    from validators.tariffs import ensure_default

    try:
        day = date.fromisoformat(service_day)
    except ValueError:
        fail("invalid_date", f"--service-day {service_day!r} is not YYYY-MM-DD.")
    settings = settings_or_exit()
    tariffs = validators_context(settings)
    processor = settlement_context(settings).processor()
    interactive = sys.stderr.isatty()

    def progress(phase: str, done: int, total: int) -> None:
        if interactive:
            of = f"/{total}" if total else ""
            print(f"\r{phase}: {done}{of} cards", end="", file=sys.stderr, flush=True)

    with job(settings) as session:
        # A fresh installation prices with the bundled tariff, as `serve` would.
        ensure_default(session, tariffs.default_tariff_dir, now=utc_now())
        result = close_service_day(
            session,
            day=day,
            processor=processor,
            tariffs=tariffs,
            actor=audit.command_line_actor(),
            now=utc_now,
            checkpoint=session.commit,
            progress=progress,
            cards=tariffs,
        )
        summary = result.as_dict()
        audited(
            session,
            "close_day",
            day.isoformat(),
            **{k: summary[k] for k in ("status", "cards", "charged_minor") if k in summary},
        )
    if interactive:
        print(file=sys.stderr)
    typer.echo(json.dumps(summary))
