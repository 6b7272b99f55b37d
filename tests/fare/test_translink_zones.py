"""Reference §7, TransLink zones: a file with `rule_priority`, areas that overlap
(Sea Island stops are also in zone 2), and timeframes with an exclusive end."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, tariff, total

TIMEFRAMES = csv(
    "timeframe_group_id,start_time,end_time,service_id",
    "weekday_daytime,03:00:00,18:30:00,weekdays",
    "weekday_evening,18:30:00,24:00:00,weekdays",
    "weekday_evening,00:00:00,03:00:00,weekdays",
    "weekend,,,weekend",
)

PRODUCTS = csv(
    "fare_product_id,fare_product_name,amount,currency",
    "bus_flat_fare,Bus flat fare,3.20,CAD",
    "1_zone,1 zone,3.20,CAD",
    "2_zone,2 zones,4.65,CAD",
    "3_zone,3 zones,6.35,CAD",
    "sea_island_1_zone,Sea Island + 1 zone,8.20,CAD",
    "sea_island_2_zone,Sea Island + 2 zones,9.65,CAD",
    "sea_island,Within Sea Island,0.00,CAD",
)

ZONES = {
    (1, 1): 1,
    (1, 2): 2,
    (1, 3): 3,
    (2, 1): 2,
    (2, 2): 1,
    (2, 3): 2,
    (3, 1): 3,
    (3, 2): 2,
    (3, 3): 1,
}


def leg_rules() -> str:
    rows = [
        "leg_group_id,network_id,from_area_id,to_area_id,from_timeframe_group_id,"
        "fare_product_id,rule_priority"
    ]
    rows.append("bus,bus,,,,bus_flat_fare,0")
    for (a, b), zones in ZONES.items():
        rows.append(f"z{zones},rail,ZN{a},ZN{b},weekday_daytime,{zones}_zone,0")
    for zone in (1, 2, 3):
        product = "sea_island_1_zone" if zone == 2 else "sea_island_2_zone"
        rows.append(f"sea,rail,sea_island,ZN{zone},,{product},1")
        rows.append(f"sea,rail,ZN{zone},sea_island,,{product},1")
    for frame in ("weekday_evening", "weekend"):
        rows.append(f"flat,rail,,,{frame},1_zone,1")
        rows.append(f"sea,rail,sea_island,,{frame},sea_island_1_zone,2")
        rows.append(f"sea,rail,,sea_island,{frame},sea_island_1_zone,2")
    rows.append("sea,rail,sea_island,sea_island,,sea_island,3")
    return csv(*rows)


@pytest.fixture(scope="module")
def translink() -> Tariff:
    return tariff(
        "CAD",
        networks=csv("network_id", "bus", "rail"),
        routes=routes("99 bus bus", "EXPO rail rail"),
        stops=csv(
            "stop_id,stop_name",
            "z1,Waterfront",
            "z2,Bridgeport",
            "z3,King George",
            "99901,YVR Airport",
            "99903,Templeton",
        ),
        areas=csv("area_id", "ZN1", "ZN2", "ZN3", "sea_island"),
        stop_areas=csv(
            "area_id,stop_id",
            "ZN1,z1",
            "ZN2,z2",
            "ZN3,z3",
            "ZN2,99901",
            "sea_island,99901",
            "ZN2,99903",
            "sea_island,99903",
        ),
        timeframes=TIMEFRAMES,
        fare_products=PRODUCTS,
        fare_leg_rules=leg_rules(),
    )


WEDNESDAY, SATURDAY = "2026-11-25", "2026-11-28"


@pytest.mark.parametrize(
    ("day", "route", "origin", "destination", "clock", "price"),
    [
        (WEDNESDAY, "99", "z1", "z3", "10:00", 320),  # any bus leg
        (SATURDAY, "99", "z3", "z1", "23:00", 320),
        (WEDNESDAY, "EXPO", "z1", "z2", "10:00", 465),
        (WEDNESDAY, "EXPO", "z1", "z3", "10:00", 635),
        (WEDNESDAY, "EXPO", "99901", "z1", "10:00", 965),  # priority 1 beats ZN2 -> ZN1
        (WEDNESDAY, "EXPO", "99901", "z2", "10:00", 820),
        (WEDNESDAY, "EXPO", "99901", "99903", "10:00", 0),
        (SATURDAY, "EXPO", "99901", "99903", "15:00", 0),
        (WEDNESDAY, "EXPO", "z1", "z3", "18:30", 320),  # start inclusive: evening flat
        (WEDNESDAY, "EXPO", "z1", "z3", "18:29", 635),
        (WEDNESDAY, "EXPO", "z1", "z3", "18:29:59", 635),
        (SATURDAY, "EXPO", "99901", "z1", "10:00", 820),  # priority 2
        (WEDNESDAY, "EXPO", "z1", "z3", "02:00", 320),  # after midnight: evening row
    ],
)
def test_translink_zone_fares(
    translink: Tariff, day: str, route: str, origin: str, destination: str, clock: str, price: int
) -> None:
    journey = Journey(day).ride(route, origin, destination, clock, None)
    assert total(translink, journey) == price


def test_the_chosen_product_is_named_in_the_explanation(translink: Tariff) -> None:
    quote = Journey(WEDNESDAY).ride("EXPO", "99901", "z1", "10:00", "10:30").price(translink)
    (leg,) = quote.legs
    assert leg.fare_product_id == "sea_island_2_zone"
    assert (
        leg.explanation
        == "Train EXPO from YVR Airport to Waterfront: Sea Island + 2 zones, 9.65 CAD."
    )
