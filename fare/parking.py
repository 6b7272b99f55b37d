"""Parking stays priced by an OCPI-shaped tariff (DESIGN §4.1, reference §10).

A stay is cut at every moment an element's restrictions can change (local clock times,
local midnights, min/max durations); between two cuts one element is active. TIME and
PARKING_TIME are one dimension here, since a car park has no charging. Earlier periods are
billed exactly, the last period rounds up to its step_size, FLAT is charged once from the
first element matching at entry, and max_price caps the stay. Amounts are exact fractions
of minor units until the end, rounded half up once.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from fare.money import round_ratio
from fare.tariff import ParkingComponent, ParkingElement, ParkingRestrictions, ParkingTariff

TIME_KINDS = frozenset({"TIME", "PARKING_TIME"})
FLAT_KINDS = frozenset({"FLAT"})


def _active(limits: ParkingRestrictions | None, local: datetime, elapsed: int) -> bool:
    if limits is None:
        return True
    clock = local.hour * 3600 + local.minute * 60 + local.second
    start, end = limits.start_s, limits.end_s
    if start is not None and end is not None and end < start:
        in_hours = clock >= start or clock < end  # a window over midnight
    else:
        in_hours = (start is None or clock >= start) and (end is None or clock < end)
    day = local.date()
    return (
        in_hours
        and (limits.days_of_week is None or day.weekday() in limits.days_of_week)
        and (limits.start_date is None or day >= limits.start_date)
        and (limits.end_date is None or day < limits.end_date)
        and (limits.min_duration_s is None or elapsed >= limits.min_duration_s)
        and (limits.max_duration_s is None or elapsed < limits.max_duration_s)
    )


def _first(
    elements: tuple[ParkingElement, ...], kinds: frozenset[str], local: datetime, elapsed: int
) -> tuple[int, ParkingComponent] | None:
    for position, element in enumerate(elements):
        for component in element.components:
            if component.kind in kinds and _active(element.restrictions, local, elapsed):
                return position, component
    return None


def _cuts(tariff: ParkingTariff, start: datetime, end: datetime, zone: ZoneInfo) -> list[int]:
    """Seconds after entry at which the active element may change."""
    total = int(end.timestamp() - start.timestamp())  # elapsed, across DST too
    offsets = {0, total}
    clocks = {0}
    for element in tariff.elements:
        limits = element.restrictions
        if limits is None:
            continue
        offsets.update(s for s in (limits.min_duration_s, limits.max_duration_s) if s is not None)
        clocks.update(s for s in (limits.start_s, limits.end_s) if s is not None)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        for clock in clocks:
            offsets.add(int(_local_moment(day, clock, zone).timestamp() - start.timestamp()))
        day += timedelta(days=1)
    return sorted(o for o in offsets if 0 <= o <= total)


@lru_cache(maxsize=8192)  # stays on the same few days cross the same few clock times
def _local_moment(day: date, clock: int, zone: ZoneInfo) -> datetime:
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return (midnight + timedelta(seconds=clock)).astimezone(zone)


def by_duration_only(tariff: ParkingTariff) -> bool:
    """Whether the price of a stay depends on its length alone: no restriction names a
    clock time, a date or a weekday."""
    return all(
        element.restrictions is None
        or (
            element.restrictions.start_s is None
            and element.restrictions.end_s is None
            and element.restrictions.start_date is None
            and element.restrictions.end_date is None
            and element.restrictions.days_of_week is None
        )
        for element in tariff.elements
    )


def parking_price(tariff: ParkingTariff, start: datetime, end: datetime, zone: ZoneInfo) -> int:
    elements = tariff.elements
    flat = _first(elements, FLAT_KINDS, start.astimezone(zone), 0)
    # Exact: hour prices times seconds, over 3600, summed as one numerator.
    amount = (flat[1].price_minor if flat else 0) * 3600
    periods: list[tuple[int, ParkingComponent, int]] = []  # element, component, seconds
    cuts = _cuts(tariff, start, end, zone)
    for begin, finish in itertools.pairwise(cuts):
        local = (start + timedelta(seconds=begin)).astimezone(zone)
        found = _first(elements, TIME_KINDS, local, begin)
        if found is None:
            continue  # no element for this moment: it is free
        position, component = found
        if periods and periods[-1][0] == position and periods[-1][1] == component:
            periods[-1] = (position, component, periods[-1][2] + finish - begin)
        else:
            periods.append((position, component, finish - begin))
    for number, (_, component, seconds) in enumerate(periods):
        billed = seconds
        if number == len(periods) - 1:
            step = component.step_size_s
            billed = -(-seconds // step) * step
        amount += component.price_minor * billed
    price = round_ratio(amount, 3600)
    if tariff.max_price_minor is not None:
        price = min(price, tariff.max_price_minor)
    return price
