"""`ticketing settle` killed with SIGKILL in the middle of charging, then run again.

A day of about 6,300 cards is written straight into a scratch database (the taps of
`bench/settle.py`'s generator). Near the end, in token order (the order of charges),
sit three of the simulated acquirer's test cards: one failing twice before it is
approved (0119), one declined (0002), and one answering after 2 s (0259). The close runs
as a real process; as soon as some charges are committed paid, but not all, its process
group is killed, as a crash or an OOM kill would: in practice while the slow card keeps
the last charges uncommitted. The rerun must resume and finish with every card charged
exactly once and the books balanced.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.settle import DAY, generate, load
from settlement.ledger import charge_key
from tests.faults.postgres import plain, scratch_database
from tests.processes import CLI, cli_env, run_cli

TAPS = 24_000  # about 6,300 cards: two charging batches of 5,000
# Test cards at positions in token order: after the first 5,000 charges (one batch).
TEST_CARDS = {-600: "0119", -450: "0002", -300: "0259"}
KILL_DEADLINE_S = 60


def scalar(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def write_day(url: str) -> list[str]:
    """The day's taps and cards, the test cards among the last; returns the tokens."""
    rng = random.Random(11)
    rows, tokens = generate(TAPS, rng)
    load(url, rows, tokens, rng)
    with psycopg.connect(plain(url)) as conn:
        for position, last4 in TEST_CARDS.items():
            conn.execute(
                "UPDATE cards SET bin6 = '400000', last4 = %s WHERE token = %s",
                (last4, tokens[position]),
            )
    return tokens


def settle_killed_midway(env: dict[str, str], url: str, log: Path) -> tuple[int, int]:
    """Start the close, SIGKILL it once some charges are paid; (paid, total) at the kill."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "settle", "--service-day", DAY.isoformat()],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the close and any pricing workers: one group to kill
        )
    try:
        deadline = time.monotonic() + KILL_DEADLINE_S
        with psycopg.connect(plain(url), autocommit=True) as conn:
            while time.monotonic() < deadline:
                assert process.poll() is None, f"the close ended before the kill: {log.read_text()}"
                paid, total = conn.execute(
                    "SELECT count(*) FILTER (WHERE status = 'paid'), count(*) FROM charges"
                ).fetchone() or (0, 0)
                if 0 < paid < total:
                    os.killpg(process.pid, signal.SIGKILL)
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"no charge paid within {KILL_DEADLINE_S} s")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return paid, total


def test_a_close_killed_while_charging_resumes_and_charges_every_card_once(
    tmp_path: Path,
) -> None:
    with scratch_database("fault_sigkill") as url:
        env = cli_env(url, tmp_path / "data")
        run_cli(env, "db", "upgrade")
        tokens = write_day(url)

        paid_at_kill, charges_at_kill = settle_killed_midway(env, url, tmp_path / "settle.log")
        with psycopg.connect(plain(url)) as conn:
            day_status = scalar(conn, "SELECT status FROM settlement_days WHERE day = %s", DAY)
            assert day_status == "charging"  # killed between the pricing and the statements

        summary = json.loads(run_cli(env, "settle", "--service-day", DAY.isoformat()))
        assert summary["status"] == "closed"

        with psycopg.connect(plain(url)) as conn:
            assert_every_card_charged_once(conn, tokens)
            assert_the_acquirer_charged_each_key_once(conn)
            assert_the_ledger_balances(conn)
            assert_statements_add_up(conn)
        print(
            f"\nsigkill: {len(tokens)} cards, {charges_at_kill} charges, killed after "
            f"{paid_at_kill} paid; rerun: {summary['paid']} paid, {summary['declined']} "
            f"declined, {summary['failed']} failed; cards charged twice: 0"
        )


def assert_every_card_charged_once(conn: psycopg.Connection[Any], tokens: list[str]) -> None:
    per_card = dict(
        conn.execute(
            "SELECT card_token, count(*) FROM charges "
            "WHERE kind = 'day' AND service_day = %s GROUP BY card_token",
            (DAY,),
        ).fetchall()
    )
    assert set(per_card) == set(tokens)
    assert {count for count in per_card.values()} == {1}
    unanswered = scalar(
        conn,
        "SELECT count(*) FROM charges WHERE amount_minor > 0 "
        "AND status NOT IN ('paid', 'declined')",
    )
    assert unanswered == 0
    declined = [
        charge_id
        for (charge_id,) in conn.execute("SELECT id FROM charges WHERE status = 'declined'")
    ]
    debts = [charge_id for (charge_id,) in conn.execute("SELECT charge_id FROM debts")]
    assert sorted(debts) == sorted(declined)  # one debt per declined charge
    assert len(declined) >= 1


def assert_the_acquirer_charged_each_key_once(conn: psycopg.Connection[Any]) -> None:
    ours = {
        key: (amount, status, processor_id)
        for key, amount, status, processor_id in conn.execute(
            "SELECT idempotency_key, amount_minor, status, processor_id FROM charges "
            "WHERE amount_minor > 0"
        )
    }
    theirs = {
        key: (amount, status, processor_id)
        for key, amount, status, processor_id in conn.execute(
            "SELECT idempotency_key, amount_minor, status, processor_id "
            "FROM simulated_acquirer_charges"
        )
    }
    assert set(theirs) == set(ours)  # no charge the close does not know of, none missing
    answer = {"succeeded": "paid", "declined": "declined"}
    for key, (amount, status, processor_id) in theirs.items():
        assert ours[key] == (amount, answer[status], processor_id), key


def assert_the_ledger_balances(conn: psycopg.Connection[Any]) -> None:
    unbalanced = conn.execute(
        "SELECT currency, sum(amount_minor) FROM ledger_postings GROUP BY currency "
        "HAVING sum(amount_minor) <> 0"
    ).fetchall()
    assert unbalanced == []
    lopsided = scalar(
        conn,
        "SELECT count(*) FROM (SELECT transaction_id FROM ledger_postings "
        "GROUP BY transaction_id HAVING sum(amount_minor) <> 0) t",
    )
    assert lopsided == 0
    posted = [
        key
        for (key,) in conn.execute(
            "SELECT idempotency_key FROM ledger_transactions WHERE idempotency_key LIKE 'charge:%'"
        )
    ]
    answered = [
        charge_key(token, day)
        for token, day in conn.execute(
            "SELECT card_token, service_day FROM charges WHERE status IN ('paid', 'declined')"
        )
    ]
    assert len(posted) == len(set(posted))
    assert sorted(posted) == sorted(answered)


def assert_statements_add_up(conn: psycopg.Connection[Any]) -> None:
    charged = scalar(
        conn, "SELECT sum(amount_minor) FROM charges WHERE kind = 'day' AND service_day = %s", DAY
    )
    closed = scalar(conn, "SELECT charged_minor FROM settlement_days WHERE day = %s", DAY)
    owed = scalar(
        conn, "SELECT sum(amount_minor) FROM operator_statements WHERE service_day = %s", DAY
    )
    assert charged > 0
    assert owed == charged == closed
