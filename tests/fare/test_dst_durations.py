"""A bike ride or a parking stay across a DST change costs the time it really lasted,
however its times are written (zone-aware or fixed offsets)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fare import BikeLeg, ParkingLeg, price
from tests.fare.demo import dijon

PARIS = ZoneInfo("Europe/Paris")


def test_a_ride_across_the_autumn_change_costs_the_same_in_any_notation() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET. 01:50 CEST -> 02:20 CET (the second
    # 02:20 of the night) is 90 minutes, though the wall clock says 30.
    start = datetime(2026, 10, 25, 1, 50, tzinfo=PARIS)
    end = datetime(2026, 10, 25, 2, 20, tzinfo=PARIS, fold=1)
    zoned = price(dijon(), [BikeLeg("velodi", start, end)])
    in_utc = price(dijon(), [BikeLeg("velodi", start.astimezone(UTC), end.astimezone(UTC))])
    assert (end.timestamp() - start.timestamp()) / 60 == 90
    assert zoned.total_minor == in_utc.total_minor == 400  # 30 free, then two started 30


def test_a_stay_across_the_spring_change_is_billed_for_real_time() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST. 01:30 -> 03:30 local is one real hour.
    start = datetime(2026, 3, 29, 1, 30, tzinfo=PARIS)
    end = datetime(2026, 3, 29, 3, 30, tzinfo=PARIS)
    zoned = price(dijon(), [ParkingLeg("centre", start, end)])
    in_utc = price(dijon(), [ParkingLeg("centre", start.astimezone(UTC), end.astimezone(UTC))])
    assert zoned.total_minor == in_utc.total_minor == 200  # one hour at 2.00
