"""Reference §7, WMATA (fictional timeframes), keyed on the departure timeframe only, in a
file without `rule_priority`: start inclusive, end exclusive."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, stops, tariff, total


@pytest.fixture(scope="module")
def wmata() -> Tariff:
    return tariff(
        "USD",
        routes=routes("RED metro -"),
        stops=stops("a", "b"),
        timeframes=csv(
            "timeframe_group_id,start_time,end_time,service_id",
            "weekday_peak,05:00:00,09:30:00,weekdays",
            "weekday_peak,15:00:00,19:00:00,weekdays",
            "weekday_offpeak,09:30:00,15:00:00,weekdays",
            "weekday_offpeak,19:00:00,21:30:00,weekdays",
            "weekday_late_night,21:30:00,24:00:00,weekdays",
            "weekday_late_night,00:00:00,05:00:00,weekdays",
            "weekend,00:00:00,24:00:00,weekend",
        ),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "peak_fare,Peak fare,5.00,USD",
            "offpeak_fare,Off-peak fare,3.00,USD",
            "weekend_fare,Weekend fare,2.00,USD",
            "late_night_fare,Late-night fare,2.00,USD",
        ),
        fare_leg_rules=csv(
            "leg_group_id,from_timeframe_group_id,fare_product_id",
            "peak,weekday_peak,peak_fare",
            "offpeak,weekday_offpeak,offpeak_fare",
            "weekend,weekend,weekend_fare",
            "late,weekday_late_night,late_night_fare",
        ),
    )


@pytest.mark.parametrize(
    ("day", "clock", "price"),
    [
        ("2026-11-25", "07:30", 500),  # stated
        ("2026-11-25", "11:30", 300),  # stated
        ("2026-11-25", "09:30:00", 300),
        ("2026-11-25", "09:29:59", 500),
        ("2026-11-25", "22:00", 200),
        ("2026-11-28", "07:30", 200),  # Saturday
        ("2026-11-25", "19:00", 300),
        ("2026-11-25", "18:59:59", 500),
    ],
)
def test_departure_timeframe_sets_the_fare(wmata: Tariff, day: str, clock: str, price: int) -> None:
    assert total(wmata, Journey(day).ride("RED", "a", "b", clock, None)) == price
