"""The finance API: close, service days, statements (JSON and CSV), balances, auth."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement.processor import StoredSimulatedAcquirer
from tests.settlement.network import DAY, DECLINED_PAN, Network, local, make_network
from tests.settlement.network import no_sleep as _no_sleep

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=_no_sleep)
    network = make_network(db, client, app)
    network.ride_a_morning()
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    return network


def close(client: TestClient, headers: dict[str, str], key: str = "close-1") -> dict[str, object]:
    response = client.post(
        f"/v1/finance/service-days/{DAY}/close", headers={**headers, "Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_finance_closes_a_day_and_reads_the_statement(
    network: Network, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    body = close(client, finance)
    assert (body["status"], body["cards"], body["charged_minor"]) == ("closed", 2, 130 + 400 + 130)

    statement = client.get(f"/v1/finance/service-days/{DAY}/statements", headers=finance)
    assert statement.status_code == 200
    document = statement.json()
    assert document["service_day"] == DAY.isoformat()
    assert document["currency"] == "EUR"
    operators = {o["operator_id"]: o for o in document["operators"]}
    assert set(operators) == {"divia-bus", "divia-tram", "divia-velodi"}
    # A 1-hour ticket covering bus then tram is split 65 / 65 (standalone pro rata).
    assert operators["divia-velodi"]["amount_minor"] == 400
    assert sum(o["amount_minor"] for o in operators.values()) == document["charged_minor"]
    assert operators["divia-tram"]["boardings"] == 2
    for line in operators.values():
        assert set(line) >= {
            "operator_id",
            "amount_minor",
            "boardings",
            "legs",
            "standalone_minor",
            "refunds_minor",
            "adjustments_minor",
            "fees_minor",
        }


def test_the_statement_as_csv(network: Network, client: TestClient, auth_headers: Headers) -> None:
    finance = auth_headers("finance")
    close(client, finance)
    response = client.get(f"/v1/finance/service-days/{DAY}/statements?format=csv", headers=finance)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["operator_id"] for r in rows} == {"divia-bus", "divia-tram", "divia-velodi"}
    assert sum(int(r["amount_minor"]) for r in rows) == 660


def test_the_same_idempotency_key_answers_the_first_answer(
    network: Network, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    first = close(client, finance, key="k-1")
    assert close(client, finance, key="k-1") == first
    assert close(client, finance, key="k-2")["status"] == "already_closed"


def test_service_days_and_balances(
    network: Network, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    close(client, finance)
    days = client.get("/v1/finance/service-days", headers=finance).json()["service_days"]
    assert days[0]["service_day"] == DAY.isoformat()
    assert days[0]["status"] == "closed"
    assert days[0]["declined_minor"] == 130
    balances = client.get("/v1/finance/ledger/balances", headers=finance).json()
    assert balances["trial_balance"] == {"EUR": 0}
    accounts = balances["balances"]["EUR"]
    assert accounts["riders_debt"] == 130
    assert accounts["processor_clearing"] == 530
    assert accounts["operator_payable:divia-velodi"] == -400


def test_riders_may_not_use_finance_routes(client: TestClient, auth_headers: Headers) -> None:
    rider = auth_headers("rider")
    for method, path in (
        ("post", f"/v1/finance/service-days/{DAY}/close"),
        ("get", f"/v1/finance/service-days/{DAY}/statements"),
        ("get", "/v1/finance/service-days"),
        ("get", "/v1/finance/ledger/balances"),
        ("get", "/v1/finance/reconciliation?from=2026-11-26&to=2026-11-27"),
    ):
        response = client.request(method, path, headers=rider)
        assert response.status_code == 403, path
        assert response.json()["error"] == "forbidden"
    assert client.get("/v1/finance/service-days").status_code == 401


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/v1/finance/service-days/2026-13-45/statements", 422, "validation_error"),
        ("/v1/finance/service-days/yesterday/statements", 422, "validation_error"),
        ("/v1/finance/service-days/2026-11-20/statements", 404, "service_day_not_closed"),
        ("/v1/finance/service-days/2026-11-26/statements?format=pdf", 422, "validation_error"),
        ("/v1/finance/reconciliation?from=2026-11-27&to=2026-11-26", 422, "invalid_date_range"),
        ("/v1/finance/reconciliation?from=nope&to=2026-11-26", 422, "validation_error"),
    ],
)
def test_bad_input_is_a_4xx_with_the_error_shape(
    client: TestClient, auth_headers: Headers, path: str, status: int, error: str
) -> None:
    response = client.get(path, headers=auth_headers("finance"))
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str)


def test_closing_an_unparseable_day_is_422(client: TestClient, auth_headers: Headers) -> None:
    response = client.post(
        "/v1/finance/service-days/26-11-2026/close", headers=auth_headers("finance")
    )
    assert response.status_code == 422
