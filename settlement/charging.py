"""Charging the pending charges of a close through the processor, in committed batches.

Charges were created `pending` and committed before this runs (those the processor
answered as they were created are paid already: see `settlement.closing`), and every
processor call carries the charge's deterministic idempotency key. A batch's answers,
the ledger postings they cause, the debts, the deny-list entries and (for the simulated
acquirer) the processor's own memory are committed together at the end of the batch. If
the process dies mid-batch, a rerun finds the batch still pending and asks again with
the same keys: the processor replays what it answered, so every card is charged once.

Answers: `succeeded` -> paid, ledger `charge_captured` (or `adjustment_collected`);
`declined` -> declined, ledger `charge_declined`, a debt, the card on the deny list;
`failed` after the retries -> failed, nothing posted; the next `settle` of the day asks
again. A card the processor has no reference for -> not_enrolled (see
`settlement.processor`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from settlement import ledger, posting
from settlement.bulk import insert_rows, is_postgresql, reserve_ids
from settlement.gateway import ChargeResult, ChargeStatus, PaymentGateway, retrying
from settlement.processor import Processor
from settlement.store import Charge, ChargeShare, Debt
from validators import denylist
from validators.schema import table_of

BATCH_SIZE = 5_000
Checkpoint = Callable[[], None]
Progress = Callable[[str, int, int], None]
# Told the name of each phase of a close as it starts (a benchmark times them).
Phase = Callable[[str], None]


@dataclass(slots=True)
class ChargeTally:
    paid: int = 0
    paid_minor: int = 0
    declined: int = 0
    declined_minor: int = 0
    failed: int = 0
    not_enrolled: int = 0
    declined_tokens: list[str] = field(default_factory=list)


class _Pending(NamedTuple):  # a tuple: made from a row, hundreds of thousands per close
    id: int
    card_token: str
    service_day: date
    kind: str
    sequence: int
    amount_minor: int
    currency: str
    idempotency_key: str
    attempts: int


def _pending(session: Session, posted_day: date, after_id: int, limit: int) -> list[_Pending]:
    charges = table_of(Charge)
    rows = session.execute(
        sa.select(
            charges.c.id,
            charges.c.card_token,
            charges.c.service_day,
            charges.c.kind,
            charges.c.sequence,
            charges.c.amount_minor,
            charges.c.currency,
            charges.c.idempotency_key,
            charges.c.attempts,
        )
        .where(
            charges.c.posted_day == posted_day,
            charges.c.status.in_(["pending", "failed"]),
            charges.c.amount_minor > 0,
            charges.c.id > after_id,
        )
        .order_by(charges.c.id)
        .limit(limit)
    )
    return [_Pending._make(row) for row in rows]


def _shares(session: Session, charge_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    if not charge_ids:
        return {}
    shares = table_of(ChargeShare)
    rows = session.execute(
        sa.select(shares.c.charge_id, shares.c.operator_id, shares.c.amount_minor).where(
            shares.c.charge_id.in_(list(charge_ids))
        )
    )
    found: dict[int, dict[str, int]] = {}
    for charge_id, operator_id, amount in rows:
        found.setdefault(charge_id, {})[operator_id] = amount
    return found


def charge_pending(
    session: Session,
    *,
    posted_day: date,
    processor: Processor,
    now: Callable[[], datetime],
    checkpoint: Checkpoint,
    lock: Callable[[], None] = lambda: None,
    batch_size: int = BATCH_SIZE,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
    shares: Mapping[int, Mapping[str, int]] | None = None,
    phase: Phase | None = None,
) -> ChargeTally:
    """Charge every pending (or failed) charge created by the close of `posted_day`.

    `shares`: operator shares of charges the caller already has in memory; the others
    are read."""
    tally = ChargeTally()
    known = shares or {}
    last_id = 0
    done = 0
    while True:
        if phase is not None:
            phase("charging")
        lock()
        batch = _pending(session, posted_day, last_id, batch_size)
        if not batch:
            break
        last_id = batch[-1].id
        references = processor.references(session, sorted({c.card_token for c in batch}))
        split: dict[int, Mapping[str, int]] = dict(
            _shares(session, [c.id for c in batch if c.id not in known])
        )
        split.update((c.id, known[c.id]) for c in batch if c.id in known)
        gateway = processor.open(session, [c.idempotency_key for c in batch])
        answers: list[tuple[_Pending, ChargeResult | None]] = []
        for charge in batch:
            reference = references.get(charge.card_token)
            answers.append(
                (
                    charge,
                    None
                    if reference is None
                    else _ask(gateway, charge, reference, attempts, sleep),
                )
            )
        processor.save(session)
        _record(session, answers, split, posted_day=posted_day, now=now(), tally=tally, phase=phase)
        checkpoint()
        done += len(batch)
        if progress is not None:
            progress("charging", done, 0)
    return tally


def _ask(
    gateway: PaymentGateway,
    charge: _Pending,
    reference: str,
    attempts: int,
    sleep: Callable[[float], None],
) -> ChargeResult:
    day = charge.service_day.isoformat()
    call = functools.partial(
        gateway.charge,
        reference=reference,
        amount_minor=charge.amount_minor,
        currency=charge.currency,
        description=f"Transit {day}",
        metadata={"service_day": day, "card_day": f"{charge.card_token}:{day}"},
    )
    try:
        return retrying(
            call, idempotency_key=charge.idempotency_key, attempts=attempts, sleep=sleep
        )
    except (TimeoutError, ConnectionError) as exc:
        return ChargeResult(
            status=ChargeStatus.FAILED,
            idempotency_key=charge.idempotency_key,
            amount_minor=charge.amount_minor,
            currency=charge.currency,
            processor_id=None,
            message=str(exc),
        )


def _transaction(
    charge: _Pending, result: ChargeResult, shares: Mapping[str, int], posted_day: date
) -> ledger.Transaction:
    declined = result.status is ChargeStatus.DECLINED
    if charge.kind == "adjustment":
        return ledger.adjustment_collected(
            card_token=charge.card_token,
            service_day=charge.service_day,
            open_day=posted_day,
            currency=charge.currency,
            amount_minor=charge.amount_minor,
            sequence=charge.sequence,
            declined=declined,
        )
    builder = ledger.charge_declined if declined else ledger.charge_captured
    extra: dict[str, Any] = {"decline_code": result.decline_code} if declined else {}
    return builder(
        card_token=charge.card_token,
        service_day=charge.service_day,
        currency=charge.currency,
        amount_minor=charge.amount_minor,
        shares=shares,
        **extra,
    )


def _record(
    session: Session,
    answers: list[tuple[_Pending, ChargeResult | None]],
    shares: Mapping[int, Mapping[str, int]],
    *,
    posted_day: date,
    now: datetime,
    tally: ChargeTally,
    phase: Phase | None = None,
) -> None:
    updates: list[tuple[int, str, str | None, str | None, int | None, int, datetime | None]] = []
    answered: list[tuple[_Pending, ChargeResult]] = []
    debts: list[_Pending] = []
    for charge, result in answers:
        if result is None:
            tally.not_enrolled += 1
            updates.append((charge.id, "not_enrolled", None, None, None, charge.attempts, None))
            continue
        attempts = charge.attempts + 1
        if result.status is ChargeStatus.SUCCEEDED:
            tally.paid += 1
            tally.paid_minor += charge.amount_minor
            status = "paid"
        elif result.status is ChargeStatus.DECLINED:
            tally.declined += 1
            tally.declined_minor += charge.amount_minor
            tally.declined_tokens.append(charge.card_token)
            status = "declined"
            debts.append(charge)
        else:
            tally.failed += 1
            updates.append((charge.id, "failed", None, None, None, attempts, None))
            continue
        answered.append((charge, result))
        updates.append(
            (
                charge.id,
                status,
                result.processor_id,
                result.decline_code,
                result.fee_minor,
                attempts,
                now,
            )
        )
    update_charges(session, updates, now=now)
    if phase is not None:
        phase("ledger")
    transactions = [
        _transaction(charge, result, shares.get(charge.id, {}), posted_day)
        for charge, result in answered
    ]
    posting.post(session, transactions, now=now)
    open_debts(session, debts, now=now)


def open_debts(session: Session, charges: Sequence[_Pending], *, now: datetime) -> None:
    if not charges:
        return
    ids = reserve_ids(session, Debt, len(charges))
    insert_rows(
        session,
        Debt,
        (
            "id",
            "charge_id",
            "card_token",
            "service_day",
            "amount_minor",
            "currency",
            "status",
            "attempts",
            "created_at",
        ),
        [
            (debt_id, c.id, c.card_token, c.service_day, c.amount_minor, c.currency, "open", 0, now)
            for debt_id, c in zip(ids, charges, strict=True)
        ],
    )
    for token in sorted({c.card_token for c in charges}):
        denylist.deny(session, token, reason="debt", now=now)


UPDATE_COLUMNS = (
    "id",
    "status",
    "processor_id",
    "decline_code",
    "fee_minor",
    "attempts",
    "charged_at",
)


def update_charges(
    session: Session,
    rows: Sequence[tuple[int, str, str | None, str | None, int | None, int, datetime | None]],
    *,
    now: datetime,
) -> None:
    """Set each charge's answer. PostgreSQL: COPY into a temporary table and one UPDATE
    (a row-by-row UPDATE of 250,000 charges takes tens of seconds)."""
    if not rows:
        return
    if is_postgresql(session):
        session.execute(
            sa.text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS charge_answers ("
                "id bigint, status varchar(16), processor_id varchar(200), "
                "decline_code varchar(64), fee_minor integer, attempts integer, "
                "charged_at timestamptz) ON COMMIT DELETE ROWS"
            )
        )
        raw = session.connection().connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY charge_answers ({', '.join(UPDATE_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        session.execute(
            sa.text(
                "UPDATE charges SET status = a.status, processor_id = a.processor_id, "
                "decline_code = a.decline_code, fee_minor = a.fee_minor, "
                "attempts = a.attempts, charged_at = a.charged_at, updated_at = :now "
                "FROM charge_answers a WHERE charges.id = a.id"
            ),
            {"now": now},
        )
        session.execute(sa.text("DELETE FROM charge_answers"))
        return
    charges = table_of(Charge)
    session.execute(
        charges.update()
        .where(charges.c.id == sa.bindparam("b_id"))
        .values(
            status=sa.bindparam("b_status"),
            processor_id=sa.bindparam("b_processor_id"),
            decline_code=sa.bindparam("b_decline_code"),
            fee_minor=sa.bindparam("b_fee_minor"),
            attempts=sa.bindparam("b_attempts"),
            charged_at=sa.bindparam("b_charged_at"),
            updated_at=now,
        ),
        [dict(zip([f"b_{c}" for c in UPDATE_COLUMNS], row, strict=True)) for row in rows],
    )
