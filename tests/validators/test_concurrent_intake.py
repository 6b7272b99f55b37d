"""The same batch on two connections at once: one row per tap, both answered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, func, select

from tests.validators.devices import TestDevice, tap
from ticketing.db import make_session_factory, unit_of_work
from validators.intake import IntakeKeys, TapResult, ingest
from validators.schema import utc_now
from validators.sealing import build_card_tlv, seal
from validators.store import Card, Device, Tap
from validators.tokens import TokenKey


@pytest.fixture
def committed_device(engine: Engine) -> Iterator[Device]:
    """These tests need real commits on separate connections, so they clean up by hand."""
    factory = make_session_factory(engine)
    test_device = TestDevice(device_id="tram-concurrent")
    with unit_of_work(factory) as session:
        device = test_device.register(session)
    yield device
    with unit_of_work(factory) as session:
        session.execute(delete(Tap).where(col(Tap.device_id) == device.device_id))
        session.execute(delete(Card).where(col(Card.bin6) == "497010"))
        session.execute(delete(Device).where(col(Device.device_id) == device.device_id))


def test_the_same_batch_posted_concurrently_is_stored_once(
    engine: Engine, committed_device: Device
) -> None:
    card_key = X25519PrivateKey.generate()
    keys = IntakeKeys({"c1": card_key}, TokenKey("t1", b"t" * 32), TokenKey("d1", b"d" * 32))
    batch: list[dict[str, Any]] = []
    for i in range(200):
        sealed = seal(build_card_tlv(f"497010{i:09d}", "3012"), card_key.public_key())
        batch.append(tap({"kid": "c1", "sealed": sealed}))
    # Luhn makes most of these PANs invalid; that is fine: rejected taps are stored too.
    factory = make_session_factory(engine)
    barrier = threading.Barrier(2)
    answers: list[list[TapResult]] = []

    def post() -> None:
        barrier.wait()
        with unit_of_work(factory) as session:
            answers.append(
                ingest(
                    session,
                    device=committed_device,
                    raw_taps=batch,
                    keys=keys,
                    service_day_of=lambda moment: moment.date(),
                    now=utc_now(),
                )
            )

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2
    with Session(engine) as session:
        count = session.exec(
            select(func.count()).where(Tap.device_id == committed_device.device_id)
        ).one()
    assert count == len(batch)
    first, second = answers
    for a, b in zip(first, second, strict=True):
        assert a.tap_id == b.tap_id
        assert a.decision == b.decision
        assert {a.status, b.status} <= {"accepted", "rejected", "duplicate"}
        assert "duplicate" in {a.status, b.status}
