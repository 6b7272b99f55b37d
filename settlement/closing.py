"""Closing a service day: `ticketing settle` and `POST /v1/finance/service-days/{day}/close`.

Three steps, each ending at a checkpoint (the caller's commit):

1. **Price** (one transaction): lock the day; settle late taps of earlier closed days
   (`settlement.late`); read the day's taps in one query; turn each card's taps into
   legs (`settlement.journeys`) and price them with the earlier legs of the week or month
   that caps need (`settlement.cardday`); write the priced legs, one charge per card
   (pending; `nothing_due` when the day costs nothing, which makes no processor call)
   and its split between operators. The day is `closing` from here on. A processor whose
   memory is in our database (the simulated acquirer) answers here the charges it
   approves at once: they are written paid, with its record of them and their ledger
   postings, all in this one transaction (`settlement.processor.InstantAnswers`).
2. **Charge** (`settlement.charging`) the pending charges, in committed batches,
   resumable.
3. **Finish**: operator statements, the day `closed` (status, closed_at, closed_by), and
   taps of the day stored during the close marked late, so the next close adjusts them.

Rerunning a closed day does nothing but ask again for charges whose answer was a
transient failure. Rerunning after a crash resumes where the crash left: step 1 is one
transaction (done or not), step 2 resumes the pending charges with the same keys.

Concurrency: PostgreSQL serialises closes of a day with `pg_advisory_xact_lock`, taken
again at the start of every transaction; SQLite serialises writers with BEGIN IMMEDIATE.
"""

from __future__ import annotations

import gc
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from settlement import late, statements
from settlement.apportionment import ALLOCATION_RULE, ApportionMethod
from settlement.bulk import Batch, is_postgresql, reserve_ids, write_batches
from settlement.cardday import period_start
from settlement.charging import ChargeTally, Checkpoint, Phase, Progress, charge_pending
from settlement.context import Tariffs
from settlement.daydata import (
    ADJUSTMENT_COLUMNS,
    DAY_CHARGE_COLUMNS,
    LEG_COLUMNS,
    SHARE_COLUMNS,
    day_end,
    default_plan,
    earlier_legs,
    load_day_taps,
    tap_out_routes,
)
from settlement.daypricing import DayInputs, default_workers, price_day
from settlement.enrolment import CardOpening, enrol_pending
from settlement.journeys import match_bike_returns, next_unlocks
from settlement.posting import POSTING_COLUMNS, TRANSACTION_COLUMNS
from settlement.processor import AnswersInTransaction, Processor
from settlement.store import (
    Charge,
    ChargeShare,
    LedgerPosting,
    LedgerTransaction,
    PricedAdjustment,
    PricedLeg,
    SettlementDay,
)
from validators.partitions import ensure_months, months_around
from validators.schema import table_of
from validators.store import ServiceDay, Tap


@dataclass(frozen=True, slots=True)
class CloseResult:
    service_day: date
    already_closed: bool
    taps: int
    cards: int
    legs: int
    charged_minor: int
    paid: int
    declined: int
    declined_minor: int
    failed: int
    not_enrolled: int
    late_adjustments: int
    currency: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "service_day": self.service_day.isoformat(),
            "status": "already_closed" if self.already_closed else "closed",
            "taps": self.taps,
            "cards": self.cards,
            "legs": self.legs,
            "currency": self.currency,
            "charged_minor": self.charged_minor,
            "paid": self.paid,
            "declined": self.declined,
            "declined_minor": self.declined_minor,
            "failed": self.failed,
            "not_enrolled": self.not_enrolled,
            "late_adjustments": self.late_adjustments,
            "seconds": round(self.seconds, 3),
        }


