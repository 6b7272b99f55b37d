"""Journey disputes: a rider reports a problem with one leg of a charged day, finance
staff answer it, and the rider sees the outcome.

A rider names the leg as the journeys page shows it: card, service day, leg index (the
current revision of that day). Only legs of closed days can be disputed: before the
close there is no charge to give money back from. One dispute per leg may be open at a
time (a partial unique index holds it); opening again while it is open, or retrying with
the same `Idempotency-Key`, answers the dispute already there and changes nothing.

Finance resolves a dispute once:
- `upheld` with an amount: a real refund of the card-day's charge through
  `settlement.refunds` (ledger, reversal of each operator's share, processor), never an
  edit of the charge or its legs. The refund is committed before the processor is
  asked, and the dispute names it (`refund_id`, `refund_minor`) in that same
  transaction: from then on the dispute cannot be rejected (409
  `dispute_refund_in_progress`) while its refund is requested, pending, failed or
  succeeded, however the lock was released by the commits in between. The dispute stays
  `open` until the processor answers; a resolution retried after a crash or a time-out
  (same amount) asks with the same key, `dispute:{id}:{attempt}`, and finishes the
  first attempt without refunding twice. The amount is bounded by what the charge still
  has to give back, refunds of other disputes and finance's own refunds included.
- `rejected` with a reply.
Either way the resolution is written to the audit log in the same transaction.

A refund the processor refuses (at once, or later through a webhook when the bank
refuses a `pending` one) sends its dispute back to `open` (`reopen_dispute` in the audit
log), with no refund and `refund_attempt` + 1: the next uphold is a new refund under a
new key. While an upheld dispute's refund is still `pending`, the leg cannot be disputed
anew (opening answers that dispute), so a dispute sent back to open never meets another.

What riders and finance read of disputes is `settlement.disputes_view`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from settlement import refunds, riders_view
from settlement.errors import SettlementError
from settlement.processor import Processor
from settlement.store import Charge, Dispute, PricedLeg, Refund, SettlementDay
from validators import audit
from validators.schema import table_of

MESSAGE_MAX = 1000
REPLY_MAX = 1000


class DisputeReason(StrEnum):
    MISSED_TAP_OUT = "missed_tap_out"
    WRONG_AMOUNT = "wrong_amount"
    NOT_MY_JOURNEY = "not_my_journey"
    OTHER = "other"


class DisputeStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Outcome(StrEnum):
    UPHELD = "upheld"
    REJECTED = "rejected"


class DisputeNotFound(SettlementError):
    code = "dispute_not_found"
    kind = "not_found"


class LegNotFound(SettlementError):
    code = "leg_not_found"
    kind = "not_found"


class AmbiguousLeg(SettlementError):
    code = "ambiguous_leg"
    kind = "conflict"


class DayNotCharged(SettlementError):
    code = "service_day_not_closed"
    kind = "conflict"


class DisputeAlreadyResolved(SettlementError):
    code = "dispute_already_resolved"
    kind = "conflict"


class DisputeKeyReused(SettlementError):
    code = "idempotency_key_reused"
    kind = "conflict"


class DisputeRefundAsked(SettlementError):
    code = "dispute_refund_already_asked"
    kind = "conflict"


class DisputeRefundInProgress(SettlementError):
    code = "dispute_refund_in_progress"
    kind = "conflict"


class DisputeOpenElsewhere(SettlementError):
    code = "dispute_already_open"
    kind = "conflict"


class InvalidResolution(SettlementError):
    code = "invalid_resolution"
    kind = "invalid"


@dataclass(frozen=True, slots=True)
class Opened:
    dispute: Dispute
    created: bool  # False: an earlier request's dispute, answered again


def open_dispute(
    session: Session,
    *,
    user_id: int,
    card_id: str,
    service_day: date,
    leg_index: int,
    reason: DisputeReason,
    message: str,
    idempotency_key: str | None,
    now: datetime,
) -> Opened:
    if idempotency_key is not None:
        earlier = session.exec(
            select(Dispute).where(
                Dispute.user_id == user_id, Dispute.idempotency_key == idempotency_key
            )
        ).first()
        if earlier is not None:
            asked = (card_id, service_day, leg_index, str(reason), message)
            if asked != (
                earlier.card_id,
                earlier.service_day,
                earlier.leg_index,
                earlier.reason,
                earlier.message,
            ):
                raise DisputeKeyReused("This Idempotency-Key was used for another dispute.")
            return Opened(earlier, created=False)
    # Every token the card has had (token keys rotate): its legs were priced under one.
    owned = riders_view.card_tokens(session, user_id)
    tokens = [token for token, named in owned.items() if named == card_id]
    if not tokens:
        raise LegNotFound(f"No card {card_id} on your account.")
    settled = session.get(SettlementDay, service_day)
    if settled is None or settled.status != "closed":
        raise DayNotCharged(
            f"Service day {service_day.isoformat()} is not closed yet: its journeys can be "
            "disputed once the day has been charged."
        )
    legs = session.exec(
        select(PricedLeg).where(
            col(PricedLeg.card_token).in_(tokens),
            PricedLeg.service_day == service_day,
            PricedLeg.leg_index == leg_index,
            col(PricedLeg.superseded).is_(False),
        )
    ).all()
    if len(legs) > 1:
        # The day was charged as two card-days, one per token key (a key switched during
        # the day, docs/privacy.md): "journey n" names two legs, and guessing would
        # dispute the wrong one.
        raise AmbiguousLeg(
            f"On {service_day.isoformat()} this card was charged in two parts (its card "
            "token changed that day), so journey numbers repeat: contact customer service."
        )
    leg = legs[0] if legs else None
    if leg is None or leg.id is None:
        raise LegNotFound(f"No journey {leg_index} on {service_day.isoformat()} on this card.")
    charge = session.exec(
        select(Charge).where(
            Charge.card_token == leg.card_token,
            Charge.service_day == service_day,
            Charge.kind == "day",
        )
    ).first()
    if charge is None or charge.id is None:
        raise DayNotCharged(f"This card has no charge for {service_day.isoformat()} yet.")
    already = _open_on_leg(session, leg.id)
    if already is not None:
        return _again(already, user_id)
    dispute = Dispute(
        user_id=user_id,
        card_id=card_id,
        card_token=leg.card_token,
        service_day=service_day,
        leg_id=leg.id,
        leg_index=leg_index,
        charge_id=charge.id,
        currency=charge.currency,
        reason=str(reason),
        message=message,
        status=DisputeStatus.OPEN,
        idempotency_key=idempotency_key,
        opened_at=now,
    )
    try:
        # In a savepoint: losing the race to a concurrent request for the same leg (or
        # key) must leave this transaction usable to read the winner's dispute.
        with session.begin_nested():
            session.add(dispute)
    except IntegrityError:
        winner = _open_on_leg(session, leg.id)
        if winner is None and idempotency_key is not None:
            winner = session.exec(
                select(Dispute).where(
                    Dispute.user_id == user_id, Dispute.idempotency_key == idempotency_key
                )
            ).first()
        if winner is None:
            raise
        return _again(winner, user_id)
    return Opened(dispute, created=True)


def _again(dispute: Dispute, user_id: int) -> Opened:
    # A card linked to another account since keeps its history: the earlier holder's
    # open dispute is theirs, and its words are not shown to the new one.
    if dispute.user_id != user_id:
        raise DisputeOpenElsewhere("This journey already has an open dispute.")
    return Opened(dispute, created=False)


def _open_on_leg(session: Session, leg_id: int) -> Dispute | None:
    """The leg's open dispute, or its upheld one whose refund the bank may still refuse
    (which would open it again)."""
    return session.exec(
        select(Dispute)
        .outerjoin(Refund, col(Refund.id) == col(Dispute.refund_id))
        .where(
            Dispute.leg_id == leg_id,
            sa.or_(
                col(Dispute.status) == DisputeStatus.OPEN,
                sa.and_(
                    col(Dispute.status) == DisputeStatus.UPHELD,
                    col(Refund.status) == "pending",
                ),
            ),
        )
        .order_by(col(Dispute.id))
    ).first()


def open_for(
    session: Session, *, user_id: int, card_id: str, service_day: date, leg_index: int
) -> Dispute | None:
    """The rider's open dispute on the leg as the journeys page names it, if any."""
    return session.exec(
        select(Dispute).where(
            Dispute.user_id == user_id,
            Dispute.card_id == card_id,
            Dispute.service_day == service_day,
            Dispute.leg_index == leg_index,
            Dispute.status == DisputeStatus.OPEN,
        )
    ).first()


