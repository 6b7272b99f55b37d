"""The web pages over HTTP: logging in, the CSRF guard, and who may see what."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Charge, Debt, Refund
from tests.settlement.network import (
    APPROVED_PAN,
    DAY,
    DECLINED_PAN,
    OTHER_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from tests.settlement.test_debts import FundedAgain
from tests.web.web_helpers import csrf_of, rider_account, web_login

PASSWORD = "a long secret"
CLIENT_KEY = re.compile(r'name="client_key" value="([^"]+)"')
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    return make_network(db, client, app)


@pytest.fixture
def ana_day(network: Network, client: TestClient) -> Network:
    """Ana rides bus then tram (one ticket, a free transfer); Bo's card is declined."""
    ana = rider_account(client, "ana@example.org")
    bo = rider_account(client, "bo@example.org")
    for headers, pan in ((ana, APPROVED_PAN), (bo, DECLINED_PAN)):
        linked = client.post(
            "/v1/riders/me/cards", json={"card": network.card(pan)}, headers=headers
        )
        assert linked.status_code == 200, linked.text
    network.ride("bus-1", APPROVED_PAN, local(8, 0))
    network.ride("tram-1", APPROVED_PAN, local(8, 30))
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.ride("tram-1", OTHER_PAN, local(9, 30))
    network.close()
    return network


def logged_in(web: TestClient, email: str) -> TestClient:
    response = web_login(web, email, PASSWORD)
    assert response.status_code == 303, response.text
    return web


