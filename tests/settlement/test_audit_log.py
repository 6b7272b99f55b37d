"""Finance sees who closed, refunded and registered what, and when."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement.processor import StoredSimulatedAcquirer
from tests.settlement.network import APPROVED_PAN, DAY, local, make_network, no_sleep
from tests.validators.devices import TestDevice

Headers = Callable[[str], dict[str, str]]


def test_closing_refunding_and_registering_are_in_the_audit_log(
    db: Session, client: TestClient, app: FastAPI, auth_headers: Headers
) -> None:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    network.ride("tram-1", APPROVED_PAN, local(8, 0))
    finance, admin = auth_headers("finance"), auth_headers("admin")
    closed = client.post(
        f"/v1/finance/service-days/{DAY}/close", headers={**finance, "Idempotency-Key": "c1"}
    )
    assert closed.status_code == 200, closed.text
    device = TestDevice(device_id="bus-audit", operator_id="divia-bus", kind="bus")
    registered = client.post("/v1/admin/devices", json=device.registration(), headers=admin)
    assert registered.status_code == 201

    log = client.get("/v1/finance/audit-log", headers=finance)

    assert log.status_code == 200
    entries = log.json()["entries"]
    assert [(e["action"], e["subject"]) for e in entries[:2]] == [
        ("register_device", "bus-audit"),
        ("close_day", DAY.isoformat()),
    ]
    assert entries[1]["actor"] == "finance-0@example.org"
    assert entries[1]["detail"]["status"] == "closed"
    page = client.get("/v1/finance/audit-log?limit=1", headers=finance).json()
    assert len(page["entries"]) == 1 and page["next_before_id"] == entries[0]["id"]
    assert client.get("/v1/finance/audit-log", headers=auth_headers("rider")).status_code == 403
