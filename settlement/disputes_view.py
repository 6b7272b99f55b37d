"""What riders and finance read of journey disputes (`settlement.disputes`): pages of
them, newest first and paged like every list of the API (`validators.paging`), each with
its leg as priced, its refund's state and, for finance, what the charge can still give
back. Set-based: a few statements per page, whatever its size."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from settlement import refunds, riders_view
from settlement.disputes import DisputeStatus
from settlement.store import Charge, Dispute, PricedLeg, Refund
from validators import paging
from validators.schema import table_of
from validators.store import Card

CURSOR_KIND = "disputes"


# Lists.


def page_of(
    session: Session,
    *,
    user_id: int | None = None,
    status: DisputeStatus | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> paging.Page[Dispute]:
    """Newest first, keyed by id (see validators.paging)."""
    query = select(Dispute).order_by(col(Dispute.id).desc()).limit(limit + 1)
    if user_id is not None:
        query = query.where(Dispute.user_id == user_id)
    if status is not None:
        query = query.where(Dispute.status == status)
    position = paging.decode(cursor, CURSOR_KIND, (int,))
    if position is not None:
        query = query.where(col(Dispute.id) < position[0])
    rows = list(session.exec(query))
    return paging.page(rows, limit=limit, kind=CURSOR_KIND, key=lambda d: (d.id or 0,))


# What riders and finance see.


def views(
    session: Session, disputes: list[Dispute], *, for_finance: bool = False
) -> list[dict[str, Any]]:
    """Each dispute with its leg as priced (if still kept), the refund's state and, for
    finance, the card's scheme and last 4 and what the charge can still give back."""
    if not disputes:
        return []
    legs_table = table_of(PricedLeg)
    leg_ids = [d.leg_id for d in disputes]
    legs = {
        row.id: row
        for row in session.execute(sa.select(legs_table).where(legs_table.c.id.in_(leg_ids)))
    }
    refund_ids = [d.refund_id for d in disputes if d.refund_id is not None]
    refund_status: dict[int, str] = {}
    if refund_ids:
        refund_table = table_of(Refund)
        refund_status = dict(
            session.execute(
                sa.select(refund_table.c.id, refund_table.c.status).where(
                    refund_table.c.id.in_(refund_ids)
                )
            ).all()
        )
    extra: dict[int, dict[str, Any]] = {}
    if for_finance:
        extra = _finance_facts(session, disputes)
    return [
        {
            "dispute_id": d.id,
            "status": d.status,
            "reason": d.reason,
            "message": d.message,
            "card_id": d.card_id or None,
            "service_day": d.service_day.isoformat(),
            "leg_index": d.leg_index,
            "leg": _leg(legs.get(d.leg_id)),
            "charge_id": d.charge_id,
            "currency": d.currency,
            "refund_minor": d.refund_minor,
            "refund_status": refund_status.get(d.refund_id) if d.refund_id else None,
            "reply": d.reply,
            "opened_at": d.opened_at.isoformat(),
            "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
            **(extra.get(d.id, {}) if d.id is not None else {}),
        }
        for d in disputes
    ]


def _leg(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None  # gone with the trip history (retention), or never seen
    return riders_view.leg_view(row)


def _finance_facts(session: Session, disputes: list[Dispute]) -> dict[int, dict[str, Any]]:
    cards_table, charges_table = table_of(Card), table_of(Charge)
    cards = {
        row.token: row
        for row in session.execute(
            sa.select(cards_table.c.token, cards_table.c.scheme, cards_table.c.last4).where(
                cards_table.c.token.in_({d.card_token for d in disputes})
            )
        )
    }
    charges = {
        row.id: row
        for row in session.execute(
            sa.select(
                charges_table.c.id, charges_table.c.amount_minor, charges_table.c.status
            ).where(charges_table.c.id.in_({d.charge_id for d in disputes}))
        )
    }
    held = refunds.refunded_by_charge(
        session, list({d.charge_id for d in disputes}), refunds.HOLDING
    )
    facts: dict[int, dict[str, Any]] = {}
    for d in disputes:
        card, charge = cards.get(d.card_token), charges.get(d.charge_id)
        refundable = 0
        if charge is not None:
            given = held.get(d.charge_id, 0)
            refundable = refunds.refundable_minor(charge.amount_minor, charge.status, given)
        assert d.id is not None
        facts[d.id] = {
            "card": {"scheme": card.scheme, "last4": card.last4} if card else None,
            "charge_amount_minor": charge.amount_minor if charge else None,
            "charge_status": charge.status if charge else None,
            "refundable_minor": refundable,
            "resolved_by": d.resolved_by,
        }
    return facts
