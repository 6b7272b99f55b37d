"""Card envelopes kept sealed for enrolment with a processor that needs the card number.

Stripe charges a card it has saved (a PaymentMethod attached to a Customer), and saving
it needs the number, which exists only inside `validators.card`. Intake must not wait for
Stripe, so it keeps the envelope of a card's tap as it arrived, still sealed (kid +
sealed), in `pending_enrolments`; `settlement.enrolment` opens it later through
`validators.card.with_card_details`, enrols the card and deletes it.

Only cards without a processor reference get an envelope kept, and only one per card
(insert-ignore on the token): a card reaches the processor once, when first seen. The
references live in settlement's `card_gateway_refs`; intake reads that one column by
name rather than importing settlement (dependencies point settlement -> validators).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from validators.insert import insert_ignoring_conflicts
from validators.store import PendingEnrolment

_GATEWAY_REFS = sa.table("card_gateway_refs", sa.column("card_token", sa.String))


def keep_for_enrolment(
    session: Session, envelopes: Mapping[str, tuple[str, str]], *, now: datetime
) -> int:
    """Keep `{card token: (kid, sealed)}` for the cards not enrolled yet; returns how
    many envelopes were new."""
    if not envelopes:
        return 0
    enrolled = {
        token
        for (token,) in session.execute(
            sa.select(_GATEWAY_REFS.c.card_token).where(
                _GATEWAY_REFS.c.card_token.in_(sorted(envelopes))
            )
        )
    }
    rows = [
        {"card_token": token, "kid": kid, "sealed": sealed, "created_at": now}
        for token, (kid, sealed) in sorted(envelopes.items())
        if token not in enrolled
    ]
    inserted = insert_ignoring_conflicts(
        session, PendingEnrolment, rows, conflict_column="card_token", returning="card_token"
    )
    return len(inserted)
