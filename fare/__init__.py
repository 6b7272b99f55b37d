"""The fare engine: a pure function of a tariff and legs (DESIGN §2, §4.1).

`load_tariff` / `load_tariff_files` read a tariff; `price` prices legs into a `Quote`.
"""

from fare.errors import FareError, InvalidJourney, NoFare, Problem, TariffError
from fare.loader import load_tariff, load_tariff_files, read_tariff_dir
from fare.model import Adjustment, BikeLeg, Leg, LegPrice, ParkingLeg, Quote, TransitLeg
from fare.pricing import price
from fare.tariff import Tariff

__all__ = [
    "Adjustment",
    "BikeLeg",
    "FareError",
    "InvalidJourney",
    "Leg",
    "LegPrice",
    "NoFare",
    "ParkingLeg",
    "Problem",
    "Quote",
    "Tariff",
    "TariffError",
    "TransitLeg",
    "load_tariff",
    "load_tariff_files",
    "price",
    "read_tariff_dir",
]
