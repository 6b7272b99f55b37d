"""Caps of fare_capping.txt: per service day, Monday-Sunday week and calendar month,
scoped by network, rider category and medium, stacking, and causal in time."""

from __future__ import annotations

from datetime import date

from fare import Tariff, price
from tests.fare.builders import Journey, charged, csv, routes, stops, tariff

CAP_HEADER = "cap_id,cap_name,period,amount,currency,network_ids,rider_category_id,fare_media_id"


def capped(*cap_rows: str, single: str = "1.30") -> Tariff:
    return tariff(
        networks=csv("network_id", "tram", "bus"),
        routes=routes("T1 tram tram", "B1 bus bus"),
        stops=stops("a", "b"),
        fare_media=csv("fare_media_id,fare_media_type", "cemv,3", "app,4"),
        rider_categories=csv("rider_category_id,is_default_fare_category", "adult,1", "reduced,0"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency", f"single,Single,{single},EUR"
        ),
        fare_leg_rules=csv("fare_product_id", "single"),
        fare_capping=csv(CAP_HEADER, *cap_rows),
        gbfs='{"data": {"plans": [{"plan_id": "bike", "currency": "EUR", "price": 1.00}]}}',
    )


def rides(journey: Journey, count: int, route: str = "T1") -> Journey:
    for hour in range(count):
        journey.ride(route, "a", "b", f"{7 + 2 * hour:02d}:00")
    return journey


def test_bvg_style_cap_charges_the_difference_then_nothing() -> None:
    bvg = capped("day,24-hour ticket,day,8.80,EUR,,,", single="3.00")
    quote = rides(Journey(), 4).price(bvg)
    assert [charged(quote, i) for i in range(4)] == [300, 300, 280, 0]
    assert quote.total_minor == 880


def test_weekly_cap_shrinks_the_day_it_is_reached_and_the_days_after() -> None:
    weekly = capped("day,Daily cap,day,3.90,EUR,,,", "week,Weekly cap,week,12.00,EUR,,,")
    journey = Journey("2026-11-23")  # a Monday
    for _ in range(7):
        rides(journey, 4).next_day()
    quote = journey.price(weekly)
    assert list(quote.by_service_day.values()) == [390, 390, 390, 30, 0, 0, 0]
    # The next Monday starts a new week.
    rides(journey, 1)
    assert price(weekly, journey.legs).by_service_day[date(2026, 11, 30)] == 130


def test_a_day_amount_never_depends_on_later_days() -> None:
    weekly = capped("day,Daily cap,day,3.90,EUR,,,", "week,Weekly cap,week,12.00,EUR,,,")
    journey = Journey("2026-11-23")
    amounts = []
    for day in range(7):
        rides(journey, 4 if day % 2 else 2).next_day()
        amounts.append(journey.price(weekly).by_service_day)
    final = amounts[-1]
    for partial in amounts:
        assert all(final[day] == amount for day, amount in partial.items())


def test_monthly_cap_counts_service_days_of_one_calendar_month() -> None:
    monthly = capped("month,Monthly cap,month,5.00,EUR,,,")
    journey = rides(Journey("2026-11-29"), 3).next_day()  # Sunday 29, Monday 30
    rides(journey, 2).next_day()  # Tuesday 1 December: a new month
    rides(journey, 1)
    quote = journey.price(monthly)
    assert quote.by_service_day == {
        date(2026, 11, 29): 390,
        date(2026, 11, 30): 110,
        date(2026, 12, 1): 130,
    }


def test_network_scoped_cap_leaves_other_networks_alone() -> None:
    tram_only = capped("tram_day,Tram daily cap,day,2.00,EUR,tram,,")
    journey = rides(Journey(), 3, "T1")
    rides(journey, 3, "B1")
    quote = journey.price(tram_only)
    assert quote.total_minor == 200 + 390
    assert {a.cap_id for a in quote.adjustments} == {"tram_day"}


def test_bike_counts_only_towards_caps_naming_its_network() -> None:
    transit = capped("day,Daily cap,day,2.00,EUR,,,")
    everything = capped("day,Daily cap,day,2.00,EUR,tram bus bike,,")
    journey = rides(Journey(), 1).bike("bike", "12:00", "12:10").bike("bike", "13:00", "13:10")
    assert journey.price(transit).total_minor == 130 + 200
    assert journey.price(everything).total_minor == 200


def test_caps_apply_only_to_their_rider_category_and_medium() -> None:
    scoped = capped("reduced,Reduced cap,day,1.00,EUR,,reduced,", "app,App cap,day,2.00,EUR,,,app")
    journey = rides(Journey(), 3)
    assert journey.price(scoped).total_minor == 390
    assert journey.price(scoped, rider_category_id="reduced").total_minor == 100
    assert journey.price(scoped, fare_media_id="app").total_minor == 200


def test_stacked_caps_each_hold() -> None:
    stacked = capped("day,Daily cap,day,2.00,EUR,,,", "week,Weekly cap,week,3.00,EUR,,,")
    journey = rides(Journey("2026-11-23"), 3).next_day()
    rides(journey, 3)
    quote = journey.price(stacked)
    assert list(quote.by_service_day.values()) == [200, 100]
    assert [a.cap_id for a in quote.adjustments] == ["day", "day", "week", "week", "week"]
    assert all(a.explanation.endswith(" EUR.") for a in quote.adjustments)
