"""parking_tariffs.json: the subset of the OCPI 2.2.1 Tariff object a car park needs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from fare.loader.jsonfile import JsonFile, read_json
from fare.loader.report import Report
from fare.tariff import ParkingComponent, ParkingElement, ParkingRestrictions, ParkingTariff

FILE = "parking_tariffs.json"
KINDS = frozenset({"FLAT", "TIME", "PARKING_TIME"})
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def load_parking(files: Mapping[str, bytes], report: Report, currency: str) -> list[ParkingTariff]:
    loaded = read_json(files, FILE, report)
    if loaded is None:
        return []
    source, doc = loaded
    tariffs = doc.get("tariffs") if isinstance(doc, dict) else None
    if not isinstance(tariffs, list):
        source.problem(None, "tariffs", "a list of tariffs is required")
        return []
    out: dict[str, ParkingTariff] = {}
    for raw in tariffs:
        parsed = _tariff(source, raw, currency)
        if parsed is not None and parsed.tariff_id in out:
            source.problem(parsed.tariff_id, "id", f"tariff {parsed.tariff_id!r} defined twice")
        elif parsed is not None:
            out[parsed.tariff_id] = parsed
    return list(out.values())


def _tariff(source: JsonFile, raw: Any, currency: str) -> ParkingTariff | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        source.problem(None, "id", "each tariff needs a string id")
        return None
    tariff_id: str = raw["id"]
    ok = True
    if raw.get("currency") != currency:
        source.problem(tariff_id, "currency", f"{raw.get('currency')!r} differs from {currency}")
        ok = False
    max_price = None
    if raw.get("max_price") is not None:
        price = raw["max_price"]
        value = (
            price.get("excl_vat", price.get("before_taxes")) if isinstance(price, dict) else None
        )
        max_price = source.amount(tariff_id, "max_price.excl_vat", value, currency)
        ok = ok and max_price is not None
    elements_raw = raw.get("elements")
    if not isinstance(elements_raw, list) or not elements_raw:
        source.problem(tariff_id, "elements", "at least one element is required")
        return None
    elements = [_element(source, tariff_id, e, currency) for e in elements_raw]
    if not ok or any(e is None for e in elements):
        return None
    names = raw.get("tariff_alt_text")
    name = tariff_id
    if isinstance(names, list) and names and isinstance(names[0], dict):
        name = str(names[0].get("text", tariff_id))
    return ParkingTariff(
        tariff_id=tariff_id,
        name=name,
        elements=tuple(e for e in elements if e is not None),
        max_price_minor=max_price,
    )


def _element(source: JsonFile, tariff_id: str, raw: Any, currency: str) -> ParkingElement | None:
    components_raw = raw.get("price_components") if isinstance(raw, dict) else None
    if not isinstance(components_raw, list) or not components_raw:
        source.problem(tariff_id, "price_components", "each element needs price components")
        return None
    components: list[ParkingComponent] = []
    ok = True
    for component in components_raw:
        kind = component.get("type") if isinstance(component, dict) else None
        if kind not in KINDS:
            source.problem(tariff_id, "type", f"{kind!r} is not one of {sorted(KINDS)}")
            ok = False
            continue
        assert isinstance(component, dict)
        price = source.amount(tariff_id, "price", component.get("price"), currency)
        step = component.get("step_size", 1)
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            source.problem(tariff_id, "step_size", f"{step!r} is not a positive whole number")
            ok = False
            continue
        if price is None:
            ok = False
            continue
        components.append(ParkingComponent(kind, price, step))
    restrictions = _restrictions(source, tariff_id, raw.get("restrictions"))
    if not ok or restrictions is False:
        return None
    limits = restrictions if isinstance(restrictions, ParkingRestrictions) else None
    return ParkingElement(tuple(components), limits)


def _restrictions(source: JsonFile, tariff_id: str, raw: Any) -> ParkingRestrictions | bool:
    """The parsed restrictions, True when there are none, False after reporting a problem."""
    if raw is None:
        return True
    if not isinstance(raw, dict):
        source.problem(tariff_id, "restrictions", "must be an object")
        return False
    ok = True

    def clock(key: str) -> int | None:
        nonlocal ok
        value = raw.get(key)
        if value is None:
            return None
        found = re.fullmatch(r"(\d\d):(\d\d)", str(value))
        if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59:
            source.problem(tariff_id, key, f"{value!r} is not a HH:MM time")
            ok = False
            return None
        return int(found.group(1)) * 3600 + int(found.group(2)) * 60

    def day(key: str) -> date | None:
        nonlocal ok
        value = raw.get(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            source.problem(tariff_id, key, f"{value!r} is not a YYYY-MM-DD date")
            ok = False
            return None

    def seconds(key: str) -> int | None:
        nonlocal ok
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            source.problem(tariff_id, key, f"{value!r} is not a whole number of seconds")
            ok = False
            return None
        return value

    days = None
    if raw.get("day_of_week") is not None:
        listed = raw["day_of_week"]
        if not isinstance(listed, list) or any(d not in DAYS for d in listed):
            source.problem(tariff_id, "day_of_week", f"{listed!r} is not a list of day names")
            ok = False
        else:
            days = frozenset(DAYS.index(d) for d in listed)
    parsed = ParkingRestrictions(
        start_s=clock("start_time"),
        end_s=clock("end_time"),
        start_date=day("start_date"),
        end_date=day("end_date"),
        min_duration_s=seconds("min_duration"),
        max_duration_s=seconds("max_duration"),
        days_of_week=days,
    )
    return parsed if ok else False
