"""The real app served by uvicorn on a free port, on a SQLite file, with a small network
whose days are built by real taps through the API and closed by finance over the API.

The savepoint `db` fixture cannot be shared with a server thread, so this module makes
its own database, migrated like any other.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI

from tests.conftest import TEST_SECRET
from tests.validators.devices import TestDevice
from ticketing import auth
from ticketing.app import create_app
from ticketing.db import make_engine, make_session_factory, unit_of_work, upgrade
from ticketing.settings import Settings
from ticketing.users import Role
from validators.sealing import build_card_tlv, public_key_from_b64url, seal

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "a long secret"
ANA, BO, FINANCE = "ana@example.org", "bo@example.org", "finance@example.org"
ANA_PAN = "4111111111111111"
BO_PAN = "4000000000000002"  # the simulated acquirer declines it: Bo owes a day
STRANGER_PAN = "5555555555554444"


@dataclass
class Live:
    url: str
    app: FastAPI
    days: tuple[date, date]  # the two closed days, older first


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def live_app(directory: Path) -> FastAPI:
    settings = Settings(
        database_url=f"sqlite:///{directory / 'web.db'}",
        data_dir=directory / "data",
        jwt_secret=TEST_SECRET,
        card_token_key=TEST_SECRET,
        card_key_encryption_key=TEST_SECRET,
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        for email, password, role in (
            (FINANCE, PASSWORD, Role.finance),
            ("admin@example.org", PASSWORD, Role.admin),
        ):
            auth.create_user(session, email=email, password=password, role=role, now=auth.utc_now())
    return create_app(settings, engine=engine)


def token(api: httpx.Client, email: str) -> dict[str, str]:
    answer = api.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def sealed(api: httpx.Client, pan: str) -> dict[str, str]:
    key = api.get("/v1/devices/card-keys").json()["keys"][0]
    public_key = public_key_from_b64url(key["public_key"])
    return {"kid": key["kid"], "sealed": seal(build_card_tlv(pan, "3012"), public_key)}


def tap(device: TestDevice, api: httpx.Client, pan: str, at: datetime, **fields: Any) -> None:
    body = {
        "tap_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "kind": fields.pop("kind", "tap_in"),
        "card": sealed(api, pan),
        **fields,
    }
    answer = api.post("/v1/devices/taps", json={"taps": [body]}, headers=device.headers())
    answer.raise_for_status()
    assert answer.json()["results"][0]["status"] == "accepted", answer.text


def build_days(url: str) -> tuple[date, date]:
    """Two closed days (the two before today, Paris time), as the system would see them."""
    today = datetime.now(PARIS).date()
    days = (today - timedelta(days=2), today - timedelta(days=1))

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)

    with httpx.Client(base_url=url, timeout=30) as api:
        admin = token(api, "admin@example.org")
        tram = TestDevice("tram-1", "divia-tram", "tram", "T1", "GARE")
        bus = TestDevice("bus-1", "divia-bus", "bus", "L3", "DARCY")
        for device in (tram, bus):
            api.post(
                "/v1/admin/devices", json=device.registration(), headers=admin
            ).raise_for_status()
        for email, pan in ((ANA, ANA_PAN), (BO, BO_PAN)):
            api.post("/v1/riders", json={"email": email, "password": PASSWORD}).raise_for_status()
            linked = api.post(
                "/v1/riders/me/cards", json={"card": sealed(api, pan)}, headers=token(api, email)
            )
            linked.raise_for_status()
        first, second = days
        tap(tram, api, ANA_PAN, at(first, 8, 10))
        tap(bus, api, STRANGER_PAN, at(first, 17, 0))
        tap(bus, api, ANA_PAN, at(second, 8, 0))
        tap(tram, api, ANA_PAN, at(second, 8, 30))  # a free transfer on the bus's ticket
        tap(tram, api, ANA_PAN, at(second, 18, 0))
        tap(tram, api, BO_PAN, at(second, 9, 0))
        tap(bus, api, STRANGER_PAN, at(second, 12, 0))
        finance = token(api, FINANCE)
        for day in days:
            closed = api.post(
                f"/v1/finance/service-days/{day.isoformat()}/close",
                headers={**finance, "Idempotency-Key": f"close-{day.isoformat()}"},
            )
            closed.raise_for_status()
    return days
