"""`ticketing enrol`: register the cards whose envelopes wait with the processor (Stripe)."""

from __future__ import annotations

import json

import typer

from ticketing.cli.common import job, settings_or_exit


def enrol() -> None:
    """Register every card first seen since the last run with the payment processor.

    Runs by itself at the start of every close's charges; run it more often (every few
    minutes) to keep the close short. With the simulated acquirer there is nothing to do.
    Prints one JSON line: enrolled, declined, failed (kept for the next run), unreadable.
    """
    from settlement.enrolment import enrol_pending
    from ticketing.app import settlement_context, validators_context
    from validators.schema import utc_now

    settings = settings_or_exit()
    cards = validators_context(settings)
    processor = settlement_context(settings).processor()
    with job(settings) as session:
        tally = enrol_pending(
            session, processor=processor, cards=cards, now=utc_now, checkpoint=session.commit
        )
    typer.echo(json.dumps(tally.as_dict()))
