"""What the engine prices (legs) and what it answers (a quote)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class TransitLeg:
    """One boarding on a GTFS route. `to_stop_id` is None without a tap-out; `end` None
    means the leg is known only by its boarding and is taken as `start`."""

    route_id: str
    from_stop_id: str
    to_stop_id: str | None
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class BikeLeg:
    """One bike-share rental priced by a GBFS pricing plan."""

    plan_id: str
    start: datetime
    end: datetime
    distance_km: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ParkingLeg:
    """One stay in a car park or on-street zone priced by an OCPI tariff."""

    tariff_id: str
    start: datetime
    end: datetime


Leg = TransitLeg | BikeLeg | ParkingLeg


@dataclass(frozen=True, slots=True)
class LegPrice:
    """The price of one input leg. `amount_minor` is what the leg's own fare costs before
    adjustments (transfers, caps, park-and-ride); `standalone_minor` what the leg would cost
    if it were the only one, which settlement uses to apportion revenue."""

    index: int
    kind: str
    amount_minor: int
    fare_product_id: str
    explanation: str
    service_day: date
    operator_id: str
    network_id: str | None
    standalone_minor: int


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A change to the sum of leg prices: transfer, join, cap or park-and-ride. Negative
    for a discount. `leg_index` is the input leg it is booked against."""

    kind: str
    amount_minor: int
    explanation: str
    service_day: date
    leg_index: int | None = None
    cap_id: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    currency: str
    total_minor: int
    legs: tuple[LegPrice, ...]
    adjustments: tuple[Adjustment, ...]
    # The amount of a service day depends only on legs of that day and earlier days, so
    # settlement can charge a day without waiting for the week or the month to end.
    by_service_day: dict[date, int] = field(default_factory=dict)
