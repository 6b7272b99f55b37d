"""Partitioning by service day on PostgreSQL (migration 0010, `validators.partitions`).

Each test runs on a scratch database of its own: the migration and partition changes
are DDL that the shared test database must not see. Off CI without PostgreSQL they skip;
in CI they fail (tests.faults.postgres).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text

from tests.faults.postgres import scratch_database
from tests.processes import cli_env, run_cli
from tests.ticketing.test_migrations import differences
from ticketing.db import alembic_config, make_engine, upgrade
from validators.partitions import (
    PARTITIONED,
    drop_empty_before,
    ensure_months,
    list_partitions,
    months_around,
)
from validators.schema import utc_now

TAP = (
    "INSERT INTO taps (tap_id, device_id, operator_id, kind, occurred_at, received_at, "
    "service_day, card_token, status, decision, reason, late) VALUES "
    "(:tap_id, 'd1', 'op1', 'tap_in', :at, :at, :day, :token, :status, :decision, NULL, false)"
)


def accepted(tap_id: str, day: date) -> dict[str, object]:
    """The parameters of `TAP` for an accepted tap at 08:00 UTC on `day`."""
    at = f"{day.isoformat()}T08:00:00+00:00"
    return {
        "tap_id": tap_id,
        "at": at,
        "day": day,
        "token": "k1:card",
        "status": "accepted",
        "decision": "allow",
    }


@pytest.fixture
def scratch() -> Iterator[Engine]:
    with scratch_database("partitions") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def home_of(connection: Connection, table: str, where: str) -> list[str]:
    """The partition each matching row lives in."""
    sql = f"SELECT tableoid::regclass::text FROM {table} WHERE {where} ORDER BY 1"
    return list(connection.execute(text(sql)).scalars())


def is_partitioned(connection: Connection, table: str) -> bool:
    found = connection.execute(
        text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:t)"),
        {"t": table},
    ).first()
    return found is not None


def test_upgrading_a_database_with_rows_partitions_it_and_keeps_every_row(
    scratch: Engine,
) -> None:
    migrate(scratch, "0009")
    with scratch.begin() as c:
        c.execute(
            text(TAP),
            [
                accepted("a", date(2025, 3, 10)),
                # A rejected tap from before every tap had a day.
                {
                    "tap_id": "b",
                    "at": "2025-04-02T23:30:00+00:00",
                    "day": None,
                    "token": None,
                    "status": "rejected",
                    "decision": "deny",
                },
            ],
        )
        c.execute(
            text(
                "INSERT INTO charges (id, card_token, service_day, kind, sequence, posted_day, "
                "amount_minor, currency, status, idempotency_key, attempts, notes, created_at, "
                "updated_at) VALUES (7, 'k1:card', '2025-03-10', 'day', 0, '2025-03-10', 390, "
                "'EUR', 'paid', 'charge:k1:card:2025-03-10', 1, '[]', now(), now())"
            )
        )
        c.execute(
            text(
                "INSERT INTO charge_shares (charge_id, operator_id, amount_minor, "
                "standalone_minor, legs) VALUES (7, 'divia', 390, 390, 2)"
            )
        )
        c.execute(
            text(
                "INSERT INTO ledger_transactions (id, idempotency_key, kind, currency, "
                "service_day, memo, body_hash, posted_at) VALUES "
                "(1, 'charge:k1:card:2025-03-10', 'charge_captured', 'EUR', '2025-03-10', '', "
                "'h', now()), (2, 'refund:1', 'refund', 'EUR', NULL, '', 'h', "
                "'2025-05-06T10:00:00+00:00')"
            )
        )
        c.execute(
            text(
                "INSERT INTO ledger_postings (transaction_id, account, currency, amount_minor) "
                "VALUES (1, 'a', 'EUR', 390), (1, 'b', 'EUR', -390), (2, 'a', 'EUR', -10), "
                "(2, 'c', 'EUR', 10)"
            )
        )

    migrate(scratch, "head")

    with scratch.connect() as c:
        assert all(is_partitioned(c, table) for table in PARTITIONED)
        assert home_of(c, "taps", "tap_id = 'a'") == ["taps_p202503"]
        # The rejected tap got the day of its clock.
        assert c.execute(text("SELECT service_day FROM taps WHERE tap_id = 'b'")).scalar_one() == (
            date(2025, 4, 2)
        )
        assert home_of(c, "charges", "id = 7") == ["charges_p202503"]
        assert home_of(c, "charge_shares", "charge_id = 7") == ["charge_shares_p202503"]
        rows = c.execute(
            text("SELECT transaction_id, min(service_day) FROM ledger_postings GROUP BY 1")
        )
        days = {tx: day for tx, day in rows}
        # A posting without a service day is filed under the day it was posted.
        assert days == {1: date(2025, 3, 10), 2: date(2025, 5, 6)}
        assert c.execute(text("SELECT sum(amount_minor) FROM ledger_postings")).scalar_one() == 0

    # And back: plain tables, the same rows.
    migrate(scratch, "0009", down=True)
    with scratch.connect() as c:
        assert not any(is_partitioned(c, table) for table in PARTITIONED)
        assert c.execute(text("SELECT count(*) FROM taps")).scalar_one() == 2
        assert c.execute(text("SELECT count(*) FROM ledger_postings")).scalar_one() == 4
    migrate(scratch, "head")
    with scratch.connect() as c:
        # The round trip lost no key and no index.
        assert differences(c) == []


def test_a_month_made_after_its_rows_arrived_takes_them_from_the_default_partition(
    scratch: Engine,
) -> None:
    upgrade(scratch)
    with scratch.begin() as c:
        c.execute(
            text(TAP),
            accepted("far", date(2031, 5, 2)),
        )
        assert home_of(c, "taps", "true") == ["taps_default"]

    with scratch.begin() as c:
        created = ensure_months(c, [date(2031, 5, 20)])
    with scratch.begin() as c:
        again = ensure_months(c, [date(2031, 5, 1)])
        home = home_of(c, "taps", "true")
        # A duplicate of the moved row is still refused: the unique key followed it.
        duplicate = c.execute(
            text(f"{TAP} ON CONFLICT (service_day, tap_id) DO NOTHING RETURNING tap_id"),
            accepted("far", date(2031, 5, 2)),
        ).first()

    assert created == [f"{table}_p203105" for table in PARTITIONED]
    assert again == []
    assert home == ["taps_p203105"]
    assert duplicate is None


def test_retention_drops_empty_months_past_the_horizon_and_nothing_else(scratch: Engine) -> None:
    upgrade(scratch)
    with scratch.begin() as c:
        ensure_months(c, [date(2024, 1, 1), date(2024, 2, 1)])
        c.execute(
            text(TAP),
            accepted("kept", date(2024, 2, 3)),
        )
    with scratch.begin() as c:
        dropped = drop_empty_before(c, ("taps", "priced_legs"), date(2025, 1, 1))
        left = {p.name for p in list_partitions(c)}

    assert dropped == ["priced_legs_p202401", "priced_legs_p202402", "taps_p202401"]
    assert "taps_p202402" in left  # it still has a row
    assert "charges_p202401" in left  # financial records are not retention's to drop


def test_the_cli_makes_the_coming_months_and_lists_them(scratch: Engine, tmp_path: Path) -> None:
    env = cli_env(scratch.url.render_as_string(hide_password=False), tmp_path)
    run_cli(env, "db", "upgrade")

    listed = json.loads(run_cli(env, "db", "partitions", "--ahead", "5"))

    this_month = utc_now().date().replace(day=1)
    months = {p["month"] for p in listed["partitions"] if p["table"] == "charges"}
    assert listed["partitioned"] is True
    assert {m.isoformat()[:7] for m in months_around(this_month, 5)} <= months
    assert None in months  # the default partition
    # upgrade made this month and the next two; the rest were new now.
    assert sorted(listed["created"])[-1] == f"taps_p{months_around(this_month, 5)[-1]:%Y%m}"
