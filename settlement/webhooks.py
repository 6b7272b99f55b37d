"""Stripe webhooks: verify, store once, process idempotently (reference/payments.md §8).

`POST /v1/webhooks/stripe` hands the raw body and its `Stripe-Signature` here. The
signature is checked on the raw bytes (`stripe_gateway.verify_webhook`, 300 s
tolerance); a bad one is refused (400 `invalid_signature`) and nothing is stored. A good
event is stored under its id (the primary key of `webhook_events`) and processed in the
same transaction: an event delivered again finds its row and is acknowledged without
being processed twice; if processing fails nothing is kept and Stripe delivers again.

Events can arrive out of order or describe what we already know, so every handler moves
a status forward only from the states it expects, and says what it did in `outcome`:

- `payment_intent.succeeded` / `payment_intent.payment_failed`: the outcome of a charge
  we left without a final answer (`pending`, or `failed` with the intent `processing`):
  paid (ledger `charge_captured`), or declined (ledger `charge_declined`, debt, deny
  list). A charge is found by our key in the intent's metadata, else by its id.
- `charge.refunded`, `refund.updated`, `charge.refund.updated`: a refund we asked for and
  left `pending` is `succeeded` (ledger `refund_paid`) or, refused at the bank,
  `rejected` (its `refund` posting reversed by a `refund_reversed` correction; a journey
  dispute that asked for it is open again, see settlement.disputes).
- `charge.dispute.created`: the charge is `disputed` (no refund while it is).
  `charge.dispute.closed`: won -> the charge's status before; lost -> `charged_back`,
  and the disputed amount is posted like a refund paid by the processor (operators'
  shares reversed pro rata).
- anything else: stored and acknowledged, `outcome` "not handled".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from settlement import disputes, ledger, posting, refunds
from settlement.errors import GatewayError, WebhookSignatureError
from settlement.store import Charge, ChargeShare, Debt, Refund, WebhookEvent
from settlement.stripe_gateway import verify_webhook
from validators import denylist
from validators.schema import table_of

UNANSWERED = ("pending", "failed")
# Who the audit log says acted on what a webhook told us.
ACTOR = "webhook:stripe"


class WebhooksNotConfigured(GatewayError):
    code = "webhooks_not_configured"


@dataclass(frozen=True, slots=True)
class Receipt:
    event_id: str
    type: str
    duplicate: bool
    outcome: str | None


def receive(
    session: Session, *, payload: bytes, signature: str, secret: str | None, now: datetime
) -> Receipt:
    if not secret:
        raise WebhooksNotConfigured("No webhook secret is configured (STRIPE_WEBHOOK_SECRET).")
    event = verify_webhook(payload, signature, secret)
    event_id = str(event.get("id") or "")
    kind = str(event.get("type") or "")
    if not event_id.startswith("evt_"):
        raise WebhookSignatureError("The webhook body is not a Stripe event.")
    if not _store(session, event_id, kind, event, now):
        stored = session.get(WebhookEvent, event_id, populate_existing=True)
        return Receipt(event_id, kind, True, stored.outcome if stored else None)
    stored = session.get(WebhookEvent, event_id)
    assert stored is not None
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    handler = HANDLERS.get(kind)
    outcome = handler(session, obj, now) if handler is not None and isinstance(obj, dict) else None
    stored.outcome = (outcome or "not handled")[:200]
    stored.processed_at = now
    session.add(stored)
    session.flush()
    return Receipt(event_id, kind, False, stored.outcome)


def _store(
    session: Session, event_id: str, kind: str, event: dict[str, Any], now: datetime
) -> bool:
    """Insert the event unless its id is stored (by a concurrent delivery too); True
    when this call stored it."""
    table = table_of(WebhookEvent)
    values = {"event_id": event_id, "type": kind[:100], "payload": event, "received_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table).values(values).on_conflict_do_nothing(index_elements=["event_id"])
    ).returning(table.c.event_id)
    return session.execute(statement).first() is not None


def _charge_of_intent(session: Session, intent: dict[str, Any]) -> Charge | None:
    metadata = intent.get("metadata")
    key = metadata.get("idempotency_key") if isinstance(metadata, dict) else None
    if isinstance(key, str):
        found = session.exec(select(Charge).where(Charge.idempotency_key == key)).first()
        if found is not None:
            return found
    return _charge_by_processor_id(session, intent.get("id"))


def _charge_by_processor_id(session: Session, *ids: object) -> Charge | None:
    wanted = [i for i in ids if isinstance(i, str) and i]
    if not wanted:
        return None
    return session.exec(
        select(Charge).where(col(Charge.processor_id).in_(wanted)).order_by(col(Charge.id))
    ).first()


def _shares(session: Session, charge_id: int | None) -> dict[str, int]:
    shares = table_of(ChargeShare)
    return dict(
        session.execute(
            sa.select(shares.c.operator_id, shares.c.amount_minor).where(
                shares.c.charge_id == charge_id
            )
        ).all()
    )


def _answer(charge: Charge, intent: dict[str, Any], status: str, now: datetime) -> None:
    charge.status = status
    charge.processor_id = str(intent.get("id") or charge.processor_id or "")[:200] or None
    charge.attempts += 1
    charge.charged_at = now
    charge.updated_at = now


def _payment_succeeded(session: Session, intent: dict[str, Any], now: datetime) -> str:
    charge = _charge_of_intent(session, intent)
    if charge is None:
        return "no matching charge"
    if charge.status not in UNANSWERED:
        return f"charge {charge.id} already {charge.status}"
    _answer(charge, intent, "paid", now)
    session.add(charge)
    posting.post(session, [_ledger(session, charge, declined=False)], now=now)
    return f"charge {charge.id} paid"


def _payment_failed(session: Session, intent: dict[str, Any], now: datetime) -> str:
    charge = _charge_of_intent(session, intent)
    if charge is None:
        return "no matching charge"
    if charge.status not in UNANSWERED:
        return f"charge {charge.id} already {charge.status}"
    error = intent.get("last_payment_error")
    code = error.get("decline_code") or error.get("code") if isinstance(error, dict) else None
    _answer(charge, intent, "declined", now)
    charge.decline_code = str(code or "card_declined")[:64]
    session.add(charge)
    posting.post(session, [_ledger(session, charge, declined=True)], now=now)
    assert charge.id is not None
    session.add(
        Debt(
            charge_id=charge.id,
            card_token=charge.card_token,
            service_day=charge.service_day,
            amount_minor=charge.amount_minor,
            currency=charge.currency,
            status="open",
            created_at=now,
        )
    )
    session.flush()
    denylist.deny(session, charge.card_token, reason="debt", now=now)
    return f"charge {charge.id} declined"


def _ledger(session: Session, charge: Charge, *, declined: bool) -> ledger.Transaction:
    if charge.kind == "adjustment":
        return ledger.adjustment_collected(
            card_token=charge.card_token,
            service_day=charge.service_day,
            open_day=charge.posted_day,
            currency=charge.currency,
            amount_minor=charge.amount_minor,
            sequence=charge.sequence,
            declined=declined,
        )
    builder = ledger.charge_declined if declined else ledger.charge_captured
    return builder(
        card_token=charge.card_token,
        service_day=charge.service_day,
        currency=charge.currency,
        amount_minor=charge.amount_minor,
        shares=_shares(session, charge.id),
    )


def _refund_updated(session: Session, obj: dict[str, Any], now: datetime) -> str:
    metadata = obj.get("metadata")
    key = metadata.get("idempotency_key") if isinstance(metadata, dict) else None
    refund = None
    if isinstance(key, str) and key.startswith("refund:"):
        refund = session.exec(
            select(Refund).where(Refund.refund_key == key.removeprefix("refund:"))
        ).first()
    if refund is None and isinstance(obj.get("id"), str):
        refund = session.exec(select(Refund).where(Refund.processor_refund_id == obj["id"])).first()
    if refund is None:
        return "no matching refund"
    status = obj.get("status")
    if refund.status not in ("pending", "requested", "failed"):
        return f"refund {refund.id} already {refund.status}"
    charge = session.get(Charge, refund.charge_id)
    assert charge is not None
    refund.processor_refund_id = refund.processor_refund_id or str(obj.get("id") or "") or None
    refund.updated_at = now
    if status == "succeeded":
        transactions = [refunds.paid_transaction(refund)]
        if refund.status != "pending":  # asked, but the answer never reached us
            transactions.insert(0, refunds.refund_transaction(session, charge, refund))
        refund.status = "succeeded"
        session.add(refund)
        session.flush()
        posting.post(session, transactions, now=now)
        refunds.update_charge_status(session, charge, now=now)
        return f"refund {refund.id} succeeded"
    if status in ("failed", "canceled"):
        refunds.reject(session, charge, refund, now=now)
        disputes.refund_refused(session, refund, actor=ACTOR, now=now)
        return f"refund {refund.id} {status} at the processor"
    return f"refund {refund.id} still {status}"


def _charge_refunded(session: Session, obj: dict[str, Any], now: datetime) -> str:
    listed = obj.get("refunds")
    items = listed.get("data") if isinstance(listed, dict) else None
    outcomes = [
        _refund_updated(session, item, now) for item in items or [] if isinstance(item, dict)
    ]
    if outcomes:
        return "; ".join(outcomes)
    # Recent API versions leave the refunds out: settle our pending ones if the charge's
    # refunded total covers them.
    charge = _charge_by_processor_id(session, obj.get("payment_intent"), obj.get("id"))
    if charge is None:
        return "no matching charge"
    assert charge.id is not None
    waiting = [r for r in refunds.refunds_of(session, charge.id) if r.status == "pending"]
    covered = int(obj.get("amount_refunded") or 0)
    if not waiting or covered < refunds.refunded_minor(session, charge.id):
        return f"charge {charge.id}: no pending refund covered"
    return "; ".join(
        _refund_updated(
            session,
            {"id": r.processor_refund_id, "status": "succeeded", "metadata": {}},
            now,
        )
        for r in waiting
    )


def _dispute_created(session: Session, dispute: dict[str, Any], now: datetime) -> str:
    charge = _charge_by_processor_id(session, dispute.get("payment_intent"), dispute.get("charge"))
    if charge is None:
        return "no matching charge"
    if charge.status in ("disputed", "charged_back"):
        return f"charge {charge.id} already {charge.status}"
    charge.status = "disputed"
    charge.updated_at = now
    session.add(charge)
    return f"charge {charge.id} disputed"


def _dispute_closed(session: Session, dispute: dict[str, Any], now: datetime) -> str:
    charge = _charge_by_processor_id(session, dispute.get("payment_intent"), dispute.get("charge"))
    if charge is None:
        return "no matching charge"
    assert charge.id is not None
    if charge.status != "disputed":
        return f"charge {charge.id} is {charge.status}, not disputed"
    given = refunds.refunded_minor(session, charge.id)
    if dispute.get("status") == "lost":
        amount = min(int(dispute.get("amount") or 0), charge.amount_minor - given)
        key = f"dispute-{dispute.get('id')}"
        if amount > 0:
            lost = ledger.refund(
                card_token=charge.card_token,
                service_day=charge.service_day,
                currency=charge.currency,
                amount_minor=amount,
                original_shares=_shares(session, charge.id),
                refund_key=key,
            )
            paid = ledger.refund_paid(
                refund_key=key,
                currency=charge.currency,
                amount_minor=amount,
                processor_refund_id=str(dispute.get("id")),
            )
            posting.post(session, [lost, paid], now=now)
        charge.status = "charged_back"
    elif given >= charge.amount_minor:
        charge.status = "refunded"
    else:
        charge.status = "partially_refunded" if given else "paid"
    charge.updated_at = now
    session.add(charge)
    return f"charge {charge.id} {charge.status} after dispute {dispute.get('status')}"


HANDLERS = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _charge_refunded,
    "charge.refund.updated": _refund_updated,
    "refund.updated": _refund_updated,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
