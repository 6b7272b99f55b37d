"""What a rider sees of settlement: the charges and debts of the cards they linked.

Cards are named by their `card_id` (from `validators.riders`), never by their token.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement.debts import DebtNotFound
from settlement.refunds import GIVEN
from settlement.store import Charge, Debt, PricedAdjustment, PricedLeg, Refund
from validators.schema import table_of
from validators.store import RiderCard

LIMIT = 400  # about a year of days for one card


def _cards(session: Session, user_id: int) -> dict[str, str]:
    links = table_of(RiderCard)
    rows = session.execute(
        sa.select(links.c.card_token, links.c.card_id).where(links.c.user_id == user_id)
    )
    return {token: card_id for token, card_id in rows}


def charges_of(session: Session, user_id: int) -> list[dict[str, Any]]:
    return charges_for(session, _cards(session, user_id))


def charges_for(
    session: Session, cards: dict[str, str], *, since: date | None = None
) -> list[dict[str, Any]]:
    """Charges of the given cards ({token: name shown}), newest first."""
    if not cards:
        return []
    charges = table_of(Charge)
    rows = session.execute(
        sa.select(charges)
        .where(
            charges.c.card_token.in_(list(cards)),
            charges.c.service_day >= (since or date.min),
        )
        .order_by(charges.c.service_day.desc(), charges.c.id)
        .limit(LIMIT)
    ).all()
    refunded = _refunded(session, [row.id for row in rows])
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


def _refunded(session: Session, charge_ids: list[int]) -> dict[int, int]:
    """Money given back per charge: refunds done or accepted by the processor."""
    if not charge_ids:
        return {}
    refunds = table_of(Refund)
    rows = session.execute(
        sa.select(refunds.c.charge_id, sa.func.sum(refunds.c.amount_minor))
        .where(refunds.c.charge_id.in_(charge_ids), refunds.c.status.in_(GIVEN))
        .group_by(refunds.c.charge_id)
    )
    return {charge_id: int(total) for charge_id, total in rows}


def debts_of(session: Session, user_id: int) -> list[dict[str, Any]]:
    cards = _cards(session, user_id)
    if not cards:
        return []
    debts = table_of(Debt)
    rows = session.execute(
        sa.select(debts).where(debts.c.card_token.in_(list(cards))).order_by(debts.c.id.desc())
    )
    return [_debt(row, cards[row.card_token]) for row in rows]


def debt_out(session: Session, user_id: int, debt: Debt) -> dict[str, Any]:
    cards = _cards(session, user_id)
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
    session: Session, user_id: int, *, from_day: date, to_day: date
) -> list[dict[str, Any]]:
    return journeys_for(session, _cards(session, user_id), from_day=from_day, to_day=to_day)


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
        day["legs"].append(
            {
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
        )
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
