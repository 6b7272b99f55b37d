"""GTFS schedule files the fares need: agencies, routes and their networks, stops and
their areas, calendars and timeframes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fare.loader.csvfile import Row, read_csv
from fare.loader.report import Report
from fare.tariff import Agency, Route, Service, Stop, Timeframe


@dataclass
class Schedule:
    agencies: dict[str, Agency] = field(default_factory=dict)
    agency_ids: set[str] = field(default_factory=set)  # also those with a bad row
    routes: dict[str, Route] = field(default_factory=dict)
    stops: dict[str, Stop] = field(default_factory=dict)
    networks: set[str] = field(default_factory=set)
    areas: set[str] = field(default_factory=set)
    services: dict[str, Service] = field(default_factory=dict)
    timeframes: dict[str, tuple[Timeframe, ...]] = field(default_factory=dict)


def zone(row: Row, name: str, *, required: bool = False) -> ZoneInfo | None:
    raw = row.text(name, required=required)
    if raw is None:
        return None
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        row.problem(name, f"{raw!r} is not an IANA time zone")
        return None


def unique(row: Row, name: str, seen: Mapping[str, object] | set[str]) -> str | None:
    value = row.text(name, required=True)
    if value is not None and value in seen:
        row.problem(name, f"{value!r} is defined twice")
        return None
    return value


def load_schedule(files: Mapping[str, bytes], report: Report) -> Schedule:
    out = Schedule()
    _agencies(files, report, out)
    _networks(files, report, out)
    _routes(files, report, out)
    _stops(files, report, out)
    _calendar(files, report, out)
    _timeframes(files, report, out)
    return out


def _agencies(files: Mapping[str, bytes], report: Report, out: Schedule) -> None:
    table = read_csv(files, "agency.txt", report, required_columns=("agency_id", "agency_timezone"))
    for row in table or ():
        agency_id = unique(row, "agency_id", out.agency_ids)
        timezone = zone(row, "agency_timezone", required=True)
        if agency_id is not None:
            out.agency_ids.add(agency_id)
        if agency_id is not None and timezone is not None:
            name = row.text("agency_name") or agency_id
            out.agencies[agency_id] = Agency(agency_id, name, timezone)


def _networks(files: Mapping[str, bytes], report: Report, out: Schedule) -> None:
    for row in read_csv(files, "networks.txt", report, required_columns=("network_id",)) or ():
        network_id = unique(row, "network_id", out.networks)
        if network_id is not None:
            out.networks.add(network_id)


def _routes(files: Mapping[str, bytes], report: Report, out: Schedule) -> None:
    declared_networks = bool(out.networks) or "networks.txt" in files
    by_route_networks: dict[str, str] = {}
    table = read_csv(
        files, "route_networks.txt", report, required_columns=("network_id", "route_id")
    )
    for row in table or ():
        network_id = row.required("network_id")
        route_id = unique(row, "route_id", by_route_networks)
        if declared_networks and network_id and network_id not in out.networks:
            row.problem("network_id", f"network {network_id!r} is not in networks.txt")
        if route_id is not None:
            by_route_networks[route_id] = network_id
    routes = read_csv(files, "routes.txt", report, required_columns=("route_id",))
    if routes is None:
        return
    if table is not None and routes.has_column("network_id"):
        report.add(
            "routes.txt", 1, "network_id", "use route_networks.txt or routes.network_id, not both"
        )
    only_agency = next(iter(out.agency_ids)) if len(out.agency_ids) == 1 else None
    seen: set[str] = set()
    for row in routes:
        route_id = unique(row, "route_id", seen)
        if route_id is not None:
            seen.add(route_id)
        agency_id = row.text("agency_id") or only_agency
        if agency_id is None:
            row.problem("agency_id", "is required when agency.txt has several agencies")
        elif agency_id not in out.agency_ids:
            row.problem("agency_id", f"agency {agency_id!r} is not in agency.txt")
        own_network = row.text("network_id")
        if declared_networks and own_network is not None and own_network not in out.networks:
            row.problem("network_id", f"network {own_network!r} is not in networks.txt")
        route_type = row.integer("route_type", minimum=0)
        if route_id is None or agency_id not in out.agencies:
            continue
        route_network = by_route_networks.get(route_id, own_network)
        if route_network is not None:
            out.networks.add(route_network)
        out.routes[route_id] = Route(
            route_id=route_id,
            agency_id=agency_id,
            network_id=route_network,
            short_name=row.text("route_short_name") or "",
            long_name=row.text("route_long_name") or "",
            route_type=3 if route_type is None else route_type,
        )
    for route_id in by_route_networks.keys() - out.routes.keys():
        report.add(
            "route_networks.txt", None, "route_id", f"route {route_id!r} is not in routes.txt"
        )


def _stops(files: Mapping[str, bytes], report: Report, out: Schedule) -> None:
    raw: dict[str, tuple[Row, str | None]] = {}
    for row in read_csv(files, "stops.txt", report, required_columns=("stop_id",)) or ():
        stop_id = unique(row, "stop_id", raw)
        if stop_id is not None:
            raw[stop_id] = (row, row.text("parent_station"))
    own_areas: dict[str, set[str]] = {}
    for row in read_csv(files, "areas.txt", report, required_columns=("area_id",)) or ():
        area_id = unique(row, "area_id", out.areas)
        if area_id is not None:
            out.areas.add(area_id)
    table = read_csv(files, "stop_areas.txt", report, required_columns=("area_id", "stop_id"))
    for row in table or ():
        area_id, stop_id = row.required("area_id"), row.required("stop_id")
        if area_id and area_id not in out.areas:
            row.problem("area_id", f"area {area_id!r} is not in areas.txt")
        if stop_id and stop_id not in raw:
            row.problem("stop_id", f"stop {stop_id!r} is not in stops.txt")
        own_areas.setdefault(stop_id, set()).add(area_id)
    for stop_id, (row, named_parent) in raw.items():
        parent = named_parent
        if parent is not None and parent not in raw:
            row.problem("parent_station", f"stop {parent!r} is not in stops.txt")
            parent = None
        areas = own_areas.get(stop_id) or (own_areas.get(parent, set()) if parent else set())
        out.stops[stop_id] = Stop(
            stop_id=stop_id,
            name=row.text("stop_name") or stop_id,
            parent_station=parent,
            timezone=zone(row, "stop_timezone"),
            lat=_coordinate(row, "stop_lat", Decimal(90)),
            lon=_coordinate(row, "stop_lon", Decimal(180)),
            areas=frozenset(areas),
        )


def _coordinate(row: Row, name: str, bound: Decimal) -> Decimal | None:
    value = row.decimal(name)
    if value is not None and not -bound <= value <= bound:
        row.problem(name, f"{value} is outside -{bound}..{bound}")
        return None
    return value


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _calendar(files: Mapping[str, bytes], report: Report, out: Schedule) -> None:
    weekly: dict[str, tuple[tuple[bool, ...], date | None, date | None]] = {}
    columns = ("service_id", *_DAYS, "start_date", "end_date")
    for row in read_csv(files, "calendar.txt", report, required_columns=columns) or ():
        service_id = unique(row, "service_id", weekly)
        days = tuple(row.integer(d, required=True, allowed=frozenset({0, 1})) == 1 for d in _DAYS)
        start = row.gtfs_date("start_date", required=True)
        end = row.gtfs_date("end_date", required=True)
        if service_id is not None:
            weekly[service_id] = (days, start, end)
    added: dict[str, set[date]] = {}
    removed: dict[str, set[date]] = {}
    exceptions = ("service_id", "date", "exception_type")
    for row in read_csv(files, "calendar_dates.txt", report, required_columns=exceptions) or ():
        service_id = row.required("service_id")
        day = row.gtfs_date("date", required=True)
        kind = row.integer("exception_type", required=True, allowed=frozenset({1, 2}))
        if day is not None and kind is not None:
            (added if kind == 1 else removed).setdefault(service_id, set()).add(day)
    for service_id in weekly.keys() | added.keys() | removed.keys():
        days, start, end = weekly.get(service_id, ((False,) * 7, None, None))
        out.services[service_id] = Service(
            service_id=service_id,
            weekdays=(days[0], days[1], days[2], days[3], days[4], days[5], days[6]),
            start_date=start,
            end_date=end,
            added=frozenset(added.get(service_id, ())),
            removed=frozenset(removed.get(service_id, ())),
        )


def _timeframes(files: Mapping[str, bytes], report: Report, out: Schedule) -> None:
    groups: dict[str, list[Timeframe]] = {}
    columns = ("timeframe_group_id", "service_id")
    for row in read_csv(files, "timeframes.txt", report, required_columns=columns) or ():
        group_id = row.required("timeframe_group_id")
        service_id = row.required("service_id")
        if service_id and service_id not in out.services:
            row.problem("service_id", f"service {service_id!r} is not in calendar.txt")
        start, end = row.time_of_day("start_time"), row.time_of_day("end_time")
        if row.has("start_time") != row.has("end_time"):
            row.problem("end_time", "start_time and end_time are both set or both empty")
            continue
        start = 0 if start is None else start
        end = 86400 if end is None else end
        if start >= end:
            row.problem("end_time", "must be after start_time (split a window over midnight)")
            continue
        if group_id:
            groups.setdefault(group_id, []).append(Timeframe(group_id, start, end, service_id))
    out.timeframes = {group: tuple(frames) for group, frames in groups.items()}