def lock_day(session: Session, day: date) -> None:
    if is_postgresql(session):
        key = zlib.crc32(f"settle:{day.isoformat()}".encode())
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def close_service_day(
    session: Session,
    *,
    day: date,
    processor: Processor,
    tariffs: Tariffs,
    actor: str,
    now: Callable[[], datetime],
    checkpoint: Checkpoint,
    method: ApportionMethod | str = ApportionMethod.STANDALONE,
    idempotency_key: str | None = None,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    batch_size: int = 5_000,
    progress: Progress | None = None,
    cards: CardOpening | None = None,
    workers: int | None = None,
    phase: Phase | None = None,
) -> CloseResult:
    """`cards` opens the envelopes kept for enrolment: with it, cards first seen are
    registered with the processor (`settlement.enrolment`) before the charges.

    `workers`: processes pricing the day (None: one per core on a large day, see
    `settlement.daypricing`). `phase` is told the name of each phase as it starts."""
    started = time.perf_counter()
    if ensure_months(session.connection(), months_around(day)):
        # Creating a partition locks its table: commit at once, before the long work.
        checkpoint()
    lock_day(session, day)
    settled = session.get(SettlementDay, day)
    already = settled is not None and settled.status == "closed"
    late_count = 0
    priced = _DayPriced()
    if settled is None:
        settled, late_count, priced = _price_day(
            session,
            day=day,
            processor=processor,
            tariffs=tariffs,
            method=ApportionMethod(method),
            now=now(),
            idempotency_key=idempotency_key,
            progress=progress,
            phase=phase,
            workers=workers,
        )
        checkpoint()
    if cards is not None:
        enrol_pending(session, processor=processor, cards=cards, now=now, checkpoint=checkpoint)
    tally = charge_pending(
        session,
        posted_day=day,
        processor=processor,
        now=now,
        checkpoint=checkpoint,
        lock=lambda: lock_day(session, day),
        batch_size=batch_size,
        attempts=attempts,
        sleep=sleep,
        progress=progress,
        shares=priced.due,
        phase=phase,
    )
    tally.paid += priced.paid
    tally.paid_minor += priced.paid_minor
    del priced
    if phase is not None:
        phase("statements")
    lock_day(session, day)
    settled = session.get(SettlementDay, day)
    assert settled is not None
    if not already:
        _finish(session, settled, actor=actor, now=now())
        checkpoint()
    return _result(session, settled, tally, already, late_count, time.perf_counter() - started)


@dataclass(slots=True)
class _DayPriced:
    """What the close keeps of the priced chunks once they are written."""

    legs: int = 0
    charged_minor: int = 0
    # Charges answered as they were created (see `_price_day`).
    paid: int = 0
    paid_minor: int = 0
    # Operator shares of the charges left pending: the charge step need not read them.
    due: dict[int, dict[str, int]] = field(default_factory=dict)


def _price_day(
    session: Session,
    *,
    day: date,
    processor: Processor,
    tariffs: Tariffs,
    method: ApportionMethod,
    now: datetime,
    idempotency_key: str | None,
    progress: Progress | None,
    phase: Phase | None,
    workers: int | None,
) -> tuple[SettlementDay, int, _DayPriced]:
    """Step 1. With a processor whose memory is in our database (`AnswersInTransaction`,
    the simulated acquirer) the charges it approves at once are answered here, in this
    transaction: created paid, with the processor's record and their ledger postings,
    built by the pricing workers. Committed together or not at all, this is as safe as
    committing them pending before asking (see `settlement.processor.InstantAnswers`);
    the others are left pending for the charge step."""
    if phase is not None:
        phase("load")
    active = tariffs.tariff_on(session, day)
    tariff = active.tariff
    service_day = session.get(ServiceDay, day) or ServiceDay(day=day)
    service_day.status = "closing"
    session.add(service_day)
    late_count = late.settle_late_taps(
        session, open_day=day, tariffs=tariffs, method=method, now=now
    )

    taps = load_day_taps(session, day)
    # The day's taps live until the end of pricing and hold no garbage: frozen, they are
    # not rescanned by every collection while the rest of the day is read and priced
    # chunks come back (nor in forked workers); at 2M taps the cards' lookups alone took
    # three times as long with them in the heap.
    gc.freeze()
    try:
        returns, unmatched = match_bike_returns(taps.unlocks, taps.returns)
        del unmatched  # returns of bikes nobody unlocked that day: nothing to charge
        tokens = sorted(taps.by_card)
        instant = (
            processor.instant_answers(session, tokens, day)
            if isinstance(processor, AnswersInTransaction) and tokens
            else None
        )
        inputs = DayInputs(
            tariff=tariff,
            day=day,
            method=method,
            now=now,
            day_end=day_end(tariff, day),
            tap_out_routes=tap_out_routes(tariff),
            default_plan=default_plan(tariff),
            tokens=tokens,
            charge_ids=reserve_ids(session, Charge, len(tokens)),
            by_card=taps.by_card,
            bike_returns=returns,
            next_unlock=next_unlocks(taps.unlocks),
            earlier=earlier_legs(session, tokens, period_start(tariff, day), day),
            copy_text=is_postgresql(session),
            instant=instant,
            ledger_ids=[]
            if instant is None
            else reserve_ids(session, LedgerTransaction, len(tokens)),
        )

        if phase is not None:
            phase("pricing")
        done = _price_and_write(
            session,
            inputs,
            workers=default_workers(len(tokens)) if workers is None else workers,
            progress=progress,
            phase=phase,
        )
    finally:
        gc.unfreeze()
    settled = SettlementDay(
        day=day,
        status="charging",
        currency=tariff.currency,
        tariff_version_id=active.version_id,
        method=str(method),
        allocation_rule=ALLOCATION_RULE,
        max_tap_id=taps.max_id,
        taps=taps.count,
        cards=len(tokens),
        legs=done.legs,
        charged_minor=done.charged_minor,
        started_at=now,
        idempotency_key=idempotency_key,
    )
    session.add(settled)
    session.flush()
    return settled, late_count, done


