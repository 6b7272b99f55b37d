"""The payment processor as the settlement jobs use it: a gateway plus what it needs
from our database (card references, and for the simulated acquirer its memory).

A job works in batches: `open(session, keys)` gives the gateway for a batch of charges
with those idempotency keys, `save(session)` persists what the processor now remembers,
in the same transaction as our own record of the answers. For the simulated acquirer
this makes it one processor across processes: a key it answered before (in an earlier
run, committed) is replayed, never charged again.

Stripe enrolment needs the card number: intake keeps a new card's envelope sealed and
`settlement.enrolment` registers the card before the charges of a close. The Stripe path
charges the cards that have a reference in `card_gateway_refs`; a card refused at
enrolment is declined without a call; a card whose enrolment is still to come (its
envelope waiting after a transient failure) fails transiently, so the next `settle` asks
again; any other card is `not_enrolled`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from settlement.bulk import existing, insert_rows, plain_rows
from settlement.gateway import (
    CardForEnrolment,
    ChargeResult,
    ChargeStatus,
    Delegating,
    EnrolmentResult,
    PaymentGateway,
    ProcessorRecord,
)
from settlement.simulated import (
    FeeSchedule,
    SimulatedAcquirer,
    SimulatedCharge,
    SimulatedRefund,
    approves_at_once,
    charge_id_for,
    reference_for,
)
from settlement.store import (
    CardGatewayRef,
    EnrolmentDecline,
    SimulatedAcquirerAttempt,
    SimulatedAcquirerCharge,
    SimulatedAcquirerRefund,
)
from validators.schema import table_of
from validators.store import Card, PendingEnrolment, Tap

# Payouts come two business days after a charge: a week back covers any payout in range.
RECORDS_LOOKBACK = timedelta(days=7)


class Processor(Protocol):
    name: str

    def references(self, session: Session, tokens: Sequence[str]) -> dict[str, str]:
        """{card token: processor reference}; a token missing is not enrolled."""
        ...

    def open(self, session: Session, keys: Sequence[str]) -> PaymentGateway: ...

    def open_refunds(self, session: Session, charge_ids: Sequence[str]) -> PaymentGateway:
        """The gateway for refunds of these processor charge ids."""
        ...

    def save(self, session: Session) -> None: ...

    def records(self, session: Session, from_day: date, to_day: date) -> list[ProcessorRecord]: ...


class InstantAnswers(Protocol):
    """A processor's answers to the day's charges, given while the day is priced.

    Only a processor whose memory is rows of our own database can answer there: its
    record of a charge is then written in the very transaction that creates our charge,
    with our charge already answered. Committed together or not at all, they are as safe
    as the usual order (our charge committed pending, then the processor asked, then its
    answer recorded): a crash before the commit leaves neither, and the rerun asks again.

    Called in pricing worker processes: it must hold no database connection."""

    # The processor's table of charges, and the columns of `charge`'s rows.
    model: type[SQLModel]
    columns: tuple[str, ...]

    def charge(
        self, card_token: str, key: str, amount_minor: int, currency: str, service_day: date
    ) -> tuple[str, int, tuple[Any, ...]] | None:
        """(processor id, fee, the processor's record) of a charge it approves now;
        None when the charge must be asked the usual way (after the commit)."""
        ...


@runtime_checkable
class AnswersInTransaction(Protocol):
    """A processor that can answer charges in the transaction creating them."""

    def instant_answers(
        self, session: Session, tokens: Sequence[str], service_day: date
    ) -> InstantAnswers | None:
        """None: every charge is asked the usual way."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _SimulatedInstantAnswers:
    """The simulated acquirer's answers to first charges of cards it approves at once."""

    def __init__(
        self, cards: dict[str, tuple[str, str]], fees: FeeSchedule, charged_on: date
    ) -> None:
        self.model: type[SQLModel] = SimulatedAcquirerCharge
        self.columns: tuple[str, ...] = _CHARGE_COLUMNS
        self._cards = cards
        self._fees = fees
        self._charged_on = charged_on

    def charge(
        self, card_token: str, key: str, amount_minor: int, currency: str, service_day: date
    ) -> tuple[str, int, tuple[Any, ...]] | None:
        card = self._cards.get(card_token)
        if card is None or amount_minor <= 0:
            return None
        # What `SimulatedAcquirer.charge` records for such a card, as `save` stores it.
        processor_id = charge_id_for(key)
        fee = self._fees.fee_for(amount_minor)
        reference = reference_for(card[0], card[1], card_token)
        row = (
            key,
            processor_id,
            reference,
            amount_minor,
            currency,
            str(ChargeStatus.SUCCEEDED),
            fee,
            self._charged_on,
            None,
            service_day.isoformat(),
        )
        return processor_id, fee, row


class StoredSimulatedAcquirer:
    """`SimulatedAcquirer` whose charges, refunds and failed attempts live in our tables."""

    name = "simulated"

    def __init__(
        self,
        *,
        fees: FeeSchedule | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._fees = fees or FeeSchedule()
        self._sleep = sleep
        self._clock = clock
        self._inner = SimulatedAcquirer(fees=self._fees, sleep=sleep, clock=clock)
        self._known: set[str] = set()
        self._attempts: dict[str, int] = {}
        self._refunds_known: set[str] = set()

    def references(self, session: Session, tokens: Sequence[str]) -> dict[str, str]:
        cards = table_of(Card)
        found = existing(session, cards.c.token, tokens, cards.c.bin6, cards.c.last4)
        return {token: reference_for(bin6, last4, token) for token, (bin6, last4) in found.items()}

    def instant_answers(
        self, session: Session, tokens: Sequence[str], service_day: date
    ) -> InstantAnswers | None:
        """Answers to the first charges of the cards' day: every card it approves at the
        first attempt (`simulated.approves_at_once`). The test cards and cards it has no
        BIN for are asked the usual way.

        It cannot know their keys yet: a day's charge keys (`charge:<token>:<day>`) are
        sent only by the charge step of that day's close, which runs once its pricing
        transaction, this one, is committed. (Were one known all the same, writing its
        record again would break the table's primary key: the close would stop, and
        charge nothing twice.)

        None when a subclass opens another gateway than the acquirer's own (tests put
        crashes, timeouts or other answers between us and it): then only the gateway
        knows what it answers."""
        if type(self).open is not StoredSimulatedAcquirer.open:
            return None
        cards, taps = table_of(Card), table_of(Tap)
        # The cards of the day's taps, by a join in the database rather than half a million
        # tokens bound into the query (about half a second at 2M taps); kept to `tokens`.
        of_the_day = sa.select(taps.c.card_token).where(
            taps.c.service_day == service_day, taps.c.status == "accepted"
        )
        query = sa.select(cards.c.token, cards.c.bin6, cards.c.last4).where(
            cards.c.token.in_(of_the_day)
        )
        answerable: dict[str, tuple[str, str]] = {}
        wanted = set(tokens)
        for token, bin6, last4 in plain_rows(session, query):
            if token in wanted and approves_at_once(bin6, last4):
                answerable[token] = (bin6, last4)
        today = self._clock().astimezone(UTC).date()
        return _SimulatedInstantAnswers(answerable, self._fees, today)

    def open(self, session: Session, keys: Sequence[str]) -> PaymentGateway:
        charges = table_of(SimulatedAcquirerCharge)
        stored = existing(
            session,
            charges.c.idempotency_key,
            keys,
            *(charges.c[name] for name in _CHARGE_COLUMNS[1:]),
        )
        attempts_table = table_of(SimulatedAcquirerAttempt)
        attempts = existing(
            session, attempts_table.c.idempotency_key, keys, attempts_table.c.failures
        )
        self._known = set(stored)
        self._attempts = {key: row[0] for key, row in attempts.items()}
        self._refunds_known = set()
        self._inner = SimulatedAcquirer(
            fees=self._fees,
            sleep=self._sleep,
            clock=self._clock,
            charges=[_charge_of(key, row) for key, row in stored.items()],
            attempts=self._attempts,
        )
        return self._inner

    def open_refunds(self, session: Session, charge_ids: Sequence[str]) -> PaymentGateway:
        """The gateway for refunds of the given processor charge ids (their charges and
        earlier refunds loaded, so the acquirer can check the amounts)."""
        charges = table_of(SimulatedAcquirerCharge)
        rows = session.execute(
            sa.select(*(charges.c[name] for name in _CHARGE_COLUMNS)).where(
                charges.c.processor_id.in_(list(charge_ids))
            )
        ).all()
        refunds = table_of(SimulatedAcquirerRefund)
        refund_rows = session.execute(
            sa.select(refunds).where(refunds.c.charge_id.in_(list(charge_ids)))
        ).all()
        self._known = {row[0] for row in rows}
        self._refunds_known = {row.idempotency_key for row in refund_rows}
        self._attempts = {}
        self._inner = SimulatedAcquirer(
            fees=self._fees,
            sleep=self._sleep,
            clock=self._clock,
            charges=[_charge_of(row[0], tuple(row[1:])) for row in rows],
            refunds=[_refund_of(row) for row in refund_rows],
        )
        return self._inner

    def save(self, session: Session) -> None:
        new = [c for c in self._inner.charges if c.idempotency_key not in self._known]
        insert_rows(
            session,
            SimulatedAcquirerCharge,
            _CHARGE_COLUMNS,
            (
                (
                    c.idempotency_key,
                    c.processor_id,
                    c.reference,
                    c.amount_minor,
                    c.currency,
                    str(c.status),
                    c.fee_minor,
                    c.charged_on,
                    c.decline_code,
                    c.metadata.get("service_day"),
                )
                for c in new
            ),
        )
        self._known.update(c.idempotency_key for c in new)
        new_refunds = [
            r for r in self._inner.refunds if r.idempotency_key not in self._refunds_known
        ]
        insert_rows(
            session,
            SimulatedAcquirerRefund,
            (
                "idempotency_key",
                "refund_id",
                "charge_id",
                "amount_minor",
                "currency",
                "refunded_on",
            ),
            (
                (
                    r.idempotency_key,
                    r.refund_id,
                    r.charge_id,
                    r.amount_minor,
                    r.currency,
                    r.refunded_on,
                )
                for r in new_refunds
            ),
        )
        self._refunds_known.update(r.idempotency_key for r in new_refunds)
        changed = {
            key: count
            for key, count in self._inner.attempts.items()
            if self._attempts.get(key) != count
        }
        if changed:
            attempts = table_of(SimulatedAcquirerAttempt)
            session.execute(attempts.delete().where(attempts.c.idempotency_key.in_(list(changed))))
            insert_rows(
                session,
                SimulatedAcquirerAttempt,
                ("idempotency_key", "failures"),
                list(changed.items()),
            )
            self._attempts.update(changed)

    def records(self, session: Session, from_day: date, to_day: date) -> list[ProcessorRecord]:
        charges = table_of(SimulatedAcquirerCharge)
        rows = session.execute(
            sa.select(*(charges.c[name] for name in _CHARGE_COLUMNS)).where(
                charges.c.charged_on >= from_day - RECORDS_LOOKBACK,
                charges.c.charged_on <= to_day,
            )
        ).all()
        refunds = table_of(SimulatedAcquirerRefund)
        refund_rows = session.execute(
            sa.select(refunds).where(
                refunds.c.refunded_on >= from_day - RECORDS_LOOKBACK,
                refunds.c.refunded_on <= to_day,
            )
        ).all()
        acquirer = SimulatedAcquirer(
            fees=self._fees,
            charges=[_charge_of(row[0], tuple(row[1:])) for row in rows],
            refunds=[_refund_of(row) for row in refund_rows],
        )
        return acquirer.settlement_records(from_day, to_day)


_CHARGE_COLUMNS = (
    "idempotency_key",
    "processor_id",
    "reference",
    "amount_minor",
    "currency",
    "status",
    "fee_minor",
    "charged_on",
    "decline_code",
    "service_day",
)


def _charge_of(key: str, row: tuple[object, ...]) -> SimulatedCharge:
    processor_id, reference, amount, currency, status, fee, charged_on, decline, day = row
    assert isinstance(charged_on, date)
    return SimulatedCharge(
        processor_id=str(processor_id),
        idempotency_key=key,
        reference=str(reference),
        amount_minor=int(str(amount)),
        currency=str(currency),
        status=ChargeStatus(str(status)),
        fee_minor=int(str(fee)),
        charged_on=charged_on,
        decline_code=None if decline is None else str(decline),
        metadata={"service_day": str(day)} if day is not None else {},
    )


def _refund_of(row: sa.Row[tuple[object, ...]]) -> SimulatedRefund:
    return SimulatedRefund(
        refund_id=row.refund_id,
        idempotency_key=row.idempotency_key,
        charge_id=row.charge_id,
        amount_minor=row.amount_minor,
        currency=row.currency,
        refunded_on=row.refunded_on,
    )


ENROLMENT_DECLINED = "enrolment_declined:"
ENROLMENT_PENDING = "enrolment_pending"


class StoredReferencesGateway:
    """A real processor (Stripe): references from `card_gateway_refs`, nothing else to
    keep, since the processor remembers its own idempotency keys.

    Cards without a reference get a marker instead when their enrolment was refused
    (`enrolment_declined:<code>`) or is still to come (`enrolment_pending`); the gateway
    that `open` returns answers those itself (declined; failed, so the next `settle`
    asks again) without calling the processor.
    """

    needs_enrolment = True

    def __init__(self, gateway: PaymentGateway, *, name: str = "stripe") -> None:
        self._gateway = gateway
        self.name = name

    def references(self, session: Session, tokens: Sequence[str]) -> dict[str, str]:
        refs = table_of(CardGatewayRef)
        declines = table_of(EnrolmentDecline)
        waiting = table_of(PendingEnrolment)
        found: dict[str, str] = {}
        for part_start in range(0, len(tokens), 5_000):
            part = list(tokens[part_start : part_start + 5_000])
            for token in session.execute(
                sa.select(waiting.c.card_token).where(waiting.c.card_token.in_(part))
            ).scalars():
                found[token] = ENROLMENT_PENDING
            for token, code in session.execute(
                sa.select(declines.c.card_token, declines.c.decline_code).where(
                    declines.c.gateway == self.name, declines.c.card_token.in_(part)
                )
            ):
                found[token] = f"{ENROLMENT_DECLINED}{code}"
            rows = session.execute(
                sa.select(refs.c.card_token, refs.c.reference).where(
                    refs.c.gateway == self.name, refs.c.card_token.in_(part)
                )
            )
            found.update({token: reference for token, reference in rows})
        return found

    def enrol(self, card: CardForEnrolment) -> EnrolmentResult:
        return self._gateway.enrol(card)

    def open(self, session: Session, keys: Sequence[str]) -> PaymentGateway:
        return _AnsweringMarkers(self._gateway)

    def open_refunds(self, session: Session, charge_ids: Sequence[str]) -> PaymentGateway:
        return self._gateway

    def save(self, session: Session) -> None:
        return None

    def records(self, session: Session, from_day: date, to_day: date) -> list[ProcessorRecord]:
        return self._gateway.settlement_records(from_day, to_day)


class _AnsweringMarkers(Delegating):
    """The gateway, except for the enrolment markers of `StoredReferencesGateway`."""

    def charge(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        if reference.startswith(ENROLMENT_DECLINED) or reference == ENROLMENT_PENDING:
            declined = reference != ENROLMENT_PENDING
            return ChargeResult(
                status=ChargeStatus.DECLINED if declined else ChargeStatus.FAILED,
                idempotency_key=idempotency_key,
                amount_minor=amount_minor,
                currency=currency,
                processor_id=None,
                decline_code=reference.removeprefix(ENROLMENT_DECLINED) if declined else None,
                message="the card was refused when it was registered"
                if declined
                else "the card is not registered with the processor yet",
            )
        return super().charge(
            reference=reference,
            amount_minor=amount_minor,
            currency=currency,
            idempotency_key=idempotency_key,
            description=description,
            metadata=metadata,
        )
