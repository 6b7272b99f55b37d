"""Settlement benchmark: close a service day of N taps on PostgreSQL (DESIGN §5).

Generates a Dijon-like day straight into a fresh database with COPY (about 4 taps per
card: tram and bus boardings with one-hour transfers, some Vélodi rentals and car-park
stays, a few refused taps and declining cards), then closes it with the same function as
`ticketing settle` (simulated acquirer, in-process). Each close runs in a fresh process,
so its peak memory is its own (and its pricing workers' the largest of theirs).

Prints one JSON object: per size asked, the close's seconds (best of `--repeat`; the
settlement tables are emptied between repeats) and its phases, taps/s, rows written per
table, peak memory, the load average seen, and the baseline of the same run: a plain
scan of the day's taps into Python and a COPY of as many rows as the close wrote.
`--scaling` closes 1,000,000 then 2,000,000 taps and reports the ratio of their times
(target: <= 60 s and <= 2.2x).

    uv run python bench/settle.py [--taps 1000000 ...] [--scaling] [--repeat 2]
        [--workers N] [--seed 7] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import random
import resource
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from settlement.closing import close_service_day  # noqa: E402
from settlement.processor import StoredSimulatedAcquirer  # noqa: E402
from ticketing import models  # noqa: E402, F401  (every table on the metadata)
from ticketing.app import DEMO_TARIFF  # noqa: E402
from ticketing.db import make_engine, make_session_factory, upgrade  # noqa: E402
from validators.tariffs import ActiveTariff, TariffCache, ensure_default  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_SETTLE_DB", "settle_bench")
PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 11, 26)
ROUTES = {
    "T1": ("divia-tram", ("GARE", "FOCH", "DARCY", "GODRANS", "REPUBLIQUE", "QUETIGNY")),
    "T2": ("divia-tram", ("VALMY", "TOISON", "REPUBLIQUE", "GODRANS", "DARCY", "CHENOVE")),
    "L3": ("divia-bus", ("FONTAINE", "DARCY", "REPUBLIQUE", "TOISON")),
    "L5": ("divia-bus", ("UNIVERSITE", "REPUBLIQUE", "DARCY", "TALANT")),
    "CO": ("divia-bus", ("TOISON", "GRESILLES", "UNIVERSITE", "CHENOVE", "FONTAINE")),
}
TAP_COLUMNS = (
    "tap_id",
    "device_id",
    "operator_id",
    "kind",
    "occurred_at",
    "received_at",
    "service_day",
    "route_id",
    "stop_id",
    "bike_id",
    "plan_id",
    "facility_id",
    "card_token",
    "status",
    "decision",
    "reason",
    "late",
)
SETTLEMENT_TABLES = (
    "priced_legs",
    "priced_adjustments",
    "charges",
    "charge_shares",
    "ledger_transactions",
    "ledger_postings",
    "simulated_acquirer_charges",
    "operator_statements",
    "debts",
    "deny_list",
    "deny_list_changes",
    "settlement_days",
    "service_days",
)
# Emptied with the tables above when a day is closed again (`--repeat`).
RESET_TOO = ("late_taps_settled", "simulated_acquirer_attempts")


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + (
        f"/{DB_NAME}"
    )


def generate(count: int, rng: random.Random) -> tuple[list[tuple[object, ...]], list[str]]:
    """About `count` taps of one day; returns (tap rows, card tokens)."""
    start = datetime(DAY.year, DAY.month, DAY.day, 5, 0, tzinfo=PARIS)
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    tokens: list[str] = []
    n = 0

    def add(kind: str, operator: str, at: datetime, token: str | None, **fields: object) -> None:
        nonlocal n
        n += 1
        decision = "deny" if kind != "bike_return" and rng.random() < 0.003 else "allow"
        rows.append(
            (
                str(uuid.UUID(int=n)),
                f"dev-{operator}",
                operator,
                kind,
                at,
                now,
                DAY,
                fields.get("route_id"),
                fields.get("stop_id"),
                fields.get("bike_id"),
                fields.get("plan_id"),
                fields.get("facility_id"),
                token,
                "accepted",
                decision,
                "deny_list" if decision == "deny" else None,
                False,
            )
        )

    route_ids = list(ROUTES)
    while len(rows) < count:
        token = f"bench-{len(tokens):07d}"
        tokens.append(token)
        at = start + timedelta(minutes=rng.randint(0, 15 * 60))
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 6))):
            roll = rng.random()
            if roll < 0.86:
                route = rng.choice(route_ids)
                operator, stops = ROUTES[route]
                add("tap_in", operator, at, token, route_id=route, stop_id=rng.choice(stops))
            elif roll < 0.95:
                bike = f"B{rng.randint(1, 400)}-{len(tokens)}"
                add("bike_unlock", "divia-velodi", at, token, bike_id=bike, plan_id="velodi")
                at += timedelta(minutes=rng.randint(5, 75))
                add("bike_return", "divia-velodi", at, None, bike_id=bike)
            else:
                facility = rng.choice(("centre", "gare", "p-r-valmy"))
                add("parking_entry", "indigo-dijon", at, token, facility_id=facility)
                at += timedelta(minutes=rng.randint(20, 300))
                add("parking_exit", "indigo-dijon", at, token, facility_id=facility)
            at += timedelta(minutes=rng.randint(10, 240))
    return rows, tokens


def load(url: str, rows: list[tuple[object, ...]], tokens: list[str], rng: random.Random) -> None:
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY taps ({', '.join(TAP_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        now = datetime.now(UTC)
        with cursor.copy(
            "COPY cards (token, token_kid, bin6, last4, expiry_month, scheme, device_hash, "
            "first_seen_at) FROM STDIN"
        ) as copy:
            for token in tokens:
                # One card in 2,000 is the simulated acquirer's declining test card.
                bin6, last4 = ("400000", "0002") if rng.random() < 0.0005 else ("424242", "4242")
                copy.write_row(
                    (token, "tok-1", bin6, last4, date(2030, 12, 1), "visa", token[-20:], now)
                )
        cursor.execute("ANALYZE")


def baseline(url: str, rows_written: int) -> dict[str, float]:
    """The irreducible work: read the day's taps into Python, COPY as many rows out."""
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "SELECT id, kind, occurred_at, card_token, route_id, stop_id, bike_id, plan_id, "
            "facility_id, status, decision FROM taps WHERE service_day = %s",
            (DAY,),
        )
        scanned = len(cursor.fetchall())
        scan_s = time.perf_counter() - started
        cursor.execute(
            "CREATE TEMP TABLE copy_baseline (a bigint, b varchar(80), c integer, d date, "
            "e timestamptz, f varchar(64))"
        )
        now = datetime.now(UTC)
        started = time.perf_counter()
        with cursor.copy("COPY copy_baseline FROM STDIN") as copy:
            for i in range(rows_written):
                copy.write_row((i, f"bench-{i:07d}", i % 1000, DAY, now, "divia-tram"))
        conn.commit()
        copy_s = time.perf_counter() - started
    return {"scanned": scanned, "scan_seconds": scan_s, "copy_seconds": copy_s}


