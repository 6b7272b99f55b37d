"""Dispute routes: riders report a problem with a leg, finance upholds or rejects it.

Riders (`/v1/riders/me/disputes`) see only the disputes they opened; another rider's id
is 404. Finance (`/v1/finance/disputes`) sees every dispute and resolves each once: a
second resolution is 409, unless it repeats the first's `Idempotency-Key`, which answers
what the first answered. The rules themselves live in `settlement.disputes`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from settlement import disputes, disputes_view, finance_requests
from settlement.deps import Context
from settlement.disputes import DisputeReason, DisputeStatus, Outcome
from validators.paging import NEXT_CURSOR_DOC, Cursor, Limit
from validators.schema import utc_now
from validators.web import Db, DbId, Finance, IsoDate, Rider

IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=200)]


def _printable(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and no person types control characters other
    # than line breaks and tabs: refused as bad input rather than failing on insert.
    if any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise ValueError("control characters are not allowed")
    return text


Message = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=disputes.MESSAGE_MAX),
    AfterValidator(_printable),
]
Reply = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=disputes.REPLY_MAX),
    AfterValidator(_printable),
]


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_id: Annotated[str, Field(min_length=1, max_length=36, description="From the journeys")]
    service_day: IsoDate
    leg_index: Annotated[int, Field(ge=0, le=100_000, description="The leg's `index`")]
    reason: DisputeReason
    message: Message


class DisputeLegOut(BaseModel):
    kind: str
    operator_id: str
    route_id: str | None
    from_stop_id: str | None
    to_stop_id: str | None
    started_at: str
    ended_at: str | None
    amount_minor: int
    explanation: str


class DisputeOut(BaseModel):
    dispute_id: int
    status: DisputeStatus
    reason: DisputeReason
    message: str
    card_id: str | None
    service_day: str
    leg_index: int
    leg: DisputeLegOut | None = Field(description="The leg as priced; null once deleted")
    charge_id: int
    currency: str
    refund_minor: int | None = Field(description="Given back when upheld, in minor units")
    refund_status: str | None
    reply: str | None = Field(description="Finance's answer")
    opened_at: str
    resolved_at: str | None


class DisputesOut(BaseModel):
    disputes: list[DisputeOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class DisputeCardOut(BaseModel):
    scheme: str
    last4: str


class FinanceDisputeOut(DisputeOut):
    card: DisputeCardOut | None
    charge_amount_minor: int | None
    charge_status: str | None
    refundable_minor: int = Field(description="What the charge can still give back")
    resolved_by: str | None


class FinanceDisputesOut(BaseModel):
    disputes: list[FinanceDisputeOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    refund_minor: Annotated[
        int | None,
        Field(gt=0, le=2_147_483_647, description="Required when upheld, in minor units"),
    ] = None
    reply: Reply = ""


riders_router = APIRouter(prefix="/v1/riders/me/disputes", tags=["riders"])
finance_router = APIRouter(prefix="/v1/finance/disputes", tags=["finance"])


@riders_router.get("", response_model=DisputesOut)
def my_disputes(db: Db, rider: Rider, limit: Limit = 100, cursor: Cursor = None) -> dict[str, Any]:
    """The disputes the rider opened, newest first, with their outcome."""
    page = disputes_view.page_of(db, user_id=rider.user_id, limit=limit, cursor=cursor)
    return {"disputes": disputes_view.views(db, page.items), "next_cursor": page.next_cursor}


@riders_router.post(
    "",
    response_model=DisputeOut,
    status_code=201,
    responses={200: {"model": DisputeOut, "description": "Already open: nothing changed"}},
)
def open_dispute(
    body: DisputeIn,
    response: Response,
    db: Db,
    rider: Rider,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Report a problem with one leg of a charged day (`card_id`, `service_day` and
    `index` as `GET /v1/riders/me/journeys` shows them). 201 when opened; 200 with the
    dispute already open on that leg (or made by the same `Idempotency-Key`)."""
    opened = disputes.open_dispute(
        db,
        user_id=rider.user_id,
        card_id=body.card_id,
        service_day=body.service_day,
        leg_index=body.leg_index,
        reason=body.reason,
        message=body.message,
        idempotency_key=idempotency_key,
        now=utc_now(),
    )
    if not opened.created:
        response.status_code = 200
    [view] = disputes_view.views(db, [opened.dispute])
    return view


@riders_router.get("/{dispute_id}", response_model=DisputeOut)
def my_dispute(dispute_id: DbId, db: Db, rider: Rider) -> dict[str, Any]:
    found = disputes.dispute_of(db, user_id=rider.user_id, dispute_id=dispute_id)
    [view] = disputes_view.views(db, [found])
    return view


@finance_router.get("", response_model=FinanceDisputesOut)
def list_disputes(
    db: Db,
    _: Finance,
    status: Annotated[DisputeStatus | None, Query()] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every dispute (or those of one status), newest first."""
    page = disputes_view.page_of(db, status=status, limit=limit, cursor=cursor)
    return {
        "disputes": disputes_view.views(db, page.items, for_finance=True),
        "next_cursor": page.next_cursor,
    }


@finance_router.post("/{dispute_id}/resolve", response_model=FinanceDisputeOut)
def resolve_dispute(
    dispute_id: DbId,
    body: ResolveIn,
    db: Db,
    finance: Finance,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Uphold with `refund_minor` (a refund of the day's charge, at most what it can
    still give back) or reject with a `reply`. Once only: a dispute already resolved is
    409, except for a retry with the first call's `Idempotency-Key`."""
    operation = f"resolve_dispute:{dispute_id}"
    request = body.model_dump(mode="json")
    if idempotency_key is not None:
        answer = finance_requests.replayed(
            db, idempotency_key, operation=operation, request=request
        )
        if answer is not None:
            return answer
    resolved = disputes.resolve(
        db,
        dispute_id=dispute_id,
        outcome=body.outcome,
        refund_minor=body.refund_minor,
        reply=body.reply,
        actor=finance.email,
        processor=ctx.processor(),
        now=utc_now,
        checkpoint=db.commit,
    )
    [view] = disputes_view.views(db, [resolved], for_finance=True)
    if idempotency_key is not None:
        finance_requests.remember(
            db,
            idempotency_key,
            operation=operation,
            request=request,
            answer=view,
            actor=finance.email,
            now=utc_now(),
        )
    return view
