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
from validators.partitions import drop_empty_before
from validators.schema import table_of
from validators.store import ServiceDay, Tap
from validators.tokenlinks import rider_tokens

ANONYMOUS_DAYS = 7
ACCOUNT_DAYS = 365


@dataclass(frozen=True, slots=True)
class RetentionResult:
    taps_deleted: int
    legs_deleted: int
    adjustments_deleted: int
    partitions_dropped: int = 0


def run(session: Session, *, today: date, now: datetime) -> RetentionResult:
    taps, legs, adjustments = table_of(Tap), table_of(PricedLeg), table_of(PricedAdjustment)
    # A rider's card under each token it has had: a key rotation does not unlink it.
    linked = sa.select(rider_tokens().subquery().c.card_token)
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
    # Months wholly past every trip horizon are empty now: their partitions go too
    # (PostgreSQL). Financial tables (charges, shares, postings) keep theirs.
    dropped = drop_empty_before(
        session.connection(), (taps.name, legs.name, adjustments.name), account_cutoff
    )
    return RetentionResult(tap_rows, leg_rows, adjustment_rows, len(dropped))


def _deleted(session: Session, statement: sa.Delete) -> int:
    result = session.execute(statement)
    assert isinstance(result, sa.CursorResult)
    return int(result.rowcount)
