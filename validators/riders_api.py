"""Riders' card routes: link, list, unlink."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from validators import paging, riders
from validators.context import ValidatorsContext
from validators.intake import CardEnvelope
from validators.schema import utc_now
from validators.web import Db, Rider

router = APIRouter(tags=["riders"])


def context(request: Request) -> ValidatorsContext:
    ctx: ValidatorsContext = request.app.state.validators
    return ctx


Context = Annotated[ValidatorsContext, Depends(context)]


class CardLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card: CardEnvelope


class CardOut(BaseModel):
    card_id: str
    scheme: str
    last4: str
    expiry_month: date


class CardsOut(BaseModel):
    cards: list[CardOut]
    next_cursor: Annotated[str | None, Field(description=paging.NEXT_CURSOR_DOC)]


def card_out(card: riders.LinkedCard) -> CardOut:
    return CardOut(
        card_id=card.card_id, scheme=card.scheme, last4=card.last4, expiry_month=card.expiry_month
    )


@router.post("/v1/riders/me/cards", response_model=CardOut, operation_id="link_card")
def link_card(body: CardLinkIn, db: Db, rider: Rider, ctx: Context) -> CardOut:
    """Link a card by presenting it sealed, as a validator would read it."""
    linked = riders.link(
        db,
        user_id=rider.user_id,
        kid=body.card.kid,
        sealed=body.card.sealed,
        card_keys=ctx.opening_keys.get(db),
        token_key=ctx.token_keys,
        device_key=ctx.device_key,
        now=utc_now(),
    )
    return card_out(linked)


@router.get("/v1/riders/me/cards", response_model=CardsOut, operation_id="list_cards")
def list_cards(
    db: Db, rider: Rider, cursor: paging.Cursor = None, limit: paging.Limit = paging.DEFAULT_LIMIT
) -> CardsOut:
    """The rider's cards, in the order they were linked."""
    key = paging.decode(cursor, "cards", (datetime, str))
    found = paging.page(
        riders.cards_of(
            db, rider.user_id, after=(key[0], key[1]) if key else None, limit=limit + 1
        ),
        limit=limit,
        kind="cards",
        key=lambda c: (c.linked_at.isoformat(), c.card_id),
    )
    return CardsOut(cards=[card_out(c) for c in found.items], next_cursor=found.next_cursor)


@router.delete(
    "/v1/riders/me/cards/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="unlink_card",
)
def unlink_card(card_id: str, db: Db, rider: Rider) -> Response:
    riders.unlink(db, user_id=rider.user_id, card_id=card_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
