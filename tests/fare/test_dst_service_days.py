"""Service days start at 04:30 Paris local time, also on the days clocks change (last
Sundays of March and October), when a service day lasts 23 or 25 hours."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fare import Tariff, TransitLeg, price
from tests.fare.builders import Journey, csv, routes, stops, tariff


def daily_capped() -> Tariff:
    return tariff(
        routes=routes("T1 tram -"),
        stops=stops("a", "b"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency", "single,Single,1.30,EUR"
        ),
        fare_leg_rules=csv("fare_product_id", "single"),
        fare_capping=csv(
            "cap_id,cap_name,period,amount,currency,network_ids,rider_category_id,fare_media_id",
            "day,Daily cap,day,3.90,EUR,,,",
        ),
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def days_of(*moments: datetime) -> list[date]:
    legs = [TransitLeg("T1", "a", "b", moment) for moment in moments]
    quote = price(daily_capped(), legs)
    return [leg.service_day for leg in quote.legs]


def test_spring_forward_day_starts_at_0430_summer_time() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST. 02:45 UTC is 04:45 CEST (Sunday's day),
    # though it would be 03:45 on the winter offset; 02:15 UTC is 04:15 CEST (Saturday's).
    assert days_of(utc("2026-03-29T02:45:00"), utc("2026-03-29T02:15:00")) == [
        date(2026, 3, 29),
        date(2026, 3, 28),
    ]


def test_fall_back_day_starts_at_0430_winter_time() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET. 03:15 UTC is 04:15 CET (Saturday's
    # day), though it would be 05:15 on the summer offset; 03:45 UTC is 04:45 CET.
    assert days_of(utc("2026-10-25T03:15:00"), utc("2026-10-25T03:45:00")) == [
        date(2026, 10, 24),
        date(2026, 10, 25),
    ]


def test_the_daily_cap_covers_a_25_hour_service_day() -> None:
    journey = (
        Journey("2026-10-24")
        .ride("T1", "a", "b", "05:00")
        .ride("T1", "a", "b", "12:00")
        .ride("T1", "a", "b", "+1 01:30")
        .ride("T1", "a", "b", "+1 04:20")  # still Saturday's service day, after fall-back
        .ride("T1", "a", "b", "+1 04:40")  # Sunday's
    )
    quote = journey.price(daily_capped())
    assert quote.by_service_day == {date(2026, 10, 24): 390, date(2026, 10, 25): 130}


def test_the_daily_cap_covers_a_23_hour_service_day() -> None:
    journey = (
        Journey("2026-03-28")
        .ride("T1", "a", "b", "05:00")
        .ride("T1", "a", "b", "+1 01:30")
        .ride("T1", "a", "b", "+1 03:10")  # the hour 02:00-03:00 does not exist
        .ride("T1", "a", "b", "+1 04:29")
        .ride("T1", "a", "b", "+1 04:30")
    )
    quote = journey.price(daily_capped())
    assert quote.by_service_day == {date(2026, 3, 28): 390, date(2026, 3, 29): 130}


def test_transfer_chains_never_cross_the_service_day_boundary() -> None:
    hourly = tariff(
        routes=routes("T1 tram -"),
        stops=stops("a", "b"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency", "single,Single,1.30,EUR"
        ),
        fare_leg_rules=csv("leg_group_id,fare_product_id", "LG,single"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type",
            "LG,LG,-1,3600,1,0",
        ),
    )
    journey = Journey().ride("T1", "a", "b", "+1 04:00").ride("T1", "b", "a", "+1 04:40")
    assert journey.price(hourly).total_minor == 260
    journey = Journey().ride("T1", "a", "b", "+1 03:40").ride("T1", "b", "a", "+1 04:20")
    assert journey.price(hourly).total_minor == 130
