"""A leg no rule prices is an error (never zero); a leg naming something the tariff lacks
is an invalid journey, a different error."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from fare import BikeLeg, InvalidJourney, NoFare, ParkingLeg, TransitLeg, price
from tests.fare.builders import PARIS, TOML, Journey, csv, routes, stops, tariff
from tests.fare.demo import dijon


def test_a_leg_matching_no_rule_raises_no_fare_with_its_input_index() -> None:
    tram_only = tariff(
        networks=csv("network_id", "tram", "bus"),
        routes=routes("T1 tram tram", "B1 bus bus"),
        stops=stops("a", "b"),
        fare_products=csv("fare_product_id,amount,currency", "single,1.30,EUR"),
        fare_leg_rules=csv("network_id,fare_product_id", "tram,single"),
    )
    journey = Journey().ride("B1", "a", "b", "09:00").ride("T1", "a", "b", "08:00")
    with pytest.raises(NoFare) as caught:
        journey.price(tram_only)
    assert caught.value.leg_index == 0
    assert "Bus B1 from A to B at 09:00" in caught.value.detail


def test_a_product_not_sold_to_the_rider_is_no_fare() -> None:
    app_only = tariff(
        routes=routes("T1 tram -"),
        stops=stops("a", "b"),
        fare_media=csv("fare_media_id,fare_media_type", "cemv,3", "app,4"),
        fare_products=csv("fare_product_id,fare_media_id,amount,currency", "single,app,1.00,EUR"),
        fare_leg_rules=csv("fare_product_id", "single"),
    )
    journey = Journey().ride("T1", "a", "b", "08:00")
    assert journey.price(app_only, fare_media_id="app").total_minor == 100
    with pytest.raises(NoFare):
        journey.price(app_only)


def test_max_fare_with_no_rule_from_the_boarding_stop_is_no_fare() -> None:
    nothing_from_b = tariff(
        tariff_toml=TOML.format(currency="EUR")
        + '[incomplete]\ntap_out_networks = ["rail"]\npolicy = "max_fare"\n',
        networks=csv("network_id", "rail"),
        routes=routes("R1 rail rail"),
        stops=stops("a", "b"),
        areas=csv("area_id", "za"),
        stop_areas=csv("area_id,stop_id", "za,a"),
        fare_products=csv("fare_product_id,amount,currency", "single,1.30,EUR"),
        fare_leg_rules=csv("network_id,from_area_id,fare_product_id", "rail,za,single"),
    )
    assert Journey().ride("R1", "a", None, "08:00").price(nothing_from_b).total_minor == 130
    with pytest.raises(NoFare) as caught:
        Journey().ride("R1", "b", None, "08:00").price(nothing_from_b)
    assert caught.value.leg_index == 0


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-26T{clock}").replace(tzinfo=PARIS)


@pytest.mark.parametrize(
    ("leg", "words"),
    [
        (TransitLeg("T9", "GARE", "QUETIGNY", at("08:00")), "route 'T9'"),
        (TransitLeg("T1", "MOON", "QUETIGNY", at("08:00")), "stop 'MOON'"),
        (TransitLeg("T1", "GARE", "MARS", at("08:00")), "stop 'MARS'"),
        (BikeLeg("tandem", at("08:00"), at("08:30")), "plan 'tandem'"),
        (BikeLeg("velodi", at("08:00"), at("08:30"), Decimal(-1)), "negative"),
        (ParkingLeg("louvre", at("08:00"), at("09:00")), "parking tariff 'louvre'"),
        (ParkingLeg("centre", at("09:00"), at("08:00")), "ends before it starts"),
        (TransitLeg("T1", "GARE", None, datetime(2026, 11, 26, 8)), "UTC offset"),
    ],
)
def test_unknown_names_and_impossible_legs_are_invalid_journeys(leg: object, words: str) -> None:
    with pytest.raises(InvalidJourney) as caught:
        price(dijon(), [TransitLeg("T1", "GARE", None, at("07:00")), leg])  # type: ignore[list-item]
    assert caught.value.leg_index == 1
    assert words in caught.value.detail


def test_unknown_category_or_medium_is_an_invalid_journey() -> None:
    legs = [TransitLeg("T1", "GARE", None, at("07:00"))]
    with pytest.raises(InvalidJourney, match="rider category 'student'"):
        price(dijon(), legs, rider_category_id="student")
    with pytest.raises(InvalidJourney, match="fare medium 'paper'"):
        price(dijon(), legs, fare_media_id="paper")


def test_a_distance_plan_needs_a_distance() -> None:
    by_km = tariff(
        gbfs='{"data": {"plans": [{"plan_id": "km", "currency": "EUR", "price": 1,'
        ' "per_km_pricing": [{"start": 0, "rate": 0.10, "interval": 1}]}]}}'
    )
    with pytest.raises(InvalidJourney, match="distance_km is required"):
        Journey().bike("km", "08:00", "08:30").price(by_km)
    assert Journey().bike("km", "08:00", "08:30", km="2.5").price(by_km).total_minor == 130
