"""One card's taps of a service day -> the legs the fare engine prices (pure).

Taps arrive as devices saw them: sometimes a tap-out is missing, a bike is never docked,
a car leaves a car park it never entered. These rules turn any sequence into legs, the
same way every time, and say what they did in notes a rider can read.

Which taps count
- Only `accepted` taps with decision `allow`. A tap refused at the gate (`deny`: deny
  list, expired card) means the rider did not travel, so it is never charged; rejected
  taps and double taps (the same tap repeated within seconds) are not rides either.
- Taps are taken in time order (ties: tap id), so the result never depends on the order
  in which a device uploaded them.

Transit
- A tap-in on a route whose network needs a tap-out (`tap_out_routes`) waits for the
  card's next tap-out on the same route: together they make one leg with its alighting
  stop and end time.
- If another tap-in, or the end of the day, comes first, the leg has no alighting stop
  (`to_stop_id` None): the tariff's `[incomplete]` policy prices it (a maximum fare).
- On a tap-in-only network the tap-in alone is the leg.
- A tap-out with no open tap-in on its route makes no leg (noted); a tap-out on a
  tap-in-only route is ignored silently (some validators always offer both).

Bike-share
- A return carries no card; it belongs to the unlock of the same bike that it follows
  most closely (`match_bike_returns`, over all cards of the day): an unlock takes the
  first return of its bike after it, unless the same bike is unlocked again before that
  return, in which case the earlier rental ends at the next unlock.
- An unlock without a return ends at the end of the service day (the bike is treated as
  kept all day: DESIGN asks for a deterministic bound, and the pricing plan's own cap, if
  any, limits the price). A return matching no unlock is ignored and counted for the day.
- The plan is the unlock's `plan_id`, else the tariff's default plan.

Parking
- An entry and the next exit at the same facility make a stay (`ParkingLeg`).
- An entry without an exit is charged until the end of the service day (an overnight
  stay is therefore charged up to the day's end; its exit the next day charges nothing
  more: the exit without an entry is ignored, noted).
- A second entry at a facility with a stay still open closes the open stay at the second
  entry (the gate missed the exit).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from fare import BikeLeg, Leg, ParkingLeg, TransitLeg

START_KINDS = frozenset({"tap_in", "bike_unlock", "parking_entry"})


class TapRecord(NamedTuple):
    """A stored tap as journeys need it; `id` is the taps table's row id.

    A named tuple, not a dataclass: a close builds one per tap of the day (millions), and
    a tuple is made from a database row several times faster (`TapRecord._make(row)`).
    """

    id: int
    kind: str
    occurred_at: datetime
    card_token: str | None = None
    route_id: str | None = None
    stop_id: str | None = None
    bike_id: str | None = None
    plan_id: str | None = None
    facility_id: str | None = None
    status: str = "accepted"
    decision: str = "allow"

    @property
    def counts(self) -> bool:
        return self.status == "accepted" and self.decision == "allow"


@dataclass(frozen=True, slots=True)
class JourneyLeg:
    leg: Leg
    start_tap_id: int
    end_tap_id: int | None


@dataclass(frozen=True, slots=True)
class Journeys:
    legs: tuple[JourneyLeg, ...]
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _Open:
    tap: TapRecord
    legs_at: int = field(default=-1)


def _order(tap: TapRecord) -> tuple[datetime, int]:
    return (tap.occurred_at, tap.id)


def match_bike_returns(
    unlocks: Iterable[TapRecord], returns: Iterable[TapRecord]
) -> tuple[dict[int, TapRecord], list[TapRecord]]:
    """{unlock tap id: its return} over all cards of a day, and the returns that match no
    unlock (see the module docstring for the rule)."""
    events: dict[str, list[TapRecord]] = {}
    for tap in (*unlocks, *returns):
        if tap.bike_id is not None and tap.counts:
            events.setdefault(tap.bike_id, []).append(tap)
    matched: dict[int, TapRecord] = {}
    unmatched: list[TapRecord] = []
    for bike_events in events.values():
        # An unlock sorts before a return at the same instant: the dock reports both.
        bike_events.sort(key=lambda t: (t.occurred_at, t.kind != "bike_unlock", t.id))
        waiting: TapRecord | None = None
        for tap in bike_events:
            if tap.kind == "bike_unlock":
                waiting = tap
            elif waiting is not None:
                matched[waiting.id] = tap
                waiting = None
            else:
                unmatched.append(tap)
    return matched, unmatched


def next_unlocks(unlocks: Iterable[TapRecord]) -> dict[int, datetime]:
    """{unlock id: the next unlock of the same bike}, which ends a rental left open."""
    by_bike: dict[str, list[TapRecord]] = {}
    for tap in unlocks:
        if tap.bike_id is not None and tap.counts:
            by_bike.setdefault(tap.bike_id, []).append(tap)
    found: dict[int, datetime] = {}
    for taps in by_bike.values():
        taps.sort(key=_order)
        for earlier, later in itertools.pairwise(taps):
            found[earlier.id] = later.occurred_at
    return found


def card_legs(
    taps: Sequence[TapRecord],
    *,
    day_end: datetime,
    tap_out_routes: frozenset[str] = frozenset(),
    bike_returns: Mapping[int, TapRecord] | None = None,
    bike_next_unlock: Mapping[int, datetime] | None = None,
    default_plan_id: str | None = None,
) -> Journeys:
    """The legs of one card's taps of one service day, in time order.

    `day_end` is the end of the service day (rentals and stays left open end there);
    `bike_returns` and `bike_next_unlock` come from `match_bike_returns` and
    `next_unlocks` over the whole day.
    """
    returns = bike_returns or {}
    next_unlock = bike_next_unlock or {}
    legs: list[JourneyLeg] = []
    notes: list[str] = []
    open_transit: TapRecord | None = None
    open_stays: dict[str, TapRecord] = {}
    refused = 0

    def close_transit(tap_out: TapRecord | None) -> None:
        nonlocal open_transit
        if open_transit is None:
            return
        start = open_transit
        assert start.route_id is not None and start.stop_id is not None
        if tap_out is None:
            notes.append(
                f"No tap-out after boarding {start.route_id} at {start.stop_id}: "
                "priced as an incomplete journey."
            )
        legs.append(
            JourneyLeg(
                TransitLeg(
                    route_id=start.route_id,
                    from_stop_id=start.stop_id,
                    to_stop_id=tap_out.stop_id if tap_out else None,
                    start=start.occurred_at,
                    end=tap_out.occurred_at if tap_out else None,
                ),
                start.id,
                tap_out.id if tap_out else None,
            )
        )
        open_transit = None

    for tap in sorted(taps, key=_order):
        if not tap.counts:
            if tap.status == "accepted" and tap.decision == "deny":
                refused += 1
            continue
        if tap.kind == "tap_in":
            close_transit(None)
            if tap.route_id is None or tap.stop_id is None:
                notes.append("A tap-in without a route or stop was ignored.")
            elif tap.route_id in tap_out_routes:
                open_transit = tap
            else:
                legs.append(
                    JourneyLeg(
                        TransitLeg(tap.route_id, tap.stop_id, None, tap.occurred_at), tap.id, None
                    )
                )
        elif tap.kind == "tap_out":
            if tap.route_id not in tap_out_routes:
                continue
            if open_transit is not None and open_transit.route_id == tap.route_id:
                close_transit(tap)
            else:
                notes.append(
                    f"A tap-out on {tap.route_id} at {tap.stop_id} had no tap-in: not charged."
                )
        elif tap.kind == "bike_unlock":
            legs.append(_rental(tap, returns, next_unlock, day_end, default_plan_id, notes))
        elif tap.kind == "parking_entry":
            facility = tap.facility_id or ""
            if facility in open_stays:
                notes.append(f"Two entries at {facility} without an exit: the first stay ends.")
                legs.append(_stay(open_stays.pop(facility), tap.occurred_at, None))
            open_stays[facility] = tap
        elif tap.kind == "parking_exit":
            entry = open_stays.pop(tap.facility_id or "", None)
            if entry is None:
                notes.append(f"An exit from {tap.facility_id} had no entry this day: not charged.")
            else:
                legs.append(_stay(entry, tap.occurred_at, tap.id))
    close_transit(None)
    for facility, entry in sorted(open_stays.items()):
        notes.append(f"No exit from {facility}: the stay is charged until the end of the day.")
        legs.append(_stay(entry, max(day_end, entry.occurred_at), None))
    if refused:
        notes.append(f"{refused} tap(s) refused at the gate: not charged.")
    legs.sort(key=lambda j: (j.leg.start, j.start_tap_id))
    return Journeys(tuple(legs), tuple(notes))


def _rental(
    unlock: TapRecord,
    returns: Mapping[int, TapRecord],
    next_unlock: Mapping[int, datetime],
    day_end: datetime,
    default_plan_id: str | None,
    notes: list[str],
) -> JourneyLeg:
    plan_id = unlock.plan_id or default_plan_id or ""
    returned = returns.get(unlock.id)
    if returned is not None:
        return JourneyLeg(
            BikeLeg(plan_id, unlock.occurred_at, returned.occurred_at), unlock.id, returned.id
        )
    end = next_unlock.get(unlock.id)
    if end is not None:
        notes.append(f"Bike {unlock.bike_id} was unlocked again before a return: rental ended.")
    else:
        end = max(day_end, unlock.occurred_at)
        notes.append(f"Bike {unlock.bike_id} was not returned: charged until the end of the day.")
    return JourneyLeg(BikeLeg(plan_id, unlock.occurred_at, end), unlock.id, None)


def _stay(entry: TapRecord, end: datetime, exit_id: int | None) -> JourneyLeg:
    return JourneyLeg(
        ParkingLeg(entry.facility_id or "", entry.occurred_at, end), entry.id, exit_id
    )
