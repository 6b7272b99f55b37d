"""Finance routes: close a service day, statements, ledger balances, reconciliation.

Closing is a job with checkpoints (charges are committed before the processor is asked,
see `settlement.closing`); the request's session is its unit of work, so the route
commits it at each checkpoint, exactly as the CLI's job does.

`Idempotency-Key` on the close: a retried call with the same key answers what the first
answered, without running anything. Closing is idempotent by day anyway; the key makes a
client's retry cheap and leaves a record of who asked.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from settlement import (
    finance_requests,
    posting,
    reconciliation,
    refunds,
    statements,
)
from settlement.closing import close_service_day
from settlement.deps import Cards, Context, TariffSource
from settlement.errors import SettlementError
from settlement.store import Charge, FinanceRequest, Refund
from validators import audit, paging
from validators.schema import utc_now
from validators.web import Db, DbId, Finance, IsoDate

router = APIRouter(prefix="/v1/finance", tags=["finance"])


class IdempotencyKeyRequired(SettlementError):
    code = "idempotency_key_required"
    kind = "bad_request"


class CloseOut(BaseModel):
    service_day: str
    status: Literal["closed", "already_closed"]
    taps: int
    cards: int
    legs: int
    currency: str
    charged_minor: int
    paid: int
    declined: int
    declined_minor: int
    failed: int
    not_enrolled: int
    late_adjustments: int
    seconds: float


class ServiceDayOut(BaseModel):
    service_day: str
    status: str
    currency: str
    taps: int
    cards: int
    legs: int
    charged_minor: int
    declined_minor: int
    closed_at: str | None
    closed_by: str | None


class ServiceDaysOut(BaseModel):
    service_days: list[ServiceDayOut]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


class OperatorLine(BaseModel):
    operator_id: str
    amount_minor: int
    revenue_minor: int
    adjustments_minor: int
    later_adjustments_minor: int
    refunds_minor: int
    boardings: int
    legs: int
    standalone_minor: int
    fees_minor: int


class StatementOut(BaseModel):
    service_day: str
    currency: str
    charged_minor: int
    refunded_minor: int
    method: str
    allocation_rule: str
    operators: list[OperatorLine]


class BalancesOut(BaseModel):
    balances: dict[str, dict[str, int]] = Field(
        description="{currency: {account: balance}} of this page's accounts"
    )
    trial_balance: dict[str, int] = Field(description="Per currency, over the whole ledger")
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


class Break(BaseModel):
    count: int
    items: list[dict[str, Any]]


class ReconciliationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    records: int
    matched: int
    matched_minor: int
    amount_mismatch: Break
    missing_at_processor: Break
    unknown_to_us: Break
    fees_booked_minor: int
    fees_minor: int
    payouts: list[dict[str, Any]]


@router.post("/service-days/{day}/close", response_model=CloseOut)
def close_day(
    day: IsoDate,
    db: Db,
    finance: Finance,
    ctx: Context,
    source: TariffSource,
    cards: Cards,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    operation = f"close:{day.isoformat()}"
    earlier = None if idempotency_key is None else db.get(FinanceRequest, idempotency_key)
    if earlier is not None and earlier.operation == operation:
        answer: dict[str, Any] = earlier.response["answer"]
        return answer
    result = close_service_day(
        db,
        day=day,
        processor=ctx.processor(),
        tariffs=source,
        actor=finance.email,
        now=utc_now,
        checkpoint=db.commit,
        method=ctx.method,
        idempotency_key=idempotency_key,
        cards=cards,
    ).as_dict()
    audit.record(
        db,
        actor=finance.email,
        action="close_day",
        subject=day.isoformat(),
        now=utc_now(),
        detail={k: result[k] for k in ("status", "cards", "charged_minor") if k in result},
    )
    # Looked up again: the same close sent twice at once is stored by the first to end.
    if idempotency_key is not None and db.get(FinanceRequest, idempotency_key) is None:
        finance_requests.remember(
            db,
            idempotency_key,
            operation=operation,
            request={},  # the day is in the operation
            answer=result,
            actor=finance.email,
            now=utc_now(),
        )
    return result


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_minor: Annotated[int, Field(gt=0, description="Minor units, at most what remains")]
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class RefundOut(BaseModel):
    refund_id: int
    charge_id: int
    amount_minor: int
    currency: str
    status: Literal["requested", "succeeded", "pending", "rejected", "failed"]
    reason: str
    processor_refund_id: str | None
    charge_status: str
    refunded_minor: int
    refundable_minor: int
    created_at: str
    requested_by: str | None


def refund_out(db: Db, refund: Refund) -> dict[str, Any]:
    charge = db.get(Charge, refund.charge_id)
    assert charge is not None and refund.id is not None
    held = refunds.refunded_minor(db, refund.charge_id, refunds.HOLDING)
    return {
        "refund_id": refund.id,
        "charge_id": refund.charge_id,
        "amount_minor": refund.amount_minor,
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason,
        "processor_refund_id": refund.processor_refund_id,
        "charge_status": charge.status,
        "refunded_minor": refunds.refunded_minor(db, refund.charge_id),
        "refundable_minor": refunds.refundable_minor(charge.amount_minor, charge.status, held),
        "created_at": refund.created_at.isoformat(),
        "requested_by": refund.requested_by,
    }


@router.post(
    "/charges/{charge_id}/refunds",
    response_model=RefundOut,
    status_code=201,
    responses={400: {"description": "No Idempotency-Key header"}},
)
def refund_charge(
    charge_id: DbId,
    body: RefundIn,
    db: Db,
    finance: Finance,
    ctx: Context,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> dict[str, Any]:
    """Refund all or part of a charge, with a reason. `Idempotency-Key` is required: the
    same key answers the same refund again and never moves money twice."""
    if idempotency_key is None:
        raise IdempotencyKeyRequired("A refund needs an Idempotency-Key header.")
    operation = f"refund:{charge_id}"
    request = body.model_dump()
    answer = finance_requests.replayed(db, idempotency_key, operation=operation, request=request)
    if answer is not None:
        return answer
    refund = refunds.refund_charge(
        db,
        charge_id=charge_id,
        amount_minor=body.amount_minor,
        reason=body.reason,
        client_key=idempotency_key,
        processor=ctx.processor(),
        actor=finance.email,
        now=utc_now,
        checkpoint=db.commit,
    )
    result = refund_out(db, refund)
    audit.record(
        db,
        actor=finance.email,
        action="refund",
        subject=f"charge:{charge_id}",
        now=utc_now(),
        detail={"amount_minor": body.amount_minor, "reason": body.reason},
    )
    finance_requests.remember(
        db,
        idempotency_key,
        operation=operation,
        request=request,
        answer=result,
        actor=finance.email,
        now=utc_now(),
    )
    return result


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]
    next_before_id: Annotated[
        int | None, Field(description="Older form of `next_cursor`: the `before_id` to ask")
    ]


@router.get("/audit-log", response_model=AuditLogOut)
def audit_log(
    db: Db,
    _: Finance,
    cursor: paging.Cursor = None,
    before_id: Annotated[
        int | None,
        Query(ge=1, le=2_147_483_647, description="Older form of `cursor` (ignored with one)"),
    ] = None,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Who closed, refunded, registered or rotated what, and when; newest first."""
    key = paging.decode(cursor, "audit", (int,))
    before = key[0] if key is not None else before_id
    found = paging.page(
        audit.entries(db, before_id=before, limit=limit + 1),
        limit=limit,
        kind="audit",
        key=lambda row: (row.id or 0,),
    )
    rows = found.items
    return {
        "entries": [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "actor": row.actor,
                "action": row.action,
                "subject": row.subject,
                "detail": row.detail,
            }
            for row in rows
        ],
        "next_cursor": found.next_cursor,
        "next_before_id": rows[-1].id if found.next_cursor is not None else None,
    }


