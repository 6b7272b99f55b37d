"""What settlement's routes ask of the request: the settlement context (processor,
apportionment method), the active tariffs and the card opener the app holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from settlement.context import SettlementContext, Tariffs
from settlement.enrolment import CardOpening


def settlement_context(request: Request) -> SettlementContext:
    ctx: SettlementContext = request.app.state.settlement
    return ctx


def tariffs(request: Request) -> Tariffs:
    found: Tariffs = request.app.state.validators
    return found


def card_opening(request: Request) -> CardOpening:
    found: CardOpening = request.app.state.validators
    return found


Context = Annotated[SettlementContext, Depends(settlement_context)]
TariffSource = Annotated[Tariffs, Depends(tariffs)]
Cards = Annotated[CardOpening, Depends(card_opening)]
