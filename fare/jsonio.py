"""The journeys JSON of DESIGN §4.2 in, the quote JSON out. Shared by the CLI and the
HTTP endpoint, so both accept and answer exactly the same shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fare.errors import InvalidJourney
from fare.model import BikeLeg, Leg, ParkingLeg, Quote, TransitLeg

_FIELDS = {
    "transit": ({"kind", "route_id", "from_stop_id", "start"}, {"to_stop_id", "end"}),
    "bike": ({"kind", "plan_id", "start", "end"}, {"distance_km"}),
    "parking": ({"kind", "tariff_id", "start", "end"}, set()),
}


@dataclass(frozen=True, slots=True)
class Journeys:
    legs: tuple[Leg, ...]
    rider_category_id: str | None
    fare_media_id: str | None


def parse_journeys(doc: object) -> Journeys:
    """Raise InvalidJourney, with the leg index when there is one, on any malformed part."""
    if not isinstance(doc, Mapping):
        raise InvalidJourney("the journeys document must be a JSON object")
    unknown = set(doc) - {"rider_category_id", "fare_media_id", "legs"}
    if unknown:
        raise InvalidJourney(f"unknown field(s): {', '.join(sorted(unknown))}")
    category = _optional_text(doc, "rider_category_id", "the journeys document")
    medium = _optional_text(doc, "fare_media_id", "the journeys document")
    raw_legs = doc.get("legs")
    if not isinstance(raw_legs, list):
        raise InvalidJourney("legs must be a list")
    return Journeys(tuple(_leg(i, raw) for i, raw in enumerate(raw_legs)), category, medium)


def _optional_text(doc: Mapping[str, Any], name: str, where: str) -> str | None:
    value = doc.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidJourney(f"{where}: {name} must be a non-empty string")
    return value


def _leg(i: int, raw: object) -> Leg:
    where = f"leg {i}"

    def fail(detail: str) -> InvalidJourney:
        return InvalidJourney(f"{where}: {detail}", leg_index=i)

    if not isinstance(raw, Mapping):
        raise fail("must be a JSON object")
    kind = raw.get("kind")
    if kind not in _FIELDS:
        raise fail(f"kind must be one of transit, bike, parking, not {kind!r}")
    required, optional = _FIELDS[kind]
    missing = required - set(raw)
    if missing:
        raise fail(f"missing field(s): {', '.join(sorted(missing))}")
    unknown = set(raw) - required - optional
    if unknown:
        raise fail(f"unknown field(s): {', '.join(sorted(unknown))}")

    def text(name: str) -> str:
        value = raw.get(name)
        if not isinstance(value, str) or not value:
            raise fail(f"{name} must be a non-empty string")
        return value

    def moment(name: str) -> datetime:
        value = raw.get(name)
        if not isinstance(value, str) or "T" not in value.upper():
            raise fail(f"{name} must be an RFC 3339 date-time with a UTC offset")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise fail(f"{name} {value!r} is not an RFC 3339 date-time") from exc
        if parsed.utcoffset() is None:
            raise fail(f"{name} {value!r} needs a UTC offset (Z or +01:00)")
        return parsed

    if kind == "transit":
        to_stop = text("to_stop_id") if raw.get("to_stop_id") is not None else None
        end = moment("end") if raw.get("end") is not None else None
        return TransitLeg(text("route_id"), text("from_stop_id"), to_stop, moment("start"), end)
    if kind == "bike":
        distance = raw.get("distance_km")
        km = None
        if distance is not None:
            if isinstance(distance, bool) or not isinstance(distance, int | float | Decimal | str):
                raise fail("distance_km must be a number")
            try:
                # A distance, not money: a float from a JSON parser is read via its repr.
                km = Decimal(str(distance))
            except InvalidOperation as exc:
                raise fail(f"distance_km {distance!r} is not a number") from exc
            if not km.is_finite() or km < 0:
                raise fail("distance_km must be a non-negative number")
        return BikeLeg(text("plan_id"), moment("start"), moment("end"), km)
    return ParkingLeg(text("tariff_id"), moment("start"), moment("end"))


def render_quote(quote: Quote) -> dict[str, Any]:
    """Exactly the output object of DESIGN §4.2."""
    return {
        "currency": quote.currency,
        "total_minor": quote.total_minor,
        "legs": [
            {
                "index": leg.index,
                "amount_minor": leg.amount_minor,
                "fare_product_id": leg.fare_product_id,
                "explanation": leg.explanation,
            }
            for leg in quote.legs
        ],
        "adjustments": [
            {
                "kind": adjustment.kind,
                "cap_id": adjustment.cap_id,
                "amount_minor": adjustment.amount_minor,
                "explanation": adjustment.explanation,
            }
            for adjustment in quote.adjustments
        ],
    }
