"""The web pages of riders and finance staff: server-rendered, usable without JavaScript.

Every page works as plain HTML forms and links; the only script draws the finance chart
(Chart.js, shipped inside the `chartkick` wheel, served from here: nothing is fetched
from elsewhere at run time), over a data table that stays on the page for readers and
browsers without scripts.

A page reads the same service functions as the API (`riders_view`, `statements`,
`debts`, `reconciliation`). The browser holds its session in a cookie rather than a
bearer header (see `settlement.web.session`), so the statement's CSV is also offered
here, built by the same `statements.statement_csv` as the API's `?format=csv`.

Errors are pages too: a domain error raised in a page route becomes an HTML page with
the status the API would answer (the route class below), never a JSON body.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from fare.money import MoneyError, to_minor
from fare.tariff import Tariff
from settlement import debts, reconciliation, refunds, riders_view, statements
from settlement.context import SettlementContext, Tariffs
from settlement.errors import SettlementError
from settlement.riders_api import MAX_JOURNEY_RANGE_DAYS
from settlement.store import Debt, SettlementDay
from settlement.web import i18n, reads, receipt_pdf, receipts
from settlement.web import session as web_session
from settlement.web.receipts import leg_label
from validators import riders
from validators.errors import ValidatorsError
from validators.schema import utc_now
from validators.web import Db, DbId, Principal

HERE = Path(__file__).parent
STATIC = HERE / "static"
KIND_STATUS = {
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthorized": 401,
    "unavailable": 503,
}
FINANCE_ROLES = frozenset({"finance", "admin"})
SECURITY_HEADERS = {
    # Scripts and styles only from here: no inline script, nothing from elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show a person's journeys and money: never kept by a shared cache.
    "Cache-Control": "no-store",
}


def _chart_js() -> Path:
    """Chart.js as the chartkick wheel ships it (Chart.js 4 with its date adapter)."""
    spec = importlib.util.find_spec("chartkick")
    assert spec is not None and spec.origin is not None, "chartkick is a dependency"
    return Path(spec.origin).parent / "django" / "static" / "chartkick" / "Chart.bundle.js"


STATIC_FILES: dict[str, tuple[Callable[[], Path], str]] = {
    "site.css": (lambda: STATIC / "site.css", "text/css"),
    "site.js": (lambda: STATIC / "site.js", "text/javascript"),
    "finance-chart.js": (lambda: STATIC / "finance-chart.js", "text/javascript"),
    "chart.js": (_chart_js, "text/javascript"),
}


class PageError(Exception):
    def __init__(self, status: int, key: str, detail: str | None = None) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.detail = detail


class LoginRequired(Exception):
    pass


class PageRoute(APIRoute):
    """Turns what a page route raises into a page: the login page, or an error page
    with the status the API would give."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = quote(request.url.path, safe="/")
                return RedirectResponse(f"/web/login?next={target}", status_code=303)
            except web_session.CsrfRefused:
                return error_page(request, 403, "csrf")
            except PageError as exc:
                return error_page(request, exc.status, exc.key, exc.detail)
            except RequestValidationError:
                return error_page(request, 422, "bad_request")
            except (SettlementError, ValidatorsError) as exc:
                status = KIND_STATUS.get(exc.kind, 422)
                key = "not_found" if status == 404 else "bad_request"
                return error_page(request, status, key, str(exc))

        return page_handler


router = APIRouter(prefix="/web", include_in_schema=False, route_class=PageRoute)
templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("settlement.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def words(request: Request) -> i18n.Words:
    return i18n.Words(
        i18n.choose(
            request.query_params.get("lang"),
            request.cookies.get(i18n.COOKIE),
            request.headers.get("accept-language"),
        )
    )


def lang_links(request: Request) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    return {
        lang: f"{request.url.path}?{urlencode({**params, 'lang': lang})}" for lang in i18n.LANGUAGES
    }


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    who: web_session.WebSession | None = None,
    **context: Any,
) -> Response:
    who = who or web_session.open_session(request)
    t = words(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": t.lang,
            "lang_links": lang_links(request),
            "principal": who.principal,
            "is_finance": who.principal is not None and who.principal.role in FINANCE_ROLES,
            "csrf": who.csrf,
            "path": request.url.path,
            **context,
        },
        status_code=status,
        headers=SECURITY_HEADERS,
    )
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            t.lang,
            max_age=365 * 24 * 3600,
            path="/web",
            secure=web_session.cookie_secure(request),
            samesite="lax",
        )
    web_session.keep_nonce(request, response, who)
    return response


