"""The dispute pages: a rider reports a problem with a leg (from the journeys page's
"Report a problem" link) and follows its outcome; finance staff resolve the open ones.

Plain forms, CSRF-protected like every other (see `settlement.web.session`). The rider's
form carries a key made when the page was drawn, used as the dispute's Idempotency-Key:
sending the same form twice opens one dispute. The rules are `settlement.disputes`'.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response

from fare.money import MoneyError, to_minor
from settlement import disputes, disputes_view, riders_view
from settlement.disputes import DisputeReason, DisputeStatus, Outcome
from settlement.store import Dispute
from settlement.web import session as web_session
from settlement.web.pages import (
    FINANCE_ROLES,
    PageError,
    PageRoute,
    card_labels,
    processor_context,
    redirect,
    render,
    signed_in,
    tariff_today,
    words,
)
from settlement.web.receipts import leg_label
from validators import paging
from validators.schema import utc_now
from validators.web import Db, DbId

router = APIRouter(prefix="/web", include_in_schema=False, route_class=PageRoute)
PAGE_SIZE = 50
FILTERS = ("open", "upheld", "rejected", "all")
Cursor = Annotated[str | None, Query(max_length=paging.MAX_CURSOR_CHARS)]


def _labelled(request: Request, db: Db, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tariff = tariff_today(request, db)
    t = words(request)
    for view in views:
        if view["leg"] is not None:
            view["leg"]["label"] = leg_label(view["leg"], tariff, t)
    return views


@router.get("/rider/disputes")
def rider_disputes(
    request: Request,
    db: Db,
    card_id: Annotated[str | None, Query(max_length=36)] = None,
    service_day: date | None = None,
    leg_index: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    opened: int | None = None,
    already: int | None = None,
    cursor: Cursor = None,
) -> Response:
    who, rider = signed_in(request, "rider")
    reported = None
    if card_id is not None and service_day is not None and leg_index is not None:
        days = riders_view.journeys_of(db, rider.user_id, from_day=service_day, to_day=service_day)
        reported = next(
            (
                leg
                for day in days
                if day["card_id"] == card_id
                for leg in day["legs"]
                if leg["index"] == leg_index
            ),
            None,
        )
        if reported is None:
            raise PageError(404, "not_found")
        tariff = tariff_today(request, db)
        reported["label"] = leg_label(reported, tariff, words(request))
        reported["card"] = card_labels(db, rider.user_id).get(card_id, card_id)
        reported["card_id"] = card_id
        reported["service_day"] = service_day.isoformat()
        reported["currency"] = tariff.currency
        reported["open_dispute"] = disputes.open_for(
            db,
            user_id=rider.user_id,
            card_id=card_id,
            service_day=service_day,
            leg_index=leg_index,
        )
    page = disputes_view.page_of(db, user_id=rider.user_id, limit=PAGE_SIZE, cursor=cursor)
    return render(
        request,
        "rider_disputes.html",
        who=who,
        reported=reported,
        disputes=_labelled(request, db, disputes_view.views(db, page.items)),
        next_cursor=page.next_cursor,
        reasons=[reason.value for reason in DisputeReason],
        message_max=disputes.MESSAGE_MAX,
        opened=opened,
        already=already,
        zone=tariff_today(request, db).config.timezone,
        # Names this form's dispute: sending the page twice opens one.
        client_key=f"web:{uuid.uuid4()}",
    )


@router.post("/rider/disputes")
def rider_open_dispute(
    request: Request,
    db: Db,
    card_id: Annotated[str, Form(min_length=1, max_length=36)],
    service_day: Annotated[date, Form()],
    leg_index: Annotated[int, Form(ge=0, le=100_000)],
    reason: Annotated[DisputeReason, Form()],
    message: Annotated[str, Form(max_length=disputes.MESSAGE_MAX)],
    client_key: Annotated[str, Form(min_length=8, max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _, rider = signed_in(request, "rider")
    web_session.check_csrf(request, csrf_token)
    text = message.strip()
    if not text or any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise PageError(422, "bad_request")
    opened = disputes.open_dispute(
        db,
        user_id=rider.user_id,
        card_id=card_id,
        service_day=service_day,
        leg_index=leg_index,
        reason=reason,
        message=text,
        idempotency_key=client_key,
        now=utc_now(),
    )
    outcome = "opened" if opened.created else "already"
    dispute_id = opened.dispute.id
    return redirect(f"/web/rider/disputes?{outcome}={dispute_id}#dispute-{dispute_id}")


@router.get("/finance/disputes")
def finance_disputes(
    request: Request,
    db: Db,
    status: Annotated[str, Query(max_length=16)] = "open",
    resolved: int | None = None,
    cursor: Cursor = None,
) -> Response:
    who, _ = signed_in(request, *FINANCE_ROLES)
    if status not in FILTERS:
        raise PageError(422, "bad_request")
    page = disputes_view.page_of(
        db,
        status=None if status == "all" else DisputeStatus(status),
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    views = _labelled(request, db, disputes_view.views(db, page.items, for_finance=True))
    return render(
        request,
        "finance_disputes.html",
        who=who,
        disputes=views,
        filter_status=status,
        filters=FILTERS,
        next_cursor=page.next_cursor,
        resolved=resolved,
        reply_max=disputes.REPLY_MAX,
        zone=tariff_today(request, db).config.timezone,
    )


@router.post("/finance/disputes/{dispute_id}/resolve")
def finance_resolve_dispute(
    request: Request,
    db: Db,
    dispute_id: DbId,
    outcome: Annotated[Outcome, Form()],
    amount: Annotated[str, Form(max_length=32)] = "",
    reply: Annotated[str, Form(max_length=disputes.REPLY_MAX)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _, finance = signed_in(request, *FINANCE_ROLES)
    web_session.check_csrf(request, csrf_token)
    dispute: Dispute = disputes.get(db, dispute_id)
    refund_minor = None
    if outcome is Outcome.UPHELD:
        refund_minor = _amount(amount, dispute.currency)
    if any(ord(c) < 32 and c not in "\n\r\t" for c in reply):
        raise PageError(422, "bad_request")
    disputes.resolve(
        db,
        dispute_id=dispute_id,
        outcome=outcome,
        refund_minor=refund_minor,
        reply=reply,
        actor=finance.email,
        processor=processor_context(request).processor(),
        now=utc_now,
        checkpoint=db.commit,
    )
    return redirect(f"/web/finance/disputes?resolved={dispute_id}")


def _amount(text: str, currency: str) -> int:
    try:
        amount_minor = to_minor(text.strip().replace(",", "."), currency)
    except MoneyError as exc:
        raise PageError(422, "bad_amount", str(exc)) from exc
    if amount_minor <= 0:
        raise PageError(422, "bad_amount")
    return amount_minor
