"""Enrolment: registering cards with a processor that charges saved cards (Stripe).

Intake keeps a new card's envelope, still sealed, in `pending_enrolments` (see
`validators.enrolments`); nothing at intake waits for the processor. This step, run by
`ticketing enrol` and at the start of every close's charge step, opens each envelope
through `validators.card.with_card_details`, so the number goes from the card module
straight into the processor call (`CardForEnrolment.from_pan`) and nowhere else, then:

- enrolled: the reference (`cus_.../pm_...`) is stored per card, the envelope deleted;
- declined (at attach): the card is recorded in `enrolment_declines`, the envelope
  deleted; its charges are declined like any other (debt, deny list). Its next tap keeps
  a new envelope, so a card that was refused for a passing reason gets another chance;
- failed (transient): the envelope stays for the next run, and the card's charge fails
  transiently meanwhile (the next `settle` asks again);
- unreadable (its card key retired, say) or not the card its token says: deleted; the
  card stays not enrolled.

Every Stripe call of an enrolment carries a deterministic key (`enrol:{token}:...`), and
each batch is committed before the next, so a crash re-sends a card at most once, as a
replay. On PostgreSQL, concurrent runs skip each other's envelopes (SKIP LOCKED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session

from settlement.gateway import CardForEnrolment, EnrolmentResult, EnrolmentStatus
from settlement.processor import Processor, StoredReferencesGateway
from settlement.store import CardGatewayRef, EnrolmentDecline
from validators.card import CardDetails, CardRejected, with_card_details
from validators.intake import IntakeKeys
from validators.schema import table_of
from validators.store import PendingEnrolment
from validators.tokens import KeyRing

log = logging.getLogger(__name__)

BATCH_SIZE = 100


class CardOpening(Protocol):
    """Where the keys that open card envelopes come from (`ValidatorsContext` is one)."""

    def intake_keys(self, session: Session) -> IntakeKeys: ...


@dataclass(slots=True)
class EnrolmentTally:
    enrolled: int = 0
    declined: int = 0
    failed: int = 0
    unreadable: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "enrolled": self.enrolled,
            "declined": self.declined,
            "failed": self.failed,
            "unreadable": self.unreadable,
        }


def enrol_pending(
    session: Session,
    *,
    processor: Processor,
    cards: CardOpening,
    now: Callable[[], datetime],
    checkpoint: Callable[[], None],
    batch_size: int = BATCH_SIZE,
) -> EnrolmentTally:
    """Enrol every card whose envelope waits; a processor that needs no enrolment (the
    simulated acquirer acts on BIN and last 4) leaves the envelopes alone."""
    tally = EnrolmentTally()
    if not isinstance(processor, StoredReferencesGateway):
        return tally
    keys = cards.intake_keys(session)
    token_key = keys.token_key.current if isinstance(keys.token_key, KeyRing) else keys.token_key
    waiting = table_of(PendingEnrolment)
    after = ""
    while True:
        rows = session.execute(
            sa.select(waiting.c.card_token, waiting.c.kid, waiting.c.sealed)
            .where(waiting.c.card_token > after)
            .order_by(waiting.c.card_token)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            break
        after = rows[-1].card_token
        enrolled = _enrolled_among(session, processor.name, [r.card_token for r in rows])
        done: list[str] = []
        for token, kid, sealed in rows:
            if token in enrolled:
                done.append(token)
                continue

            def enrol(card: CardDetails, token: str = token) -> EnrolmentResult | None:
                if card.token != token:
                    return None
                return processor.enrol(
                    CardForEnrolment.from_pan(
                        card.pan,
                        card_token=token,
                        exp_month=card.exp_month,
                        exp_year=card.exp_year,
                    )
                )

            try:
                result = with_card_details(
                    sealed, kid=kid, keys=keys.card_keys, token_key=token_key, use=enrol
                )
            except CardRejected as rejected:
                log.warning("envelope kept for enrolment does not open: %s", rejected.reason)
                result = None
            if result is None:
                tally.unreadable += 1
                done.append(token)
            elif result.status is EnrolmentStatus.ENROLLED:
                assert result.reference is not None
                _store_reference(session, processor.name, token, result.reference, now())
                tally.enrolled += 1
                done.append(token)
            elif result.status is EnrolmentStatus.DECLINED:
                _store_decline(session, processor.name, token, result, now())
                tally.declined += 1
                done.append(token)
            else:
                tally.failed += 1
        if done:
            session.execute(waiting.delete().where(waiting.c.card_token.in_(done)))
        session.flush()
        checkpoint()
    return tally


def _enrolled_among(session: Session, gateway: str, tokens: list[str]) -> set[str]:
    refs = table_of(CardGatewayRef)
    return set(
        session.execute(
            sa.select(refs.c.card_token).where(
                refs.c.gateway == gateway, refs.c.card_token.in_(tokens)
            )
        ).scalars()
    )


def _store_reference(
    session: Session, gateway: str, token: str, reference: str, now: datetime
) -> None:
    declines = table_of(EnrolmentDecline)
    session.execute(
        declines.delete().where(declines.c.card_token == token, declines.c.gateway == gateway)
    )
    session.add(
        CardGatewayRef(card_token=token, gateway=gateway, reference=reference, created_at=now)
    )


def _store_decline(
    session: Session, gateway: str, token: str, result: EnrolmentResult, now: datetime
) -> None:
    declines = table_of(EnrolmentDecline)
    row: dict[str, Any] = {
        "card_token": token,
        "gateway": gateway,
        "decline_code": (result.decline_code or "card_declined")[:64],
        "declined_at": now,
    }
    session.execute(
        declines.delete().where(declines.c.card_token == token, declines.c.gateway == gateway)
    )
    session.execute(declines.insert(), [row])
