"""Reference §7, TransLink transfers: type-0 upgrade products within 90 minutes of the
first departure (duration_limit_type 1)."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, tariff, total


@pytest.fixture(scope="module")
def translink() -> Tariff:
    return tariff(
        "CAD",
        networks=csv("network_id", "bus", "rail"),
        routes=routes("99 bus bus", "EXPO rail rail"),
        stops=csv(
            "stop_id,stop_name", "z1,Waterfront", "z1b,Granville", "z2,Bridgeport", "z3,King George"
        ),
        areas=csv("area_id", "ZN1", "ZN2", "ZN3"),
        stop_areas=csv("area_id,stop_id", "ZN1,z1", "ZN1,z1b", "ZN2,z2", "ZN3,z3"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "bus_flat_fare,Bus flat fare,3.20,CAD",
            "1_zone,1 zone,3.20,CAD",
            "2_zone,2 zones,4.65,CAD",
            "3_zone,3 zones,6.35,CAD",
            "upgrade_1_2,Upgrade 1 to 2 zones,1.45,CAD",
            "upgrade_2_3,Upgrade 2 to 3 zones,1.70,CAD",
            "upgrade_1_3,Upgrade 1 to 3 zones,3.15,CAD",
        ),
        fare_leg_rules=csv(
            # rule_priority makes the bus row's empty areas wildcards (reference §2).
            "leg_group_id,network_id,from_area_id,to_area_id,fare_product_id,rule_priority",
            "bus,bus,,,bus_flat_fare,0",
            "z1,rail,ZN1,ZN1,1_zone,0",
            "z2,rail,ZN1,ZN2,2_zone,0",
            "z3,rail,ZN1,ZN3,3_zone,0",
            "z2,rail,ZN2,ZN3,2_zone,0",
            "z2,rail,ZN2,ZN1,2_zone,0",
        ),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,"
            "fare_transfer_type,fare_product_id",
            "bus,z2,,5400,1,0,upgrade_1_2",
            "z1,z3,,5400,1,0,upgrade_1_3",
            "z2,z2,-1,5400,1,0,upgrade_2_3",
            "z2,bus,,5400,1,0,",
        ),
    )


def test_bus_then_two_zones_pays_the_upgrade(translink: Tariff) -> None:
    journey = Journey().ride("99", "z1", "z1b", "08:00", "08:20").ride("EXPO", "z1", "z2", "08:30")
    assert total(translink, journey) == 465


def test_one_zone_then_three_zones(translink: Tariff) -> None:
    journey = (
        Journey().ride("EXPO", "z1", "z1b", "08:00", "08:10").ride("EXPO", "z1b", "z3", "08:20")
    )
    assert total(translink, journey) == 635


def test_two_zones_then_bus_is_free(translink: Tariff) -> None:
    journey = Journey().ride("EXPO", "z1", "z2", "08:00", "08:30").ride("99", "z2", "z2", "08:40")
    quote = journey.price(translink)
    assert quote.total_minor == 465
    (transfer,) = quote.adjustments
    assert transfer.kind == "transfer"
    assert transfer.amount_minor == -320
    assert transfer.leg_index == 1


def test_transfer_outside_ninety_minutes_pays_two_fares(translink: Tariff) -> None:
    journey = Journey().ride("99", "z1", "z1b", "08:00").ride("EXPO", "z1", "z2", "09:31")
    assert total(translink, journey) == 320 + 465


def test_transfer_at_exactly_ninety_minutes_is_inside(translink: Tariff) -> None:
    journey = Journey().ride("99", "z1", "z1b", "08:00").ride("EXPO", "z1", "z2", "09:30")
    assert total(translink, journey) == 465


def test_two_zones_then_two_to_three_zones(translink: Tariff) -> None:
    journey = Journey().ride("EXPO", "z1", "z2", "08:00", "08:30").ride("EXPO", "z2", "z3", "08:40")
    assert total(translink, journey) == 635
