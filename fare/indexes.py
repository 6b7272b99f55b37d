"""What pricing derives from a tariff once, and keeps on it (`Tariff.memo`), so that
pricing a card is mostly dictionary look-ups: per tariff, the matchers and explanations;
per rider category and medium, the caps and each (route, boarding, alighting) resolved
with its products; and memos of prices that repeat across cards.

A memo is a pure function's cache: the same inputs give the same (immutable) result, so
pricing stays a pure function of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from fare.capping import CapIndex
from fare.errors import InvalidJourney
from fare.explain import Explainer
from fare.matching import Candidate, Event, LegMatcher
from fare.model import LegPrice, TransitLeg
from fare.parking import by_duration_only
from fare.tariff import Route, Tariff
from fare.transfers import TransferIndex, free_and_unlimited

# Memos keyed by durations or leg positions would grow without end: each is emptied when
# it holds this many entries (a few megabytes).
MEMO_LIMIT = 50_000

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V) -> None:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def indexes_of(tariff: Tariff) -> TariffIndexes:
    found = tariff.memo.get("pricing")
    if not isinstance(found, TariffIndexes):
        found = tariff.memo["pricing"] = TariffIndexes(tariff)
    return found


def invalid(i: int, detail: str) -> InvalidJourney:
    return InvalidJourney(f"leg {i}: {detail}", leg_index=i)


class TariffIndexes:
    """What pricing derives from one tariff."""

    def __init__(self, tariff: Tariff) -> None:
        config = tariff.config
        self.tariff = tariff
        self.zone = config.timezone
        self.day_shift = timedelta(seconds=config.service_day_start_s)
        self.zones = {a.agency_id: a.timezone for a in tariff.agencies.values()}
        self.matcher = LegMatcher(tariff)
        self.transfers = TransferIndex(tariff.transfer_rules)
        self.greedy = not tariff.join_rules and free_and_unlimited(tariff.transfer_rules)
        # Shortcuts that give what the general path gives, only sooner (legs already in
        # time order, one-product days, caps out of reach, the memos); tests turn them off
        # to check that.
        self.fast = True
        self.explainer = Explainer(tariff)
        self.default_category = tariff.default_category()
        self.default_medium = tariff.default_medium()
        self.media = frozenset(m.fare_media_id for m in tariff.media)
        self.riders: dict[tuple[str | None, str | None], RiderIndexes] = {}
        # (plan, seconds, km as written) -> amount and explanation
        self.bikes: dict[tuple[str, int, str | None], tuple[int, str]] = {}
        # (parking tariff, seconds) -> amount and explanation, for tariffs that only count
        # the length of a stay
        self.stays: dict[tuple[str, int], tuple[int, str]] = {}
        self.priced_by_duration = frozenset(
            t.tariff_id for t in tariff.parking_tariffs.values() if by_duration_only(t)
        )

    def rider(self, category: str | None, medium: str | None) -> RiderIndexes:
        """The indexes of the rider category and medium a card asked for (None: the
        tariff's defaults); InvalidJourney for ones the tariff lacks."""
        found = self.riders.get((category, medium))
        if found is None:
            found = RiderIndexes(self, self._category(category), self._medium(medium))
            self.riders[(category, medium)] = found
        return found

    def _category(self, requested: str | None) -> str | None:
        if requested is None:
            return self.default_category
        if requested not in self.tariff.categories:
            raise InvalidJourney(f"rider category {requested!r} is not in the tariff")
        return requested

    def _medium(self, requested: str | None) -> str | None:
        if requested is None:
            return self.default_medium
        if requested not in self.media:
            raise InvalidJourney(f"fare medium {requested!r} is not in the tariff")
        return requested


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: a cheap memo key
class Resolved:
    """A (route, boarding stop, alighting stop) as pricing needs it, for one rider."""

    route: Route
    zone: ZoneInfo  # the agency's, for timeframes
    words: str  # the ride in the rider's words
    label: str  # the route in the rider's words
    incomplete: bool  # no tap-out on a tap-out network, under the max_fare policy
    capped: bool  # some cap of the rider covers it
    untimed: tuple[Candidate, ...] | None  # its products; None: timeframes decide per leg


class RiderIndexes:
    """What pricing derives for one rider category and fare medium."""

    def __init__(self, tariff: TariffIndexes, category: str | None, medium: str | None) -> None:
        self.tariff = tariff
        self.category = category
        self.medium = medium
        self.caps = CapIndex(tariff.tariff.caps, category, medium)
        # Legs whose charges add up to no more than the smallest cap reach no cap.
        self.cap_floor = min((cap.amount_minor for cap in self.caps.caps), default=0)
        config = tariff.tariff.config
        self.bike_capped = bool(self.caps.scoped("bike", config.bike_network_id))
        self.parking_capped = bool(self.caps.scoped("parking", config.parking_network_id))
        self.rides: dict[tuple[str, str, str | None], Resolved] = {}
        # A leg priced alone with its untimed product, by its place in the card and its
        # service day: the same on every card.
        self.leg_prices: dict[tuple[Resolved, int, date], LegPrice] = {}

    def resolve(self, i: int, leg: TransitLeg) -> Resolved:
        """Resolves the leg's ride into `rides`, where pricing looks first; InvalidJourney
        for a route or stop the tariff lacks."""
        key = (leg.route_id, leg.from_stop_id, leg.to_stop_id)
        indexes, tariff = self.tariff, self.tariff.tariff
        route = tariff.routes.get(leg.route_id)
        if route is None:
            raise invalid(i, f"route {leg.route_id!r} is not in the tariff")
        stops = tariff.stops
        if leg.from_stop_id not in stops:
            raise invalid(i, f"stop {leg.from_stop_id!r} is not in the tariff")
        if leg.to_stop_id is not None and leg.to_stop_id not in stops:
            raise invalid(i, f"stop {leg.to_stop_id!r} is not in the tariff")
        zone = indexes.zones[route.agency_id]
        matcher = indexes.matcher
        untimed = None
        if not matcher.timed(route.network_id, leg.from_stop_id, leg.to_stop_id):
            end_stop = stops[leg.to_stop_id] if leg.to_stop_id is not None else None
            untimed = matcher.candidates(
                route.network_id,
                Event(stops[leg.from_stop_id], leg.start),
                Event(end_stop, leg.start),  # no timeframe looks at either moment
                zone,
                category=self.category,
                medium=self.medium,
            )
        config = tariff.config
        found = self.rides[key] = Resolved(
            route=route,
            zone=zone,
            words=indexes.explainer.ride(route, leg.from_stop_id, leg.to_stop_id),
            label=indexes.explainer.label(route),
            incomplete=(
                config.incomplete_policy == "max_fare"
                and leg.to_stop_id is None
                and route.network_id in config.tap_out_networks
            ),
            capped=bool(self.caps.scoped("transit", route.network_id)),
            untimed=untimed,
        )
        return found
