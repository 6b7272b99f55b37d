"""[incomplete] policy max_fare: a leg on a tap-out network without its tap-out costs the
highest fare any matching rule offers from its boarding stop, and is kept out of caps."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import TOML, Journey, csv, routes, tariff

INCOMPLETE = '\n[incomplete]\ntap_out_networks = ["rail"]\npolicy = "max_fare"\n'


@pytest.fixture(scope="module")
def zonal() -> Tariff:
    return tariff(
        tariff_toml=TOML.format(currency="EUR") + INCOMPLETE,
        networks=csv("network_id", "rail", "bus"),
        routes=routes("R1 rail rail", "B1 bus bus"),
        stops=csv("stop_id,stop_name", "a,Alpha", "b,Beta", "c,Gamma"),
        areas=csv("area_id", "z1", "z2", "z3"),
        stop_areas=csv("area_id,stop_id", "z1,a", "z2,b", "z3,c"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency,fare_media_id",
            "one,One zone,2.00,EUR,",
            "two,Two zones,3.00,EUR,",
            "three,Three zones,5.00,EUR,",
            "bus,Bus,1.50,EUR,",
            "night,Night three zones,9.00,EUR,",
            "app_max,App fare,12.00,EUR,app",
        ),
        fare_media=csv("fare_media_id,fare_media_type", "cemv,3", "app,4"),
        timeframes=csv(
            "timeframe_group_id,start_time,end_time,service_id", "night,22:00:00,24:00:00,all"
        ),
        fare_leg_rules=csv(
            "network_id,from_area_id,to_area_id,fare_product_id,rule_priority,from_timeframe_group_id",
            "rail,z1,z1,one,0,",
            "rail,z1,z2,two,0,",
            "rail,z1,z3,three,0,",
            "bus,,,bus,0,",
            "rail,z1,z3,night,0,night",
            "rail,z1,z2,app_max,0,",
        ),
        fare_capping=csv(
            "cap_id,cap_name,period,amount,currency,network_ids,rider_category_id,fare_media_id",
            "day,Daily cap,day,4.00,EUR,,,",
        ),
    )


def test_missing_tap_out_costs_the_highest_fare_from_the_boarding_stop(zonal: Tariff) -> None:
    quote = Journey().ride("R1", "a", None, "08:00").price(zonal)
    (leg,) = quote.legs
    assert (leg.fare_product_id, leg.amount_minor) == ("three", 500)
    assert "no tap-out" in leg.explanation


def test_maximum_fares_do_not_count_towards_caps(zonal: Tariff) -> None:
    journey = (
        Journey()
        .ride("R1", "a", "a", "08:00")
        .ride("R1", "a", "a", "10:00")
        .ride("R1", "a", "a", "12:00")
        .ride("R1", "a", None, "14:00")
    )
    quote = journey.price(zonal)
    assert quote.total_minor == 400 + 500
    assert [a.leg_index for a in quote.adjustments if a.kind == "cap"] == [2]


def test_networks_without_tap_out_price_from_the_boarding_alone(zonal: Tariff) -> None:
    assert Journey().ride("B1", "a", None, "08:00").price(zonal).total_minor == 150


def test_the_maximum_fare_follows_timeframes_and_the_riders_medium(zonal: Tariff) -> None:
    assert Journey().ride("R1", "a", None, "23:00").price(zonal).total_minor == 900
    assert (
        Journey().ride("R1", "a", None, "08:00").price(zonal, fare_media_id="app").total_minor
        == 1200
    )
