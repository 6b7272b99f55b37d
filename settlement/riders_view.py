"""What a rider sees of settlement: the charges and debts of the cards they linked.

Cards are named by their `card_id` (from `validators.riders`), never by their token.
Lists are read a page at a time after a key (see `validators.paging`); without one they
are read whole, as the data export needs them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement import refunds
from settlement.debts import DebtNotFound
from settlement.store import Charge, Debt, PricedAdjustment, PricedLeg
from validators import paging
from validators.schema import table_of
from validators.tokenlinks import rider_tokens

LIMIT = 400  # about a year of days for one card, when no page size is asked


def card_tokens(session: Session, user_id: int) -> dict[str, str]:
    """{card token: card_id}, a card under each token it has had (key rotation)."""
    return {token: card_id for token, card_id in session.execute(rider_tokens(user_id))}


def charges_of(
    session: Session,
    user_id: int,
    *,
    after: tuple[date, int] | None = None,
    limit: int = LIMIT,
) -> list[dict[str, Any]]:
    return charges_for(session, card_tokens(session, user_id), after=after, limit=limit)


def charges_for(
    session: Session,
    cards: dict[str, str],
    *,
    since: date | None = None,
    after: tuple[date, int] | None = None,
    limit: int = LIMIT,
) -> list[dict[str, Any]]:
    """Charges of the given cards ({token: name shown}), newest day first, then by id;
    those after `after` (service day, charge id) only."""
    if not cards:
        return []
    charges = table_of(Charge)
    query = (
        sa.select(charges)
        .where(
            charges.c.card_token.in_(list(cards)),
            charges.c.service_day >= (since or date.min),
        )
        .order_by(charges.c.service_day.desc(), charges.c.id)
        .limit(limit)
    )
    if after is not None:
        day, charge_id = after
        query = query.where(
            sa.or_(
                charges.c.service_day < day,
                sa.and_(charges.c.service_day == day, charges.c.id > charge_id),
            )
        )
    rows = session.execute(query).all()
    refunded = refunds.refunded_by_charge(session, [row.id for row in rows])
    return [
        {
            "charge_id": row.id,
            "service_day": row.service_day.isoformat(),
            "kind": row.kind,
            "amount_minor": row.amount_minor,
            "currency": row.currency,
            "status": row.status,
            "refunded_minor": refunded.get(row.id, 0),
            "card_id": cards[row.card_token],
            "notes": list(row.notes or []),
        }
        for row in rows
    ]


def debts_of(
    session: Session, user_id: int, *, before_id: int | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Newest first; those older than `before_id` only."""
    cards = card_tokens(session, user_id)
    if not cards:
        return []
    debts = table_of(Debt)
    query = (
        sa.select(debts)
        .where(debts.c.card_token.in_(list(cards)))
        .order_by(debts.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(debts.c.id < before_id)
    rows = session.execute(query)
    return [_debt(row, cards[row.card_token]) for row in rows]


def debt_out(session: Session, user_id: int, debt: Debt) -> dict[str, Any]:
    cards = card_tokens(session, user_id)
    if debt.card_token not in cards:
        raise DebtNotFound(f"No debt {debt.id} on your cards.")
    return _debt(debt, cards[debt.card_token])


def _debt(row: Any, card_id: str) -> dict[str, Any]:
    return {
        "debt_id": row.id,
        "service_day": row.service_day.isoformat(),
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "status": row.status,
        "card_id": card_id,
    }


def journeys_of(
    session: Session,
    user_id: int,
    *,
    from_day: date,
    to_day: date,
    after: tuple[date, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Like `journeys_for`; with `limit`, at most `limit` days (of one card each) after
    `after` (service day, card id), in the same order."""
    cards = card_tokens(session, user_id)
    if limit is None or not cards:
        return journeys_for(session, cards, from_day=from_day, to_day=to_day)
    # The (day, card) pairs of the range are few (a year of days per card): read them,
    # keep the page's, then read the legs of those pairs only.
    pairs = sorted(
        {(day, cards[token]) for day, token in _card_days(session, cards, from_day, to_day)},
        reverse=True,
    )
    chosen = paging.after(pairs, key=lambda p: p, position=after, limit=limit, descending=True)
    if not chosen:
        return []
    card_ids = {card_id for _, card_id in chosen}
    wanted = {(day.isoformat(), card_id) for day, card_id in chosen}
    days = journeys_for(
        session,
        {token: card_id for token, card_id in cards.items() if card_id in card_ids},
        from_day=min(day for day, _ in chosen),
        to_day=max(day for day, _ in chosen),
    )
    return [d for d in days if (d["service_day"], d["card_id"]) in wanted]


def _card_days(
    session: Session, cards: dict[str, str], from_day: date, to_day: date
) -> list[tuple[date, str]]:
    legs, adjustments = table_of(PricedLeg), table_of(PricedAdjustment)
    parts = [
        sa.select(table.c.service_day, table.c.card_token).where(
            table.c.card_token.in_(list(cards)),
            table.c.service_day >= from_day,
            table.c.service_day <= to_day,
            table.c.superseded.is_(False),
        )
        for table in (legs, adjustments)
    ]
    return [(day, token) for day, token in session.execute(sa.union(*parts))]


def journeys_for(
    session: Session, cards: dict[str, str], *, from_day: date, to_day: date
) -> list[dict[str, Any]]:
    """Each service day of the range, newest first: its legs and adjustment lines, each
    with its amount and the sentence that explains it (current revision only)."""
    if not cards:
        return []
    legs, adjustments = table_of(PricedLeg), table_of(PricedAdjustment)
    days: dict[tuple[date, str], dict[str, Any]] = {}

    def day_of(service_day: date, token: str) -> dict[str, Any]:
        key = (service_day, token)
        if key not in days:
            days[key] = {
                "service_day": service_day.isoformat(),
                "card_id": cards[token],
                "legs": [],
                "adjustments": [],
                "total_minor": 0,
            }
        return days[key]

    in_range = (
        legs.c.card_token.in_(list(cards)),
        legs.c.service_day >= from_day,
        legs.c.service_day <= to_day,
        legs.c.superseded.is_(False),
    )
    for row in session.execute(sa.select(legs).where(*in_range).order_by(legs.c.started_at)):
        day = day_of(row.service_day, row.card_token)
        day["legs"].append(leg_view(row))
        day["total_minor"] += row.amount_minor
    adjustment_range = (
        adjustments.c.card_token.in_(list(cards)),
        adjustments.c.service_day >= from_day,
        adjustments.c.service_day <= to_day,
        adjustments.c.superseded.is_(False),
    )
    for row in session.execute(
        sa.select(adjustments).where(*adjustment_range).order_by(adjustments.c.id)
    ):
        day = day_of(row.service_day, row.card_token)
        day["adjustments"].append(
            {
                "kind": row.kind,
                "cap_id": row.cap_id,
                "leg_index": row.leg_index,
                "amount_minor": row.amount_minor,
                "explanation": row.explanation,
            }
        )
        day["total_minor"] += row.amount_minor
    return sorted(days.values(), key=lambda d: (d["service_day"], d["card_id"]), reverse=True)


def leg_view(row: Any) -> dict[str, Any]:
    """A `priced_legs` row as a rider reads it."""
    return {
        "index": row.leg_index,
        "kind": row.kind,
        "operator_id": row.operator_id,
        "route_id": row.route_id,
        "from_stop_id": row.from_stop_id,
        "to_stop_id": row.to_stop_id,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "fare_product_id": row.fare_product_id,
        "amount_minor": row.amount_minor,
        "explanation": row.explanation,
    }
