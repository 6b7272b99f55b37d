"""Fare engine benchmark: price a Dijon-like service day in-process.

100,000 cards with about 2.5 legs each (mostly tram and bus, some Vélodi rides and car-park
stays), drawn from a seeded RNG, each card priced with `fare.price` as settlement does.
Prints one JSON object: legs, cards, seconds (pricing only), legs_per_s.

    uv run python bench/fare.py [--cards N] [--seed S] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fare import BikeLeg, Leg, ParkingLeg, TransitLeg, load_tariff, price  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 11, 26, 5, 0, tzinfo=PARIS)
TRAM = {
    "T1": ("GARE", "FOCH", "DARCY", "GODRANS", "REPUBLIQUE", "GRESILLES", "QUETIGNY"),
    "T2": ("VALMY", "TOISON", "REPUBLIQUE", "GODRANS", "DARCY", "CHENOVE"),
}
BUS = {
    "L3": ("FONTAINE", "DARCY", "REPUBLIQUE", "TOISON"),
    "L5": ("UNIVERSITE", "REPUBLIQUE", "DARCY", "TALANT"),
    "CO": ("TOISON", "GRESILLES", "UNIVERSITE", "CHENOVE", "FONTAINE", "TALANT"),
}
ROUTES = {**TRAM, **BUS}
ROUTE_IDS = list(ROUTES)
ROUTE_WEIGHTS = [35, 35, 10, 10, 10]  # 70 % tram, as in Dijon's first open-payment year


def transit(rng: random.Random, start: datetime) -> TransitLeg:
    route = rng.choices(ROUTE_IDS, ROUTE_WEIGHTS)[0]
    a, b = rng.sample(ROUTES[route], 2)
    return TransitLeg(route, a, b, start, start + timedelta(minutes=rng.randint(4, 35)))


def card_day(rng: random.Random) -> list[Leg]:
    """About 2.5 legs: a trip out, maybe a connection, a trip back, sometimes more."""
    legs: list[Leg] = []
    clock = DAY + timedelta(minutes=rng.randint(0, 16 * 60))
    count = rng.choices((1, 2, 3, 4, 5), (20, 35, 25, 12, 8))[0]
    for _ in range(count):
        mode = rng.random()
        if mode < 0.88:
            leg: Leg = transit(rng, clock)
        elif mode < 0.95:
            minutes = rng.randint(5, 80)
            km = Decimal(rng.randint(5, 60)) / 10
            leg = BikeLeg(
                rng.choice(("velodi", "velodi", "velodi_subscriber")),
                clock,
                clock + timedelta(minutes=minutes),
                km,
            )
        else:
            hours = rng.randint(20, 600)
            leg = ParkingLeg(
                rng.choice(("centre", "gare", "p-r-valmy")), clock, clock + timedelta(minutes=hours)
            )
        legs.append(leg)
        clock += timedelta(minutes=rng.choice((10, 25, 45, 90, 180, 300)))
    return legs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    args = parser.parse_args()
    tariff = load_tariff(ROOT / "ticketing" / "demo" / "dijon")
    rng = random.Random(args.seed)
    cards = [card_day(rng) for _ in range(args.cards)]
    legs = sum(len(card) for card in cards)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    began = time.perf_counter()
    charged = 0
    for card in cards:
        charged += price(tariff, card).total_minor
    seconds = time.perf_counter() - began
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(18)
    print(
        json.dumps(
            {
                "benchmark": "fare",
                "cards": args.cards,
                "legs": legs,
                "seconds": round(seconds, 3),
                "legs_per_s": round(legs / seconds),
                "charged_minor": charged,
            }
        )
    )


if __name__ == "__main__":
    main()
