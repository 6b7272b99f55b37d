"""Operator statements: what each operator earned from one service day's close.

Per operator and service day:
- `revenue_minor`: its apportioned shares of the day's charges (paid, declined or still
  pending alike: operators keep their share of fares never collected, the authority
  bears bad debt, see `settlement.ledger`);
- `adjustments_minor`: share changes of late adjustments posted by this close (for
  earlier days); `later_adjustments_minor` (read time): changes to *this* day posted by
  later closes. A late adjustment thus shows on both days' statements;
- `refunds_minor` (read time): refunds of the day's charges allocated to it (positive),
  whenever they were granted: each refund reverses the charge's split pro rata
  (`ledger.refund`), and the ledger's refund postings are the source; a dispute lost
  counts as a refund;
- `amount_minor` = revenue + adjustments - refunds: what it is owed for the day;
- `boardings`: accepted, allowed start taps (tap-in, unlock, entry) on its devices;
  `legs`: its priced legs; `standalone_minor`: what those legs cost bought alone;
- `fees_minor`: the processor fees of the day's charges, split pro rata to revenue
  (informational: the authority pays the fees, `processor_fees` in the ledger).
`charged_minor` at the top is the sum of the day's charges (before adjustments);
`refunded_minor` the sum of their refunds.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement.apportionment import split
from settlement.errors import SettlementError
from settlement.journeys import START_KINDS
from settlement.ledger import OPERATOR_PAYABLE_PREFIX, TransactionKind
from settlement.store import (
    Charge,
    ChargeShare,
    LedgerPosting,
    LedgerTransaction,
    OperatorStatement,
    SettlementDay,
)
from validators.schema import table_of
from validators.store import Tap

FIELDS = (
    "operator_id",
    "amount_minor",
    "revenue_minor",
    "adjustments_minor",
    "later_adjustments_minor",
    "refunds_minor",
    "boardings",
    "legs",
    "standalone_minor",
    "fees_minor",
)


class DayNotClosed(SettlementError):
    code = "service_day_not_closed"
    kind = "not_found"


def _shares_by_operator(
    session: Session, *condition: sa.ColumnElement[bool]
) -> dict[str, tuple[int, int, int]]:
    charges = table_of(Charge)
    shares = table_of(ChargeShare)
    rows = session.execute(
        sa.select(
            shares.c.operator_id,
            sa.func.sum(shares.c.amount_minor),
            sa.func.sum(shares.c.standalone_minor),
            sa.func.sum(shares.c.legs),
        )
        .select_from(shares.join(charges, charges.c.id == shares.c.charge_id))
        .where(*condition)
        .group_by(shares.c.operator_id)
    )
    return {op: (int(a), int(s), int(n)) for op, a, s, n in rows}


def refunds_by_operator(session: Session, day: date) -> dict[str, int]:
    """Each operator's part of the refunds of `day`'s charges (positive)."""
    transactions = table_of(LedgerTransaction)
    postings = table_of(LedgerPosting)
    rows = session.execute(
        sa.select(postings.c.account, sa.func.sum(postings.c.amount_minor))
        .select_from(postings.join(transactions, transactions.c.id == postings.c.transaction_id))
        .where(
            transactions.c.kind == str(TransactionKind.REFUND),
            transactions.c.service_day == day,
            postings.c.account.startswith(OPERATOR_PAYABLE_PREFIX),
        )
        .group_by(postings.c.account)
    )
    return {account.removeprefix(OPERATOR_PAYABLE_PREFIX): int(total) for account, total in rows}


def write_statements(session: Session, *, day: date, settled: SettlementDay) -> None:
    charges = table_of(Charge)
    revenue = _shares_by_operator(session, charges.c.posted_day == day, charges.c.kind == "day")
    adjustments = _shares_by_operator(
        session, charges.c.posted_day == day, charges.c.kind == "adjustment"
    )
    taps = table_of(Tap)
    boardings = dict(
        session.execute(
            sa.select(taps.c.operator_id, sa.func.count())
            .where(
                taps.c.service_day == day,
                taps.c.status == "accepted",
                taps.c.decision == "allow",
                taps.c.kind.in_(sorted(START_KINDS)),
            )
            .group_by(taps.c.operator_id)
        ).all()
    )
    fees = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(charges.c.fee_minor), 0)).where(
            charges.c.posted_day == day
        )
    ).scalar_one()
    operators = sorted(set(revenue) | set(adjustments) | set(boardings))
    weights = {op: max(revenue.get(op, (0, 0, 0))[0], 0) for op in operators}
    fee_parts = split(int(fees), weights, seed=f"fees:{day.isoformat()}") if operators else {}
    table = table_of(OperatorStatement)
    session.execute(table.delete().where(table.c.service_day == day))
    rows = []
    for op in operators:
        earned, standalone, legs = revenue.get(op, (0, 0, 0))
        adjusted = adjustments.get(op, (0, 0, 0))[0]
        rows.append(
            {
                "service_day": day,
                "operator_id": op,
                "currency": settled.currency,
                "revenue_minor": earned,
                "adjustments_minor": adjusted,
                "refunds_minor": 0,
                "amount_minor": earned + adjusted,
                "boardings": int(boardings.get(op, 0)),
                "legs": legs,
                "standalone_minor": standalone,
                "fees_minor": fee_parts.get(op, 0),
                "method": settled.method,
                "allocation_rule": settled.allocation_rule,
            }
        )
    if rows:
        session.execute(table.insert(), rows)


def statement(session: Session, day: date) -> dict[str, Any]:
    settled = session.get(SettlementDay, day)
    if settled is None or settled.status != "closed":
        raise DayNotClosed(f"Service day {day.isoformat()} is not closed yet.")
    table = table_of(OperatorStatement)
    charges = table_of(Charge)
    later = _shares_by_operator(
        session,
        charges.c.service_day == day,
        charges.c.kind == "adjustment",
        charges.c.posted_day > day,
    )
    rows = session.execute(
        sa.select(table).where(table.c.service_day == day).order_by(table.c.operator_id)
    ).all()
    refunded = refunds_by_operator(session, day)
    operators = []
    for row in rows:
        refunds = row.refunds_minor + refunded.get(row.operator_id, 0)
        operators.append(
            {
                "operator_id": row.operator_id,
                "amount_minor": row.revenue_minor + row.adjustments_minor - refunds,
                "revenue_minor": row.revenue_minor,
                "adjustments_minor": row.adjustments_minor,
                "later_adjustments_minor": later.get(row.operator_id, (0, 0, 0))[0],
                "refunds_minor": refunds,
                "boardings": row.boardings,
                "legs": row.legs,
                "standalone_minor": row.standalone_minor,
                "fees_minor": row.fees_minor,
            }
        )
    return {
        "service_day": day.isoformat(),
        "currency": settled.currency,
        "charged_minor": settled.charged_minor,
        "refunded_minor": sum(refunded.values()),
        "method": settled.method,
        "allocation_rule": settled.allocation_rule,
        "operators": operators,
    }


def statement_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["service_day", "currency", *FIELDS])
    for operator in document["operators"]:
        writer.writerow(
            [document["service_day"], document["currency"], *(operator[f] for f in FIELDS)]
        )
    return out.getvalue()


def service_days(
    session: Session, *, before: date | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Newest first; a page of them with `before` (the last day of the previous page)."""
    settled = table_of(SettlementDay)
    query = sa.select(settled).order_by(settled.c.day.desc()).limit(limit)
    if before is not None:
        query = query.where(settled.c.day < before)
    rows = session.execute(query).all()
    return [
        {
            "service_day": row.day.isoformat(),
            "status": row.status,
            "currency": row.currency,
            "taps": row.taps,
            "cards": row.cards,
            "legs": row.legs,
            "charged_minor": row.charged_minor,
            "declined_minor": row.declined_minor,
            "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            "closed_by": row.closed_by,
        }
        for row in rows
    ]
