"""The dispute pages and the PDF receipt over HTTP: a rider reports a problem from the
journeys page, finance resolves it with a form, the rider reads the outcome."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, select

from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Dispute, Refund
from tests.settlement.network import (
    APPROVED_PAN,
    DAY,
    DECLINED_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from tests.web.web_helpers import csrf_of, rider_account, web_login

PASSWORD = "a long secret"
REPORT_LINK = re.compile(r'href="(/web/rider/disputes\?card_id=[^"#]+)#report"')
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def day(db: Session, client: TestClient, app: FastAPI) -> Network:
    """Ana rides bus then tram (one ticket, a free transfer); Bo's card is declined."""
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    for email, pan in (("ana@example.org", APPROVED_PAN), ("bo@example.org", DECLINED_PAN)):
        headers = rider_account(client, email)
        linked = client.post(
            "/v1/riders/me/cards", json={"card": network.card(pan)}, headers=headers
        )
        assert linked.status_code == 200, linked.text
    network.ride("bus-1", APPROVED_PAN, local(8, 0))
    network.ride("tram-1", APPROVED_PAN, local(8, 30))
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.close()
    return network


@pytest.fixture
def finance_web(app: FastAPI, auth_headers: Headers) -> Iterator[TestClient]:
    auth_headers("finance")  # finance-0@example.org, password-123
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as other:
        assert web_login(other, "finance-0@example.org", "password-123").status_code == 303
        yield other


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} in the form"
    return found.group(1)


def logged_in(web: TestClient, email: str) -> TestClient:
    assert web_login(web, email, PASSWORD).status_code == 303
    return web


def test_a_rider_reports_a_problem_and_reads_the_answer(
    web: TestClient, finance_web: TestClient, day: Network, db: Session
) -> None:
    logged_in(web, "ana@example.org")
    journeys = web.get(f"/web/rider/journeys?from={DAY}&to={DAY}&lang=en").text
    links = REPORT_LINK.findall(journeys)
    assert len(links) == 2  # one per leg
    assert 'aria-label="Report a problem: Bus L3 · Darcy, 08:00"' in journeys
    assert '<a href="/web/rider/disputes"' in journeys  # the nav link

    form = web.get(links[0].replace("&amp;", "&"))
    assert form.status_code == 200
    assert "Report a problem with a journey" in form.text
    for field in ("reason", "message"):
        assert f'<label for="{field}">' in form.text and f'id="{field}"' in form.text
    fields = {
        "card_id": hidden(form.text, "card_id"),
        "service_day": DAY.isoformat(),
        "leg_index": "0",
        "reason": "wrong_amount",
        "message": "The bus charged me although I had a ticket.",
        "client_key": hidden(form.text, "client_key"),
    }
    refused = web.post("/web/rider/disputes", data=fields)
    assert refused.status_code == 403  # no form token
    sent = web.post(
        "/web/rider/disputes", data={**fields, "csrf_token": csrf_of(form)}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert re.match(r"/web/rider/disputes\?opened=\d+#dispute-\d+", sent.headers["location"])
    twice = web.post(
        "/web/rider/disputes", data={**fields, "csrf_token": csrf_of(form)}, follow_redirects=False
    )
    assert "already=" in twice.headers["location"]
    assert len(db.exec(select(Dispute)).all()) == 1
    mine = web.get(sent.headers["location"])
    assert "Problem reported." in mine.text and "under review" in mine.text
    assert "The bus charged me although I had a ticket." in mine.text

    queue = finance_web.get("/web/finance/disputes?lang=en")
    assert queue.status_code == 200
    assert "The bus charged me although I had a ticket." in queue.text
    assert "Visa •••• 1111" in queue.text
    [dispute_id] = re.findall(r'action="/web/finance/disputes/(\d+)/resolve"', queue.text)
    for label in (f"outcome-{dispute_id}-upheld", f"amount-{dispute_id}", f"reply-{dispute_id}"):
        assert f'for="{label}"' in queue.text
    bad = finance_web.post(
        f"/web/finance/disputes/{dispute_id}/resolve",
        data={"outcome": "upheld", "amount": "abc", "csrf_token": csrf_of(queue)},
    )
    assert bad.status_code == 422
    done = finance_web.post(
        f"/web/finance/disputes/{dispute_id}/resolve",
        data={
            "outcome": "upheld",
            "amount": "1,30",
            "reply": "Refunded: the validator read your card twice.",
            "csrf_token": csrf_of(queue),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert "Outcome recorded." in finance_web.get(done.headers["location"]).text
    [refund] = db.exec(select(Refund)).all()
    assert refund.amount_minor == 130
    again = finance_web.post(
        f"/web/finance/disputes/{dispute_id}/resolve",
        data={"outcome": "rejected", "reply": "No.", "csrf_token": csrf_of(queue)},
    )
    assert again.status_code == 409
    everything = finance_web.get("/web/finance/disputes?status=all&lang=en").text
    assert "upheld" in everything and '/resolve"' not in everything

    outcome = web.get("/web/rider/disputes?lang=fr").text
    assert "acceptée" in outcome and "1,30\u00a0€" in outcome
    assert "Refunded: the validator read your card twice." in outcome


def test_nobody_reports_on_anothers_card_and_riders_stay_out_of_finance(
    web: TestClient, day: Network
) -> None:
    logged_in(web, "ana@example.org")
    journeys = web.get(f"/web/rider/journeys?from={DAY}&to={DAY}").text
    ana_link = REPORT_LINK.findall(journeys)[0].replace("&amp;", "&")
    assert web.get("/web/finance/disputes").status_code == 403
    web.cookies.clear()
    logged_in(web, "bo@example.org")
    assert web.get(ana_link).status_code == 404
    assert web.get("/web/rider/disputes?cursor=garbage").status_code == 422
    assert "Aucune réclamation." in web.get("/web/rider/disputes").text


def test_the_receipt_page_offers_its_pdf(web: TestClient, day: Network) -> None:
    logged_in(web, "ana@example.org")
    charges = web.get("/web/rider/charges").text
    [receipt] = re.findall(r'href="(/web/rider/charges/\d+/receipt)"', charges)
    page = web.get(receipt + "?lang=en")
    assert f'href="{receipt}.pdf?lang=en"' in page.text
    assert "Operators" in page.text and "Divia Bus, Divia Tram" in page.text
    pdf = web.get(receipt + ".pdf?lang=en")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Visa •••• 1111" in text and "Total  €1.30" in text and "-€1.30" in text
    web.cookies.clear()
    logged_in(web, "bo@example.org")
    assert web.get(receipt + ".pdf").status_code == 404
