"""Monthly partitions of the day-sized tables on PostgreSQL.

Taps, priced legs and adjustments, charges, charge shares and ledger postings grow by a
day's worth of rows every day. On PostgreSQL they are partitioned by range of
`service_day` (migration 0010), one partition per calendar month (`taps_p202611`), plus
a default partition that catches any day without one, so that an insert never fails for
want of a partition. Why months, not days: a rider's history and the weekly and monthly
caps read a card across days, and each query costs a probe per partition it cannot prune
(13 for a year of history, not 400), while a month of a London-sized network (~150 M
taps) is still a table PostgreSQL vacuums and indexes comfortably.

`ensure_months` creates the partitions of the coming months ahead of their rows
(`ticketing db upgrade`, `serve` at start, and every close); a partition created for
rows already in the default partition takes them over. Retention drops a partition once
it is empty (`settlement.retention`). On SQLite all of this is skipped: the tables are
plain.

Every unique key of these tables includes `service_day`, as partitioning requires, and
none of them refers to another by a foreign key, which keeps them distributable by card
on Citus as well (README, "At London's volume").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy import Connection

PARTITIONED = (
    "taps",
    "priced_legs",
    "priced_adjustments",
    "charges",
    "charge_shares",
    "ledger_postings",
)
MONTHS_AHEAD = 2
"""Months after the current one that have their partitions: a missed nightly run or two
never sends a day to the default partition."""

_PARTITION = re.compile(rf"({'|'.join(PARTITIONED)})_(p[0-9]{{6}}|default)")
# Serialises partition changes across processes (any constant both sides agree on).
_LOCK = 0x7469636B_70617274


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    name: str
    month: date | None  # None: the default partition
    rows: int


def is_partition(name: str) -> bool:
    """Whether a table name is one of our partitions, which no model declares."""
    return _PARTITION.fullmatch(name) is not None


def not_a_partition(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name`: compare the models with the tables, not with their
    partitions, which no model declares."""
    return not (type_ == "table" and name is not None and is_partition(name))


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_around(day: date, ahead: int = MONTHS_AHEAD) -> list[date]:
    """The month of `day` and the `ahead` months after it."""
    months = [month_of(day)]
    for _ in range(ahead):
        months.append(next_month(months[-1]))
    return months


def ensure_months(connection: Connection, months: Iterable[date]) -> list[str]:
    """Create the missing partitions of `months` for every partitioned table; returns the
    names created. Cheap when they exist (one catalog read), so callers need not know."""
    existing = _existing_names(connection)
    if not existing:
        return []  # not partitioned: SQLite, or PostgreSQL before migration 0010
    wanted = sorted({month_of(m) for m in months})
    missing = [(t, m) for t in PARTITIONED for m in wanted if _name(t, m) not in existing]
    if not missing:
        return []
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    existing = _existing_names(connection)  # another process may have made them meanwhile
    created = []
    for table, month in missing:
        if _name(table, month) not in existing:
            _create(connection, table, month)
            created.append(_name(table, month))
    return created


def drop_empty_before(connection: Connection, tables: Iterable[str], month: date) -> list[str]:
    """Drop the partitions of `tables` for months before `month` that hold no row: what
    retention leaves behind. Never drops a partition with rows in it."""

    def candidates() -> list[Partition]:
        return [
            part
            for part in list_partitions(connection)
            if part.table in tables and part.month is not None and part.month < month_of(month)
        ]

    if not candidates():
        return []
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    dropped = []
    for part in candidates():  # again: another process may have dropped some meanwhile
        if not _empty(connection, part.name):
            continue
        # Dropping takes this lock anyway; taken before the second look, no tap can land
        # in the partition between that look and the drop.
        connection.execute(sa.text(f"LOCK TABLE {part.table} IN ACCESS EXCLUSIVE MODE"))
        if _empty(connection, part.name):
            connection.execute(sa.text(f"DROP TABLE {part.name}"))
            dropped.append(part.name)
    return dropped


def _empty(connection: Connection, name: str) -> bool:
    found = connection.execute(sa.text(f"SELECT NOT EXISTS (SELECT 1 FROM {name})"))  # noqa: S608
    return bool(found.scalar_one())


def list_partitions(connection: Connection) -> list[Partition]:
    """Every partition with its month and an estimate of its rows (from statistics);
    none where the tables are not partitioned."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(
        sa.text(
            "SELECT parent.relname, child.relname, greatest(child.reltuples, 0) "
            "FROM pg_inherits JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE parent.relname = ANY(:tables) ORDER BY parent.relname, child.relname"
        ),
        {"tables": list(PARTITIONED)},
    )
    found = []
    for table, name, estimate in rows:
        suffix = name[len(table) + 1 :]
        month = None if suffix == "default" else date(int(suffix[1:5]), int(suffix[5:7]), 1)
        found.append(Partition(table, name, month, int(estimate)))
    return found


def _existing_names(connection: Connection) -> set[str]:
    return {p.name for p in list_partitions(connection)}


def _name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _create(connection: Connection, table: str, month: date) -> None:
    name, default = _name(table, month), f"{table}_default"
    bounds = f"FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
    in_range = "service_day >= CAST(:start AS DATE) AND service_day < CAST(:end AS DATE)"
    params = {"start": month.isoformat(), "end": next_month(month).isoformat()}
    stray = connection.execute(
        sa.text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_range})"),  # noqa: S608
        params,
    ).scalar_one()
    if not stray:
        connection.execute(sa.text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES {bounds}"))
        return
    # PostgreSQL refuses a partition whose rows sit in the default partition: take the
    # default out, create the month, move its rows over, put the default back.
    connection.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {default}"))
    connection.execute(sa.text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES {bounds}"))
    connection.execute(
        sa.text(f"INSERT INTO {name} SELECT * FROM {default} WHERE {in_range}"),  # noqa: S608
        params,
    )
    connection.execute(sa.text(f"DELETE FROM {default} WHERE {in_range}"), params)  # noqa: S608
    connection.execute(sa.text(f"ALTER TABLE {table} ATTACH PARTITION {default} DEFAULT"))
