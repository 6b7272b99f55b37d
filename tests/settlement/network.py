"""A small Dijon network of real test devices (tram, bus, bike dock, car-park gate) that
post sealed taps over HTTP, and the close of a day as finance runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement.closing import CloseResult, close_service_day
from settlement.processor import Processor, StoredSimulatedAcquirer
from tests.validators.devices import TestDevice, sealed_card, tap
from validators.schema import utc_now

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 11, 26)  # a Thursday
APPROVED_PAN = "4111111111111111"
OTHER_PAN = "5555555555554444"
DECLINED_PAN = "4000000000000002"  # BIN 400000, last 4 0002: the simulated acquirer declines
FLAKY_PAN = "4000000000000119"  # fails twice per key, then succeeds


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def no_sleep(_: float) -> None:
    return None


@dataclass
class Network:
    db: Session
    client: TestClient
    app: FastAPI
    devices: dict[str, TestDevice] = field(default_factory=dict)
    cards: dict[str, dict[str, str]] = field(default_factory=dict)

    def card(self, pan: str) -> dict[str, str]:
        if pan not in self.cards:
            self.cards[pan] = sealed_card(self.client, pan=pan)
        return self.cards[pan]

    def post(self, device: str, *taps: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.client.post(
            "/v1/devices/taps", json={"taps": list(taps)}, headers=self.devices[device].headers()
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def ride(self, device: str, pan: str | None, at: datetime, **fields: Any) -> dict[str, Any]:
        card = None if pan is None else self.card(pan)
        return self.post(device, tap(card, at=at, **fields))[0]

    def ride_a_morning(self, pan: str = APPROVED_PAN) -> None:
        """Bus at 08:00, tram at 08:30 (a free transfer), a bike from 10:00 to 11:05."""
        self.ride("bus-1", pan, local(8, 0))
        self.ride("tram-1", pan, local(8, 30))
        self.ride("dock-1", pan, local(10, 0), kind="bike_unlock", bike_id="B1")
        self.ride("dock-1", None, local(11, 5), kind="bike_return", bike_id="B1")

    def close(
        self, day: date = DAY, *, processor: Processor | None = None, batch_size: int = 5_000
    ) -> CloseResult:
        return close_service_day(
            self.db,
            day=day,
            processor=processor or StoredSimulatedAcquirer(sleep=no_sleep),
            tariffs=self.app.state.validators,
            actor="finance@example.org",
            now=utc_now,
            checkpoint=self.db.commit,
            sleep=no_sleep,
            batch_size=batch_size,
            cards=self.app.state.validators,
        )


DEVICES = (
    TestDevice("tram-1", "divia-tram", "tram", "T1", "GARE"),
    TestDevice("bus-1", "divia-bus", "bus", "L3", "DARCY"),
    TestDevice("dock-1", "divia-velodi", "bike_dock", None, None),
    TestDevice("gate-1", "indigo-dijon", "parking_gate", None, None, "gare"),
)


def make_network(db: Session, client: TestClient, app: FastAPI) -> Network:
    network = Network(db, client, app)
    for template in DEVICES:
        device = TestDevice(
            template.device_id,
            template.operator_id,
            template.kind,
            template.route_id,
            template.stop_id,
            template.facility_id,
        )
        device.register(db)
        network.devices[device.device_id] = device
    db.commit()
    return network


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


ONE_HOUR = timedelta(hours=1)
