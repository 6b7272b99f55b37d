"""The bundled Dijon demo tariff, loaded once for the tests that use it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fare import Tariff, load_tariff

DEMO_DIR = Path(__file__).resolve().parents[2] / "ticketing" / "demo" / "dijon"


@cache
def dijon() -> Tariff:
    return load_tariff(DEMO_DIR)
