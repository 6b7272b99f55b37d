"""What the pages read beyond the API's views: charges with their ids (a receipt is per
charge), one charge of a rider for its receipt, and revenue per operator over time for
the finance chart."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement.errors import SettlementError
from settlement.store import Charge, OperatorStatement, SettlementDay
from validators.schema import table_of
from validators.store import Card
from validators.tokenlinks import rider_tokens

CHART_DAYS = 62  # two months of days on the finance chart
CHARGES_LIMIT = 400


class ChargeNotFound(SettlementError):
    code = "charge_not_found"
    kind = "not_found"


def _cards(session: Session, user_id: int) -> dict[str, dict[str, Any]]:
    """{card token: what the rider sees of the card}, for the rider's linked cards."""
    # Each card under every token it has had (key rotation), one card_id for all.
    links, cards = rider_tokens(user_id).subquery(), table_of(Card)
    rows = session.execute(
        sa.select(links.c.card_token, links.c.card_id, cards.c.scheme, cards.c.last4).select_from(
            links.join(cards, cards.c.token == links.c.card_token)
        )
    )
    return {
        token: {"card_id": card_id, "scheme": scheme, "last4": last4}
        for token, card_id, scheme, last4 in rows
    }


def _charge(row: Any, card: dict[str, Any]) -> dict[str, Any]:
    return {
        "charge_id": row.id,
        "service_day": row.service_day,
        "kind": row.kind,
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "status": row.status,
        "charged_at": row.charged_at,
        "notes": list(row.notes or []),
        "card": card,
    }


def charges_of(session: Session, user_id: int) -> list[dict[str, Any]]:
    cards = _cards(session, user_id)
    if not cards:
        return []
    charges = table_of(Charge)
    rows = session.execute(
        sa.select(charges)
        .where(charges.c.card_token.in_(list(cards)))
        .order_by(charges.c.service_day.desc(), charges.c.id.desc())
        .limit(CHARGES_LIMIT)
    )
    return [_charge(row, cards[row.card_token]) for row in rows]


def charge_of(session: Session, user_id: int, charge_id: int) -> dict[str, Any]:
    """One charge on one of the rider's cards; another rider's is not found (no
    enumeration), like debts."""
    cards = _cards(session, user_id)
    row = session.get(Charge, charge_id)
    if row is None or row.card_token not in cards:
        raise ChargeNotFound(f"No charge {charge_id} on your cards.")
    return _charge(row, cards[row.card_token])


def revenue_series(session: Session, *, until: date, days: int = CHART_DAYS) -> dict[str, Any]:
    """Each closed day of the window and, per operator, its revenue that day (0 when it
    earned nothing): the chart's labels and datasets."""
    statements = table_of(OperatorStatement)
    settled = table_of(SettlementDay)
    since = until - timedelta(days=days - 1)
    closed = [
        day
        for (day,) in session.execute(
            sa.select(settled.c.day)
            .where(settled.c.status == "closed", settled.c.day.between(since, until))
            .order_by(settled.c.day)
        )
    ]
    rows = session.execute(
        sa.select(
            statements.c.service_day,
            statements.c.operator_id,
            statements.c.revenue_minor,
            statements.c.currency,
        ).where(statements.c.service_day.between(since, until))
    ).all()
    operators = sorted({row.operator_id for row in rows})
    amounts = {(row.service_day, row.operator_id): row.revenue_minor for row in rows}
    currency = rows[0].currency if rows else "EUR"
    return {
        "days": [day.isoformat() for day in closed],
        "currency": currency,
        "operators": [
            {"operator_id": op, "amounts_minor": [amounts.get((day, op), 0) for day in closed]}
            for op in operators
        ],
    }
