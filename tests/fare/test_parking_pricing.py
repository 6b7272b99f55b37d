"""Reference §10: OCPI-shaped parking tariffs. Elements match per moment (first match
wins), the last period rounds up to its step_size, FLAT is charged once, max_price caps
the stay."""

from __future__ import annotations

import json

import pytest

from fare import Tariff
from tests.fare.builders import Journey, tariff
from tests.fare.demo import dijon


def parking(*elements: dict[str, object], max_price: str | None = None) -> Tariff:
    entry: dict[str, object] = {"id": "p", "currency": "EUR", "elements": list(elements)}
    if max_price is not None:
        entry["max_price"] = {"excl_vat": max_price}
    return tariff(parking_tariffs=json.dumps({"tariffs": [entry]}))


def stay(
    parking_tariff: Tariff, minutes: float, start: str = "10:00", day: str = "2026-11-26"
) -> int:
    return Journey(day).park_for("p", start, minutes).price(parking_tariff).total_minor


def component(kind: str, price: str, step: int = 1) -> dict[str, object]:
    return {"type": kind, "price": price, "step_size": step}


def test_time_priced_per_hour_with_minute_steps() -> None:
    assert stay(parking({"price_components": [component("TIME", "2.00", 60)]}), 150) == 500


@pytest.mark.parametrize(("minutes", "price"), [(20, 200), (60, 200), (70, 325), (120, 450)])
def test_dijon_street_parking_tiers(minutes: int, price: int) -> None:
    assert Journey().park_for("centre", "10:00", minutes).price(dijon()).total_minor == price


def test_only_the_last_period_is_rounded_to_its_step() -> None:
    # 1.00/h before 20:00 (15-minute steps), free after: 19:52-20:12 bills 8 min as 15.
    evening_free = parking(
        {"price_components": [component("PARKING_TIME", "1.00", 900)],
         "restrictions": {"end_time": "20:00"}},
    )  # fmt: skip
    assert stay(evening_free, 20, start="19:52") == 25


def test_max_price_caps_the_stay() -> None:
    capped = parking(
        {"price_components": [component("FLAT", "0.50"), component("TIME", "3.00", 60)]},
        max_price="10.00",
    )
    assert stay(capped, 120) == 650
    assert stay(capped, 240) == 1000


def test_day_of_week_and_night_windows_over_midnight() -> None:
    weekly = parking(
        {"price_components": [component("PARKING_TIME", "0.00", 60)],
         "restrictions": {"day_of_week": ["SUNDAY"]}},
        {"price_components": [component("PARKING_TIME", "0.50", 60)],
         "restrictions": {"start_time": "20:00", "end_time": "08:00"}},
        {"price_components": [component("PARKING_TIME", "2.00", 60)]},
    )  # fmt: skip
    assert stay(weekly, 120, day="2026-11-29") == 0  # Sunday
    assert stay(weekly, 120, day="2026-11-26") == 400  # Thursday daytime
    assert stay(weekly, 120, start="19:00", day="2026-11-26") == 250  # 1 h day + 1 h night
    assert stay(weekly, 60, start="07:30", day="2026-11-26") == 125  # 30 min night + 30 min day


def test_dates_and_durations_restrict_elements() -> None:
    dated = parking(
        {"price_components": [component("PARKING_TIME", "1.00", 60)],
         "restrictions": {"start_date": "2026-12-01", "end_date": "2027-01-01"}},
        {"price_components": [component("PARKING_TIME", "3.00", 60)],
         "restrictions": {"min_duration": 0, "max_duration": 86400}},
    )  # fmt: skip
    assert stay(dated, 60, day="2026-11-30") == 300
    assert stay(dated, 60, day="2026-12-01") == 100
    assert stay(dated, 60, day="2027-01-01") == 300


def test_demo_car_park_hourly_tiers_and_daily_maximum() -> None:
    # 2.40/h for two hours, then 1.60/h by day (07:00-20:00), 15-minute steps.
    assert Journey().park_for("gare", "09:00", 180).price(dijon()).total_minor == 640
    assert (
        Journey().park_for("gare", "09:00", 20).price(dijon()).total_minor == 120
    )  # 30 min billed
    assert Journey().park_for("gare", "09:00", 60 * 24).price(dijon()).total_minor == 1500


def test_parking_legs_belong_to_the_parking_operator() -> None:
    (leg,) = Journey().park_for("centre", "10:00", 130).price(dijon()).legs
    assert (leg.kind, leg.fare_product_id, leg.operator_id) == ("parking", "centre", "indigo-dijon")
    assert leg.explanation == "Parking Centre (on-street), 2 h 10 min: 5.75 EUR."
