"""Fixed-window rate limits kept in the database, so every worker counts the same.

One upsert per check (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING count`). Old
windows are swept now and then, not on every call.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from validators.errors import ValidatorsError
from validators.store import RateLimitCounter


class RateLimited(ValidatorsError):
    code = "rate_limited"
    kind = "rate_limited"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


def check(session: Session, *, key: str, limit: int, window_s: int, now: datetime) -> None:
    """Count one request for `key`; RateLimited (429, Retry-After) past `limit`."""
    epoch = int(now.timestamp())
    window = epoch - epoch % window_s
    table = RateLimitCounter.__table__  # type: ignore[attr-defined]
    build = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    insert = build(table).values(key=key, window_start=window, count=1)
    upsert = insert.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": table.c.count + 1}
    ).returning(table.c.count)
    count = session.execute(upsert).scalar_one()
    if secrets.randbelow(200) == 0:
        session.execute(sa.delete(table).where(table.c.window_start < window - 3600))
    if count > limit:
        raise RateLimited(
            "Too many requests; try again later.", retry_after_s=window + window_s - epoch
        )
