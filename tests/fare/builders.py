"""Tiny tariffs built in the test, and a fluent leg builder (OpenTripPlanner style)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fare import BikeLeg, Leg, ParkingLeg, Quote, Tariff, TransitLeg, load_tariff_files, price

PARIS = ZoneInfo("Europe/Paris")

TOML = """timezone = "Europe/Paris"
service_day_start = "04:30"
currency = "{currency}"
[bike]
operator_id = "bikes"
network_id = "bike"
[parking]
operator_id = "parks"
network_id = "parking"
"""

BASE = {
    "agency.txt": "agency_id,agency_name,agency_timezone\nop,Operator,Europe/Paris\n",
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "weekdays,1,1,1,1,1,0,0,20200101,20351231\n"
        "weekend,0,0,0,0,0,1,1,20200101,20351231\n"
        "all,1,1,1,1,1,1,1,20200101,20351231\n"
    ),
}


def csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def routes(*specs: str) -> str:
    """`"T1 tram net"` -> a route T1, route_type 0, in network `net` (`-` for none)."""
    kinds = {"tram": 0, "bus": 3, "metro": 1, "rail": 2}
    rows = ["route_id,agency_id,route_short_name,route_type,network_id"]
    for spec in specs:
        route_id, kind, network = spec.split()
        rows.append(f"{route_id},op,{route_id},{kinds[kind]},{'' if network == '-' else network}")
    return csv(*rows)


def stops(*stop_ids: str) -> str:
    return csv("stop_id,stop_name", *(f"{s},{s.title()}" for s in stop_ids))


def networks(*network_ids: str) -> str:
    return csv("network_id", *network_ids)


def build_files(currency: str = "EUR", **files: str) -> dict[str, bytes]:
    """Files by name; keyword names use `__` for `/` and `_dot_` is not needed: pass
    `fare_products="..."` for fare_products.txt, or a full name in `extra`."""
    out = {name: text.encode() for name, text in BASE.items()}
    out["tariff.toml"] = TOML.format(currency=currency).encode()
    for name, text in files.items():
        out[_file_name(name)] = text.encode()
    return out


def _file_name(name: str) -> str:
    if name == "tariff_toml":
        return "tariff.toml"
    if name == "gbfs":
        return "gbfs/system_pricing_plans.json"
    if name == "parking_tariffs":
        return "parking_tariffs.json"
    return f"{name}.txt"


def tariff(currency: str = "EUR", **files: str) -> Tariff:
    return load_tariff_files(build_files(currency, **files))


def tariff_from(files: Mapping[str, bytes]) -> Tariff:
    return load_tariff_files(files)


class Journey:
    """`Journey("2026-11-26").ride("T1", "A", "B", "08:00", "08:20").bike(...)`; times
    are Paris local; `next_day()` or `on(date)` moves on."""

    def __init__(self, day: str | date = "2026-11-26", zone: ZoneInfo = PARIS) -> None:
        self.day = date.fromisoformat(day) if isinstance(day, str) else day
        self.zone = zone
        self.legs: list[Leg] = []

    def at(self, clock: str) -> datetime:
        """`"08:00"`, `"08:00:30"`, or `"+1 01:00"` for the next calendar day."""
        day = self.day
        if clock.startswith("+"):
            offset, clock = clock[1:].split(" ")
            day += timedelta(days=int(offset))
        parts = [int(p) for p in clock.split(":")]
        while len(parts) < 3:
            parts.append(0)
        hour, minute, second = parts
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=self.zone)

    def on(self, day: str | date) -> Journey:
        self.day = date.fromisoformat(day) if isinstance(day, str) else day
        return self

    def next_day(self, days: int = 1) -> Journey:
        self.day += timedelta(days=days)
        return self

    def ride(
        self,
        route_id: str,
        from_stop: str,
        to_stop: str | None,
        start: str,
        end: str | None = None,
    ) -> Journey:
        self.legs.append(
            TransitLeg(route_id, from_stop, to_stop, self.at(start), self.at(end) if end else None)
        )
        return self

    def bike(self, plan_id: str, start: str, end: str, km: str | None = None) -> Journey:
        distance = Decimal(km) if km is not None else None
        self.legs.append(BikeLeg(plan_id, self.at(start), self.at(end), distance))
        return self

    def bike_for(self, plan_id: str, start: str, minutes: float, km: str | None = None) -> Journey:
        begin = self.at(start)
        end = begin + timedelta(seconds=round(minutes * 60))
        distance = Decimal(km) if km is not None else None
        self.legs.append(BikeLeg(plan_id, begin, end, distance))
        return self

    def park_for(self, tariff_id: str, start: str, minutes: float) -> Journey:
        begin = self.at(start)
        self.legs.append(
            ParkingLeg(tariff_id, begin, begin + timedelta(seconds=round(minutes * 60)))
        )
        return self

    def park(self, tariff_id: str, start: str, end: str) -> Journey:
        self.legs.append(ParkingLeg(tariff_id, self.at(start), self.at(end)))
        return self

    def price(self, tariff: Tariff, **kwargs: str | None) -> Quote:
        return price(tariff, self.legs, **kwargs)


def total(tariff: Tariff, journey: Journey, **kwargs: str | None) -> int:
    return journey.price(tariff, **kwargs).total_minor


def charged(quote: Quote, leg_index: int) -> int:
    """What one leg ends up costing: its price plus every adjustment booked on it."""
    own = next(leg.amount_minor for leg in quote.legs if leg.index == leg_index)
    return own + sum(a.amount_minor for a in quote.adjustments if a.leg_index == leg_index)
