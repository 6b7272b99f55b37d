"""A synthetic Dijon service day on the demo tariff, as validators would post it.

Riders of a few kinds, each with a card of their own: commuters (tram out in the morning,
back in the evening, sometimes with a bus transfer), occasional riders (one or two bus
trips), bike-share riders (unlock, then return 10 to 75 minutes later at a dock) and
park-and-ride drivers (car park, tram into town and back). A few cards decline (the
simulated acquirer's BIN 400000 / last 4 0002), a few are expired, some taps are double
taps (same ATC within seconds), and some validators are offline and upload late.

Everything is derived from a seed, so the same day can be generated twice; the sealing
of card data is real HPKE to the server's published key.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from validators.sealing import build_card_tlv, seal

PARIS = ZoneInfo("Europe/Paris")

# The demo tariff has no stop_times; these are the stops each line serves.
LINES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # route: (operator, device kind, stops)
    "T1": ("divia-tram", "tram", ("GARE", "FOCH", "DARCY", "REPUBLIQUE", "UNIVERSITE", "QUETIGNY")),
    "T2": ("divia-tram", "tram", ("VALMY", "TOISON", "REPUBLIQUE", "DARCY", "GARE", "CHENOVE")),
    "L3": ("divia-bus", "bus", ("FONTAINE", "DARCY", "GODRANS", "GRESILLES", "TOISON")),
    "L5": ("divia-bus", "bus", ("UNIVERSITE", "REPUBLIQUE", "GODRANS", "DARCY", "TALANT")),
    "CO": ("divia-bus", "bus", ("GARE", "DARCY", "GODRANS", "REPUBLIQUE")),
}
CAR_PARKS = ("centre", "gare", "p-r-valmy")
BIKE_PLAN = "velodi"


@dataclass(frozen=True, slots=True)
class SimDevice:
    device_id: str
    operator_id: str
    kind: str
    route_id: str | None = None
    stop_id: str | None = None
    facility_id: str | None = None
    offline: bool = False  # uploads its taps at the end of the day


@dataclass(frozen=True, slots=True)
class SimCard:
    pan: str = field(repr=False)
    expiry: str  # YYMM
    kind: str  # commuter | occasional | bike | park_and_ride
    declines: bool = False
    expired: bool = False


@dataclass(slots=True)
class SimTap:
    device_id: str
    body: dict[str, Any]
    upload_at: datetime  # when the device gets to post it


def luhn_complete(body: str) -> str:
    total = 0
    for i, digit in enumerate(reversed(body)):
        d = int(digit)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _declining_pan(rng: random.Random) -> str:
    # BIN 400000, last 4 0002: the check digit must come out as 2.
    while True:
        pan = luhn_complete(f"400000{rng.randrange(10**6):06d}000")
        if pan.endswith("0002"):
            return pan


def devices() -> list[SimDevice]:
    found: list[SimDevice] = []
    for route, (operator, kind, stops) in LINES.items():
        for n, stop in enumerate(stops):
            found.append(
                SimDevice(
                    f"sim-{route}-{stop}".lower(), operator, kind, route, stop, offline=n == 1
                )
            )
    for park in CAR_PARKS:
        found.append(
            SimDevice(f"sim-gate-{park}", "indigo-dijon", "parking_gate", facility_id=park)
        )
    for dock in ("gare", "darcy", "republique", "universite"):
        found.append(SimDevice(f"sim-dock-{dock}", "divia-velodi", "bike_dock"))
    return found


def cards(riders: int, rng: random.Random) -> list[SimCard]:
    made: list[SimCard] = []
    kinds = ["commuter"] * 50 + ["occasional"] * 30 + ["bike"] * 12 + ["park_and_ride"] * 8
    for n in range(riders):
        kind = rng.choice(kinds)
        if n % 97 == 5:
            made.append(SimCard(_declining_pan(rng), "3012", kind, declines=True))
        elif n % 89 == 7:
            made.append(
                SimCard(luhn_complete(f"4{rng.randrange(10**14):014d}"), "2401", kind, expired=True)
            )
        else:
            bin_first = rng.choice(["4", "5", "4", "5", "4"])
            made.append(
                SimCard(luhn_complete(f"{bin_first}{rng.randrange(10**14):014d}"), "3012", kind)
            )
    return made


class DayPlan:
    """The taps of one service day, each with the device that posts it and when."""

    def __init__(self, day: date, riders: int, seed: int = 2026) -> None:
        self.day = day
        # The riders (their cards) are the same every day for a seed; their trips are not.
        self.cards = cards(riders, random.Random(seed))
        self.rng = random.Random(f"{seed}:{day.isoformat()}")
        self.devices = devices()
        self.by_route_stop = {(d.route_id, d.stop_id): d for d in self.devices if d.route_id}
        self._atc: dict[str, int] = {}

    def at(self, hour: float) -> datetime:
        local = datetime.combine(self.day, time(0), PARIS) + timedelta(hours=hour)
        return local.astimezone(ZoneInfo("UTC"))

    def taps(self) -> Iterator[tuple[SimCard, SimTap]]:
        for card in self.cards:
            yield from ((card, t) for t in getattr(self, f"_{card.kind}")(card))

    def _tap(
        self, card: SimCard | None, device: SimDevice, moment: datetime, kind: str, **extra: Any
    ) -> SimTap:
        body: dict[str, Any] = {
            "tap_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "occurred_at": moment.isoformat(),
            "kind": kind,
            **extra,
        }
        if card is not None:
            self._atc[card.pan] = self._atc.get(card.pan, self.rng.randrange(1, 500)) + 1
            body["_card"] = card
            body["_atc"] = self._atc[card.pan]
        upload = moment + (
            timedelta(hours=self.rng.uniform(2, 6)) if device.offline else timedelta(seconds=1)
        )
        return SimTap(device.device_id, body, upload)

    def _ride(self, card: SimCard, route: str, hour: float) -> list[SimTap]:
        stops = LINES[route][2]
        device = self.by_route_stop[(route, self.rng.choice(stops[:-1]))]
        taps = [
            self._tap(
                card,
                device,
                self.at(hour),
                "tap_in",
                vehicle_id=f"{route}-{self.rng.randrange(1, 40)}",
            )
        ]
        if self.rng.random() < 0.03:  # a nervous double tap: same ATC, seconds later
            again = self._tap(None, device, self.at(hour) + timedelta(seconds=2), "tap_in")
            again.body.update({"_card": card, "_atc": taps[0].body["_atc"]})
            taps.append(again)
        return taps

    def _commuter(self, card: SimCard) -> list[SimTap]:
        out = self.rng.uniform(6.5, 9.0)
        back = self.rng.uniform(16.5, 19.5)
        taps = self._ride(card, self.rng.choice(["T1", "T2"]), out)
        if self.rng.random() < 0.4:
            taps += self._ride(
                card, self.rng.choice(["L3", "L5", "CO"]), out + self.rng.uniform(0.2, 0.8)
            )
        taps += self._ride(card, self.rng.choice(["T1", "T2"]), back)
        return taps

    def _occasional(self, card: SimCard) -> list[SimTap]:
        first = self.rng.uniform(9, 20)
        taps = self._ride(card, self.rng.choice(list(LINES)), first)
        if self.rng.random() < 0.5:
            taps += self._ride(card, self.rng.choice(list(LINES)), first + self.rng.uniform(0.5, 3))
        return taps

    def _bike(self, card: SimCard) -> list[SimTap]:
        docks = [d for d in self.devices if d.kind == "bike_dock"]
        start = self.rng.uniform(7, 21)
        bike = f"V{self.rng.randrange(1, 400):03d}"
        unlock = self._tap(
            card,
            self.rng.choice(docks),
            self.at(start),
            "bike_unlock",
            bike_id=bike,
            plan_id=BIKE_PLAN,
        )
        minutes = self.rng.choice([12, 25, 29, 45, 61, 75])
        back = self._tap(
            None, self.rng.choice(docks), self.at(start + minutes / 60), "bike_return", bike_id=bike
        )
        return [unlock, back]

    def _park_and_ride(self, card: SimCard) -> list[SimTap]:
        gate = next(d for d in self.devices if d.facility_id == "p-r-valmy")
        arrive = self.rng.uniform(7, 9)
        leave = arrive + self.rng.uniform(7, 10)
        return [
            self._tap(card, gate, self.at(arrive), "parking_entry"),
            *self._ride(card, "T2", arrive + 0.1),
            *self._ride(card, "T2", leave - 0.4),
            self._tap(card, gate, self.at(leave), "parking_exit"),
        ]


def seal_tap(tap: SimTap, kid: str, public_key: bytes) -> dict[str, Any]:
    """The wire form of a planned tap: card data sealed to the server's key."""
    body = {k: v for k, v in tap.body.items() if not k.startswith("_")}
    card: SimCard | None = tap.body.get("_card")
    if card is not None:
        tlv = build_card_tlv(
            card.pan,
            card.expiry,
            atc=tap.body["_atc"],
            aid="A0000000031010" if card.pan[0] == "4" else "A0000000041010",
        )
        body["card"] = {"kid": kid, "sealed": seal(tlv, public_key)}
    return body