def dispute_of(session: Session, *, user_id: int, dispute_id: int) -> Dispute:
    """A rider's own dispute; anyone else's is not found (no enumeration)."""
    dispute = session.get(Dispute, dispute_id)
    if dispute is None or dispute.user_id != user_id:
        raise DisputeNotFound(f"No dispute {dispute_id} on your account.")
    return dispute


def get(session: Session, dispute_id: int) -> Dispute:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise DisputeNotFound(f"No dispute {dispute_id}.")
    return dispute


def resolve(
    session: Session,
    *,
    dispute_id: int,
    outcome: Outcome,
    refund_minor: int | None,
    reply: str,
    actor: str,
    processor: Processor,
    now: Callable[[], datetime],
    checkpoint: Callable[[], None],
) -> Dispute:
    """Uphold (refund) or reject an open dispute. `checkpoint` commits: the refund, and
    the dispute naming it, are written before the processor is asked (see
    settlement.refunds)."""
    if outcome is Outcome.UPHELD and (refund_minor is None or refund_minor <= 0):
        raise InvalidResolution("An upheld dispute needs a refund amount above zero.")
    if outcome is Outcome.REJECTED and refund_minor:
        raise InvalidResolution("A rejected dispute gives no refund.")
    if outcome is Outcome.REJECTED and not reply.strip():
        raise InvalidResolution("A rejected dispute needs a reply to the rider.")
    dispute = _lock_open(session, dispute_id)
    if outcome is Outcome.REJECTED:
        _no_refund_standing(session, dispute)
    else:
        assert refund_minor is not None
        dispute = _refunded(
            session,
            dispute,
            refund_minor=refund_minor,
            actor=actor,
            processor=processor,
            now=now,
            checkpoint=checkpoint,
        )
    resolved_at = now()
    dispute.status = DisputeStatus(outcome.value)
    dispute.reply = reply.strip() or None
    dispute.resolved_at = resolved_at
    dispute.resolved_by = actor
    session.add(dispute)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="resolve_dispute",
        subject=f"dispute:{dispute_id}",
        now=resolved_at,
        detail={
            "outcome": str(outcome),
            "charge_id": dispute.charge_id,
            "refund_minor": dispute.refund_minor,
        },
    )
    return dispute


