"""The processor's webhooks: Stripe events, checked by signature and applied once
(`settlement.webhooks`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from settlement import webhooks
from settlement.deps import Context
from validators.schema import utc_now
from validators.web import Db

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookAck(BaseModel):
    received: bool
    event_id: str
    type: str
    duplicate: bool
    outcome: str | None


async def raw_body(request: Request) -> bytes:
    """The body as sent: the signature covers these bytes, not a re-serialisation."""
    return await request.body()


@router.post("/stripe", response_model=WebhookAck)
def stripe_webhook(
    db: Db,
    ctx: Context,
    body: Annotated[bytes, Depends(raw_body)],
    stripe_signature: Annotated[str, Header(max_length=2000)] = "",
) -> dict[str, Any]:
    """Stripe events: the signature is checked on the raw body, the event stored once by
    its id and processed idempotently; unknown events are acknowledged and kept."""
    receipt = webhooks.receive(
        db,
        payload=body,
        signature=stripe_signature,
        secret=ctx.stripe_webhook_secret,
        now=utc_now(),
    )
    return {
        "received": True,
        "event_id": receipt.event_id,
        "type": receipt.type,
        "duplicate": receipt.duplicate,
        "outcome": receipt.outcome,
    }
