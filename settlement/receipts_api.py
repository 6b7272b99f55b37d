"""A charge's receipt as a PDF through the API, for apps that keep or share it.

One route, `GET /v1/riders/me/charges/{charge_id}/receipt.pdf`: the extension names the
format in the URL, so a link, a download and a cache all agree on what it is (the web
pages' printable HTML stays at `/web/rider/charges/{id}/receipt`). The language is
`?lang=fr|en`, else the request's Accept-Language, else French, as on the pages.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from settlement.context import Tariffs
from settlement.web import i18n, receipt_pdf, receipts
from validators.web import Db, DbId, Rider

router = APIRouter(prefix="/v1/riders/me", tags=["riders"])


@router.get(
    "/charges/{charge_id}/receipt.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The receipt"}},
)
def my_receipt_pdf(
    charge_id: DbId,
    request: Request,
    db: Db,
    rider: Rider,
    lang: Annotated[Literal["fr", "en"] | None, Query()] = None,
) -> Response:
    """The receipt of one of the rider's charges: the day, the card, each leg with its
    amount and explanation, adjustments, total, operators, status and refunds."""
    t = i18n.Words(i18n.choose(lang, None, request.headers.get("accept-language")))
    source: Tariffs = request.app.state.validators
    receipt = receipts.receipt_of(
        db, user_id=rider.user_id, charge_id=charge_id, tariffs=source, t=t
    )
    return receipt_pdf.response(receipt, t, charge_id=charge_id, disposition="inline")
