"""A charge's receipt as a PDF, read back as text: the amounts a rider would see."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session

from settlement.processor import StoredSimulatedAcquirer
from settlement.web.receipt_pdf import pdf_text
from tests.settlement.network import APPROVED_PAN, make_network, no_sleep
from tests.validators.rider_helpers import rider_headers

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def ana(db: Session, client: TestClient, app: FastAPI) -> tuple[dict[str, str], int]:
    """Ana's day: bus and tram on one ticket, then a bike ride; 5.30 charged."""
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    headers = rider_headers(client, "ana@example.org")
    linked = client.post(
        "/v1/riders/me/cards", json={"card": network.card(APPROVED_PAN)}, headers=headers
    )
    assert linked.status_code == 200
    network.ride_a_morning()
    network.close()
    [charge] = client.get("/v1/riders/me/charges", headers=headers).json()["charges"]
    return headers, charge["charge_id"]


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_receipt_says_what_the_page_says(
    client: TestClient, ana: tuple[dict[str, str], int]
) -> None:
    headers, charge_id = ana
    response = client.get(f"/v1/riders/me/charges/{charge_id}/receipt.pdf?lang=en", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    # It names a person's journeys: never kept by a cache on the way.
    assert response.headers["cache-control"] == "no-store"
    text = text_of(response.content)
    assert "Charge receipt" in text
    assert f"Receipt no. {charge_id}" in text
    assert "Thursday 26 November 2026" in text
    assert "Visa •••• 1111" in text
    assert "paid" in text
    # Each leg's amount, the transfer's adjustment, the day's total and the operators.
    assert text.count("€1.30") >= 2 and "€4.00" in text
    assert "-€1.30" in text
    assert "Total  €5.30" in text
    assert "Divia Bus" in text and "Divia Tram" in text and "divia-velodi" in text
    assert "Bus L3" in text and "1-hour ticket" in text


def test_refunds_show_on_the_receipt_in_french(
    client: TestClient, ana: tuple[dict[str, str], int], auth_headers: Headers
) -> None:
    headers, charge_id = ana
    finance = auth_headers("finance")
    refunded = client.post(
        f"/v1/finance/charges/{charge_id}/refunds",
        json={"amount_minor": 100, "reason": "validator fault"},
        headers={**finance, "Idempotency-Key": "r-1"},
    )
    assert refunded.status_code == 201, refunded.text
    response = client.get(
        f"/v1/riders/me/charges/{charge_id}/receipt.pdf",
        headers={**headers, "Accept-Language": "fr-FR,fr;q=0.9"},
    )
    text = text_of(response.content)
    assert "Reçu de débit" in text
    assert "jeudi 26 novembre 2026" in text
    assert "5,30\u00a0€" in text
    assert "Remboursements" in text and "-1,00\u00a0€" in text
    assert "Payé après remboursements  4,30\u00a0€" in text
    assert "remboursé en partie" in text


def test_another_riders_receipt_is_not_found(
    client: TestClient, ana: tuple[dict[str, str], int]
) -> None:
    _, charge_id = ana
    bo = rider_headers(client, "bo@example.org")
    response = client.get(f"/v1/riders/me/charges/{charge_id}/receipt.pdf", headers=bo)
    assert (response.status_code, response.json()["error"]) == (404, "charge_not_found")
    huge = client.get("/v1/riders/me/charges/99999999999/receipt.pdf", headers=bo)
    assert huge.status_code == 422


def test_text_outside_the_pdf_font_is_spelt_nearby() -> None:
    assert pdf_text("\u22121,30\u202f€ · Gare → Foch") == "-1,30\u00a0€ · Gare \u203a Foch"
    # ó is in the encoding; ź loses its accent; Ł and 東 have no nearby letter.
    assert pdf_text("Łódź 東") == "?ódz ?"
