"""Refunds: finance gives back all or part of a charge, with a reason.

`POST /v1/finance/charges/{charge_id}/refunds` with an `Idempotency-Key` header. The
client's key names the refund: `refund_key` is the charge id plus a digest of it, and the
processor call carries `refund:{refund_key}`, so a retried request (or a crashed one run
again) asks the processor with the same key and never moves money twice.

Steps, each safe to repeat:
1. Under a row lock on the charge, check it is refundable (paid or partially refunded,
   with a processor payment) and that the amount fits what remains (the charge minus
   every refund not rejected); write the refund `requested` and commit it before the
   processor is asked: the amount is reserved from then on.
2. Ask the processor (retrying transient failures with the same key).
3. `succeeded`: ledger `refund` (each operator's share reversed pro rata, the mirrored
   split of the charge) and `refund_paid`; `pending` (accepted, the bank may still
   refuse): `refund` only, `refund_paid` when the processor confirms (webhook);
   `rejected`: final, nothing posted (a `pending` refund the bank refuses later is
   reversed by a `refund_reversed` correction), the amount freed; `failed`: the refund stays to be
   asked again by a retry with the same key. The charge becomes `partially_refunded` or
   `refunded`.

The rider sees the new status and the refunded amount in `GET /v1/riders/me/charges`;
operator statements show the refunds of the day's charges (`settlement.statements`).
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from settlement import ledger, posting
from settlement.errors import SettlementError
from settlement.gateway import RefundResult, RefundStatus, retrying
from settlement.processor import Processor
from settlement.store import Charge, ChargeShare, Refund
from validators.schema import table_of

REFUNDABLE = frozenset({"paid", "partially_refunded"})
# Refunds that hold part of a charge: done, in flight, or to be asked again.
HOLDING = ("requested", "succeeded", "pending", "failed")
# Refunds that count as money given back to the rider.
GIVEN = ("succeeded", "pending")


class ChargeNotFound(SettlementError):
    code = "charge_not_found"
    kind = "not_found"


class ChargeNotRefundable(SettlementError):
    code = "charge_not_refundable"
    kind = "conflict"


class RefundExceedsCharge(SettlementError):
    code = "refund_exceeds_refundable"
    kind = "conflict"


class RefundRejected(SettlementError):
    code = "refund_rejected"
    kind = "conflict"


class ProcessorUnavailable(SettlementError):
    code = "processor_unavailable"
    kind = "unavailable"


class IdempotencyKeyReused(SettlementError):
    code = "idempotency_key_reused"
    kind = "conflict"


def refund_key(charge_id: int, client_key: str) -> str:
    """Deterministic, short whatever the client's key (which may be 200 characters)."""
    digest = hashlib.sha256(client_key.encode()).hexdigest()[:32]
    return f"{charge_id}:{digest}"


def processor_key(key: str) -> str:
    return f"refund:{key}"


def refund_charge(
    session: Session,
    *,
    charge_id: int,
    amount_minor: int,
    reason: str,
    client_key: str,
    processor: Processor,
    actor: str,
    now: Callable[[], datetime],
    checkpoint: Callable[[], None],
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    requested: Callable[[Refund], None] | None = None,
) -> Refund:
    """`requested` is called with a new refund in the transaction that writes it, before
    the first checkpoint: the caller's own record of the refund commits with it."""
    key = refund_key(charge_id, client_key)
    charge = session.get(Charge, charge_id, with_for_update=True)
    if charge is None:
        raise ChargeNotFound(f"No charge {charge_id}.")
    refund = session.exec(select(Refund).where(Refund.refund_key == key)).first()
    if refund is None:
        refund = _request(session, charge, amount_minor, reason, key, actor, now())
        if requested is not None:
            requested(refund)
        checkpoint()
    elif (refund.amount_minor, refund.reason) != (amount_minor, reason):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another refund of this charge."
        )
    if refund.status in ("requested", "failed"):
        assert charge.processor_id is not None
        result = _ask(processor, session, charge.processor_id, refund, attempts, sleep)
        _record(session, charge, refund, result, now())
        checkpoint()
    if refund.status == "rejected":
        raise RefundRejected("The processor refused this refund; no money moved.")
    if refund.status == "failed":
        raise ProcessorUnavailable(
            "The processor did not answer; retry with the same Idempotency-Key."
        )
    return refund


def refunded_minor(session: Session, charge_id: int, statuses: tuple[str, ...] = GIVEN) -> int:
    return refunded_by_charge(session, [charge_id], statuses).get(charge_id, 0)


def refunded_by_charge(
    session: Session, charge_ids: Sequence[int], statuses: tuple[str, ...] = GIVEN
) -> dict[int, int]:
    """{charge id: the sum of its refunds in `statuses`} (GIVEN: money given back;
    HOLDING: what no new refund may take), one statement for any number of charges."""
    if not charge_ids:
        return {}
    refunds = table_of(Refund)
    rows = session.execute(
        sa.select(refunds.c.charge_id, sa.func.sum(refunds.c.amount_minor))
        .where(refunds.c.charge_id.in_(list(charge_ids)), refunds.c.status.in_(statuses))
        .group_by(refunds.c.charge_id)
    )
    return {charge_id: int(total) for charge_id, total in rows}


