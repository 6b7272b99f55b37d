"""Bike-share rentals priced by a GBFS pricing plan.

Every started interval is charged: a segment costs rate x ceil((used - start) / interval)
once the rental passes its start (DESIGN §4.1). Minutes and kilometres segments add up,
on top of the plan's base price. A v3.1 fare_capping caps each window of `duration`
minutes, the same cap applying again to each following window.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from fare.tariff import BikePlan, BikeSegment


def segment_cost(segment: BikeSegment, used: Fraction) -> int:
    limit = used if segment.end is None else min(used, Fraction(segment.end))
    start = Fraction(segment.start)
    if limit <= start:
        return 0
    if segment.interval == 0:
        return segment.rate_minor
    started = -((start - limit) // Fraction(segment.interval))  # ceil without float
    return segment.rate_minor * int(started)


def _minutes_cost(plan: BikePlan, minutes: Fraction) -> int:
    return sum(segment_cost(s, minutes) for s in plan.per_min)


def bike_price(plan: BikePlan, seconds: int, distance_km: Decimal | None) -> int:
    minutes = Fraction(seconds, 60)
    distance = Fraction(distance_km) if distance_km is not None else Fraction(0)
    # Distance is not time-stamped, so its cost belongs to the first capping window.
    fixed = plan.price_minor + sum(segment_cost(s, distance) for s in plan.per_km)
    if plan.cap_minutes is None or plan.cap_price_minor is None:
        return fixed + _minutes_cost(plan, minutes)
    window = Fraction(plan.cap_minutes)
    total = 0
    begin = Fraction(0)
    while True:
        finish = min(minutes, begin + window)
        spent = _minutes_cost(plan, finish) - _minutes_cost(plan, begin)
        if begin == 0:
            spent += fixed
        total += min(spent, plan.cap_price_minor)
        if finish >= minutes:
            return total
        begin = finish
