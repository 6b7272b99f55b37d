"""Retention (GDPR; CNIL practice for transit data). What is kept, how long and why is
written in docs/privacy.md; in short: trips of cards never linked to an account go 7 days
after their day is closed (unless the card owes money), account holders' trips after 12
months, rejected taps after 7 days; financial records stay, naming a card token, never a
person. Days are aggregated into operator statements at close, before anything goes.
Deletes are set-based, one statement per table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from settlement.store import Debt, PricedAdjustment, PricedLeg
from validators.schema import table_of
from validators.store import RiderCard, ServiceDay, Tap

ANONYMOUS_DAYS = 7
ACCOUNT_DAYS = 365


@dataclass(frozen=True, slots=True)
class RetentionResult:
    taps_deleted: int
    legs_deleted: int
    adjustments_deleted: int


def run(session: Session, *, today: date, now: datetime) -> RetentionResult:
    taps, legs, adjustments = table_of(Tap), table_of(PricedLeg), table_of(PricedAdjustment)
    linked = sa.select(table_of(RiderCard).c.card_token)
    debts = table_of(Debt)
    in_debt = sa.select(debts.c.card_token).where(debts.c.status == "open")
    days = table_of(ServiceDay)
    closed = sa.select(days.c.day).where(days.c.status == "closed")
    anonymous_cutoff = today - timedelta(days=ANONYMOUS_DAYS)
    account_cutoff = today - timedelta(days=ACCOUNT_DAYS)

    def expired(table: sa.Table, token: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        day = table.c.service_day
        anonymous = sa.and_(day < anonymous_cutoff, token.not_in(linked), token.not_in(in_debt))
        return sa.and_(day.in_(closed), sa.or_(anonymous, day < account_cutoff))

    tap_rows = _deleted(
        session,
        sa.delete(taps).where(
            sa.or_(
                sa.and_(taps.c.card_token.is_not(None), expired(taps, taps.c.card_token)),
                # Bike returns carry no card; rejected taps have no card data at all.
                sa.and_(
                    taps.c.card_token.is_(None),
                    taps.c.received_at < now - timedelta(days=ANONYMOUS_DAYS),
                ),
            )
        ),
    )
    leg_rows = _deleted(session, sa.delete(legs).where(expired(legs, legs.c.card_token)))
    adjustment_rows = _deleted(
        session, sa.delete(adjustments).where(expired(adjustments, adjustments.c.card_token))
    )
    return RetentionResult(tap_rows, leg_rows, adjustment_rows)


def _deleted(session: Session, statement: sa.Delete) -> int:
    result = session.execute(statement)
    assert isinstance(result, sa.CursorResult)
    return int(result.rowcount)
