"""Fixed-window rate limits kept in the database, so every worker counts the same.

One upsert per check (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING count`), several
counters at once if need be (`counted`). Old windows are swept now and then, not on every call.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from validators.errors import ValidatorsError
from validators.store import RateLimitCounter


class RateLimited(ValidatorsError):
    code = "rate_limited"
    kind = "rate_limited"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `limit` units (requests, taps) per `key` in each window."""

    key: str
    limit: int
    cost: int = 1


def check(session: Session, *, key: str, limit: int, window_s: int, now: datetime) -> None:
    """Count one request for `key`; RateLimited (429, Retry-After) past `limit`. The
    caller's transaction holds the counter: when it rolls back (as it does on
    RateLimited), nothing was spent."""
    counts = counted(session, [Budget(key, limit)], window_s=window_s, now=now)
    if counts[key] > limit:
        raise RateLimited("Too many requests; try again later.", retry_after_s=wait(now, window_s))


def counted(
    session: Session, budgets: Sequence[Budget], *, window_s: int, now: datetime
) -> dict[str, int]:
    """Spend each budget's `cost` in the current window; the counts after it."""
    params: dict[str, object] = {"window": window_of(now, window_s)}
    for n, budget in enumerate(budgets):
        params[f"key{n}"], params[f"cost{n}"] = budget.key, budget.cost
    counts: dict[str, int] = {
        key: count for key, count in session.execute(_upsert(len(budgets)), params)
    }
    if secrets.randbelow(200) == 0:
        table = RateLimitCounter.__table__  # type: ignore[attr-defined]
        old = window_of(now, window_s) - 3600
        session.execute(sa.delete(table).where(table.c.window_start < old))
    return counts


def window_of(now: datetime, window_s: int) -> int:
    epoch = int(now.timestamp())
    return epoch - epoch % window_s


def wait(now: datetime, window_s: int) -> int:
    """Seconds until the window of `now` ends."""
    return window_of(now, window_s) + window_s - int(now.timestamp())


@functools.cache
def _upsert(size: int) -> sa.TextClause:
    # Written out rather than built: intake counts every request, and building the
    # statement with the expression language costs more than running it. The same SQL
    # runs on PostgreSQL and SQLite.
    rows = ", ".join(f"(:key{n}, :window, :cost{n})" for n in range(size))
    return sa.text(
        f"INSERT INTO rate_limit_counters (key, window_start, count) VALUES {rows} "  # noqa: S608 (placeholders only)
        "ON CONFLICT (key, window_start) DO UPDATE "
        "SET count = rate_limit_counters.count + excluded.count "
        "RETURNING key, count"
    )


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """Per device and window: requests to `POST /v1/devices/taps`, and taps in them.

    Sized so that a validator emptying its offline queue (1000-tap batches every two
    seconds) is never refused, while a device stuck in a loop is stopped within a window.

    The count is spent last, in the request's transaction (`spend`). A refused request
    rolls back and so leaves the counts as they were; each worker remembers them, and
    `refuse_known` turns the device's next requests of that window away before any
    envelope is opened: counts only grow within a window, so what was over stays over.
    """

    requests: int = 600
    taps: int = 30_000
    window_s: int = 60
    # device id -> (window, requests, taps) counted when this worker last refused it.
    _refused: dict[str, tuple[int, int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def refuse_known(self, *, device_id: str, taps: int, now: datetime) -> None:
        """RateLimited at once if this worker already saw the device's budget spent."""
        known = self._refused.get(device_id)
        if known is None:
            return
        window, requests, spent = known
        if window != window_of(now, self.window_s):
            del self._refused[device_id]
        elif requests >= self.requests or spent + taps > self.taps:
            raise RateLimited(
                "Too many requests; try again later.", retry_after_s=wait(now, self.window_s)
            )

    def spend(self, session: Session, *, device_id: str, taps: int, now: datetime) -> None:
        requests_key, taps_key = f"intake-requests:{device_id}", f"intake-taps:{device_id}"
        counts = counted(
            session,
            [Budget(requests_key, self.requests), Budget(taps_key, self.taps, cost=taps)],
            window_s=self.window_s,
            now=now,
        )
        if counts[requests_key] > self.requests or counts[taps_key] > self.taps:
            # What stays counted once this request rolls back.
            window = window_of(now, self.window_s)
            self._refused[device_id] = (window, counts[requests_key] - 1, counts[taps_key] - taps)
            raise RateLimited(
                "Too many requests; try again later.", retry_after_s=wait(now, self.window_s)
            )
