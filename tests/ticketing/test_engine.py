"""The engine's PostgreSQL sessions: what every bulk read straight from the driver
relies on (settlement.daydata reads a day's taps that way)."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Engine, text

from ticketing.db import make_engine


def test_postgresql_sessions_run_in_utc_whatever_the_server_default(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no session time zone")
    database = engine.url.database
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        # What new sessions of this database get unless they say otherwise.
        connection.execute(
            text(f"ALTER DATABASE \"{database}\" SET TimeZone = 'America/Los_Angeles'")
        )
    fresh = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with fresh.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:
                cursor.execute("SELECT current_setting('TimeZone'), now()")
                zone, moment = cursor.fetchone() or (None, None)
    finally:
        fresh.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" RESET TimeZone'))
    assert zone == "UTC"
    assert moment is not None and moment.tzinfo is UTC
