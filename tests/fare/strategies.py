"""Hypothesis strategies: random multi-day, multi-mode journeys on the demo tariff."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import strategies as st

from fare import BikeLeg, Leg, ParkingLeg, TransitLeg
from tests.fare.builders import PARIS

START = datetime(2026, 11, 20, 4, 0, tzinfo=PARIS)
ROUTES = ("T1", "T2", "L3", "L5", "CO")
STOPS = ("GARE", "DARCY", "REPUBLIQUE", "QUETIGNY", "VALMY", "TOISON", "UNIVERSITE")

moments = st.integers(min_value=0, max_value=16 * 24 * 60).map(
    lambda minutes: START + timedelta(minutes=minutes)
)
durations = st.integers(min_value=0, max_value=600).map(lambda m: timedelta(minutes=m))

transit_legs = st.builds(
    lambda route, a, b, start, took, tapped_out: TransitLeg(
        route, a, b if tapped_out else None, start, start + took if tapped_out else None
    ),
    st.sampled_from(ROUTES),
    st.sampled_from(STOPS),
    st.sampled_from(STOPS),
    moments,
    st.integers(min_value=1, max_value=90).map(lambda m: timedelta(minutes=m)),
    st.booleans(),
)
bike_legs = st.builds(
    lambda plan, start, took: BikeLeg(plan, start, start + took),
    st.sampled_from(("velodi", "velodi_subscriber")),
    moments,
    durations,
)


def parking_legs(tariffs: tuple[str, ...]) -> st.SearchStrategy[Leg]:
    return st.builds(
        lambda tariff_id, start, took: ParkingLeg(tariff_id, start, start + took),
        st.sampled_from(tariffs),
        moments,
        durations,
    )


# Park-and-ride lowers a parking price when transit is added, so the "adding a leg never
# lowers the total" property draws parking only from ordinary car parks.
monotone_legs: st.SearchStrategy[Leg] = st.one_of(
    transit_legs, transit_legs, transit_legs, bike_legs, parking_legs(("centre", "gare"))
)
any_legs: st.SearchStrategy[Leg] = st.one_of(
    transit_legs, transit_legs, bike_legs, parking_legs(("centre", "gare", "p-r-valmy"))
)
journeys = st.lists(any_legs, max_size=14)
categories = st.sampled_from((None, "adult", "reduced"))
