"""What a rider sees of settlement: the charges and debts of the cards they linked.

Cards are named by their `card_id` (from `validators.riders`), never by their token.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement.debts import DebtNotFound
from settlement.store import Charge, Debt, table_of
from validators.store import RiderCard

LIMIT = 400  # about a year of days for one card


def _cards(session: Session, user_id: int) -> dict[str, str]:
    links = table_of(RiderCard)
    rows = session.execute(
        sa.select(links.c.card_token, links.c.card_id).where(links.c.user_id == user_id)
    )
    return {token: card_id for token, card_id in rows}


def charges_of(session: Session, user_id: int) -> list[dict[str, Any]]:
    cards = _cards(session, user_id)
    if not cards:
        return []
    charges = table_of(Charge)
    rows = session.execute(
        sa.select(charges)
        .where(charges.c.card_token.in_(list(cards)))
        .order_by(charges.c.service_day.desc(), charges.c.id)
        .limit(LIMIT)
    )
    return [
        {
            "service_day": row.service_day.isoformat(),
            "kind": row.kind,
            "amount_minor": row.amount_minor,
            "currency": row.currency,
            "status": row.status,
            "card_id": cards[row.card_token],
            "notes": list(row.notes or []),
        }
        for row in rows
    ]


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