def test_the_login_page_speaks_french_by_default_and_english_on_request(web: TestClient) -> None:
    french = web.get("/web/login")
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text and "Mot de passe" in french.text
    english = web.get("/web/login", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in english.text and "Password" in english.text
    switched = web.get("/web/login?lang=en")
    assert '<html lang="en">' in switched.text
    # The choice is remembered for the next pages.
    assert '<html lang="en">' in web.get("/web/login").text
    assert 'for="email"' in french.text and 'for="password"' in french.text
    assert french.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_rider_logs_in_with_a_secure_httponly_lax_cookie(
    web: TestClient, client: TestClient
) -> None:
    rider_account(client, "cy@example.org")
    response = web_login(web, "cy@example.org", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/rider/journeys"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("ticketing_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/web"} <= flags
    assert web.get("/web/rider/journeys").status_code == 200


def test_on_plain_http_to_loopback_the_cookie_is_not_secure(
    app: FastAPI, client: TestClient
) -> None:
    rider_account(client, "dev@example.org")
    with TestClient(app, base_url="http://127.0.0.1:8000") as local_browser:
        response = web_login(local_browser, "dev@example.org", PASSWORD)
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("ticketing_session=")
        )
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert "secure" not in flags and "httponly" in flags and "samesite=lax" in flags
        assert local_browser.get("/web/rider/journeys").status_code == 200


def test_a_wrong_password_is_refused_and_counted(
    web: TestClient, client: TestClient, db: Session
) -> None:
    rider_account(client, "dee@example.org")
    response = web_login(web, "dee@example.org", "not the password")
    assert response.status_code == 401
    assert "incorrect" in response.text and 'role="alert"' in response.text
    assert "ticketing_session" not in response.headers.get("set-cookie", "")
    from ticketing.users import find_by_email

    user = find_by_email(db, "dee@example.org")
    assert user is not None
    db.refresh(user)
    assert user.failed_logins == 1
    assert web.get("/web/rider/journeys", follow_redirects=False).status_code == 303


def test_forms_without_the_sessions_token_are_refused(web: TestClient, client: TestClient) -> None:
    rider_account(client, "eve@example.org")
    web.get("/web/login")
    no_token = web.post("/web/login", data={"email": "eve@example.org", "password": PASSWORD})
    assert no_token.status_code == 403 and "expiré" in no_token.text
    forged = web.post(
        "/web/login",
        data={"email": "eve@example.org", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    logged_in(web, "eve@example.org")
    # The login page's token is not the session's: a logged-in form needs the new one.
    assert web.post("/web/logout", data={"csrf_token": "forged"}).status_code == 403
    assert web.post("/web/rider/debts/1/pay").status_code == 403
    token = csrf_of(web.get("/web/rider/journeys"))
    logout = web.post("/web/logout", data={"csrf_token": token}, follow_redirects=False)
    assert logout.status_code == 303
    assert web.get("/web/rider/journeys", follow_redirects=False).status_code == 303


def test_pages_need_a_login_and_come_back_after_it(web: TestClient, client: TestClient) -> None:
    away = web.get("/web/rider/charges", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/web/login?next=/web/rider/charges"
    rider_account(client, "fay@example.org")
    form = web.get(away.headers["location"])
    assert 'name="next" value="/web/rider/charges"' in form.text
    back = web.post(
        "/web/login",
        data={
            "email": "fay@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_of(form),
            "next": "/web/rider/charges",
        },
        follow_redirects=False,
    )
    assert back.headers["location"] == "/web/rider/charges"
    # `next` never leads to another site.
    web.cookies.clear()
    form = web.get("/web/login")
    rider_account(client, "gil@example.org")
    elsewhere = web.post(
        "/web/login",
        data={
            "email": "gil@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_of(form),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/web/rider/journeys"


def test_a_rider_sees_each_leg_explained_and_the_days_receipt(
    web: TestClient, ana_day: Network
) -> None:
    logged_in(web, "ana@example.org")
    page = web.get(f"/web/rider/journeys?from={DAY}&to={DAY}&lang=en")
    assert page.status_code == 200
    text = page.text
    assert "Thursday 26 November 2026" in text
    assert text.count('class="leg"') == 2  # Ana's bus and tram, nobody else's
    # Two tickets, the transfer that takes one off, the total.
    assert text.count("€1.30") == 4 and "\u2212€1.30" in text
    assert "covered by the 1-hour ticket" in text
    assert "Visa •••• 1111" in text
    assert "Day total" in text
    receipt_link = f"/web/rider/charges/{charge_id_of(ana_day, APPROVED_PAN)}/receipt"
    assert receipt_link in text
    receipt = web.get(receipt_link)
    assert receipt.status_code == 200
    assert "Charge receipt" in receipt.text and "€1.30" in receipt.text and "1111" in receipt.text
    assert "@media print" in web.get("/web/static/site.css").text
    charges = web.get("/web/rider/charges")
    assert receipt_link in charges.text and "paid" in charges.text
    cards = web.get("/web/rider/cards")
    assert "1111" in cards.text and "POST /v1/riders/me/cards" in cards.text
    french = web.get(f"/web/rider/journeys?from={DAY}&to={DAY}&lang=fr")
    assert "jeudi 26 novembre 2026" in french.text and "1,30\u00a0€" in french.text


def charge_id_of(network: Network, pan: str) -> int:
    last4 = pan[-4:]
    from validators.store import Card

    card = network.db.exec(select(Card).where(Card.last4 == last4)).one()
    charge = network.db.exec(select(Charge).where(Charge.card_token == card.token)).one()
    assert charge.id is not None
    return charge.id


def test_a_rider_never_sees_another_riders_debt_or_receipt(
    web: TestClient, ana_day: Network, db: Session
) -> None:
    bo_debt = db.exec(select(Debt)).one()
    logged_in(web, "ana@example.org")
    token = csrf_of(web.get("/web/rider/debts"))
    paid = web.post(f"/web/rider/debts/{bo_debt.id}/pay", data={"csrf_token": token})
    assert paid.status_code == 404
    receipt = web.get(f"/web/rider/charges/{charge_id_of(ana_day, DECLINED_PAN)}/receipt")
    assert receipt.status_code == 404
    assert web.get("/web/rider/charges/999999/receipt").status_code == 404
    assert "1,30" not in web.get("/web/rider/debts").text  # Ana owes nothing


def test_a_rider_pays_a_debt_from_the_debts_page(
    web: TestClient, ana_day: Network, app: FastAPI, db: Session
) -> None:
    logged_in(web, "bo@example.org")
    page = web.get("/web/rider/debts?lang=en")
    assert "to pay" in page.text and "€1.30" in page.text
    debt = db.exec(select(Debt)).one()
    declined = web.post(f"/web/rider/debts/{debt.id}/pay", data={"csrf_token": csrf_of(page)})
    assert declined.status_code == 200 and "declined the payment" in declined.text
    app.state.settlement.override = FundedAgain(sleep=no_sleep)
    paid = web.post(f"/web/rider/debts/{debt.id}/pay", data={"csrf_token": csrf_of(page)})
    assert paid.status_code == 200 and "Debt paid" in paid.text
    assert "Pay</button>" not in paid.text
    db.refresh(debt)
    assert debt.status == "recovered"


def test_finance_pages_are_closed_to_riders(web: TestClient, ana_day: Network) -> None:
    logged_in(web, "ana@example.org")
    for path in (
        "/web/finance/days",
        f"/web/finance/days/{DAY}",
        f"/web/finance/days/{DAY}/statement.csv",
    ):
        assert web.get(path).status_code == 403, path


def test_finance_sees_days_statements_chart_data_and_reconciliation(
    web: TestClient, ana_day: Network, auth_headers: Headers, client: TestClient
) -> None:
    auth_headers("finance")  # creates finance-0@example.org
    response = web_login(web, "finance-0@example.org", "password-123")
    assert response.headers["location"] == "/web/finance/days"
    days = web.get("/web/finance/days?lang=en")
    assert f'href="/web/finance/days/{DAY}"' in days.text and "closed" in days.text
    page = web.get(f"/web/finance/days/{DAY}?lang=en")
    assert page.status_code == 200
    assert page.text.count('class="operator"') == 2  # bus and tram earned that day
    assert 'id="revenue-chart"' in page.text and '"divia-tram"' in page.text
    assert "Reconciled: everything matches." in page.text
    assert "Refund a charge" in page.text
    csv_page = web.get(f"/web/finance/days/{DAY}/statement.csv")
    api_csv = client.get(
        f"/v1/finance/service-days/{DAY}/statements?format=csv", headers=auth_headers("finance")
    )
    assert csv_page.status_code == 200 and csv_page.text == api_csv.text
    assert csv_page.headers["content-type"].startswith("text/csv")
    assert web.get("/web/finance/days/2020-01-01").status_code == 404
    chart = web.get("/web/static/chart.js")
    assert chart.status_code == 200 and "Chart.js v4" in chart.text[:200]


def test_the_pages_are_not_in_the_openapi_document(app: FastAPI) -> None:
    assert not [path for path in app.openapi()["paths"] if path.startswith("/web")]


def test_finance_refunds_a_charge_by_its_receipt_number(
    web: TestClient, ana_day: Network, auth_headers: Headers, db: Session
) -> None:
    auth_headers("finance")
    web_login(web, "finance-0@example.org", "password-123")
    page = web.get(f"/web/finance/days/{DAY}?lang=en")
    form = {
        "csrf_token": csrf_of(page),
        "client_key": CLIENT_KEY.search(page.text).group(1),  # type: ignore[union-attr]
        "charge_id": str(charge_id_of(ana_day, APPROVED_PAN)),
        "amount": "0,50",
        "reason": "Tram stopped for 40 minutes",
    }
    done = web.post(f"/web/finance/days/{DAY}/refunds?lang=en", data=form)
    assert done.status_code == 200 and "Refund done." in done.text
    # The same form sent again (a double click, a reload) refunds once.
    again = web.post(f"/web/finance/days/{DAY}/refunds", data=form)
    assert again.status_code == 200
    refunded = db.exec(select(Refund)).all()
    assert [r.amount_minor for r in refunded] == [50]
    too_much = web.post(
        f"/web/finance/days/{DAY}/refunds",
        data={**form, "client_key": "another-key-123", "amount": "5.00"},
    )
    assert too_much.status_code == 409
    bad = web.post(f"/web/finance/days/{DAY}/refunds", data={**form, "amount": "0.001"})
    assert bad.status_code == 422
    not_a_number = web.post(f"/web/finance/days/{DAY}/refunds", data={**form, "charge_id": "x"})
    assert not_a_number.status_code == 422
    assert not_a_number.headers["content-type"].startswith("text/html")
