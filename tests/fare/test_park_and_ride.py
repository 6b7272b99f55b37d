"""[[park_and_ride]]: the flat amount replaces the parking price when the same card
boards transit during the stay (demo: P+R Valmy, 0.00 EUR with transit)."""

from __future__ import annotations

from tests.fare.builders import Journey
from tests.fare.demo import dijon


def test_boarding_transit_during_the_stay_makes_parking_free() -> None:
    journey = (
        Journey()
        .park("p-r-valmy", "07:45", "18:30")
        .ride("T2", "VALMY", "DARCY", "08:00", "08:20")
        .ride("T2", "DARCY", "VALMY", "18:00", "18:20")
    )
    quote = journey.price(dijon())
    assert quote.legs[0].amount_minor == 500  # the OCPI price, capped at 5.00
    (pr,) = [a for a in quote.adjustments if a.kind == "park_and_ride"]
    assert (pr.leg_index, pr.amount_minor) == (0, -500)
    assert quote.total_minor == 260
    assert "Park and ride at P+R Valmy" in pr.explanation


def test_without_transit_the_car_park_price_applies() -> None:
    quote = Journey().park("p-r-valmy", "07:45", "09:45").price(dijon())
    assert quote.total_minor == 200
    assert quote.adjustments == ()


def test_a_boarding_before_the_stay_does_not_count() -> None:
    journey = Journey().ride("T2", "DARCY", "VALMY", "07:00").park("p-r-valmy", "07:45", "09:45")
    assert journey.price(dijon()).total_minor == 130 + 200


def test_other_car_parks_have_no_park_and_ride_price() -> None:
    journey = Journey().park("gare", "07:45", "08:45").ride("T1", "GARE", "QUETIGNY", "08:00")
    assert journey.price(dijon()).total_minor == 240 + 130
