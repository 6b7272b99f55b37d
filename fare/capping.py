"""Fare caps (fare_capping.txt) over service days, weeks (Monday-Sunday) and months.

Legs are taken in time order and each cap keeps a running total per period, so a cap
reduces the leg (and the service day) on which it is reached and never an earlier one:
the amount of a day depends only on that day and the days before it. Caps stack: a leg is
reduced by the most any of its caps requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from fare.tariff import Cap


class Spend(NamedTuple):  # built per leg: a named tuple is the cheapest record
    """What one leg adds to cap totals, after its transfer and park-and-ride adjustments."""

    leg_index: int
    service_day: date
    kind: str
    network_id: str | None
    amount_minor: int


class Reduction(NamedTuple):
    leg_index: int
    service_day: date
    cap: Cap
    amount_minor: int  # positive: how much the cap takes off


@lru_cache(maxsize=8192)  # a handful of periods cover millions of legs
def period_start(period: str, service_day: date) -> date:
    if period == "day":
        return service_day
    if period == "week":
        return service_day - timedelta(days=service_day.weekday())
    return service_day.replace(day=1)


def in_scope(cap: Cap, kind: str, network_id: str | None) -> bool:
    """Empty network_ids cover every transit network; bike and parking count only where
    a cap names their network (DESIGN §4.1)."""
    if not cap.network_ids:
        return kind == "transit"
    return network_id in cap.network_ids


class CapIndex:
    """The caps of one rider category and medium, by the kind and network they cover."""

    def __init__(self, caps: Iterable[Cap], category: str | None, medium: str | None) -> None:
        self.caps = tuple(
            cap
            for cap in caps
            if (cap.rider_category_id is None or cap.rider_category_id == category)
            and (cap.fare_media_id is None or cap.fare_media_id == medium)
        )
        self._scoped: dict[tuple[str, str | None], tuple[Cap, ...]] = {}

    def scoped(self, kind: str, network_id: str | None) -> tuple[Cap, ...]:
        found = self._scoped.get((kind, network_id))
        if found is None:
            found = tuple(cap for cap in self.caps if in_scope(cap, kind, network_id))
            self._scoped[(kind, network_id)] = found
        return found


def apply_caps(index: CapIndex, spends: Iterable[Spend]) -> list[Reduction]:
    """`spends` in time order; one reduction per leg that reaches a cap."""
    totals: dict[tuple[str, date], int] = {}
    reductions: list[Reduction] = []
    for spend in spends:
        scoped = index.scoped(spend.kind, spend.network_id)
        if not scoped:
            continue
        day = spend.service_day
        keys = [(cap.cap_id, period_start(cap.period, day)) for cap in scoped]
        amount = spend.amount_minor
        binding: Cap | None = None
        cut = 0
        for cap, key in zip(scoped, keys, strict=True):
            over = totals.get(key, 0) + amount - cap.amount_minor
            if over > cut:
                binding, cut = cap, over
        cut = min(cut, max(amount, 0))
        if binding is not None and cut > 0:
            reductions.append(Reduction(spend.leg_index, day, binding, cut))
        for key in keys:
            totals[key] = totals.get(key, 0) + amount - cut
    return reductions
