"""What the engine prices (legs) and what it answers (a quote)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any


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


# The engine builds a LegPrice per leg and a Quote per card, millions a day. A frozen
# dataclass's __init__ sets each field through object.__setattr__, which costs more than
# the rest of pricing a leg; these builders set the slots directly and give equal objects.
_new = object.__new__


def _setters(cls: type) -> list[Any]:
    return [getattr(cls, f.name).__set__ for f in fields(cls)]


_lp0, _lp1, _lp2, _lp3, _lp4, _lp5, _lp6, _lp7, _lp8 = _setters(LegPrice)
_ad0, _ad1, _ad2, _ad3, _ad4, _ad5 = _setters(Adjustment)
_qu0, _qu1, _qu2, _qu3, _qu4 = _setters(Quote)


def new_leg_price(
    index: int,
    kind: str,
    amount_minor: int,
    fare_product_id: str,
    explanation: str,
    service_day: date,
    operator_id: str,
    network_id: str | None,
    standalone_minor: int,
) -> LegPrice:
    """`LegPrice(...)`, built faster."""
    made = _new(LegPrice)
    _lp0(made, index)
    _lp1(made, kind)
    _lp2(made, amount_minor)
    _lp3(made, fare_product_id)
    _lp4(made, explanation)
    _lp5(made, service_day)
    _lp6(made, operator_id)
    _lp7(made, network_id)
    _lp8(made, standalone_minor)
    return made


def new_adjustment(
    kind: str,
    amount_minor: int,
    explanation: str,
    service_day: date,
    leg_index: int | None,
    cap_id: str | None,
) -> Adjustment:
    """`Adjustment(...)`, built faster."""
    made = _new(Adjustment)
    _ad0(made, kind)
    _ad1(made, amount_minor)
    _ad2(made, explanation)
    _ad3(made, service_day)
    _ad4(made, leg_index)
    _ad5(made, cap_id)
    return made


def new_quote(
    currency: str,
    total_minor: int,
    legs: tuple[LegPrice, ...],
    adjustments: tuple[Adjustment, ...],
    by_service_day: dict[date, int],
) -> Quote:
    """`Quote(...)`, built faster."""
    made = _new(Quote)
    _qu0(made, currency)
    _qu1(made, total_minor)
    _qu2(made, legs)
    _qu3(made, adjustments)
    _qu4(made, by_service_day)
    return made
