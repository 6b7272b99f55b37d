"""Reconciliation with the processor (settlement.md §8): import its settlement records,
book their fees and payouts, and match them against what we expected.

What we expect is read from our own ledger: every transaction that debited
`processor_clearing` for a collection (a day's charge, a recovered debt, a collected
adjustment) used the same idempotency key as its processor call, and the processor's
records carry that key back. So the match is on keys, never on timestamps, and:
- `matched`: same key, same amount;
- `amount_mismatch`: same key, other amount;
- `missing_at_processor`: we booked a collection the processor does not report (yet);
- `unknown_to_us`: the processor reports a charge we never booked (a manual action).

Importing is idempotent (records keyed by processor id, ledger by `processor:{id}` and
`payout:{id}`), so running it again for the same dates changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session

from settlement import ledger, posting
from settlement.bulk import existing, insert_rows
from settlement.errors import SettlementError
from settlement.gateway import ProcessorRecord, ProcessorRecordKind
from settlement.processor import Processor
from settlement.store import LedgerPosting, LedgerTransaction, ProcessorRecordRow
from validators.schema import table_of

COLLECTIONS = (
    ledger.TransactionKind.CHARGE_CAPTURED,
    ledger.TransactionKind.DEBT_RECOVERED,
    ledger.TransactionKind.ADJUSTMENT_COLLECTED,
)
LISTED = 100  # items listed per break; counts are always complete
MAX_RANGE_DAYS = 93


class InvalidRange(SettlementError):
    code = "invalid_date_range"


def _import(session: Session, records: list[ProcessorRecord], now: datetime) -> int:
    """Store new records and post their ledger transactions; returns the fees booked."""
    table = table_of(ProcessorRecordRow)
    known = existing(session, table.c.processor_id, [r.processor_id for r in records])
    fresh = [r for r in records if r.processor_id not in known]
    insert_rows(
        session,
        ProcessorRecordRow,
        (
            "processor_id",
            "kind",
            "currency",
            "amount_minor",
            "fee_minor",
            "net_minor",
            "created_on",
            "payout_id",
            "payout_date",
            "idempotency_key",
            "source_id",
            "imported_at",
        ),
        [
            (
                r.processor_id,
                str(r.kind),
                r.currency.upper(),
                r.amount_minor,
                r.fee_minor,
                r.net_minor,
                r.created_on,
                r.payout_id,
                r.payout_date,
                r.idempotency_key,
                r.source_id,
                now,
            )
            for r in fresh
        ],
    )
    transactions: list[ledger.Transaction] = []
    fees = 0
    for record in records:
        currency = record.currency.upper()
        if record.kind in (ProcessorRecordKind.CHARGE, ProcessorRecordKind.REFUND):
            if record.amount_minor == 0:
                continue
            transactions.append(
                ledger.processor_settled(
                    processor_id=record.processor_id,
                    currency=currency,
                    amount_minor=record.amount_minor,
                    fee_minor=record.fee_minor,
                )
            )
            if record.processor_id not in known:
                fees += record.fee_minor
        elif record.kind is ProcessorRecordKind.PAYOUT and record.amount_minor < 0:
            transactions.append(
                ledger.payout(
                    payout_id=record.processor_id,
                    currency=currency,
                    amount_minor=-record.amount_minor,
                )
            )
    posting.post(session, transactions, now=now)
    return fees


def _expected(
    session: Session, from_day: date, to_day: date, keys: list[str]
) -> dict[str, tuple[int, str]]:
    """{key: (amount, currency)} of our collections booked in the range, plus those the
    processor named (booked on another day: a late arrival is still a match)."""
    transactions = table_of(LedgerTransaction)
    postings = table_of(LedgerPosting)
    start = datetime.combine(from_day, time(), tzinfo=UTC)
    end = datetime.combine(to_day + timedelta(days=1), time(), tzinfo=UTC)
    in_range = sa.and_(transactions.c.posted_at >= start, transactions.c.posted_at < end)
    condition = sa.or_(in_range, transactions.c.idempotency_key.in_(keys)) if keys else in_range
    rows = session.execute(
        sa.select(transactions.c.idempotency_key, postings.c.amount_minor, postings.c.currency)
        .select_from(postings.join(transactions, transactions.c.id == postings.c.transaction_id))
        .where(
            postings.c.account == ledger.Account.PROCESSOR_CLEARING,
            postings.c.amount_minor > 0,
            transactions.c.kind.in_([str(k) for k in COLLECTIONS]),
            condition,
        )
    )
    return {key: (amount, currency) for key, amount, currency in rows}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Our charges beside the processor's records of a range, every break listed."""

    records: list[ProcessorRecord]
    fees_booked_minor: int
    matched: list[str]
    matched_minor: int
    breaks: dict[str, list[dict[str, Any]]]  # BREAKS -> items, each sorted by `break_key`


