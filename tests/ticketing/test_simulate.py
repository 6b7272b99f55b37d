"""`ticketing simulate` on a fresh directory: a day posted over HTTP, and no PAN anywhere."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

from tests.ticketing.test_cli import run
from validators.sealing import bcd_pan
from validators.simulation import DayPlan


def test_a_simulated_day_is_posted_and_leaves_no_card_number_behind(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "simulate",
        "--service-day",
        "2026-11-26",
        "--riders",
        "150",
        TICKETING_LOG_LEVEL="DEBUG",
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["taps"] > 150
    assert summary["results"]["accepted"] > 0.9 * summary["taps"]
    assert summary["results"].get("duplicate", 0) > 0  # the plan has double taps

    pans = [card.pan for card in DayPlan(date(2026, 11, 26), 150, 2026).cards]
    logs = result.stdout + result.stderr
    with sqlite3.connect(tmp_path / "ticketing.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = [
            value
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    text = " ".join(str(v) for v in values if not isinstance(v, bytes))
    blobs = b" ".join(v for v in values if isinstance(v, bytes))
    for pan in pans:
        assert pan not in text and pan not in logs
        assert pan[2:-2] not in text  # no run of the hidden digits either
        assert bcd_pan(pan) not in blobs


def test_simulate_settle_and_the_next_day_declined_cards_are_denied(tmp_path: Path) -> None:
    def simulate(day: str) -> dict[str, object]:
        done = run(tmp_path, "simulate", "--service-day", day, "--riders", "120")
        assert done.returncode == 0, done.stderr
        summary: dict[str, object] = json.loads(done.stdout[done.stdout.index("{") :])
        return summary

    simulate("2026-11-26")
    settled = run(tmp_path, "settle", "--service-day", "2026-11-26")
    assert settled.returncode == 0, settled.stderr
    first = json.loads(settled.stdout.strip().splitlines()[-1])
    assert first["status"] == "closed" and first["declined"] >= 1 and first["paid"] > 50
    again = json.loads(
        run(tmp_path, "settle", "--service-day", "2026-11-26").stdout.splitlines()[-1]
    )
    assert again["status"] == "already_closed" and again["paid"] == 0

    next_day = simulate("2026-11-27")

    results = next_day["results"]
    assert isinstance(results, dict)
    assert results.get("deny:deny_list", 0) >= 1