def error_page(request: Request, status: int, key: str, detail: str | None = None) -> Response:
    return render(request, "error.html", status=status, message_key=key, detail=detail)


def signed_in(request: Request, *roles: str) -> tuple[web_session.WebSession, Principal]:
    who = web_session.open_session(request)
    if who.principal is None:
        raise LoginRequired
    if who.principal.role not in roles:
        raise PageError(403, "forbidden")
    return who, who.principal


def home_of(principal: Principal) -> str:
    return "/web/finance/days" if principal.role in FINANCE_ROLES else "/web/rider/journeys"


def safe_next(target: str | None) -> str | None:
    """Only our own pages: `next` must not send a person to another site."""
    if target and target.startswith("/web/") and not target.startswith("//"):
        return target
    return None


def tariff_today(request: Request, db: Db) -> Tariff:
    source: Tariffs = request.app.state.validators
    return source.tariff_on(db, utc_now().date()).tariff


def processor_context(request: Request) -> SettlementContext:
    ctx: SettlementContext = request.app.state.settlement
    return ctx


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


# Static files and the way in.


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    found = STATIC_FILES.get(name)
    if found is None:
        return PlainTextResponse("Not found.", status_code=404)
    path, media_type = found
    return FileResponse(
        path(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("")
@router.get("/")
def web_home(request: Request) -> Response:
    who = web_session.open_session(request)
    return redirect(home_of(who.principal) if who.principal else "/web/login")


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    who = web_session.open_session(request)
    if who.principal is not None:
        return redirect(safe_next(next) or home_of(who.principal))
    return render(request, "login.html", who=who, next=safe_next(next), failed=False, email="")


@router.post("/login")
def log_in(
    request: Request,
    db: Db,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    web_session.check_csrf(request, csrf_token)
    authenticate: Callable[..., Principal | None] = request.app.state.authenticate_password
    principal = authenticate(db, email, password)
    if principal is None:
        # Answered, not raised: the shell counts failed logins in this request's commit.
        return render(
            request, "login.html", status=401, next=safe_next(next), failed=True, email=email
        )
    issue: Callable[[Principal], str] = request.app.state.issue_user_token
    response = redirect(safe_next(next) or home_of(principal))
    web_session.start(request, response, issue(principal))
    return response


@router.post("/logout")
def log_out(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    web_session.check_csrf(request, csrf_token)
    response = redirect("/web/login")
    web_session.end(request, response)
    return response


# Rider pages.


def card_labels(db: Db, user_id: int) -> dict[str, str]:
    """What a person recognises a card by: its scheme and last 4 digits."""
    return {
        c.card_id: f"{c.scheme.capitalize()} •••• {c.last4}" for c in riders.cards_of(db, user_id)
    }


@router.get("/rider/journeys")
def rider_journeys(
    request: Request,
    db: Db,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> Response:
    who, rider = signed_in(request, "rider")
    to_day = to or utc_now().date()
    from_day = from_ or to_day - timedelta(days=30)
    if from_day > to_day or (to_day - from_day).days > MAX_JOURNEY_RANGE_DAYS:
        raise PageError(422, "bad_request")
    days = riders_view.journeys_of(db, rider.user_id, from_day=from_day, to_day=to_day)
    tariff = tariff_today(request, db)
    t = words(request)
    charges = reads.charges_of(db, rider.user_id)
    receipts = {
        (c["service_day"].isoformat(), c["card"]["card_id"]): c["charge_id"]
        for c in charges
        if c["kind"] == "day"
    }
    cards = card_labels(db, rider.user_id)
    for day in days:
        day["receipt_id"] = receipts.get((day["service_day"], day["card_id"]))
        day["card"] = cards.get(day["card_id"], day["card_id"])
        for leg in day["legs"]:
            leg["label"] = leg_label(leg, tariff, t)
    return render(
        request,
        "rider_journeys.html",
        who=who,
        days=days,
        from_day=from_day,
        to_day=to_day,
        currency=tariff.currency,
        zone=tariff.config.timezone,
    )


@router.get("/rider/cards")
def rider_cards(request: Request, db: Db, unlinked: bool = False) -> Response:
    who, rider = signed_in(request, "rider")
    cards = riders.cards_of(db, rider.user_id)
    return render(request, "rider_cards.html", who=who, cards=cards, unlinked=unlinked)


@router.post("/rider/cards/{card_id}/unlink")
def rider_unlink_card(
    request: Request,
    db: Db,
    card_id: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _, rider = signed_in(request, "rider")
    web_session.check_csrf(request, csrf_token)
    riders.unlink(db, user_id=rider.user_id, card_id=card_id)
    return redirect("/web/rider/cards?unlinked=true")


@router.get("/rider/charges")
def rider_charges(request: Request, db: Db) -> Response:
    who, rider = signed_in(request, "rider")
    return render(
        request, "rider_charges.html", who=who, charges=reads.charges_of(db, rider.user_id)
    )


@router.get("/rider/charges/{charge_id}/receipt")
def rider_receipt(request: Request, db: Db, charge_id: DbId) -> Response:
    who, rider = signed_in(request, "rider")
    source: Tariffs = request.app.state.validators
    receipt = receipts.receipt_of(
        db, user_id=rider.user_id, charge_id=charge_id, tariffs=source, t=words(request)
    )
    return render(request, "receipt.html", who=who, **receipt)


@router.get("/rider/charges/{charge_id}/receipt.pdf")
def rider_receipt_pdf(request: Request, db: Db, charge_id: DbId) -> Response:
    """The same receipt as a PDF to download and keep."""
    _, rider = signed_in(request, "rider")
    source: Tariffs = request.app.state.validators
    t = words(request)
    receipt = receipts.receipt_of(
        db, user_id=rider.user_id, charge_id=charge_id, tariffs=source, t=t
    )
    return receipt_pdf.response(receipt, t, charge_id=charge_id, disposition="attachment")


@router.get("/rider/debts")
def rider_debts(request: Request, db: Db, outcome: str | None = None) -> Response:
    who, rider = signed_in(request, "rider")
    found = riders_view.debts_of(db, rider.user_id)
    cards = card_labels(db, rider.user_id)
    for debt in found:
        debt["card"] = cards.get(debt["card_id"], debt["card_id"])
    message = {"recovered": "debt_paid", "open": "debt_declined", "failed": "debt_failed"}
    return render(
        request, "rider_debts.html", who=who, debts=found, outcome=message.get(outcome or "")
    )


@router.post("/rider/debts/{debt_id}/pay")
def rider_pay_debt(
    request: Request,
    db: Db,
    debt_id: int,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _, rider = signed_in(request, "rider")
    web_session.check_csrf(request, csrf_token)
    attempts_before = _attempts(db, debt_id)
    debt = debts.pay_debt(
        db,
        debt_id=debt_id,
        card_tokens=riders.tokens_of(db, rider.user_id),
        processor=processor_context(request).processor(),
        now=utc_now(),
    )
    # Still open: declined again if the attempt was counted, else a transient failure.
    if debt.status == "open":
        outcome = "open" if debt.attempts > attempts_before else "failed"
    else:
        outcome = "recovered"
    return redirect(f"/web/rider/debts?outcome={outcome}")


def _attempts(db: Db, debt_id: int) -> int:
    found = db.get(Debt, debt_id)
    return found.attempts if found is not None else 0


# Finance pages.


def operator_names(tariff: Tariff) -> dict[str, str]:
    return {agency_id: agency.name for agency_id, agency in tariff.agencies.items()}


@router.get("/finance/days")
def finance_days(request: Request, db: Db) -> Response:
    who, _ = signed_in(request, *FINANCE_ROLES)
    tariff = tariff_today(request, db)
    return render(
        request,
        "finance_days.html",
        who=who,
        days=statements.service_days(db),
        zone=tariff.config.timezone,
    )


@router.get("/finance/days/{day}")
def finance_day(request: Request, db: Db, day: date, refund: str | None = None) -> Response:
    who, _ = signed_in(request, *FINANCE_ROLES)
    try:
        statement = statements.statement(db, day)
    except statements.DayNotClosed as exc:
        raise PageError(404, "not_closed", str(exc)) from exc
    source: Tariffs = request.app.state.validators
    tariff = source.tariff_on(db, day).tariff
    names = operator_names(tariff)
    series = reads.revenue_series(db, until=day)
    for line in series["operators"]:
        line["name"] = names.get(line["operator_id"], line["operator_id"])
    # The processor dates its records by when money moved: from the service day to the
    # day it was closed (charges are made at the close), capped at what reconcile takes.
    settled = db.get(SettlementDay, day)
    closed_on = settled.closed_at.date() if settled and settled.closed_at else day
    until = min(max(day, closed_on), day + timedelta(days=reconciliation.MAX_RANGE_DAYS))
    matched = reconciliation.reconcile(
        db,
        processor=processor_context(request).processor(),
        from_day=day,
        to_day=until,
        now=utc_now(),
    )
    totals = {
        field: sum(op[field] for op in statement["operators"])
        for field in ("revenue_minor", "adjustments_minor", "refunds_minor", "amount_minor")
    }
    return render(
        request,
        "finance_day.html",
        who=who,
        day=day,
        statement=statement,
        totals=totals,
        names=names,
        series=series,
        reconciliation=matched,
        api_path=f"/v1/finance/service-days/{day.isoformat()}/statements",
        refund_outcome=refund if refund in REFUND_OUTCOMES else None,
        # Names this form's refund: submitting the same page twice refunds once.
        refund_key=f"web:{uuid.uuid4()}",
    )


REFUND_OUTCOMES = frozenset({"succeeded", "pending"})


@router.post("/finance/days/{day}/refunds")
def finance_refund(
    request: Request,
    db: Db,
    day: date,
    charge_id: Annotated[int, Form(gt=0)],
    amount: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(min_length=1, max_length=200)],
    client_key: Annotated[str, Form(min_length=8, max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A refund of (part of) one charge, found by its receipt number (the charge id)."""
    _, finance = signed_in(request, *FINANCE_ROLES)
    web_session.check_csrf(request, csrf_token)
    currency = statements.statement(db, day)["currency"]
    try:
        amount_minor = to_minor(amount.strip().replace(",", "."), currency)
    except MoneyError as exc:
        raise PageError(422, "bad_amount", str(exc)) from exc
    if amount_minor <= 0:
        raise PageError(422, "bad_amount")
    refund = refunds.refund_charge(
        db,
        charge_id=charge_id,
        amount_minor=amount_minor,
        reason=reason.strip(),
        client_key=client_key,
        processor=processor_context(request).processor(),
        actor=finance.email,
        now=utc_now,
        checkpoint=db.commit,
    )
    return redirect(f"/web/finance/days/{day.isoformat()}?refund={refund.status}#refund")


@router.get("/finance/days/{day}/statement.csv")
def finance_day_csv(request: Request, db: Db, day: date) -> Response:
    signed_in(request, *FINANCE_ROLES)
    document = statements.statement(db, day)
    return PlainTextResponse(
        statements.statement_csv(document),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{day.isoformat()}.csv"',
            "Cache-Control": "no-store",
        },
    )
