"""`POST /v1/fares/quote`: the fare engine over HTTP, with the tariff active today.

The router sits at the engine's edge and imports nothing of ours: the shell hands it the
active tariff through `app.state.active_tariff(request)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel

from fare.jsonio import parse_journeys, render_quote
from fare.pricing import price
from fare.tariff import Tariff

router = APIRouter()


def active_tariff(request: Request) -> Tariff:
    provide: Callable[[Request], Tariff] = request.app.state.active_tariff
    return provide(request)


class QuotedLeg(BaseModel):
    index: int
    amount_minor: int
    fare_product_id: str
    explanation: str


class QuotedAdjustment(BaseModel):
    kind: str
    cap_id: str | None
    amount_minor: int
    explanation: str


class QuoteOut(BaseModel):
    currency: str
    total_minor: int
    legs: list[QuotedLeg]
    adjustments: list[QuotedAdjustment]


JOURNEYS_EXAMPLE = {
    "rider_category_id": "adult",
    "fare_media_id": "cemv",
    "legs": [
        {
            "kind": "transit",
            "route_id": "T1",
            "from_stop_id": "GARE",
            "to_stop_id": "QUETIGNY",
            "start": "2026-11-26T08:00:00+01:00",
            "end": "2026-11-26T08:20:00+01:00",
        }
    ],
}


@router.post("/v1/fares/quote", response_model=QuoteOut, tags=["fares"], operation_id="quote")
def quote(
    tariff: Annotated[Tariff, Depends(active_tariff)],
    journeys: Annotated[dict[str, Any], Body(examples=[JOURNEYS_EXAMPLE])],
) -> dict[str, Any]:
    """Price journeys (DESIGN §4.2) and explain every cent."""
    parsed = parse_journeys(journeys)
    result = price(
        tariff,
        parsed.legs,
        rider_category_id=parsed.rider_category_id,
        fare_media_id=parsed.fare_media_id,
    )
    return render_quote(result)
