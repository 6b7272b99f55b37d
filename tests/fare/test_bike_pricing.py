"""Reference §9: GBFS pricing plans, started intervals charged (ceil), v2.3 and v3.x
shapes, v3.1 fare_capping windows, and the DiviaVélodi plans of the demo tariff."""

from __future__ import annotations

import json

import pytest

from fare import Tariff
from tests.fare.builders import Journey, tariff
from tests.fare.demo import dijon


def plans(currency: str, *plans: dict[str, object], version: str = "3.0") -> Tariff:
    doc = {"last_updated": 0, "ttl": 0, "version": version, "data": {"plans": list(plans)}}
    return tariff(currency, gbfs=json.dumps(doc))


def ride_price(plan_tariff: Tariff, plan_id: str, minutes: float, km: str | None = None) -> int:
    return Journey().bike_for(plan_id, "08:00", minutes, km).price(plan_tariff).total_minor


V31_EXAMPLE_1 = {
    "plan_id": "plan2",
    "name": [{"text": "One-Way", "language": "en"}],
    "currency": "USD",
    "price": 2.00,
    "is_taxable": False,
    "per_min_pricing": [
        {"start": 30, "rate": 3.00, "interval": 0, "end": 60},
        {"start": 60, "rate": 0.10, "interval": 1},
    ],
}


@pytest.mark.parametrize(
    ("minutes", "price"), [(20, 200), (30, 200), (45, 500), (60, 500), (90, 800), (90.5, 810)]
)
def test_v31_example_1_by_minutes(minutes: float, price: int) -> None:
    assert ride_price(plans("USD", V31_EXAMPLE_1, version="3.1-RC"), "plan2", minutes) == price


V23_EXAMPLE_1 = {
    "plan_id": "plan3",
    "name": "Simple Rate",
    "currency": "USD",
    "price": 2.00,
    "is_taxable": False,
    "description": "$2 unlock fee, $1 per km from 10 km, then...",
    "per_km_pricing": [
        {"start": 10, "rate": 1.00, "interval": 1, "end": 25},
        {"start": 25, "rate": 0.50, "interval": 1},
        {"start": 25, "rate": 3.00, "interval": 5},
    ],
}


@pytest.mark.parametrize(("km", "price"), [("8", 200), ("20", 1200), ("27.3", 2150), ("30", 2250)])
def test_v23_example_1_by_distance(km: str, price: int) -> None:
    assert ride_price(plans("USD", V23_EXAMPLE_1, version="2.3"), "plan3", 10, km) == price


EXAMPLE_2 = {
    "plan_id": "plan4",
    "name": "Distance and time",
    "currency": "CAD",
    "price": 3.00,
    "is_taxable": True,
    "per_km_pricing": [{"start": 0, "rate": 0.25, "interval": 1}],
    "per_min_pricing": [{"start": 0, "rate": 0.50, "interval": 1}],
}


def test_example_2_adds_distance_and_time() -> None:
    assert ride_price(plans("CAD", EXAMPLE_2), "plan4", 20, "5") == 1425


def test_example_2_with_v31_fare_capping() -> None:
    capped = {**EXAMPLE_2, "fare_capping": {"duration": 720, "price": 15.00}}
    assert ride_price(plans("CAD", capped, version="3.1-RC"), "plan4", 40, "10") == 1500


HELLO_CYCLING = {
    "plan_id": "hello",
    "name": [{"text": "HELLO CYCLING", "language": "ja"}],
    "currency": "JPY",
    "price": 130,
    "is_taxable": False,
    "per_min_pricing": [{"start": 30, "rate": 100, "interval": 15}],
    "fare_capping": {"duration": 720, "price": 1800},
}


@pytest.mark.parametrize(("hours", "price"), [(10, 1800), (13, 2200)])
def test_hello_cycling_cap_applies_per_twelve_hour_window(hours: int, price: int) -> None:
    assert ride_price(plans("JPY", HELLO_CYCLING), "hello", hours * 60) == price


@pytest.mark.parametrize(
    ("minutes", "standard", "subscriber"),
    [(25, 0, 0), (30, 0, 0), (45, 200, 100), (60, 200, 100), (61, 400, 200), (95, 600, 300)],
)
def test_velodi_first_half_hour_free_then_per_started_half_hour(
    minutes: int, standard: int, subscriber: int
) -> None:
    assert ride_price(dijon(), "velodi", minutes) == standard
    assert ride_price(dijon(), "velodi_subscriber", minutes) == subscriber


def test_bike_legs_belong_to_the_bike_operator() -> None:
    quote = Journey().bike("velodi", "08:00", "08:45").price(dijon())
    (leg,) = quote.legs
    assert (leg.kind, leg.operator_id, leg.network_id) == ("bike", "divia-velodi", "velodi")
    assert leg.explanation == "Bike DiviaVélodi, 45 min: 2.00 EUR."