def _no_refund_standing(session: Session, dispute: Dispute) -> None:
    """A rejection, under the dispute's lock: refused while an uphold's refund stands."""
    if dispute.refund_id is None:
        return
    refund = session.get(Refund, dispute.refund_id, populate_existing=True)
    if refund is not None and refund.status != "rejected":
        raise DisputeRefundInProgress(
            f"A refund of {refund.amount_minor} minor units was asked for this dispute "
            f"and is {refund.status}: the dispute cannot be rejected. Uphold it with that "
            "amount to finish it.",
            refund_minor=refund.amount_minor,
            refund_status=refund.status,
        )
    # Refused by the processor just now (its answer not yet folded in): no refund stands.
    _forget_refund(dispute)


def _refunded(
    session: Session,
    dispute: Dispute,
    *,
    refund_minor: int,
    actor: str,
    processor: Processor,
    now: Callable[[], datetime],
    checkpoint: Callable[[], None],
) -> Dispute:
    """Ask (or finish asking) the dispute's refund; the dispute, locked again, names it."""
    dispute_id = dispute.id
    assert dispute_id is not None

    def named(refund: Refund) -> None:
        dispute.refund_id = refund.id
        dispute.refund_minor = refund.amount_minor
        session.add(dispute)
        session.flush()

    try:
        refund = refunds.refund_charge(
            session,
            charge_id=dispute.charge_id,
            amount_minor=refund_minor,
            reason=f"dispute {dispute_id}: {dispute.reason}",
            client_key=client_key(dispute),
            processor=processor,
            actor=actor,
            now=now,
            checkpoint=checkpoint,
            requested=named,
        )
    except refunds.IdempotencyKeyReused as exc:
        earlier = _attempt_refund(session, dispute)
        asked = earlier.amount_minor if earlier is not None else 0
        raise DisputeRefundAsked(
            f"A refund of {asked} minor units was already asked for this dispute; "
            "resolve it again with that amount.",
            refund_minor=asked,
        ) from exc
    except refunds.RefundRejected:
        refused = _attempt_refund(session, dispute)
        if refused is not None:
            refund_refused(session, refused, actor=actor, now=now())
            checkpoint()  # the error rolls back what follows, not this
        raise
    # The checkpoints ended the lock: a resolution retried meanwhile may have finished
    # this same refund (found by its key, so no money moved twice), or the bank refused it.
    dispute = _lock_open(session, dispute_id)
    if dispute.refund_id != refund.id:
        raise refunds.RefundRejected("The processor refused this refund; no money moved.")
    return dispute


