"""partition by service day

Every unique key of the day-sized tables carries the service day (both dialects), taps
always have a day, and on PostgreSQL taps, priced legs and adjustments, charges, charge
shares and ledger postings become tables partitioned by month of service day, with a
default partition for the rest (`validators.partitions` keeps months ahead). The
conversion copies the rows; on an empty or small database it is instant.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Named here, not imported from validators.partitions: a migration stays as written.
PARTITIONED = (
    "taps",
    "priced_legs",
    "priced_adjustments",
    "charges",
    "charge_shares",
    "ledger_postings",
)


def upgrade() -> None:
    bind = op.get_bind()
    on_postgresql = bind.dialect.name == "postgresql"

    def day_of(column: str) -> str:
        return f"CAST({column} AS DATE)" if on_postgresql else f"date({column})"

    # Rows from before a day was mandatory: a rejected tap's day is taken from its clock.
    op.execute(f"UPDATE taps SET service_day = {day_of('occurred_at')} WHERE service_day IS NULL")
    with op.batch_alter_table("taps", schema=None) as batch_op:
        batch_op.alter_column("service_day", existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_taps_tap_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_taps_service_day_tap_id"), ["service_day", "tap_id"]
        )
        batch_op.create_index(batch_op.f("ix_taps_tap_id"), ["tap_id"], unique=False)
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_charges_idempotency_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_charges_service_day_idempotency_key"),
            ["service_day", "idempotency_key"],
        )
        batch_op.create_index(
            batch_op.f("ix_charges_idempotency_key"), ["idempotency_key"], unique=False
        )
    # Shares and postings name their day too, so that they can be partitioned by it.
    with op.batch_alter_table("charge_shares", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_day", sa.Date(), nullable=True))
    op.execute(
        "UPDATE charge_shares SET service_day = "
        "(SELECT service_day FROM charges WHERE charges.id = charge_shares.charge_id)"
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_day", sa.Date(), nullable=True))
    op.execute(
        "UPDATE ledger_postings SET service_day = (SELECT COALESCE(t.service_day, "
        f"{day_of('t.posted_at')}) FROM ledger_transactions t "
        "WHERE t.id = ledger_postings.transaction_id)"
    )
    for table in ("charge_shares", "ledger_postings"):
        # Orphans (a share or posting whose parent is gone) keep a day of their own.
        op.execute(f"UPDATE {table} SET service_day = '2000-01-01' WHERE service_day IS NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("service_day", existing_type=sa.Date(), nullable=False)
    if not on_postgresql:
        return
    for table in PARTITIONED:
        _rebuild(bind, table, partitioned=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in PARTITIONED:
            _rebuild(bind, table, partitioned=False)
    for table in ("charge_shares", "ledger_postings"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("service_day")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charges_idempotency_key"))
        batch_op.drop_constraint(
            batch_op.f("uq_charges_service_day_idempotency_key"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_charges_idempotency_key"), ["idempotency_key"]
        )
    with op.batch_alter_table("taps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taps_tap_id"))
        batch_op.drop_constraint(batch_op.f("uq_taps_service_day_tap_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_taps_tap_id"), ["tap_id"])
        batch_op.alter_column("service_day", existing_type=sa.Date(), nullable=True)


def _rebuild(bind: sa.Connection, table: str, *, partitioned: bool) -> None:
    """Recreate `table` as a table partitioned by month of service day (or back as a
    plain table), with the same columns, defaults, constraints, indexes and rows."""
    old = f"{table}_before_0010"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    constraints = bind.execute(
        sa.text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u') ORDER BY conname"
        ),
        {"t": old},
    ).all()
    indexes = bind.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass)) ORDER BY indexname"
        ),
        {"t": old},
    ).all()
    sequence = bind.execute(
        sa.text(
            "SELECT pg_get_serial_sequence(:t, attname) FROM pg_attribute "
            "WHERE attrelid = CAST(:t AS regclass) AND attname = 'id'"
        ),
        {"t": old},
    ).scalar_one_or_none()
    for name, _, _ in constraints:
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        op.execute(f"DROP INDEX {name}")
    layout = " PARTITION BY RANGE (service_day)" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){layout}")
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    for name, kind, definition in constraints:
        if kind == "p":
            # A partitioned table's keys must hold its partition key.
            definition = _primary_key(table, partitioned)
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for _, definition in indexes:
        # A partitioned table's index reads "ON ONLY": the new one must cover every part.
        target = definition.replace(" ON ONLY public.", " ON public.")
        op.execute(target.replace(f" ON public.{old} ", f" ON public.{table} "))
    if partitioned:
        months = bind.execute(
            sa.text(
                f"SELECT DISTINCT CAST(date_trunc('month', service_day) AS DATE) FROM {old}"  # noqa: S608
            )
        ).scalars()
        today = date.today()
        current = date(today.year, today.month, 1)
        for month in sorted({*months, current, _next(current), _next(_next(current))}):
            op.execute(
                f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next(month).isoformat()}')"
            )
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")  # noqa: S608
    op.execute(f"DROP TABLE {old}")


def _primary_key(table: str, partitioned: bool) -> str:
    keys = {"charge_shares": "charge_id, operator_id"}.get(table, "id")
    return f"PRIMARY KEY ({keys}, service_day)" if partitioned else f"PRIMARY KEY ({keys})"


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)
