"""Tables of the settlement package: what a closed day produced, and the money trail.

- `settlement_days`: the close job's own progress per service day (pricing done, charging,
  closed) and its totals. `validators.store.ServiceDay` stays the public status.
- `priced_legs`, `priced_adjustments`: each card-day's legs and fare adjustments as priced,
  with the leg's inputs kept so that a later day can re-price the week or month for caps
  without re-reading taps. A late tap supersedes a card-day's rows (`superseded`) and adds
  a new revision: the rider sees the current one, auditors every one.
- `charges`: one row per card per day (`kind` "day", `sequence` 0) plus one per late
  adjustment (`kind` "adjustment", `sequence` 1, 2, ...); created pending and committed
  before the processor is called, so a crash never charges twice (or, by a processor
  whose memory is these tables, answered in the transaction that creates them).
- `charge_shares`: each charge split between operators (a late adjustment stores the
  change of the split), the source of the operator statements.
- `operator_statements`: per service day and operator, written by the close.
- `debts`, `ledger_transactions` + `ledger_postings`, `processor_records`, `refunds`,
  `webhook_events`, `finance_requests` (Idempotency-Key of finance calls).
- `simulated_acquirer_*`: the simulated acquirer's memory, so it behaves as one processor
  across processes (a replayed key answers what it answered before).
- `card_gateway_refs`: a card's reference at a real processor (Stripe), made at enrolment;
  `enrolment_declines`: cards that processor refused to register (see settlement.enrolment).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from validators.schema import UTCDateTime, table_of
from validators.store import Tap

# Late taps are few among millions: a partial index finds the unsettled ones without a
# scan of the taps table at each close. Declared here because settlement is its reader.
LATE_TAPS_INDEX = sa.Index(
    "ix_taps_late_service_day",
    table_of(Tap).c.service_day,
    postgresql_where=table_of(Tap).c.late,
    sqlite_where=table_of(Tap).c.late,
)


class SettlementDay(SQLModel, table=True):
    __tablename__ = "settlement_days"

    day: date = Field(primary_key=True)
    # charging: legs priced and charges created (pending) | closed: every charge answered
    status: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    tariff_version_id: int | None = None
    method: str = Field(max_length=32)
    allocation_rule: str = Field(max_length=64)
    # Highest tap id read: taps of the day stored after it are turned into late taps.
    max_tap_id: int = 0
    taps: int = 0
    cards: int = 0
    legs: int = 0
    charged_minor: int = 0
    declined_minor: int = 0
    started_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=320)
    idempotency_key: str | None = Field(default=None, max_length=200)


class PricedLeg(SQLModel, table=True):
    __tablename__ = "priced_legs"
    __table_args__ = (
        sa.Index("ix_priced_legs_card_token_service_day", "card_token", "service_day"),
        sa.Index("ix_priced_legs_service_day", "service_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    card_token: str = Field(max_length=80)
    service_day: date
    revision: int = 0
    superseded: bool = False
    leg_index: int
    kind: str = Field(max_length=16)  # transit | bike | parking
    operator_id: str = Field(max_length=64)
    network_id: str | None = Field(default=None, max_length=64)
    amount_minor: int
    standalone_minor: int
    fare_product_id: str = Field(max_length=64)
    explanation: str = Field(max_length=1000)
    # The leg as the fare engine took it.
    route_id: str | None = Field(default=None, max_length=64)
    from_stop_id: str | None = Field(default=None, max_length=64)
    to_stop_id: str | None = Field(default=None, max_length=64)
    plan_id: str | None = Field(default=None, max_length=64)
    tariff_id: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start_tap_id: int | None = None
    end_tap_id: int | None = None


class PricedAdjustment(SQLModel, table=True):
    __tablename__ = "priced_adjustments"
    __table_args__ = (
        sa.Index("ix_priced_adjustments_card_token_service_day", "card_token", "service_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    card_token: str = Field(max_length=80)
    service_day: date
    revision: int = 0
    superseded: bool = False
    kind: str = Field(max_length=16)
    amount_minor: int
    explanation: str = Field(max_length=1000)
    leg_index: int | None = None
    cap_id: str | None = Field(default=None, max_length=64)


class Charge(SQLModel, table=True):
    """Statuses: pending (created, processor not asked yet or asked without a final
    answer), paid, declined (debt), nothing_due (zero), not_enrolled (no processor
    reference for the card), failed (transient failures exhausted; retried by the next
    `settle` of the day), recovered (a declined charge paid later), partially_refunded,
    refunded, disputed (a dispute open at the processor), charged_back (dispute lost)."""

    __tablename__ = "charges"
    # Partitioned by service day on PostgreSQL (`validators.partitions`): unique keys carry
    # the day, which the idempotency key names anyway (`settlement.ledger.charge_key`).
    __table_args__ = (
        sa.UniqueConstraint("card_token", "service_day", "kind", "sequence"),
        sa.UniqueConstraint("service_day", "idempotency_key"),
        sa.Index("ix_charges_idempotency_key", "idempotency_key"),
        sa.Index("ix_charges_posted_day_status", "posted_day", "status"),
        sa.Index("ix_charges_service_day", "service_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    card_token: str = Field(max_length=80)
    service_day: date
    kind: str = Field(max_length=16)  # day | adjustment
    sequence: int = 0
    # The close that created it: a late adjustment of day D is posted in a later day.
    posted_day: date
    amount_minor: int
    currency: str = Field(max_length=3)
    status: str = Field(max_length=32)  # partially_refunded is 18
    idempotency_key: str = Field(max_length=200)
    processor_id: str | None = Field(default=None, max_length=200)
    decline_code: str | None = Field(default=None, max_length=64)
    fee_minor: int | None = None
    attempts: int = 0
    notes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    charged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChargeShare(SQLModel, table=True):
    __tablename__ = "charge_shares"

    charge_id: int = Field(primary_key=True)
    operator_id: str = Field(primary_key=True, max_length=64)
    # The charge's service day: the partition key on PostgreSQL, nothing reads by it.
    service_day: date
    amount_minor: int
    standalone_minor: int = 0
    legs: int = 0


class OperatorStatement(SQLModel, table=True):
    __tablename__ = "operator_statements"

    service_day: date = Field(primary_key=True)
    operator_id: str = Field(primary_key=True, max_length=64)
    currency: str = Field(max_length=3)
    revenue_minor: int
    adjustments_minor: int
    refunds_minor: int
    amount_minor: int
    boardings: int
    legs: int
    standalone_minor: int
    fees_minor: int
    method: str = Field(max_length=32)
    allocation_rule: str = Field(max_length=64)


class Debt(SQLModel, table=True):
    __tablename__ = "debts"
    __table_args__ = (sa.Index("ix_debts_status_card_token", "status", "card_token"),)

    id: int | None = Field(default=None, primary_key=True)
    charge_id: int = Field(unique=True)
    card_token: str = Field(max_length=80)
    service_day: date
    amount_minor: int
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)  # open | recovered | written_off
    attempts: int = 0  # recovery attempts made (the original charge not counted)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recovered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transactions"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    service_day: date | None = None
    memo: str = Field(default="", max_length=500)
    corrects: str | None = Field(default=None, max_length=200)
    # sha256 of the body: the same key posted with another body is a conflict.
    body_hash: str = Field(max_length=64)
    posted_at: datetime = Field(sa_type=UTCDateTime)


class LedgerPosting(SQLModel, table=True):
    __tablename__ = "ledger_postings"
    __table_args__ = (sa.Index("ix_ledger_postings_transaction_id", "transaction_id"),)

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: int
    # The transaction's service day, or the day it was posted when it has none (a
    # refund, a fee): the partition key on PostgreSQL, nothing reads by it.
    service_day: date
    account: str = Field(max_length=128)
    currency: str = Field(max_length=3)
    amount_minor: int


class ProcessorRecordRow(SQLModel, table=True):
    """A line of the processor's settlement file (or a Stripe balance transaction)."""

    __tablename__ = "processor_records"

    processor_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    amount_minor: int
    fee_minor: int
    net_minor: int
    created_on: date = Field(index=True)
    payout_id: str | None = Field(default=None, max_length=200)
    payout_date: date | None = None
    idempotency_key: str | None = Field(default=None, max_length=200, index=True)
    source_id: str | None = Field(default=None, max_length=200)
    imported_at: datetime = Field(sa_type=UTCDateTime)