BreakKind = Literal["amount_mismatch", "missing_at_processor", "unknown_to_us"]


def break_key(item: dict[str, Any]) -> str:
    """What orders a break's items (and pages them): our key, else the processor's id."""
    return str(item.get("idempotency_key") or item["processor_id"])


def compare(
    session: Session, *, processor: Processor, from_day: date, to_day: date, now: datetime
) -> Comparison:
    if to_day < from_day:
        raise InvalidRange("`to` is before `from`.")
    if (to_day - from_day).days > MAX_RANGE_DAYS:
        raise InvalidRange(f"Reconcile at most {MAX_RANGE_DAYS} days at a time.")
    records = processor.records(session, from_day, to_day)
    fees = _import(session, records, now)
    charges = {
        r.idempotency_key: r
        for r in records
        if r.kind is ProcessorRecordKind.CHARGE and r.idempotency_key is not None
    }
    unkeyed = [
        r for r in records if r.kind is ProcessorRecordKind.CHARGE and r.idempotency_key is None
    ]
    ours = _expected(session, from_day, to_day, sorted(charges))
    matched: list[str] = []
    mismatch: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = [
        {"processor_id": r.processor_id, "amount_minor": r.amount_minor} for r in unkeyed
    ]
    for key, (amount, currency) in sorted(ours.items()):
        record = charges.get(key)
        if record is None:
            missing.append({"idempotency_key": key, "amount_minor": amount, "currency": currency})
        elif record.amount_minor != amount:
            mismatch.append(
                {
                    "idempotency_key": key,
                    "processor_id": record.processor_id,
                    "ours_minor": amount,
                    "processor_minor": record.amount_minor,
                }
            )
        else:
            matched.append(key)
    for key, record in sorted(charges.items()):
        if key not in ours:
            unknown.append(
                {
                    "idempotency_key": key,
                    "processor_id": record.processor_id,
                    "amount_minor": record.amount_minor,
                }
            )
    unknown.sort(key=break_key)
    return Comparison(
        records=records,
        fees_booked_minor=fees,
        matched=matched,
        matched_minor=sum(ours[k][0] for k in matched),
        breaks={
            "amount_mismatch": mismatch,
            "missing_at_processor": missing,
            "unknown_to_us": unknown,
        },
    )


def reconcile(
    session: Session, *, processor: Processor, from_day: date, to_day: date, now: datetime
) -> dict[str, Any]:
    """The report: complete counts and sums, the first `LISTED` items of each break (the
    rest page through `GET /v1/finance/reconciliation/breaks`), the payouts."""
    found = compare(session, processor=processor, from_day=from_day, to_day=to_day, now=now)
    records = found.records
    payouts = [
        {
            "payout_id": r.processor_id,
            "payout_date": r.created_on.isoformat(),
            "amount_minor": -r.amount_minor,
            "currency": r.currency.upper(),
        }
        for r in records
        if r.kind is ProcessorRecordKind.PAYOUT
    ]
    return {
        "from": from_day.isoformat(),
        "to": to_day.isoformat(),
        "records": len(records),
        "matched": len(found.matched),
        "matched_minor": found.matched_minor,
        **{
            name: {"count": len(items), "items": items[:LISTED]}
            for name, items in found.breaks.items()
        },
        "fees_booked_minor": found.fees_booked_minor,
        "fees_minor": sum(r.fee_minor for r in records),
        "payouts": payouts,
    }
