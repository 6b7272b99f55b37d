"""`price`: the fare engine's one entry point, a pure function of a tariff and legs.

Legs are put in time order and grouped by service day. Each day's transit legs are priced
for the best fare (transfers and joins, `fare.transfers`); bike and parking legs by their
plan or tariff; park-and-ride replaces a parking price when the card boarded transit
during the stay; then caps run over all legs in time order (`fare.capping`). Nothing looks
at a later day, so a day's amount never changes when later days are added.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fare.bike import bike_price
from fare.capping import CapIndex, Spend, apply_caps
from fare.errors import InvalidJourney, NoFare
from fare.explain import Explainer, clock, route_label
from fare.matching import Candidate, Event, LegMatcher
from fare.model import Adjustment, BikeLeg, Leg, LegPrice, ParkingLeg, Quote, TransitLeg
from fare.parking import parking_price
from fare.servicedays import service_day_of
from fare.tariff import Route, Tariff
from fare.transfers import (
    Step,
    TransferIndex,
    Unit,
    best_plan,
    free_and_unlimited,
    greedy_plan,
)

KIND_ORDER = {"transfer": 0, "join": 1, "park_and_ride": 2, "cap": 3}


class _Indexes:
    def __init__(self, tariff: Tariff) -> None:
        self.tariff_caps = tariff.caps
        self.zones = {a.agency_id: a.timezone for a in tariff.agencies.values()}
        self.matcher = LegMatcher(tariff)
        self.transfers = TransferIndex(tariff.transfer_rules)
        self.greedy = not tariff.join_rules and free_and_unlimited(tariff.transfer_rules)
        self.explainer = Explainer(tariff)
        self.default_category = tariff.default_category()
        self.default_medium = tariff.default_medium()
        self.media = frozenset(m.fare_media_id for m in tariff.media)
        self._caps: dict[tuple[str | None, str | None], CapIndex] = {}

    def caps_for(self, category: str | None, medium: str | None) -> CapIndex:
        found = self._caps.get((category, medium))
        if found is None:
            found = CapIndex(self.tariff_caps, category, medium)
            self._caps[(category, medium)] = found
        return found


_INDEXES: weakref.WeakKeyDictionary[Tariff, _Indexes] = weakref.WeakKeyDictionary()


def _indexes(tariff: Tariff) -> _Indexes:
    found = _INDEXES.get(tariff)
    if found is None:
        found = _INDEXES[tariff] = _Indexes(tariff)
    return found


@dataclass(slots=True)
class _Ride:
    """A transit leg with what pricing needs resolved once."""

    index: int
    leg: TransitLeg
    route: Route
    zone: ZoneInfo
    end: datetime  # the leg's end, else its start
    alone: tuple[Candidate, ...] = ()


def price(
    tariff: Tariff,
    legs: Sequence[Leg],
    *,
    rider_category_id: str | None = None,
    fare_media_id: str | None = None,
) -> Quote:
    """Price legs spanning any number of days for one card; see the module docstring.

    Raises InvalidJourney for a leg naming something the tariff lacks, NoFare for a leg no
    rule prices."""
    indexes = _indexes(tariff)
    category = _category(tariff, indexes, rider_category_id)
    medium = _medium(indexes, fare_media_id)
    for position, leg in enumerate(legs):
        _validate(tariff, position, leg)
    pricer = _Pricer(tariff, indexes, category, medium)
    if len(legs) > 1:
        order = sorted(range(len(legs)), key=lambda i: _order_key(legs[i]))
    else:
        order = list(range(len(legs)))
    days: dict[date, list[int]] = {}
    for i in order:
        days.setdefault(service_day_of(legs[i].start, tariff.config), []).append(i)
    for day, indexes_of_day in days.items():
        pricer.price_day(day, [(i, legs[i]) for i in indexes_of_day])
    pricer.park_and_ride(legs, order)
    pricer.caps(order)
    return pricer.quote(order)


def _category(tariff: Tariff, indexes: _Indexes, requested: str | None) -> str | None:
    if requested is None:
        return indexes.default_category
    if requested not in tariff.categories:
        raise InvalidJourney(f"rider category {requested!r} is not in the tariff")
    return requested


def _medium(indexes: _Indexes, requested: str | None) -> str | None:
    if requested is None:
        return indexes.default_medium
    if requested not in indexes.media:
        raise InvalidJourney(f"fare medium {requested!r} is not in the tariff")
    return requested


def _invalid(i: int, detail: str) -> InvalidJourney:
    return InvalidJourney(f"leg {i}: {detail}", leg_index=i)


def _validate(tariff: Tariff, i: int, leg: Leg) -> None:
    end = leg.start if isinstance(leg, TransitLeg) and leg.end is None else leg.end
    for moment in (leg.start, end):
        if moment is None or moment.utcoffset() is None:
            raise _invalid(i, "times need a UTC offset")
    assert end is not None
    if end < leg.start:
        raise _invalid(i, "ends before it starts")
    if isinstance(leg, TransitLeg):
        if leg.route_id not in tariff.routes:
            raise _invalid(i, f"route {leg.route_id!r} is not in the tariff")
        stops = tariff.stops
        if leg.from_stop_id not in stops:
            raise _invalid(i, f"stop {leg.from_stop_id!r} is not in the tariff")
        if leg.to_stop_id is not None and leg.to_stop_id not in stops:
            raise _invalid(i, f"stop {leg.to_stop_id!r} is not in the tariff")
    elif isinstance(leg, BikeLeg):
        plan = tariff.bike_plans.get(leg.plan_id)
        if plan is None:
            raise _invalid(i, f"bike pricing plan {leg.plan_id!r} is not in the tariff")
        if leg.distance_km is not None and leg.distance_km < 0:
            raise _invalid(i, "distance_km is negative")
        if plan.per_km and leg.distance_km is None:
            raise _invalid(i, f"plan {leg.plan_id!r} charges by distance: distance_km is required")
    elif leg.tariff_id not in tariff.parking_tariffs:
        raise _invalid(i, f"parking tariff {leg.tariff_id!r} is not in the tariff")


def _order_key(leg: Leg) -> tuple[datetime, int, str, str, str, datetime, str]:
    """Time order, with every field as a tie-break so input order never matters."""
    if isinstance(leg, TransitLeg):
        end = leg.end or leg.start
        return (leg.start, 0, leg.route_id, leg.from_stop_id, leg.to_stop_id or "", end, "")
    if isinstance(leg, BikeLeg):
        return (leg.start, 1, leg.plan_id, "", "", leg.end, str(leg.distance_km))
    return (leg.start, 2, leg.tariff_id, "", "", leg.end, "")


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


class _Pricer:
    def __init__(
        self, tariff: Tariff, indexes: _Indexes, category: str | None, medium: str | None
    ) -> None:
        self.tariff = tariff
        self.category = category
        self.medium = medium
        self.caps_in_force = indexes.caps_for(category, medium)
        self.parked = False
        self.routes = tariff.routes
        self.zones = indexes.zones
        self.matcher = indexes.matcher
        self.transfer_index = indexes.transfers
        self.greedy = indexes.greedy
        self.say = indexes.explainer
        self.prices: dict[int, LegPrice] = {}
        self.adjustments: list[Adjustment] = []
        self.uncapped: set[int] = set()  # max fares for missing tap-outs (TfL practice)

    # -- transit ---------------------------------------------------------------------

    def _ride(self, i: int, leg: TransitLeg) -> _Ride:
        route = self.routes[leg.route_id]
        zone = self.zones[route.agency_id]
        return _Ride(i, leg, route, zone, leg.end or leg.start)

    def _start(self, ride: _Ride) -> Event:
        return Event(self.tariff.stops[ride.leg.from_stop_id], ride.leg.start)

    def _candidates(self, first: _Ride, last: _Ride) -> tuple[Candidate, ...]:
        network_id = first.route.network_id
        to_stop_id = last.leg.to_stop_id
        key = (network_id, first.leg.from_stop_id, to_stop_id, self.category, self.medium)
        found = self.matcher.untimed.get(key)
        if found is not None:
            return found
        end_stop = self.tariff.stops[to_stop_id] if to_stop_id is not None else None
        return self.matcher.candidates(
            network_id,
            self._start(first),
            Event(end_stop, last.end),
            first.zone,
            category=self.category,
            medium=self.medium,
        )

    def _is_incomplete(self, ride: _Ride) -> bool:
        config = self.tariff.config
        return (
            config.incomplete_policy == "max_fare"
            and ride.leg.to_stop_id is None
            and ride.route.network_id in config.tap_out_networks
        )

    def price_day(self, day: date, legs: list[tuple[int, Leg]]) -> None:
        rides: list[_Ride] = []
        for i, leg in legs:
            if isinstance(leg, TransitLeg):
                ride = self._ride(i, leg)
                if self._is_incomplete(ride):
                    self._max_fare(day, ride)
                else:
                    rides.append(ride)
            elif isinstance(leg, BikeLeg):
                self._bike(day, i, leg)
            else:
                self._parking(day, i, leg)
        if rides:
            self._rides(day, rides)

    def _max_fare(self, day: date, ride: _Ride) -> None:
        found = self.matcher.max_fare(
            ride.route.network_id,
            self._start(ride),
            ride.zone,
            category=self.category,
            medium=self.medium,
        )
        words = self.say.ride(ride.route, ride.leg.from_stop_id, None)
        if found is None:
            raise NoFare(ride.index, f"leg {ride.index}: no fare rule prices {words}")
        self.uncapped.add(ride.index)
        text = self.say.max_fare(words, found.product_name, found.amount_minor)
        self._transit_price(
            day,
            ride,
            product=found.fare_product_id,
            amount=found.amount_minor,
            text=text,
            alone=found.amount_minor,
        )

    def _transit_price(
        self, day: date, ride: _Ride, *, product: str, amount: int, text: str, alone: int
    ) -> None:
        route = ride.route
        self.prices[ride.index] = LegPrice(
            ride.index,
            "transit",
            amount,
            product,
            text,
            day,
            route.agency_id,
            route.network_id,
            alone,
        )

    def _joinable(self, a: _Ride, b: _Ride) -> bool:
        stops = self.tariff.stops
        ends, begins = a.leg.to_stop_id, b.leg.from_stop_id
        if ends is None:
            return False

        def station(stop_id: str) -> str:
            return stops[stop_id].parent_station or stop_id

        for rule in self.tariff.join_rules:
            if rule.from_network_id != a.route.network_id:
                continue
            if rule.to_network_id != b.route.network_id:
                continue
            if rule.from_stop_id is None or rule.to_stop_id is None:
                if station(ends) == station(begins):
                    return True
            elif rule.from_stop_id in (ends, station(ends)) and rule.to_stop_id in (
                begins,
                station(begins),
            ):
                return True
        return False

    def _units(self, rides: list[_Ride]) -> list[list[Unit]]:
        units: list[list[Unit]] = []
        for p, ride in enumerate(rides):
            ride.alone = self._candidates(ride, ride)
            here = []
            if ride.alone:
                here.append(Unit(p, p + 1, ride.leg.start, ride.end, ride.alone))
            last = p
            while self.tariff.join_rules and last + 1 < len(rides):
                if not self._joinable(rides[last], rides[last + 1]):
                    break
                last += 1
                joined = self._candidates(ride, rides[last])
                if joined:
                    here.append(Unit(p, last + 1, ride.leg.start, rides[last].end, joined))
            units.append(here)
        return units

    def _rides(self, day: date, rides: list[_Ride]) -> None:
        units = self._units(rides)

        def transfer_product(product_id: str) -> Candidate | None:
            row = self.tariff.price_of(product_id, self.category, self.medium)
            if row is None:
                return None
            return Candidate(product_id, row.name, None, row.amount_minor)

        plan: list[list[Step]] | int | None = None
        if self.greedy and len(rides) > 1:
            plan = greedy_plan(units, self.transfer_index)
        if plan is None:
            plan = best_plan(len(rides), units, self.transfer_index, transfer_product)
        if isinstance(plan, int):
            ride = rides[plan]
            words = self.say.ride(ride.route, ride.leg.from_stop_id, ride.leg.to_stop_id)
            at = clock(ride.leg.start, self.say.zone)
            raise NoFare(ride.index, f"leg {ride.index}: no fare rule prices {words} at {at}")
        for chain in plan:
            previous: Step | None = None
            for step in chain:
                self._step(day, rides, step, previous)
                previous = step

    def _step(self, day: date, rides: list[_Ride], step: Step, previous: Step | None) -> None:
        unit, candidate = step.unit, step.candidate
        head = rides[unit.first]
        last = rides[unit.stop - 1]
        joined_to = None
        if unit.stop - unit.first > 1:
            joined_to = self.say.stop_name(last.leg.to_stop_id)
        words = self.say.ride(head.route, head.leg.from_stop_id, head.leg.to_stop_id)
        text = self.say.transit(
            words, candidate.product_name, candidate.amount_minor, joined_to=joined_to
        )
        # A leg alone never costs less than nothing, like a sub-journey (apportionment).
        alone = max(head.alone[0].amount_minor if head.alone else candidate.amount_minor, 0)
        self._transit_price(
            day,
            head,
            product=candidate.fare_product_id,
            amount=candidate.amount_minor,
            text=text,
            alone=alone,
        )
        for ride in rides[unit.first + 1 : unit.stop]:
            words = self.say.ride(ride.route, ride.leg.from_stop_id, ride.leg.to_stop_id)
            own = max(ride.alone[0].amount_minor, 0) if ride.alone else 0
            self._transit_price(
                day,
                ride,
                product=candidate.fare_product_id,
                amount=0,
                text=self.say.joined(words),
                alone=own,
            )
        if previous is None:
            return
        amount = step.added_minor - candidate.amount_minor
        if amount == 0:
            return
        before = rides[previous.unit.first]
        earlier = f"{route_label(before.route)} at {clock(before.leg.start, self.say.zone)}"
        later = f"{route_label(head.route)} at {clock(head.leg.start, self.say.zone)}"
        product = step.transfer_product.product_name if step.transfer_product else None
        text = self.say.transfer(
            earlier=earlier,
            later=later,
            product=product,
            covered_by=previous.candidate.product_name,
            amount=amount,
        )
        self.adjustments.append(Adjustment("transfer", amount, text, day, head.index))

    # -- bike and parking --------------------------------------------------------------

    def _bike(self, day: date, i: int, leg: BikeLeg) -> None:
        plan = self.tariff.bike_plans[leg.plan_id]
        seconds = _seconds(leg.start, leg.end)
        amount = bike_price(plan, seconds, leg.distance_km)
        km = None if leg.distance_km is None else str(leg.distance_km)
        config = self.tariff.config
        self.prices[i] = LegPrice(
            index=i,
            kind="bike",
            amount_minor=amount,
            fare_product_id=plan.plan_id,
            explanation=self.say.bike(plan.name, seconds, km, amount),
            service_day=day,
            operator_id=config.bike_operator_id or "",
            network_id=config.bike_network_id,
            standalone_minor=amount,
        )

    def _parking(self, day: date, i: int, leg: ParkingLeg) -> None:
        self.parked = True
        tariff = self.tariff.parking_tariffs[leg.tariff_id]
        config = self.tariff.config
        amount = parking_price(tariff, leg.start, leg.end, config.timezone)
        seconds = _seconds(leg.start, leg.end)
        self.prices[i] = LegPrice(
            index=i,
            kind="parking",
            amount_minor=amount,
            fare_product_id=tariff.tariff_id,
            explanation=self.say.parking(tariff.name, seconds, amount),
            service_day=day,
            operator_id=config.parking_operator_id or "",
            network_id=config.parking_network_id,
            standalone_minor=amount,
        )

    def park_and_ride(self, legs: Sequence[Leg], order: list[int]) -> None:
        """The flat park-and-ride amount replaces the parking price when the card boards
        transit during the stay; only boardings up to the stay's service day count, so a
        day's amount never waits for a later day. Never dearer than the plain price."""
        amounts = self.tariff.config.park_and_ride
        if not (amounts and self.parked):
            return
        boardings = [
            (legs[i].start, self.prices[i].service_day)
            for i in order
            if isinstance(legs[i], TransitLeg)
        ]
        for i in order:
            leg = legs[i]
            if not isinstance(leg, ParkingLeg) or leg.tariff_id not in amounts:
                continue
            priced = self.prices[i]
            flat = amounts[leg.tariff_id]
            boarded = any(
                leg.start <= moment <= leg.end and day <= priced.service_day
                for moment, day in boardings
            )
            if not boarded or flat >= priced.amount_minor:
                continue
            name = self.tariff.parking_tariffs[leg.tariff_id].name
            change = flat - priced.amount_minor
            text = self.say.park_and_ride(name, flat, change)
            adjustment = Adjustment("park_and_ride", change, text, priced.service_day, i)
            self.adjustments.append(adjustment)

    # -- caps and the quote --------------------------------------------------------------

    def caps(self, order: list[int]) -> None:
        caps = self.caps_in_force
        if not caps.caps:
            return
        booked: dict[int, int] = {}
        for adjustment in self.adjustments:
            index = adjustment.leg_index
            assert index is not None  # transfers and park-and-ride name their leg
            booked[index] = booked.get(index, 0) + adjustment.amount_minor
        prices = self.prices
        uncapped = self.uncapped
        spends = []
        for i in order:
            if i in uncapped:
                continue
            leg = prices[i]
            amount = leg.amount_minor + booked[i] if i in booked else leg.amount_minor
            spends.append(Spend(i, leg.service_day, leg.kind, leg.network_id, amount))
        for cut in apply_caps(caps, spends):
            text = self.say.cap(cut.cap, -cut.amount_minor)
            self.adjustments.append(
                Adjustment(
                    "cap", -cut.amount_minor, text, cut.service_day, cut.leg_index, cut.cap.cap_id
                )
            )

    def quote(self, order: list[int]) -> Quote:
        adjustments = self.adjustments
        if len(adjustments) > 1:
            rank = {index: position for position, index in enumerate(order)}
            adjustments.sort(
                key=lambda a: (
                    a.service_day,
                    rank.get(a.leg_index, -1) if a.leg_index is not None else -1,
                    KIND_ORDER.get(a.kind, 9),
                    a.cap_id or "",
                ),
            )
        legs = tuple(self.prices[i] for i in range(len(self.prices)))
        by_day: dict[date, int] = {}
        for leg in legs:
            by_day[leg.service_day] = by_day.get(leg.service_day, 0) + leg.amount_minor
        for adjustment in adjustments:
            day = adjustment.service_day
            by_day[day] = by_day.get(day, 0) + adjustment.amount_minor
        return Quote(
            currency=self.tariff.currency,
            total_minor=sum(by_day.values()),
            legs=legs,
            adjustments=tuple(adjustments),
            by_service_day=dict(sorted(by_day.items())),
        )