class Refund(SQLModel, table=True):
    """A refund of (part of) a charge. Statuses: requested (written before the processor
    is asked), succeeded, pending (accepted, the bank may still refuse), rejected
    (final), failed (transient: asking again with the same key is safe)."""

    __tablename__ = "refunds"
    __table_args__ = (sa.Index("ix_refunds_charge_id", "charge_id"),)

    id: int | None = Field(default=None, primary_key=True)
    refund_key: str = Field(max_length=200, unique=True)
    charge_id: int
    amount_minor: int
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    processor_refund_id: str | None = Field(default=None, max_length=200)
    reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    requested_by: str | None = Field(default=None, max_length=320)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookEvent(SQLModel, table=True):
    __tablename__ = "webhook_events"

    event_id: str = Field(primary_key=True, max_length=200)
    type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    received_at: datetime = Field(sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What processing did, for people reading the table ("charge 12 paid", "ignored").
    outcome: str | None = Field(default=None, max_length=200)


class FinanceRequest(SQLModel, table=True):
    """An `Idempotency-Key` of a money-moving finance call and what it answered."""

    __tablename__ = "finance_requests"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    operation: str = Field(max_length=200)
    response: dict[str, Any] = Field(sa_type=sa.JSON)
    actor: str = Field(max_length=320)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CardGatewayRef(SQLModel, table=True):
    __tablename__ = "card_gateway_refs"

    card_token: str = Field(primary_key=True, max_length=80)
    gateway: str = Field(primary_key=True, max_length=16)
    reference: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class EnrolmentDecline(SQLModel, table=True):
    """A card the processor refused to register (declined when attached): its charges
    are declined like any other (debt, deny list) without asking the processor. The
    card's next tap keeps a new envelope, so a later enrolment may still succeed, and
    then this row goes."""

    __tablename__ = "enrolment_declines"

    card_token: str = Field(primary_key=True, max_length=80)
    gateway: str = Field(primary_key=True, max_length=16)
    decline_code: str = Field(max_length=64)
    declined_at: datetime = Field(sa_type=UTCDateTime)


class SimulatedAcquirerCharge(SQLModel, table=True):
    __tablename__ = "simulated_acquirer_charges"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    processor_id: str = Field(max_length=64)
    reference: str = Field(max_length=200)
    amount_minor: int
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    fee_minor: int
    charged_on: date = Field(index=True)
    decline_code: str | None = Field(default=None, max_length=64)
    service_day: str | None = Field(default=None, max_length=10)


class SimulatedAcquirerRefund(SQLModel, table=True):
    __tablename__ = "simulated_acquirer_refunds"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    refund_id: str = Field(max_length=64)
    charge_id: str = Field(max_length=64)
    amount_minor: int
    currency: str = Field(max_length=3)
    refunded_on: date = Field(index=True)


class SimulatedAcquirerAttempt(SQLModel, table=True):
    """Failed attempts per key (the `0119` card fails twice per key, then succeeds)."""

    __tablename__ = "simulated_acquirer_attempts"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    failures: int


class LateTapSettled(SQLModel, table=True):
    """Late taps already turned into an adjustment, so each is settled once."""

    __tablename__ = "late_taps_settled"

    tap_pk: int = Field(primary_key=True)
    posted_day: date


class Dispute(SQLModel, table=True):
    """A rider's dispute of one priced leg of a charged day (see settlement.disputes).

    The leg and the day's charge are named by id without foreign keys, like every
    reference to the day-keyed tables, which are to be partitioned by service day;
    `service_day` is kept so that a lookup can name the partition. Statuses: open,
    upheld (a refund was given through settlement.refunds), rejected (a reply only).
    `refund_id` names the refund of the current attempt from the moment it is asked
    (committed with it), so a dispute never says other than its refund does; a refund
    the processor refuses sends the dispute back to open with `refund_attempt` + 1.
    """

    __tablename__ = "disputes"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "idempotency_key"),
        sa.Index("ix_disputes_user_id", "user_id"),
        sa.Index("ix_disputes_status", "status"),
        # A refund's answer (a webhook) finds the dispute that asked for it.
        sa.Index("ix_disputes_refund_id", "refund_id"),
        # One open dispute per leg, held by the database so two concurrent requests
        # cannot both open one.
        sa.Index(
            "ix_disputes_leg_id_open",
            "leg_id",
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int
    # The rider's name for the card (`rider_cards.card_id`), kept so the dispute still
    # reads right after the card is unlinked.
    card_id: str = Field(max_length=36)
    card_token: str = Field(max_length=80)
    service_day: date
    leg_id: int
    leg_index: int
    charge_id: int
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=32)
    message: str = Field(max_length=1000)
    status: str = Field(max_length=16)
    idempotency_key: str | None = Field(default=None, max_length=200)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=320)
    reply: str | None = Field(default=None, max_length=1000)
    refund_id: int | None = None
    refund_minor: int | None = None
    # Names the refund's client key (`dispute:{id}:{attempt}`): one per attempt, so an
    # uphold after a refused refund asks the processor anew.
    refund_attempt: int = 1
