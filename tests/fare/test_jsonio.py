"""The journeys JSON of DESIGN §4.2 in, the quote JSON out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from fare import BikeLeg, InvalidJourney, ParkingLeg, TransitLeg, price
from fare.jsonio import parse_journeys, render_quote
from tests.fare.demo import dijon

CET = timezone(timedelta(hours=1))


def example() -> dict[str, Any]:
    return {
        "rider_category_id": "adult",
        "fare_media_id": "cemv",
        "legs": [
            {"kind": "transit", "route_id": "T1", "from_stop_id": "GARE",
             "to_stop_id": "QUETIGNY", "start": "2026-11-26T08:00:00+01:00",
             "end": "2026-11-26T08:20:00+01:00"},
            {"kind": "bike", "plan_id": "velodi", "start": "2026-11-26T08:30:00+01:00",
             "end": "2026-11-26T09:15:00+01:00", "distance_km": 2.4},
            {"kind": "parking", "tariff_id": "centre", "start": "2026-11-26T09:20:00Z",
             "end": "2026-11-26T10:30:00Z"},
        ],
    }  # fmt: skip


def test_parses_the_design_example() -> None:
    parsed = parse_journeys(example())
    assert parsed.rider_category_id == "adult"
    assert parsed.fare_media_id == "cemv"
    assert parsed.legs == (
        TransitLeg("T1", "GARE", "QUETIGNY", datetime(2026, 11, 26, 8, tzinfo=CET),
                   datetime(2026, 11, 26, 8, 20, tzinfo=CET)),
        BikeLeg("velodi", datetime(2026, 11, 26, 8, 30, tzinfo=CET),
                datetime(2026, 11, 26, 9, 15, tzinfo=CET), Decimal("2.4")),
        ParkingLeg("centre", datetime(2026, 11, 26, 9, 20, tzinfo=UTC),
                   datetime(2026, 11, 26, 10, 30, tzinfo=UTC)),
    )  # fmt: skip


def test_optional_fields_may_be_absent() -> None:
    parsed = parse_journeys(
        {"legs": [{"kind": "transit", "route_id": "T1", "from_stop_id": "GARE",
                   "start": "2026-11-26T08:00:00+01:00"}]}
    )  # fmt: skip
    assert parsed.rider_category_id is None
    assert parsed.legs[0] == TransitLeg("T1", "GARE", None, datetime(2026, 11, 26, 8, tzinfo=CET))


def broken(path: tuple[int, str] | str, value: object) -> dict[str, Any]:
    doc = example()
    if isinstance(path, str):
        doc[path] = value
    elif value is ...:
        del doc["legs"][path[0]][path[1]]
    else:
        doc["legs"][path[0]][path[1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "words", "leg_index"),
    [
        ([], "JSON object", None),
        (broken("legs", {}), "legs must be a list", None),
        (broken("extra", 1), "unknown field(s): extra", None),
        (broken("rider_category_id", 3), "rider_category_id", None),
        (broken((0, "kind"), "boat"), "kind must be one of", 0),
        (broken((0, "route_id"), ...), "missing field(s): route_id", 0),
        (broken((0, "to_stop"), "X"), "unknown field(s): to_stop", 0),
        (broken((0, "start"), "2026-11-26T08:00:00"), "UTC offset", 0),
        (broken((0, "start"), "2026-11-26"), "RFC 3339", 0),
        (broken((0, "start"), "2026-13-26T08:00:00Z"), "RFC 3339", 0),
        (broken((0, "route_id"), ""), "route_id must be a non-empty string", 0),
        (broken((1, "distance_km"), "far"), "distance_km", 1),
        (broken((1, "distance_km"), True), "distance_km must be a number", 1),
        (broken((1, "distance_km"), -2), "non-negative", 1),
        (broken((2, "start"), 12), "RFC 3339", 2),
    ],
)
def test_malformed_journeys_are_invalid_with_a_clear_detail(
    doc: object, words: str, leg_index: int | None
) -> None:
    with pytest.raises(InvalidJourney) as caught:
        parse_journeys(doc)
    assert words in caught.value.detail
    assert caught.value.leg_index == leg_index


def test_a_leg_that_is_not_an_object_is_invalid() -> None:
    with pytest.raises(InvalidJourney, match="leg 0: must be a JSON object"):
        parse_journeys({"legs": ["T1"]})


def test_renders_exactly_the_design_output_shape() -> None:
    doc = example()
    doc["legs"] = [
        {**doc["legs"][0], "start": f"2026-11-26T{hour}:00:00+01:00", "end": None}
        for hour in ("08", "10", "12", "14")
    ]
    parsed = parse_journeys(doc)
    rendered = render_quote(price(dijon(), parsed.legs))
    assert set(rendered) == {"currency", "total_minor", "legs", "adjustments"}
    assert rendered["currency"] == "EUR"
    assert rendered["total_minor"] == 390
    assert rendered["legs"][0] == {
        "index": 0,
        "amount_minor": 130,
        "fare_product_id": "ticket_1h",
        "explanation": "Tram T1 from Dijon Gare to Quetigny Centre: 1-hour ticket, 1.30 EUR.",
    }
    assert {tuple(a) for a in rendered["adjustments"]} == {
        ("kind", "cap_id", "amount_minor", "explanation")
    }
    assert rendered["total_minor"] == sum(x["amount_minor"] for x in rendered["legs"]) + sum(
        a["amount_minor"] for a in rendered["adjustments"]
    )
