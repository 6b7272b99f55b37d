"""The tariff: every rule the engine prices with, as loaded and checked by `fare.loader`.

Indexes that pricing needs per leg are built once here, at load time, so that pricing a
leg is a few dictionary look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Agency:
    agency_id: str
    name: str
    timezone: ZoneInfo


@dataclass(frozen=True, slots=True)
class Route:
    route_id: str
    agency_id: str
    network_id: str | None
    short_name: str
    long_name: str
    route_type: int


@dataclass(frozen=True, slots=True)
class Stop:
    stop_id: str
    name: str
    parent_station: str | None
    timezone: ZoneInfo | None
    lat: Decimal | None
    lon: Decimal | None
    # Resolved at load: its own stop_areas, else those of its parent station (GTFS: a
    # station's areas cover its platforms unless a platform is assigned elsewhere).
    areas: frozenset[str]


@dataclass(frozen=True, slots=True)
class Service:
    """calendar.txt plus calendar_dates.txt exceptions for one service_id."""

    service_id: str
    weekdays: tuple[bool, bool, bool, bool, bool, bool, bool]
    start_date: date | None
    end_date: date | None
    added: frozenset[date]
    removed: frozenset[date]

    def runs_on(self, day: date) -> bool:
        if day in self.removed:
            return False
        if day in self.added:
            return True
        if self.start_date is None or self.end_date is None:
            return False
        return self.start_date <= day <= self.end_date and self.weekdays[day.weekday()]


@dataclass(frozen=True, slots=True)
class Timeframe:
    group_id: str
    start_s: int  # seconds after local midnight, inclusive
    end_s: int  # exclusive; 86400 for an empty end_time
    service_id: str


@dataclass(frozen=True, slots=True)
class FareMedium:
    fare_media_id: str
    name: str
    media_type: int


@dataclass(frozen=True, slots=True)
class ProductPrice:
    """One row of fare_products.txt: a product's price for one category and medium."""

    fare_product_id: str
    name: str
    rider_category_id: str | None
    fare_media_id: str | None
    amount_minor: int


@dataclass(frozen=True, slots=True)
class RiderCategory:
    rider_category_id: str
    name: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class LegRule:
    leg_group_id: str | None
    network_id: str | None
    from_area_id: str | None
    to_area_id: str | None
    from_timeframe_group_id: str | None
    to_timeframe_group_id: str | None
    fare_product_id: str
    priority: int


@dataclass(frozen=True, slots=True)
class TransferRule:
    from_leg_group_id: str | None
    to_leg_group_id: str | None
    transfer_count: int | None  # -1 unlimited
    duration_limit_s: int | None
    duration_limit_type: int | None
    fare_transfer_type: int
    fare_product_id: str | None


@dataclass(frozen=True, slots=True)
class JoinRule:
    from_network_id: str
    to_network_id: str
    from_stop_id: str | None
    to_stop_id: str | None


@dataclass(frozen=True, slots=True)
class Cap:
    cap_id: str
    name: str
    period: str  # "day" | "week" | "month"
    amount_minor: int
    network_ids: frozenset[str]  # empty: every transit network
    rider_category_id: str | None
    fare_media_id: str | None


@dataclass(frozen=True, slots=True)
class BikeSegment:
    """A GBFS per_min or per_km segment; minutes or kilometres."""

    start: Decimal
    rate_minor: int
    interval: Decimal
    end: Decimal | None


@dataclass(frozen=True, slots=True)
class BikePlan:
    plan_id: str
    name: str
    price_minor: int
    per_min: tuple[BikeSegment, ...]
    per_km: tuple[BikeSegment, ...]
    cap_minutes: int | None  # GBFS v3.1 fare_capping window
    cap_price_minor: int | None


@dataclass(frozen=True, slots=True)
class ParkingRestrictions:
    start_s: int | None  # local time of day, seconds
    end_s: int | None
    start_date: date | None
    end_date: date | None  # exclusive
    min_duration_s: int | None  # inclusive
    max_duration_s: int | None  # exclusive
    days_of_week: frozenset[int] | None  # 0 = Monday


@dataclass(frozen=True, slots=True)
class ParkingComponent:
    kind: str  # "FLAT" | "TIME" | "PARKING_TIME"
    price_minor: int  # per hour for time, once for FLAT
    step_size_s: int


@dataclass(frozen=True, slots=True)
class ParkingElement:
    components: tuple[ParkingComponent, ...]
    restrictions: ParkingRestrictions | None


@dataclass(frozen=True, slots=True)
class ParkingTariff:
    tariff_id: str
    name: str
    elements: tuple[ParkingElement, ...]
    max_price_minor: int | None


@dataclass(frozen=True, slots=True)
class Config:
    """tariff.toml."""

    timezone: ZoneInfo
    service_day_start_s: int
    currency: str
    bike_operator_id: str | None = None
    bike_network_id: str | None = None
    parking_operator_id: str | None = None
    parking_network_id: str | None = None
    park_and_ride: dict[str, int] = field(default_factory=dict)  # tariff_id -> amount
    tap_out_networks: frozenset[str] = frozenset()
    incomplete_policy: str | None = None


# Compared by identity: pricing keeps its look-up indexes on the tariff object (`memo`).
@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Tariff:
    config: Config
    agencies: dict[str, Agency]
    routes: dict[str, Route]
    stops: dict[str, Stop]
    services: dict[str, Service]
    timeframes: dict[str, tuple[Timeframe, ...]]
    media: tuple[FareMedium, ...]
    products: dict[str, tuple[ProductPrice, ...]]
    categories: dict[str, RiderCategory]
    leg_rules: tuple[LegRule, ...]
    has_rule_priority: bool
    transfer_rules: tuple[TransferRule, ...]
    join_rules: tuple[JoinRule, ...]
    caps: tuple[Cap, ...]
    bike_plans: dict[str, BikePlan]
    parking_tariffs: dict[str, ParkingTariff]
    # What `fare.indexes` derives from the rules above, built on first use. Not part of
    # the tariff: never printed, and `dataclasses.replace` starts a fresh one.
    memo: dict[str, object] = field(default_factory=dict, init=False, repr=False)

    @property
    def currency(self) -> str:
        return self.config.currency

    def default_category(self) -> str | None:
        for category in self.categories.values():
            if category.is_default:
                return category.rider_category_id
        return None

    def default_medium(self) -> str | None:
        """The feed's first cEMV medium (type 3): what a tap with a bank card is."""
        for medium in self.media:
            if medium.media_type == 3:
                return medium.fare_media_id
        return None

    def price_of(
        self, fare_product_id: str, category: str | None, medium: str | None
    ) -> ProductPrice | None:
        """The row for this rider: exact, then empty category, then empty medium, then both
        empty (reference §6); None when the product is not sold to them."""
        rows = self.products.get(fare_product_id, ())
        for want_category, want_medium in (
            (category, medium),
            (None, medium),
            (category, None),
            (None, None),
        ):
            for row in rows:
                if row.rider_category_id == want_category and row.fare_media_id == want_medium:
                    return row
        return None