def count_rows(url: str) -> dict[str, int]:
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn:
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in SETTLEMENT_TABLES
        }


def reset(url: str) -> None:
    """Undo a close (only the close writes these tables here), to close the same day again."""
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn:
        conn.execute(f"TRUNCATE {', '.join((*SETTLEMENT_TABLES, *RESET_TOO))}")
        conn.execute("UPDATE taps SET late = false WHERE late")
        conn.execute("ANALYZE")
        conn.commit()


class Tariffs:
    def __init__(self) -> None:
        self.cache = TariffCache()

    def tariff_on(self, session: Session, day: date) -> ActiveTariff:
        active = self.cache.for_day(session, day)
        assert active is not None
        return active


# The close's phases (`close_service_day(phase=...)`) under the names the issue uses.
PHASES = {
    "load": "load",  # lock, late taps, the day's taps, earlier legs of the week
    "pricing": "journeys_pricing",  # also streams the priced legs to the database
    "writing": "write_priced",  # adjustments, charges, operator shares
    "charging": "charging",  # pending charges, processor calls, charge answers
    "ledger": "ledger_apportionment",  # ledger postings of the shares, debts
    "statements": "statements",  # operator statements, the day closed
}


class PhaseClock:
    """Seconds spent in each phase: a phase lasts until the next one starts."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES.values(), 0.0)
        self._current: str | None = None
        self._since = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.seconds[self._current] += now - self._since
        self._current, self._since = PHASES[name], now

    def stop(self) -> dict[str, float]:
        self("statements")
        self._current = None
        return {name: round(value, 2) for name, value in self.seconds.items()}


def close_once(url: str, workers: int | None, profile: bool) -> dict[str, Any]:
    """Close the day in this (fresh) process; returns the figures."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    tariffs = Tariffs()
    with factory() as session:
        tariffs.tariff_on(session, DAY)  # parse the tariff before the clock starts
        session.commit()
    profiler = cProfile.Profile() if profile else None
    clock = PhaseClock()
    commits = [0.0]
    with factory() as session:

        def checkpoint() -> None:
            started = time.perf_counter()
            session.commit()
            commits[0] += time.perf_counter() - started

        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = close_service_day(
            session,
            day=DAY,
            processor=StoredSimulatedAcquirer(sleep=lambda _: None),
            tariffs=tariffs,
            actor="bench",
            now=lambda: datetime.now(UTC),
            checkpoint=checkpoint,
            batch_size=20_000,
            workers=workers,
            phase=clock,
        )
        session.commit()
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
    engine.dispose()
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(50)
    return {
        "taps": result.taps,
        "cards": result.cards,
        "legs": result.legs,
        "charged_minor": result.charged_minor,
        "paid": result.paid,
        "declined": result.declined,
        "seconds": seconds,
        "phases": clock.stop(),
        "commit_seconds": round(commits[0], 2),  # within the phases
        # kilobytes on Linux; the workers' figure is the largest of them
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
    }