@router.get("/service-days", response_model=ServiceDaysOut)
def list_service_days(
    db: Db, _: Finance, cursor: paging.Cursor = None, limit: paging.Limit = paging.DEFAULT_LIMIT
) -> dict[str, Any]:
    """Service days, newest first."""
    key = paging.decode(cursor, "service-days", (date,))
    found = paging.page(
        statements.service_days(db, before=key[0] if key else None, limit=limit + 1),
        limit=limit,
        kind="service-days",
        key=lambda row: (date.fromisoformat(row["service_day"]),),
    )
    return {"service_days": found.items, "next_cursor": found.next_cursor}


@router.get(
    "/service-days/{day}/statements",
    response_model=StatementOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def day_statement(
    day: IsoDate,
    db: Db,
    _: Finance,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """What each operator is owed for the day. Not paginated: one line per operator of
    the network (a handful to a few dozen), and the CSV export is the whole statement."""
    document = statements.statement(db, day)
    if format == "csv":
        return PlainTextResponse(
            statements.statement_csv(document),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="statement-{day.isoformat()}.csv"'
            },
        )
    return document


@router.get("/ledger/balances", response_model=BalancesOut)
def ledger_balances(
    db: Db, _: Finance, cursor: paging.Cursor = None, limit: paging.Limit = paging.DEFAULT_LIMIT
) -> dict[str, Any]:
    """Account balances by currency then account name, a page of accounts at a time."""
    key = paging.decode(cursor, "balances", (str, str))
    after = (key[0], key[1]) if key is not None else None
    found = paging.page(
        posting.account_balances(db, after=after, limit=limit + 1),
        limit=limit,
        kind="balances",
        key=lambda row: (row[0], row[1]),
    )
    balances: dict[str, dict[str, int]] = {}
    for currency, account, balance in found.items:
        balances.setdefault(currency, {})[account] = balance
    return {
        "balances": balances,
        "trial_balance": posting.trial_balance(db),
        "next_cursor": found.next_cursor,
    }


@router.get("/reconciliation", response_model=ReconciliationOut)
def reconcile(
    db: Db,
    _: Finance,
    ctx: Context,
    from_: Annotated[IsoDate, Query(alias="from")],
    to: Annotated[IsoDate, Query()],
) -> dict[str, Any]:
    return reconciliation.reconcile(
        db, processor=ctx.processor(), from_day=from_, to_day=to, now=utc_now()
    )


class BreaksOut(BaseModel):
    kind: str
    count: int
    items: list[dict[str, Any]]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


@router.get("/reconciliation/breaks", response_model=BreaksOut)
def reconciliation_breaks(
    db: Db,
    _: Finance,
    ctx: Context,
    from_: Annotated[IsoDate, Query(alias="from")],
    to: Annotated[IsoDate, Query()],
    kind: Annotated[reconciliation.BreakKind, Query()],
    cursor: paging.Cursor = None,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Every item of one break of the report, in pages: what the report lists only the
    first of. Ordered by our idempotency key (else the processor's id)."""
    found = reconciliation.compare(
        db, processor=ctx.processor(), from_day=from_, to_day=to, now=utc_now()
    )
    items = found.breaks[kind]
    key = paging.decode(cursor, f"breaks:{kind}", (str,))
    rows = paging.after(
        items, key=reconciliation.break_key, position=key[0] if key else None, limit=limit + 1
    )
    page = paging.page(
        rows, limit=limit, kind=f"breaks:{kind}", key=lambda item: (reconciliation.break_key(item),)
    )
    return {"kind": kind, "count": len(items), "items": page.items, "next_cursor": page.next_cursor}
