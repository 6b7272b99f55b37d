"""A card's last 7 days without an account, by presenting the card (like TfL).

The rider seals the card as a validator would (an app reading it over NFC, or a web page
with the card's data) and posts it. Rate-limited per client address, since a card's
journeys are personal data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from settlement import riders_view
from settlement.riders_api import ChargeOut, JourneyDayOut
from validators import ratelimit, tokenlinks
from validators.card import CardRejected, open_card
from validators.context import ValidatorsContext
from validators.intake import CardEnvelope
from validators.schema import utc_now
from validators.web import Db

router = APIRouter(tags=["riders"])
LOOKUP_DAYS = 7
LOOKUPS_PER_MINUTE = 10


def context(request: Request) -> ValidatorsContext:
    ctx: ValidatorsContext = request.app.state.validators
    return ctx


class CardSeen(BaseModel):
    scheme: str
    last4: str


class CardHistoryOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    card: CardSeen
    from_: Annotated[str, Field(alias="from")]
    to: str
    journeys: list[JourneyDayOut]
    charges: list[ChargeOut]


class CardLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card: CardEnvelope


@router.post(
    "/v1/cards/history",
    response_model=CardHistoryOut,
    response_model_by_alias=True,
    operation_id="card_history",
)
def card_history(
    body: CardLookup,
    request: Request,
    db: Db,
    ctx: Annotated[ValidatorsContext, Depends(context)],
) -> dict[str, Any] | JSONResponse:
    """The last 7 days of journeys and charges of the presented card. Not paginated:
    one card's week is a few dozen lines at most."""
    now = utc_now()
    client = request.client.host if request.client else "unknown"
    ratelimit.check(
        db, key=f"card-history:{client}", limit=LOOKUPS_PER_MINUTE, window_s=60, now=now
    )
    try:
        read = open_card(
            body.card.sealed,
            kid=body.card.kid,
            keys=ctx.opening_keys.get(db),
            occurred_at=now,
            token_key=ctx.token_keys,
        )
    except CardRejected as exc:
        # Answered, not raised: the request must still commit its count, or failed
        # attempts (the ones a rate limit is for) would never be counted.
        return JSONResponse({"error": exc.reason, "detail": exc.detail}, status_code=422)
    today = now.date()
    since = today - timedelta(days=LOOKUP_DAYS)
    # The card under every token it has had: its days before a token-key rotation too.
    tokens = tokenlinks.tokens_of_cards(db, [read.token, *read.previous_tokens])
    cards = dict.fromkeys(sorted(tokens), f"{read.scheme} ****{read.last4}")
    return {
        "card": {"scheme": read.scheme, "last4": read.last4},
        "from": since.isoformat(),
        "to": today.isoformat(),
        "journeys": riders_view.journeys_for(db, cards, from_day=since, to_day=today),
        "charges": riders_view.charges_for(db, cards, since=since),
    }
