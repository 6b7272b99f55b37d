"""A rider's charges, journeys and debts (role rider): only their own cards' rows, each
list paged (`validators.paging`); journeys within a bounded date range."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from settlement import debts, riders_view
from settlement.deps import Context
from settlement.errors import InvalidRange
from validators import paging, riders
from validators.schema import utc_now
from validators.web import Db, DbId, IsoDate, Rider

router = APIRouter(prefix="/v1/riders/me", tags=["riders"])


class ChargeOut(BaseModel):
    charge_id: int
    service_day: str
    kind: str
    amount_minor: int
    currency: str
    status: str
    refunded_minor: int = Field(description="Given back so far (refunds done or accepted)")
    card_id: str
    notes: list[str]


class ChargesOut(BaseModel):
    charges: list[ChargeOut]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


class DebtOut(BaseModel):
    debt_id: int
    service_day: str
    amount_minor: int
    currency: str
    status: str
    card_id: str


class DebtsOut(BaseModel):
    debts: list[DebtOut]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


@router.get("/charges", response_model=ChargesOut)
def my_charges(
    db: Db, rider: Rider, cursor: paging.Cursor = None, limit: paging.Limit = paging.DEFAULT_LIMIT
) -> dict[str, Any]:
    """Per service day: what each linked card was charged, and why not if nothing.
    Newest day first."""
    key = paging.decode(cursor, "charges", (date, int))
    after = (key[0], key[1]) if key is not None else None
    found = paging.page(
        riders_view.charges_of(db, rider.user_id, after=after, limit=limit + 1),
        limit=limit,
        kind="charges",
        key=lambda c: (date.fromisoformat(c["service_day"]), c["charge_id"]),
    )
    return {"charges": found.items, "next_cursor": found.next_cursor}


class JourneyLegOut(BaseModel):
    index: int
    kind: str
    operator_id: str
    route_id: str | None
    from_stop_id: str | None
    to_stop_id: str | None
    started_at: str
    ended_at: str | None
    fare_product_id: str
    amount_minor: int
    explanation: str


class JourneyAdjustmentOut(BaseModel):
    kind: str
    cap_id: str | None
    leg_index: int | None
    amount_minor: int
    explanation: str


class JourneyDayOut(BaseModel):
    service_day: str
    card_id: str
    legs: list[JourneyLegOut]
    adjustments: list[JourneyAdjustmentOut]
    total_minor: int


class JourneysOut(BaseModel):
    from_: Annotated[str, Field(alias="from")]
    to: str
    days: list[JourneyDayOut]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


MAX_JOURNEY_RANGE_DAYS = 366


@router.get("/journeys", response_model=JourneysOut, response_model_by_alias=True)
def my_journeys(
    db: Db,
    rider: Rider,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: Annotated[IsoDate | None, Query()] = None,
    cursor: paging.Cursor = None,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The priced legs of the rider's cards, day by day, each cent explained. Defaults
    to the last 30 days; at most a year at a time. Newest day first; an item is one
    card's day, and `limit` counts those."""
    to_day = to or utc_now().date()
    from_day = from_ or to_day - timedelta(days=30)
    if from_day > to_day:
        raise InvalidRange("`from` is after `to`.")
    if (to_day - from_day).days > MAX_JOURNEY_RANGE_DAYS:
        raise InvalidRange(f"Ask for at most {MAX_JOURNEY_RANGE_DAYS} days at a time.")
    key = paging.decode(cursor, "journeys", (date, str))
    after = (key[0], key[1]) if key is not None else None
    found = paging.page(
        riders_view.journeys_of(
            db, rider.user_id, from_day=from_day, to_day=to_day, after=after, limit=limit + 1
        ),
        limit=limit,
        kind="journeys",
        key=lambda d: (date.fromisoformat(d["service_day"]), d["card_id"]),
    )
    return {
        "from": from_day.isoformat(),
        "to": to_day.isoformat(),
        "days": found.items,
        "next_cursor": found.next_cursor,
    }


@router.get("/debts", response_model=DebtsOut)
def my_debts(
    db: Db, rider: Rider, cursor: paging.Cursor = None, limit: paging.Limit = paging.DEFAULT_LIMIT
) -> dict[str, Any]:
    """Newest first."""
    key = paging.decode(cursor, "debts", (int,))
    found = paging.page(
        riders_view.debts_of(db, rider.user_id, before_id=key[0] if key else None, limit=limit + 1),
        limit=limit,
        kind="debts",
        key=lambda d: (d["debt_id"],),
    )
    return {"debts": found.items, "next_cursor": found.next_cursor}


@router.post("/debts/{debt_id}/pay", response_model=DebtOut)
def pay_my_debt(debt_id: DbId, db: Db, rider: Rider, ctx: Context) -> dict[str, Any]:
    """Pay a declined day with the card it belongs to; once paid the card is let back
    in at once (off the deny list)."""
    debt = debts.pay_debt(
        db,
        debt_id=debt_id,
        card_tokens=riders.tokens_of(db, rider.user_id),
        processor=ctx.processor(),
        now=utc_now(),
    )
    found = riders_view.debt_out(db, rider.user_id, debt)
    return found
