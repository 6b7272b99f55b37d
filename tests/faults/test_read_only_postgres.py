"""A PostgreSQL database that refuses writes (read-only, as after a failover to a replica
or an operator's emergency switch): intake answers 503 with Retry-After, stores nothing."""

from __future__ import annotations

from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.faults.postgres import plain, scratch_database
from tests.validators.devices import TestDevice, sealed_card, tap
from ticketing.app import create_app
from ticketing.db import make_engine, make_session_factory, unit_of_work, upgrade
from ticketing.settings import Settings

SECRET = "k" * 43


def test_a_read_only_postgres_answers_intake_503_and_stores_nothing(tmp_path: Path) -> None:
    device = TestDevice("tram-ro-1", "divia-tram", "tram", "T1", "GARE")
    with scratch_database("fault_read_only") as url:
        settings = Settings(
            database_url=url,
            data_dir=tmp_path / "data",
            jwt_secret=SECRET,
            card_token_key=SECRET,
            card_key_encryption_key=SECRET,
        )
        writable = make_engine(url)
        upgrade(writable)
        with unit_of_work(make_session_factory(writable)) as session:
            device.register(session)
        with TestClient(create_app(settings, engine=writable)) as client:  # keys, tariff
            card = sealed_card(client)
        writable.dispose()

        name = make_url(url).database
        with psycopg.connect(plain(url), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')

        read_only = make_engine(url)
        try:
            app = create_app(settings, engine=read_only)
            with TestClient(app, raise_server_exceptions=False) as client:
                response = client.post(
                    "/v1/devices/taps", json={"taps": [tap(card)]}, headers=device.headers()
                )
        finally:
            read_only.dispose()

        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        assert response.json()["error"] == "database_unavailable"
        with psycopg.connect(plain(url)) as conn:
            stored = conn.execute("SELECT count(*) FROM taps").fetchone()
        assert stored == (0,)
