"""Riders' card routes: link, list, unlink."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict

from validators import riders
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
        token_key=ctx.token_key,
        device_key=ctx.device_key,
        now=utc_now(),
    )
    return card_out(linked)


@router.get("/v1/riders/me/cards", response_model=CardsOut, operation_id="list_cards")
def list_cards(db: Db, rider: Rider) -> CardsOut:
    return CardsOut(cards=[card_out(c) for c in riders.cards_of(db, rider.user_id)])


@router.delete(
    "/v1/riders/me/cards/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="unlink_card",
)
def unlink_card(card_id: str, db: Db, rider: Rider) -> Response:
    riders.unlink(db, user_id=rider.user_id, card_id=card_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