# Where each part of a priced chunk goes.
_TABLES: tuple[tuple[type[SQLModel], tuple[str, ...], str], ...] = (
    (PricedLeg, LEG_COLUMNS, "legs"),
    (PricedAdjustment, ADJUSTMENT_COLUMNS, "adjustments"),
    (Charge, DAY_CHARGE_COLUMNS, "charges"),
    (ChargeShare, SHARE_COLUMNS, "shares"),
    (LedgerTransaction, TRANSACTION_COLUMNS, "transactions"),
    (LedgerPosting, POSTING_COLUMNS, "postings"),
)


def _price_and_write(
    session: Session,
    inputs: DayInputs,
    *,
    workers: int,
    progress: Progress | None,
    phase: Phase | None,
) -> _DayPriced:
    done = _DayPriced()
    total = len(inputs.tokens)
    cards = 0
    tables = list(_TABLES)
    if inputs.instant is not None:
        tables.append((inputs.instant.model, inputs.instant.columns, "processor"))
    # Each chunk is written as it comes, while later ones are being priced, and then
    # dropped: only its totals and the shares of its pending charges are kept.
    for chunk in price_day(inputs, workers=workers):
        for model, columns, part in tables:
            batch: Batch = getattr(chunk, part)
            if batch:
                write_batches(session, model, columns, [batch])
        done.legs += chunk.leg_count
        done.charged_minor += chunk.charged_minor
        done.paid += chunk.paid
        done.paid_minor += chunk.paid_minor
        done.due.update(chunk.due)
        cards += chunk.cards
        if progress is not None:
            progress("pricing", cards, total)
    if phase is not None:
        phase("writing")
    return done


def _finish(session: Session, settled: SettlementDay, *, actor: str, now: datetime) -> None:
    day = settled.day
    statements.write_statements(session, day=day, settled=settled)
    charges = table_of(Charge)
    declined = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(charges.c.amount_minor), 0)).where(
            charges.c.posted_day == day, charges.c.kind == "day", charges.c.status == "declined"
        )
    ).scalar_one()
    settled.declined_minor = int(declined)
    settled.status = "closed"
    settled.closed_at = now
    settled.closed_by = actor
    service_day = session.get(ServiceDay, day) or ServiceDay(day=day)
    service_day.status = "closed"
    service_day.closed_at = now
    service_day.closed_by = actor
    session.add_all([settled, service_day])
    # Taps of the day stored while it was being closed were not read: from now on they
    # are late taps, settled by the next close as adjustments.
    taps = table_of(Tap)
    session.execute(
        taps.update()
        .where(taps.c.service_day == day, taps.c.id > settled.max_tap_id, taps.c.late.is_(False))
        .values(late=True)
    )
    session.flush()


def _result(
    session: Session,
    settled: SettlementDay,
    tally: ChargeTally,
    already: bool,
    late_count: int,
    seconds: float,
) -> CloseResult:
    return CloseResult(
        service_day=settled.day,
        already_closed=already,
        taps=settled.taps,
        cards=settled.cards,
        legs=settled.legs,
        charged_minor=settled.charged_minor,
        paid=tally.paid,
        declined=tally.declined,
        declined_minor=settled.declined_minor,
        failed=tally.failed,
        not_enrolled=tally.not_enrolled,
        late_adjustments=late_count,
        currency=settled.currency,
        seconds=seconds,
    )