def run_size(
    taps: int, *, seed: int, repeat: int, workers: int | None, profile: bool
) -> dict[str, Any]:
    rng = random.Random(seed)
    url = fresh_database()
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        ensure_default(session, DEMO_TARIFF, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    started = time.perf_counter()
    rows, tokens = generate(taps, rng)
    load(url, rows, tokens, rng)
    generate_s = time.perf_counter() - started
    del rows, tokens

    before = count_rows(url)
    closes = []
    spawn = multiprocessing.get_context("spawn")
    for attempt in range(repeat):
        if attempt:
            reset(url)
        load_before = os.getloadavg()[0]
        with ProcessPoolExecutor(1, mp_context=spawn) as child:
            figures = child.submit(close_once, url, workers, profile).result()
        figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        closes.append(figures)
    best = min(closes, key=lambda figures: float(figures["seconds"]))
    after = count_rows(url)
    written = {table: after[table] - before[table] for table in SETTLEMENT_TABLES}
    rows_written = sum(written.values())
    base = baseline(url, rows_written)
    seconds = float(best["seconds"])
    return {
        "taps": best["taps"],
        "cards": best["cards"],
        "legs": best["legs"],
        "charged_minor": best["charged_minor"],
        "paid": best["paid"],
        "declined": best["declined"],
        "seconds": round(seconds, 2),
        "seconds_each": [round(float(c["seconds"]), 2) for c in closes],
        "taps_per_second": round(int(best["taps"]) / seconds),
        "phases": best["phases"],
        "commit_seconds": best["commit_seconds"],
        "rows_written": rows_written,
        "rows_by_table": {table: count for table, count in written.items() if count},
        "peak_rss_mb": best["peak_rss_mb"],
        "workers_peak_rss_mb": best["workers_peak_rss_mb"],
        "load_average": [c["load_average"] for c in closes],
        "baseline_seconds": round(base["scan_seconds"] + base["copy_seconds"], 2),
        "baseline_scan_seconds": round(base["scan_seconds"], 2),
        "baseline_copy_seconds": round(base["copy_seconds"], 2),
        "generate_seconds": round(generate_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--scaling", action="store_true", help="1,000,000 then 2,000,000 taps")
    parser.add_argument("--repeat", type=int, default=1, help="closes per size; the best counts")
    parser.add_argument("--workers", type=int, default=None, help="pricing processes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sizes = [1_000_000, 2_000_000] if args.scaling else args.taps
    runs = [
        run_size(
            taps,
            seed=args.seed,
            repeat=max(args.repeat, 1),
            workers=args.workers,
            profile=args.profile,
        )
        for taps in sizes
    ]
    report: dict[str, Any] = {
        "benchmark": "settle",
        "cpus": os.cpu_count(),
        "workers": args.workers if args.workers is not None else "auto",
        "runs": runs,
    }
    if len(runs) == 2:
        report["scaling"] = round(runs[1]["seconds"] / runs[0]["seconds"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