def refundable_minor(amount_minor: int, status: str, held: int) -> int:
    """What a refund may still take from a charge of `amount_minor` in `status`, given
    the `held` sum of its refunds (HOLDING)."""
    return max(amount_minor - held, 0) if status in REFUNDABLE else 0


def _request(
    session: Session,
    charge: Charge,
    amount_minor: int,
    reason: str,
    key: str,
    actor: str,
    now: datetime,
) -> Refund:
    assert charge.id is not None
    if charge.status not in REFUNDABLE or charge.processor_id is None:
        raise ChargeNotRefundable(f"Charge {charge.id} is {charge.status}: nothing to refund.")
    remaining = charge.amount_minor - refunded_minor(session, charge.id, HOLDING)
    if amount_minor > remaining:
        raise RefundExceedsCharge(
            f"At most {remaining} {charge.currency} minor units of charge {charge.id} can "
            f"still be refunded, not {amount_minor}.",
            refundable_minor=remaining,
        )
    refund = Refund(
        refund_key=key,
        charge_id=charge.id,
        amount_minor=amount_minor,
        currency=charge.currency,
        status="requested",
        reason=reason,
        created_at=now,
        updated_at=now,
        requested_by=actor,
    )
    session.add(refund)
    session.flush()
    return refund


def _ask(
    processor: Processor,
    session: Session,
    processor_charge_id: str,
    refund: Refund,
    attempts: int,
    sleep: Callable[[float], None],
) -> RefundResult:
    gateway = processor.open_refunds(session, [processor_charge_id])
    call = functools.partial(
        gateway.refund, charge_id=processor_charge_id, amount_minor=refund.amount_minor
    )
    key = processor_key(refund.refund_key)
    try:
        result = retrying(call, idempotency_key=key, attempts=attempts, sleep=sleep)
    except (TimeoutError, ConnectionError) as exc:
        result = RefundResult(
            status=RefundStatus.FAILED,
            idempotency_key=key,
            charge_id=processor_charge_id,
            amount_minor=refund.amount_minor,
            refund_id=None,
            message=str(exc),
        )
    processor.save(session)
    return result


def _record(
    session: Session, charge: Charge, refund: Refund, result: RefundResult, now: datetime
) -> None:
    refund.status = str(result.status)
    refund.processor_refund_id = result.refund_id or refund.processor_refund_id
    refund.updated_at = now
    session.add(refund)
    session.flush()
    if result.status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING):
        transactions = [refund_transaction(session, charge, refund)]
        if result.status is RefundStatus.SUCCEEDED:
            transactions.append(paid_transaction(refund))
        posting.post(session, transactions, now=now)
        update_charge_status(session, charge, now=now)


def refund_transaction(session: Session, charge: Charge, refund: Refund) -> ledger.Transaction:
    shares = table_of(ChargeShare)
    original = dict(
        session.execute(
            sa.select(shares.c.operator_id, shares.c.amount_minor).where(
                shares.c.charge_id == charge.id
            )
        ).all()
    )
    return ledger.refund(
        card_token=charge.card_token,
        service_day=charge.service_day,
        currency=charge.currency,
        amount_minor=refund.amount_minor,
        original_shares=original,
        refund_key=refund.refund_key,
    )


def paid_transaction(refund: Refund) -> ledger.Transaction:
    return ledger.refund_paid(
        refund_key=refund.refund_key,
        currency=refund.currency,
        amount_minor=refund.amount_minor,
        processor_refund_id=refund.processor_refund_id or "?",
    )


def reject(session: Session, charge: Charge, refund: Refund, *, now: datetime) -> None:
    """The processor refused `refund` for good. Granted already (`pending`: its `refund`
    transaction is posted), it is reversed by a correcting transaction; either way its
    amount is free again and the charge's status follows."""
    granted = refund.status == "pending"
    refund.status = "rejected"
    refund.updated_at = now
    session.add(refund)
    session.flush()
    if granted:
        reversal = ledger.refund_reversed(refund_transaction(session, charge, refund))
        posting.post(session, [reversal], now=now)
    update_charge_status(session, charge, now=now)


def update_charge_status(session: Session, charge: Charge, *, now: datetime) -> None:
    assert charge.id is not None
    given = refunded_minor(session, charge.id)
    if charge.status not in REFUNDABLE | {"refunded"}:
        return
    if given <= 0:
        # Only a paid charge takes refunds: with none left standing it is paid again.
        status = "paid"
    else:
        status = "refunded" if given >= charge.amount_minor else "partially_refunded"
    if status == charge.status:
        return
    charge.status = status
    charge.updated_at = now
    session.add(charge)
    session.flush()


def refunds_of(session: Session, charge_id: int) -> list[Refund]:
    return list(
        session.exec(select(Refund).where(Refund.charge_id == charge_id).order_by(col(Refund.id)))
    )
