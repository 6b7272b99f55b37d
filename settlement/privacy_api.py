"""A rider's data, all of it, machine-readable (GDPR access and portability)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from settlement import riders_view
from settlement.retention import ACCOUNT_DAYS
from validators import riders
from validators.schema import utc_now
from validators.web import Db, Rider

router = APIRouter(tags=["riders"])


@router.get("/v1/riders/me/export", operation_id="export_my_data")
def export_my_data(db: Db, rider: Rider) -> dict[str, Any]:
    """Everything held about this account: the account, its cards, 12 months of journeys,
    charges and debts."""
    today = utc_now().date()
    return {
        "exported_at": utc_now().isoformat(),
        "account": {"id": rider.user_id, "email": rider.email, "role": rider.role},
        "cards": [
            {
                "card_id": card.card_id,
                "scheme": card.scheme,
                "last4": card.last4,
                "expiry_month": card.expiry_month.isoformat(),
                "linked_at": card.linked_at.isoformat(),
            }
            for card in riders.cards_of(db, rider.user_id)
        ],
        "journeys": riders_view.journeys_of(
            db, rider.user_id, from_day=today - timedelta(days=ACCOUNT_DAYS), to_day=today
        ),
        "charges": riders_view.charges_of(db, rider.user_id),
        "debts": riders_view.debts_of(db, rider.user_id),
    }
