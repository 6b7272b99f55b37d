"""Debt recovery: declined card-days charged again, and the card let back in once paid.

- `retry_debts` (`ticketing debts retry`): merchant-initiated resubmission of every open
  debt still inside the policy (at most `max_attempts` retries within `window_days` of
  the decline; Visa's rule is 6 within 14 days, reference/payments.md §2). Run it daily.
  Debts outside the policy stay open for the rider to pay; writing them off is a finance
  decision (`ledger.write_off_bad_debt`), not automatic.
- `pay_debt`: the rider pays one debt (cardholder-initiated), whatever the policy says.

Each attempt has its own processor key, `recovery:{token}:{day}:{attempt}` (reusing the
original charge's key would only replay its decline). A success posts
`ledger.debt_recovered`, marks the debt and its charge recovered, and takes the card off
the deny list at once when it owes nothing else: validators pick the change up with
their next deny-list delta, well inside the schemes' one hour.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from settlement import ledger, posting
from settlement.context import DebtPolicy
from settlement.errors import SettlementError
from settlement.gateway import ChargeResult, ChargeStatus, retrying
from settlement.processor import Processor
from settlement.store import Charge, Debt
from validators import denylist
from validators.schema import table_of


class DebtNotFound(SettlementError):
    code = "debt_not_found"
    kind = "not_found"


class DebtNotOpen(SettlementError):
    code = "debt_not_open"
    kind = "conflict"


@dataclass(slots=True)
class RetryResult:
    attempted: int = 0
    recovered: int = 0
    recovered_minor: int = 0
    declined: int = 0
    failed: int = 0
    not_enrolled: int = 0
    outside_policy: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "attempted": self.attempted,
            "recovered": self.recovered,
            "recovered_minor": self.recovered_minor,
            "declined": self.declined,
            "failed": self.failed,
            "not_enrolled": self.not_enrolled,
            "outside_policy": self.outside_policy,
        }


def recovery_key(debt: Debt, attempt: int) -> str:
    return f"recovery:{debt.card_token}:{debt.service_day.isoformat()}:{attempt}"


def retry_debts(
    session: Session,
    *,
    processor: Processor,
    policy: DebtPolicy,
    now: Callable[[], datetime],
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> RetryResult:
    result = RetryResult()
    debts = list(session.exec(select(Debt).where(Debt.status == "open").order_by(col(Debt.id))))
    moment = now()
    due = []
    for debt in debts:
        window_ends = debt.created_at + timedelta(days=policy.window_days)
        if debt.attempts >= policy.max_attempts or moment > window_ends:
            result.outside_policy += 1
        else:
            due.append(debt)
    _attempt(
        session, due, processor=processor, now=moment, attempts=attempts, sleep=sleep, result=result
    )
    return result


def pay_debt(
    session: Session,
    *,
    debt_id: int,
    card_tokens: Sequence[str],
    processor: Processor,
    now: datetime,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> Debt:
    """The rider pays debt `debt_id` with the card it belongs to. `card_tokens` are the
    rider's cards: another rider's debt is not found, not forbidden (no enumeration)."""
    debt = session.get(Debt, debt_id)
    if debt is None or debt.card_token not in set(card_tokens):
        raise DebtNotFound(f"No debt {debt_id} on your cards.")
    if debt.status != "open":
        raise DebtNotOpen(f"Debt {debt_id} is {debt.status}.")
    _attempt(
        session,
        [debt],
        processor=processor,
        now=now,
        attempts=attempts,
        sleep=sleep,
        result=RetryResult(),
    )
    return debt


def _attempt(
    session: Session,
    debts: Sequence[Debt],
    *,
    processor: Processor,
    now: datetime,
    attempts: int,
    sleep: Callable[[float], None],
    result: RetryResult,
) -> None:
    if not debts:
        return
    references = processor.references(session, sorted({d.card_token for d in debts}))
    keys = {d.id: recovery_key(d, d.attempts + 1) for d in debts}
    gateway = processor.open(session, list(keys.values()))
    recovered: list[Debt] = []
    for debt in debts:
        reference = references.get(debt.card_token)
        if reference is None:
            result.not_enrolled += 1
            continue
        result.attempted += 1
        call = functools.partial(
            gateway.charge,
            reference=reference,
            amount_minor=debt.amount_minor,
            currency=debt.currency,
            description=f"Transit {debt.service_day.isoformat()} (recovery)",
            metadata={"service_day": debt.service_day.isoformat(), "debt_id": str(debt.id)},
        )
        assert debt.id is not None
        try:
            answer: ChargeResult = retrying(
                call, idempotency_key=keys[debt.id], attempts=attempts, sleep=sleep
            )
        except (TimeoutError, ConnectionError):
            result.failed += 1
            continue
        if answer.status is ChargeStatus.FAILED:
            result.failed += 1  # transient: not counted against the policy
            continue
        debt.attempts += 1
        debt.last_attempt_at = now
        if answer.status is ChargeStatus.DECLINED:
            result.declined += 1
        else:
            debt.status = "recovered"
            debt.recovered_at = now
            recovered.append(debt)
            result.recovered += 1
            result.recovered_minor += debt.amount_minor
        session.add(debt)
    processor.save(session)
    posting.post(
        session,
        [
            ledger.debt_recovered(
                card_token=d.card_token,
                service_day=d.service_day,
                currency=d.currency,
                amount_minor=d.amount_minor,
                attempt=d.attempts,
            )
            for d in recovered
        ],
        now=now,
    )
    if recovered:
        charges = table_of(Charge)
        session.execute(
            charges.update()
            .where(charges.c.id.in_([d.charge_id for d in recovered]))
            .values(status="recovered", updated_at=now)
        )
    session.flush()
    for token in sorted({d.card_token for d in recovered}):
        if not _owes(session, token):
            denylist.allow(session, token, reason="debt_paid", now=now)


def _owes(session: Session, card_token: str) -> bool:
    debts = table_of(Debt)
    return (
        session.execute(
            sa.select(debts.c.id)
            .where(debts.c.card_token == card_token, debts.c.status == "open")
            .limit(1)
        ).first()
        is not None
    )


def open_debts(session: Session, card_tokens: Sequence[str]) -> list[Debt]:
    return list(
        session.exec(
            select(Debt)
            .where(col(Debt.card_token).in_(list(card_tokens)), Debt.status == "open")
            .order_by(col(Debt.id))
        )
    )
