"""Which fare products a leg needs: one small matcher per rule dimension (network, area,
timeframe, priority), over fare_leg_rules.txt.

The empty-cell meaning is chosen once per file (reference §2): without a `rule_priority`
column an empty cell is the complement of the values named elsewhere in its column; with
the column it is a wildcard, and only the highest-priority matches are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from fare.tariff import LegRule, Stop, Tariff


@dataclass(frozen=True, slots=True)
class Candidate:
    """A product a leg may be priced with, and the leg group it puts the leg in."""

    fare_product_id: str
    product_name: str
    leg_group_id: str | None
    amount_minor: int


class Event(NamedTuple):
    """Where and when a leg starts or ends, as timeframes need it."""

    stop: Stop | None
    moment: datetime


class LegMatcher:
    def __init__(self, tariff: Tariff) -> None:
        self.tariff = tariff
        rules = tariff.leg_rules
        self.wildcard = tariff.has_rule_priority
        self.named_networks = frozenset(r.network_id for r in rules if r.network_id)
        self.named_from = frozenset(r.from_area_id for r in rules if r.from_area_id)
        self.named_to = frozenset(r.to_area_id for r in rules if r.to_area_id)
        # Rules matching on network and areas depend only on these three ids, so pricing
        # many legs between the same stops costs one dictionary look-up each.
        self._static: dict[tuple[str | None, str, str | None], tuple[LegRule, ...]] = {}
        self.untimed: dict[tuple[str | None, str, str | None, str | None, str | None], (
            tuple[Candidate, ...]
        )] = {}  # fmt: skip

    def _network_ok(self, rule: LegRule, network_id: str | None) -> bool:
        if rule.network_id is not None:
            return rule.network_id == network_id
        return self.wildcard or network_id not in self.named_networks

    def _area_ok(self, area_id: str | None, stop: Stop | None, named: frozenset[str]) -> bool:
        areas = stop.areas if stop is not None else frozenset()
        if area_id is not None:
            return area_id in areas
        return self.wildcard or not (areas & named)

    def static_rules(
        self, network_id: str | None, from_stop_id: str, to_stop_id: str | None
    ) -> tuple[LegRule, ...]:
        key = (network_id, from_stop_id, to_stop_id)
        found = self._static.get(key)
        if found is None:
            stops = self.tariff.stops
            origin = stops[from_stop_id]
            destination = stops[to_stop_id] if to_stop_id is not None else None
            found = tuple(
                rule
                for rule in self.tariff.leg_rules
                if self._network_ok(rule, network_id)
                and self._area_ok(rule.from_area_id, origin, self.named_from)
                and self._area_ok(rule.to_area_id, destination, self.named_to)
            )
            self._static[key] = found
        return found

    def timed(self, network_id: str | None, from_stop_id: str, to_stop_id: str | None) -> bool:
        """Whether a timeframe takes part in matching legs between these stops."""
        return any(
            rule.from_timeframe_group_id is not None or rule.to_timeframe_group_id is not None
            for rule in self.static_rules(network_id, from_stop_id, to_stop_id)
        )

    def in_timeframe(self, group_id: str, event: Event, agency_zone: ZoneInfo) -> bool:
        """The event's local time in [start, end) on a day its service runs (reference §3)."""
        local = event.moment.astimezone(self._zone(event.stop) or agency_zone)
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        day = local.date()
        services = self.tariff.services
        return any(
            frame.start_s <= seconds < frame.end_s and services[frame.service_id].runs_on(day)
            for frame in self.tariff.timeframes[group_id]
        )

    def _zone(self, stop: Stop | None) -> ZoneInfo | None:
        if stop is None:
            return None
        if stop.timezone is not None or stop.parent_station is None:
            return stop.timezone
        return self.tariff.stops[stop.parent_station].timezone

    def _candidate(
        self, rule: LegRule, category: str | None, medium: str | None
    ) -> Candidate | None:
        row = self.tariff.price_of(rule.fare_product_id, category, medium)
        if row is None:
            return None
        return Candidate(rule.fare_product_id, row.name, rule.leg_group_id, row.amount_minor)

    def candidates(
        self,
        network_id: str | None,
        start: Event,
        end: Event,
        agency_zone: ZoneInfo,
        *,
        category: str | None,
        medium: str | None,
    ) -> tuple[Candidate, ...]:
        """Every product the leg may be priced with, cheapest first; empty = no fare.

        A result that no timeframe decided is kept in `untimed`, where pricing looks first."""
        assert start.stop is not None
        to_stop_id = end.stop.stop_id if end.stop is not None else None
        key = (network_id, start.stop.stop_id, to_stop_id, category, medium)
        rules = self.static_rules(network_id, start.stop.stop_id, to_stop_id)
        timed = False
        offered: list[tuple[int, Candidate]] = []
        for rule in rules:
            if rule.from_timeframe_group_id is not None:
                timed = True
                if not self.in_timeframe(rule.from_timeframe_group_id, start, agency_zone):
                    continue
            if rule.to_timeframe_group_id is not None:
                timed = True
                if not self.in_timeframe(rule.to_timeframe_group_id, end, agency_zone):
                    continue
            candidate = self._candidate(rule, category, medium)
            if candidate is not None:
                offered.append((rule.priority, candidate))
        if self.wildcard and offered:
            top = max(priority for priority, _ in offered)
            offered = [(p, c) for p, c in offered if p == top]
        unique = {(c.fare_product_id, c.leg_group_id): c for _, c in offered}
        result = tuple(
            sorted(
                unique.values(),
                key=lambda c: (c.amount_minor, c.fare_product_id, c.leg_group_id or ""),
            )
        )
        if not timed:
            self.untimed[key] = result
        return result

    def max_fare(
        self,
        network_id: str | None,
        start: Event,
        agency_zone: ZoneInfo,
        *,
        category: str | None,
        medium: str | None,
    ) -> Candidate | None:
        """The dearest product any rule offers from the boarding stop, whatever the
        alighting: what a missing tap-out costs under the `max_fare` policy."""
        assert start.stop is not None
        best: Candidate | None = None
        for rule in self.tariff.leg_rules:
            if not (
                self._network_ok(rule, network_id)
                and self._area_ok(rule.from_area_id, start.stop, self.named_from)
            ):
                continue
            group = rule.from_timeframe_group_id
            if group is not None and not self.in_timeframe(group, start, agency_zone):
                continue
            candidate = self._candidate(rule, category, medium)
            if candidate is not None and (
                best is None or candidate.amount_minor > best.amount_minor
            ):
                best = candidate
        return best
