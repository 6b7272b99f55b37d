"""`price`: the fare engine's one entry point, a pure function of a tariff and legs.

Legs are put in time order and grouped by service day. Each day's transit legs are priced
for the best fare (transfers and joins, `fare.transfers`); bike and parking legs by their
plan or tariff; park-and-ride replaces a parking price when the card boarded transit
during the stay; then caps run over all legs in time order (`fare.capping`). Nothing looks
at a later day, so a day's amount never changes when later days are added.

Settlement calls `price` once per card-day, so the cost of a call matters as much as the
cost of a leg: what can be worked out once per tariff or rider is (`fare.indexes`), and the
usual card takes shortcuts that give what the general path gives, only sooner (each one
says so where it is taken; `tests/fare/test_fast_paths.py` checks them against it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from operator import attrgetter
from zoneinfo import ZoneInfo

from fare.bike import bike_price
from fare.capping import Spend, apply_caps
from fare.errors import NoFare
from fare.explain import CLOCKS
from fare.indexes import Resolved, RiderIndexes, TariffIndexes, indexes_of, invalid, remember
from fare.matching import Candidate, Event
from fare.model import (
    Adjustment,
    BikeLeg,
    Leg,
    LegPrice,
    ParkingLeg,
    Quote,
    TransitLeg,
    new_adjustment,
    new_leg_price,
    new_quote,
)
from fare.parking import parking_price
from fare.tariff import Route, Tariff
from fare.transfers import Step, Unit, best_plan, greedy_plan, within_limit_of

_AMOUNT = attrgetter("amount_minor")
# A place holder in a list of leg prices, until the leg is priced (every leg is, or
# pricing raises).
_UNPRICED = LegPrice(-1, "", 0, "", "", date.min, "", None, 0)
KIND_ORDER = {"transfer": 0, "join": 1, "park_and_ride": 2, "cap": 3}
# Time zones whose utcoffset() is never None.
_ALWAYS_AWARE = frozenset({ZoneInfo, timezone})


@dataclass(slots=True)
class _Ride:
    """A transit leg with what pricing needs resolved once."""

    index: int
    leg: TransitLeg
    resolved: Resolved
    local: datetime  # the start in the tariff's time zone
    end: datetime  # the leg's end, else its start
    alone: tuple[Candidate, ...] = ()

    @property
    def route(self) -> Route:
        return self.resolved.route


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
    indexes = indexes_of(tariff)
    pricer = _Pricer(indexes, indexes.rider(rider_category_id, fare_media_id), legs)
    for day, positions in pricer.days().items():
        pricer.price_day(day, positions)
    pricer.park_and_ride()
    pricer.caps()
    return pricer.quote()


def _check_times(i: int, start: datetime, end: datetime | None) -> None:
    for moment in (start, end):
        if moment is None or moment.utcoffset() is None:
            raise invalid(i, "times need a UTC offset")
    assert end is not None
    if end < start:
        raise invalid(i, "ends before it starts")


def _check_other(tariff: Tariff, i: int, leg: BikeLeg | ParkingLeg) -> None:
    if isinstance(leg, BikeLeg):
        plan = tariff.bike_plans.get(leg.plan_id)
        if plan is None:
            raise invalid(i, f"bike pricing plan {leg.plan_id!r} is not in the tariff")
        if leg.distance_km is not None and leg.distance_km < 0:
            raise invalid(i, "distance_km is negative")
        if plan.per_km and leg.distance_km is None:
            raise invalid(i, f"plan {leg.plan_id!r} charges by distance: distance_km is required")
    elif leg.tariff_id not in tariff.parking_tariffs:
        raise invalid(i, f"parking tariff {leg.tariff_id!r} is not in the tariff")


def _order_key(leg: Leg) -> tuple[datetime, int, str, str, str, datetime, str]:
    """Time order, with every field as a tie-break so input order never matters."""
    if isinstance(leg, TransitLeg):
        end = leg.end or leg.start
        return (leg.start, 0, leg.route_id, leg.from_stop_id, leg.to_stop_id or "", end, "")
    if isinstance(leg, BikeLeg):
        return (leg.start, 1, leg.plan_id, "", "", leg.end, str(leg.distance_km))
    return (leg.start, 2, leg.tariff_id, "", "", leg.end, "")


def _seconds(start: datetime, end: datetime) -> int:
    # Elapsed time, not wall-clock time: Python subtracts two datetimes of the same
    # ZoneInfo on the wall clock, so a ride across a DST change would gain or lose an
    # hour depending on how its times were written. Timestamps never do.
    return int(end.timestamp() - start.timestamp())


class _Pricer:
    """One call of `price`: the legs, and what pricing them has found so far."""

    __slots__ = (
        "adjustments",
        "category",
        "indexes",
        "legs",
        "listed",
        "matcher",
        "medium",
        "only_day",
        "order",
        "parked",
        "prices",
        "reach",
        "rider",
        "rides",
        "say",
        "tariff",
        "uncapped",
    )

    def __init__(self, indexes: TariffIndexes, rider: RiderIndexes, legs: Sequence[Leg]) -> None:
        self.indexes = indexes
        self.tariff = indexes.tariff
        self.rider = rider
        self.category = rider.category
        self.medium = rider.medium
        self.legs = legs
        self.matcher = indexes.matcher
        self.say = indexes.explainer
        self.order: list[int] = []
        self.rides: list[_Ride | None] = []
        self.prices: list[LegPrice] = [_UNPRICED] * len(legs)  # by input index
        self.adjustments: list[Adjustment] = []
        self.uncapped: set[int] = set()  # max fares for missing tap-outs (TfL practice)
        # What the legs some cap covers charge, none below zero, kept while pricing is
        # simple enough to follow it (None: `caps` adds it up).
        self.reach: int | None = 0
        # Whether adjustments were made in the order the quote lists them: one day's
        # transfers, leg after leg, need no sorting.
        self.listed = True
        self.parked = False
        self.only_day: date | None = None  # the service day of every leg, if they share one

    def days(self) -> dict[date, list[int]]:
        """Checks every leg (InvalidJourney) and resolves its ride, then gives the input
        indexes of the legs by service day, in time order."""
        legs = self.legs
        zone, shift = self.indexes.zone, self.indexes.day_shift
        known = self.rider.rides
        rides = self.rides
        service_days: list[date] = []
        in_order = self.indexes.fast
        previous: datetime | None = None
        for i, leg in enumerate(legs):
            start = leg.start
            if isinstance(leg, TransitLeg):
                end = leg.end or start
                # Asking a ZoneInfo or timezone for its offset would tell nothing new.
                if not (
                    type(getattr(start, "tzinfo", None)) in _ALWAYS_AWARE
                    and type(getattr(end, "tzinfo", None)) in _ALWAYS_AWARE
                ):
                    _check_times(i, start, end)
                elif end < start:
                    raise invalid(i, "ends before it starts")
                resolved = known.get((leg.route_id, leg.from_stop_id, leg.to_stop_id))
                if resolved is None:
                    resolved = self.rider.resolve(i, leg)
                local = start.astimezone(zone)
                rides.append(_Ride(i, leg, resolved, local, end))
            else:
                _check_times(i, start, leg.end)
                _check_other(self.tariff, i, leg)
                local = start.astimezone(zone)
                rides.append(None)
            # The service day of fare.servicedays, in one step: a wall-clock shift.
            service_days.append((local - shift).date())
            # Legs strictly in time order are already in the order sorting would give.
            if previous is not None and not previous < start:
                in_order = False
            previous = start
        if in_order:
            order = list(range(len(legs)))
        else:
            order = sorted(range(len(legs)), key=lambda i: _order_key(legs[i]))
        self.order = order
        if service_days and service_days.count(service_days[0]) == len(service_days):
            self.only_day = service_days[0]
            return {service_days[0]: order}  # a card-day, the usual call
        days: dict[date, list[int]] = {}
        for i in order:
            day = service_days[i]
            found = days.get(day)
            if found is None:
                days[day] = [i]
            else:
                found.append(i)
        return days

    # -- transit ---------------------------------------------------------------------

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
            first.resolved.zone,
            category=self.category,
            medium=self.medium,
        )

    def price_day(self, day: date, positions: list[int]) -> None:
        rides: list[_Ride] = []
        for i in positions:
            ride = self.rides[i]
            if ride is not None:
                if ride.resolved.incomplete:
                    self._max_fare(day, ride)
                else:
                    rides.append(ride)
                continue
            leg = self.legs[i]
            if isinstance(leg, BikeLeg):
                self._bike(day, i, leg)
            else:
                assert isinstance(leg, ParkingLeg)
                self._parking(day, i, leg)
        if rides and not (self.indexes.fast and self._flat_day(day, rides)):
            self._rides(day, rides)

    def _max_fare(self, day: date, ride: _Ride) -> None:
        found = self.matcher.max_fare(
            ride.route.network_id,
            self._start(ride),
            ride.resolved.zone,
            category=self.category,
            medium=self.medium,
        )
        words = ride.resolved.words
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
        self.prices[ride.index] = new_leg_price(
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
        joins = self.tariff.join_rules
        units: list[list[Unit]] = []
        for p, ride in enumerate(rides):
            alone = ride.resolved.untimed
            if alone is None:
                alone = self._candidates(ride, ride)
            ride.alone = alone
            here = [Unit(p, p + 1, ride.leg.start, ride.end, alone)] if alone else []
            last = p
            while joins and last + 1 < len(rides):
                if not self._joinable(rides[last], rides[last + 1]):
                    break
                last += 1
                joined = self._candidates(ride, rides[last])
                if joined:
                    here.append(Unit(p, last + 1, ride.leg.start, rides[last].end, joined))
            units.append(here)
        return units

    def _rides(self, day: date, rides: list[_Ride]) -> None:
        self.reach = None
        self.listed = False
        units = self._units(rides)

        def transfer_product(product_id: str) -> Candidate | None:
            row = self.tariff.price_of(product_id, self.category, self.medium)
            if row is None:
                return None
            return Candidate(product_id, row.name, None, row.amount_minor)

        transfers = self.indexes.transfers
        plan: list[list[Step]] | int | None = None
        if self.indexes.greedy and len(rides) > 1:
            plan = greedy_plan(units, transfers)
        if plan is None:
            plan = best_plan(len(rides), units, transfers, transfer_product)
        if isinstance(plan, int):
            ride = rides[plan]
            at = CLOCKS[ride.local.hour * 60 + ride.local.minute]
            detail = f"leg {ride.index}: no fare rule prices {ride.resolved.words} at {at}"
            raise NoFare(ride.index, detail)
        for chain in plan:
            previous: Step | None = None
            for step in chain:
                self._step(day, rides, step, previous)
                previous = step

    def _flat_day(self, day: date, rides: list[_Ride]) -> bool:
        """The plan `best_plan` or `greedy_plan` would give, without building it, for the
        usual day: one leg, or legs that each need one product of one price under free
        unlimited transfers (see `greedy_plan`). False, having priced nothing, for any
        other day."""
        for ride in rides:
            alone = ride.resolved.untimed
            ride.alone = alone if alone is not None else self._candidates(ride, ride)
        first = rides[0].alone
        if not first:
            return False
        if len(rides) > 1:
            if not self.indexes.greedy:
                return False
            price = first[0].amount_minor
            for ride in rides:
                if len(ride.alone) != 1 or ride.alone[0].amount_minor != price:
                    return False
        between = self.indexes.transfers.between
        say = self.say
        prices = self.prices
        known = self.rider.leg_prices
        head: _Ride | None = None  # the first leg of the current sub-journey
        before: _Ride | None = None  # the leg before, in the same sub-journey
        reach = 0
        for ride in rides:
            candidate = ride.alone[0]
            amount = candidate.amount_minor
            resolved = ride.resolved
            # A leg priced alone with its untimed product is the same on every card.
            key = (resolved, ride.index, day)
            made = known.get(key) if resolved.untimed is not None else None
            if made is None:
                made = new_leg_price(
                    ride.index,
                    "transit",
                    amount,
                    candidate.fare_product_id,
                    say.transit(resolved.words, candidate.product_name, amount, joined_to=None),
                    day,
                    resolved.route.agency_id,
                    resolved.route.network_id,
                    max(amount, 0),
                )
                remember(known, key, made)
            prices[ride.index] = made
            if before is not None:
                assert head is not None
                covered_by = before.alone[0]
                for rule in between(covered_by.leg_group_id, candidate.leg_group_id):
                    if within_limit_of(rule, head.leg.start, head.end, ride.leg.start, ride.end):
                        break
                else:
                    head = None
                if head is not None and amount != 0:
                    text = say.covered_transfer(
                        before.resolved.label,
                        before.local.hour * 60 + before.local.minute,
                        resolved.label,
                        ride.local.hour * 60 + ride.local.minute,
                        covered_by.product_name,
                        -amount,
                    )
                    self.adjustments.append(
                        new_adjustment("transfer", -amount, text, day, ride.index, None)
                    )
            if head is None:
                head = ride  # no transfer took it off: it charges its amount
                if resolved.capped and amount > 0:
                    reach += amount
            before = ride
        if self.reach is not None:
            self.reach += reach
        return True

    def _step(self, day: date, rides: list[_Ride], step: Step, previous: Step | None) -> None:
        unit, candidate = step.unit, step.candidate
        head = rides[unit.first]
        joined_to = None
        if unit.stop - unit.first > 1:
            joined_to = self.say.stop_name(rides[unit.stop - 1].leg.to_stop_id)
        text = self.say.transit(
            head.resolved.words, candidate.product_name, candidate.amount_minor, joined_to=joined_to
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
            own = max(ride.alone[0].amount_minor, 0) if ride.alone else 0
            self._transit_price(
                day,
                ride,
                product=candidate.fare_product_id,
                amount=0,
                text=self.say.joined(ride.resolved.words),
                alone=own,
            )
        if previous is None:
            return
        amount = step.added_minor - candidate.amount_minor
        if amount == 0:
            return
        before = rides[previous.unit.first]
        earlier = f"{before.resolved.label} at {_clock(before)}"
        later = f"{head.resolved.label} at {_clock(head)}"
        product = step.transfer_product.product_name if step.transfer_product else None
        text = self.say.transfer(
            earlier=earlier,
            later=later,
            product=product,
            covered_by=previous.candidate.product_name,
            amount=amount,
        )
        self.adjustments.append(new_adjustment("transfer", amount, text, day, head.index, None))

    # -- bike and parking --------------------------------------------------------------

    def _bike(self, day: date, i: int, leg: BikeLeg) -> None:
        plan = self.tariff.bike_plans[leg.plan_id]
        seconds = _seconds(leg.start, leg.end)
        km = None if leg.distance_km is None else str(leg.distance_km)
        key = (leg.plan_id, seconds, km)
        memo = self.indexes.bikes
        found = memo.get(key) if self.indexes.fast else None
        if found is None:
            amount = bike_price(plan, seconds, leg.distance_km)
            found = (amount, self.say.bike(plan.name, seconds, km, amount))
            remember(memo, key, found)
        amount, text = found
        if self.rider.bike_capped and amount > 0 and self.reach is not None:
            self.reach += amount
        config = self.tariff.config
        self.prices[i] = new_leg_price(
            i,
            "bike",
            amount,
            plan.plan_id,
            text,
            day,
            config.bike_operator_id or "",
            config.bike_network_id,
            amount,
        )

    def _parking(self, day: date, i: int, leg: ParkingLeg) -> None:
        self.parked = True
        tariff = self.tariff.parking_tariffs[leg.tariff_id]
        config = self.tariff.config
        seconds = _seconds(leg.start, leg.end)
        indexes = self.indexes
        # Most tariffs only count the minutes: their price is kept by stay length.
        by_duration = indexes.fast and tariff.tariff_id in indexes.priced_by_duration
        key = (tariff.tariff_id, seconds)
        found = indexes.stays.get(key) if by_duration else None
        if found is None:
            amount = parking_price(tariff, leg.start, leg.end, config.timezone)
            found = (amount, self.say.parking(tariff.name, seconds, amount))
            if by_duration:
                remember(indexes.stays, key, found)
        amount, text = found
        if self.rider.parking_capped and amount > 0 and self.reach is not None:
            self.reach += amount
        self.prices[i] = new_leg_price(
            i,
            "parking",
            amount,
            tariff.tariff_id,
            text,
            day,
            config.parking_operator_id or "",
            config.parking_network_id,
            amount,
        )

    def park_and_ride(self) -> None:
        """The flat park-and-ride amount replaces the parking price when the card boards
        transit during the stay; only boardings up to the stay's service day count, so a
        day's amount never waits for a later day. Never dearer than the plain price."""
        amounts = self.tariff.config.park_and_ride
        if not (amounts and self.parked):
            return
        legs, order, prices = self.legs, self.order, self.prices
        boardings = [
            (legs[i].start, prices[i].service_day) for i in order if isinstance(legs[i], TransitLeg)
        ]
        for i in order:
            leg = legs[i]
            if not isinstance(leg, ParkingLeg) or leg.tariff_id not in amounts:
                continue
            priced = prices[i]
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
            self.reach = None
            self.listed = False
            self.adjustments.append(
                new_adjustment("park_and_ride", change, text, priced.service_day, i, None)
            )

    # -- caps and the quote --------------------------------------------------------------

    def caps(self) -> None:
        caps = self.rider.caps
        if not caps.caps:
            return
        fast, floor = self.indexes.fast, self.rider.cap_floor
        if fast and self.reach is not None and self.reach <= floor:
            return
        booked: dict[int, int] = {}
        for made in self.adjustments:
            index = made.leg_index
            assert index is not None  # transfers and park-and-ride name their leg
            booked[index] = booked.get(index, 0) + made.amount_minor
        prices = self.prices
        uncapped = self.uncapped
        if fast and self.reach is None:
            reach = 0
            for i, leg in enumerate(prices):
                if i not in uncapped and caps.scoped(leg.kind, leg.network_id):
                    reach += max(leg.amount_minor + booked.get(i, 0), 0)
            if reach <= floor:
                return
        spends = []
        for i in self.order:
            if i in uncapped:
                continue
            leg = prices[i]
            amount = leg.amount_minor + booked[i] if i in booked else leg.amount_minor
            spends.append(Spend(i, leg.service_day, leg.kind, leg.network_id, amount))
        for cut in apply_caps(caps, spends):
            self.listed = False
            text = self.say.cap(cut.cap, -cut.amount_minor)
            self.adjustments.append(
                new_adjustment(
                    "cap", -cut.amount_minor, text, cut.service_day, cut.leg_index, cut.cap.cap_id
                )
            )

    def quote(self) -> Quote:
        adjustments = self.adjustments
        if len(adjustments) > 1 and not (self.listed and self.only_day is not None):
            rank = {index: position for position, index in enumerate(self.order)}
            adjustments.sort(
                key=lambda a: (
                    a.service_day,
                    rank.get(a.leg_index, -1) if a.leg_index is not None else -1,
                    KIND_ORDER.get(a.kind, 9),
                    a.cap_id or "",
                ),
            )
        legs = tuple(self.prices)
        by_day: dict[date, int] = {}
        if self.only_day is not None:
            by_day[self.only_day] = sum(map(_AMOUNT, legs)) + sum(map(_AMOUNT, adjustments))
        else:
            for leg in legs:
                by_day[leg.service_day] = by_day.get(leg.service_day, 0) + leg.amount_minor
            for made in adjustments:
                day = made.service_day
                by_day[day] = by_day.get(day, 0) + made.amount_minor
        return new_quote(
            self.tariff.config.currency,
            sum(by_day.values()),
            legs,
            tuple(adjustments),
            by_day if len(by_day) < 2 else dict(sorted(by_day.items())),
        )


def _clock(ride: _Ride) -> str:
    return CLOCKS[ride.local.hour * 60 + ride.local.minute]
