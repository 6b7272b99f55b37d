"""Finance requests answered once per `Idempotency-Key`: a retry of a close, a refund or
a dispute's resolution gets the first answer back and moves no money twice.

Each is stored as `{"request", "answer"}`. The request is kept beside its answer, so that
a key sent again with another request (another amount, another charge) is refused
instead of answered with the wrong result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from settlement.refunds import IdempotencyKeyReused
from settlement.store import FinanceRequest


def replayed(
    session: Session, key: str, *, operation: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """The answer given to this key before, or None if the key is new."""
    earlier = session.get(FinanceRequest, key)
    if earlier is None:
        return None
    if earlier.operation != operation or earlier.response.get("request") != request:
        raise IdempotencyKeyReused("This Idempotency-Key was used for another request.")
    answer: dict[str, Any] = earlier.response["answer"]
    return answer


def remember(
    session: Session,
    key: str,
    *,
    operation: str,
    request: dict[str, Any],
    answer: dict[str, Any],
    actor: str,
    now: datetime,
) -> None:
    session.add(
        FinanceRequest(
            idempotency_key=key,
            operation=operation,
            response={"request": request, "answer": answer},
            actor=actor,
            created_at=now,
        )
    )
