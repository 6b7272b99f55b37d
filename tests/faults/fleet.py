"""A fleet of validators posting taps the way device firmware should, for the fault
tests: a batch is sent again until it is answered 200, waiting `Retry-After` on 503 and a
moment on a connection error; and what the database holds afterwards."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from tests.faults.postgres import PrivateCluster, plain
from tests.validators.devices import TestDevice
from ticketing.db import make_engine, make_session_factory, unit_of_work, upgrade
from validators.sealing import build_card_tlv, seal

BATCH = 25
PANS = ("4111111111111111", "5555555555554444", "4012888888881881", "6011111111111117")


@dataclass
class Validator:
    """A device posting batches until told to stop, retrying each batch until stored."""

    base: str
    device: TestDevice
    card_key: tuple[str, bytes]
    deadline: float
    database_down: threading.Event
    done: threading.Event = field(default_factory=threading.Event)
    posted: list[str] = field(default_factory=list)
    batches_stored: int = 0
    duplicates: int = 0  # taps stored by a request whose answer was lost, then re-sent
    answers: dict[int, int] = field(default_factory=dict)  # status -> count
    unavailable_while_down: int = 0
    without_retry_after: int = 0
    connection_errors: int = 0
    unexpected: list[str] = field(default_factory=list)
    atc: int = 0  # the card's transaction counter: a repeat within seconds is a double tap

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.done.is_set() and time.monotonic() < self.deadline:
                batch = [self._tap() for _ in range(BATCH)]
                self.posted.extend(tap["tap_id"] for tap in batch)
                if not self._send_until_stored(client, batch):
                    return

    def _tap(self) -> dict[str, Any]:
        self.atc += 1
        kid, public_key = self.card_key
        tlv = build_card_tlv(PANS[self.atc % len(PANS)], "3012", atc=self.atc)
        return {
            "tap_id": str(uuid.uuid4()),
            "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
            "kind": "tap_in",
            "card": {"kid": kid, "sealed": seal(tlv, public_key)},
        }

    def _send_until_stored(self, client: httpx.Client, batch: list[dict[str, Any]]) -> bool:
        resent = False
        while time.monotonic() < self.deadline:
            try:
                response = client.post(
                    "/v1/devices/taps", json={"taps": batch}, headers=self.device.headers()
                )
            except httpx.TransportError:
                self.connection_errors += 1
                resent = True
                time.sleep(0.2)
                continue
            status = response.status_code
            self.answers[status] = self.answers.get(status, 0) + 1
            if status == 200:
                statuses = [result["status"] for result in response.json()["results"]]
                # A duplicate is right only for a batch sent again: its first sending was
                # stored, but the answer was lost.
                self.duplicates += statuses.count("duplicate")
                if set(statuses) - ({"accepted", "duplicate"} if resent else {"accepted"}):
                    self.unexpected.append(f"200 with {statuses}")
                self.batches_stored += 1
                return True
            resent = True
            if status in (429, 503) and "retry-after" in response.headers:
                if status == 503 and self.database_down.is_set():
                    self.unavailable_while_down += 1
                time.sleep(min(float(response.headers["retry-after"]), 5.0))
                continue
            if status == 503:
                self.without_retry_after += 1
            else:
                self.unexpected.append(f"{status}: {response.text[:300]}")
            time.sleep(0.5)
        return False

    def wait_for(self, batches: int) -> None:
        """Until `batches` batches in all are stored (bounded by the deadline)."""
        while self.batches_stored < batches and time.monotonic() < self.deadline:
            time.sleep(0.05)
        assert self.batches_stored >= batches, f"stuck at {self.batches_stored} batches"


def register_devices(cluster: PrivateCluster, fleet: list[TestDevice]) -> None:
    """Migrate the cluster's database and register the devices."""
    engine = make_engine(cluster.url)
    try:
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            for device in fleet:
                device.register(session)
    finally:
        engine.dispose()


def stored_taps(cluster: PrivateCluster) -> list[tuple[str, int]]:
    with psycopg.connect(plain(cluster.url)) as conn:
        rows = conn.execute("SELECT tap_id, count(*) FROM taps GROUP BY tap_id").fetchall()
    return [(str(tap_id), int(count)) for tap_id, count in rows]