def _lock_open(session: Session, dispute_id: int) -> Dispute:
    dispute = session.get(Dispute, dispute_id, with_for_update=True, populate_existing=True)
    if dispute is None:
        raise DisputeNotFound(f"No dispute {dispute_id}.")
    if dispute.status != DisputeStatus.OPEN:
        raise DisputeAlreadyResolved(f"Dispute {dispute_id} is already {dispute.status}.")
    return dispute


def client_key(dispute: Dispute) -> str:
    """The refund's client key for the dispute's current attempt."""
    return f"dispute:{dispute.id}:{dispute.refund_attempt}"


def _attempt_refund(session: Session, dispute: Dispute) -> Refund | None:
    """The refund asked in the dispute's current attempt, if one was."""
    key = refunds.refund_key(dispute.charge_id, client_key(dispute))
    return session.exec(select(Refund).where(Refund.refund_key == key)).first()


def refund_refused(session: Session, refund: Refund, *, actor: str, now: datetime) -> None:
    """The processor refused `refund` for good: the dispute that asked for it, if any,
    is open again with no refund, and its next uphold is a new attempt (a new key).
    Found by `refund_id` (indexed): one indexed read for a refund no dispute asked for."""
    found = session.exec(
        select(Dispute)
        .where(Dispute.refund_id == refund.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for dispute in found:
        was = dispute.status
        attempt = dispute.refund_attempt
        _forget_refund(dispute)
        dispute.status = DisputeStatus.OPEN
        dispute.reply = None
        dispute.resolved_at = None
        dispute.resolved_by = None
        session.add(dispute)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="reopen_dispute",
            subject=f"dispute:{dispute.id}",
            now=now,
            detail={
                "was": was,
                "refund_id": refund.id,
                "refund_minor": refund.amount_minor,
                "attempt": attempt,
            },
        )


def _forget_refund(dispute: Dispute) -> None:
    dispute.refund_id = None
    dispute.refund_minor = None
    dispute.refund_attempt += 1


def forget_user(session: Session, user_id: int) -> None:
    """An erased account: its messages go (they are the rider's own words); the
    disputes stay, as the record of the refunds they led to."""
    table = table_of(Dispute)
    session.execute(
        sa.update(table).where(table.c.user_id == user_id).values(message="", card_id="")
    )
    session.flush()
