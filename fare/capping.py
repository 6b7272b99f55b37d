"""Fare caps (fare_capping.txt) over service days, weeks (Monday-Sunday) and months.

Legs are taken in time order and each cap keeps a running total per period, so a cap
reduces the leg (and the service day) on which it is reached and never an earlier one:
the amount of a day depends only on that day and the days before it. Caps stack: a leg is
reduced by the most any of its caps requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
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


def period_of(cap: Cap, service_day: date) -> date:
    if cap.period == "day":
        return service_day
    if cap.period == "week":
        return service_day - timedelta(days=service_day.weekday())
    return service_day.replace(day=1)


def in_scope(cap: Cap, spend: Spend) -> bool:
    """Empty network_ids cover every transit network; bike and parking count only where
    a cap names their network (DESIGN §4.1)."""
    if not cap.network_ids:
        return spend.kind == "transit"
    return spend.network_id in cap.network_ids


def applicable_caps(caps: Iterable[Cap], category: str | None, medium: str | None) -> list[Cap]:
    return [
        cap
        for cap in caps
        if (cap.rider_category_id is None or cap.rider_category_id == category)
        and (cap.fare_media_id is None or cap.fare_media_id == medium)
    ]


def apply_caps(caps: list[Cap], spends: Iterable[Spend]) -> list[Reduction]:
    """`spends` in time order; one reduction per leg that reaches a cap."""
    totals: dict[tuple[str, date], int] = {}
    reductions: list[Reduction] = []
    scopes: dict[tuple[str, str | None, date], list[tuple[Cap, tuple[str, date]]]] = {}
    for spend in spends:
        scope_key = (spend.kind, spend.network_id, spend.service_day)
        scoped = scopes.get(scope_key)
        if scoped is None:
            scoped = [
                (cap, (cap.cap_id, period_of(cap, spend.service_day)))
                for cap in caps
                if in_scope(cap, spend)
            ]
            scopes[scope_key] = scoped
        if not scoped:
            continue
        amount = spend.amount_minor
        binding: Cap | None = None
        cut = 0
        for cap, key in scoped:
            over = totals.get(key, 0) + amount - cap.amount_minor
            if over > cut:
                binding, cut = cap, over
        cut = min(cut, max(amount, 0))
        if binding is not None and cut > 0:
            reductions.append(Reduction(spend.leg_index, spend.service_day, binding, cut))
        for _, key in scoped:
            totals[key] = totals.get(key, 0) + amount - cut
    return reductions
