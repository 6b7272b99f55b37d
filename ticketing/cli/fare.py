"""`ticketing fare ...`: quote journeys against a tariff directory (DESIGN §4.2)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from fare import InvalidJourney, NoFare, TariffError, load_tariff, price
from fare.jsonio import parse_journeys, render_quote

app = typer.Typer(help="Price journeys with a tariff directory.", no_args_is_help=True)

EXIT_BAD_INPUT = 2
EXIT_NO_FARE = 3


def _fail(code: int, body: dict[str, Any]) -> NoReturn:
    sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
    raise typer.Exit(code)


@app.command()
def quote(
    tariff: Annotated[
        Path, typer.Option("--tariff", help="Tariff directory (GTFS-Fares v2, GBFS, OCPI, TOML).")
    ],
    journeys: Annotated[
        Path, typer.Option("--journeys", help="Journeys JSON file: rider, medium and legs.")
    ],
) -> None:
    """Price the legs of a journeys file with a tariff and print the quote as JSON.

    Exit codes: 0 with the quote on stdout; 2 for a bad tariff or journeys file;
    3 when a leg matches no fare rule. Errors go to stderr as {"error", "detail"} JSON.
    """
    try:
        loaded = load_tariff(tariff)
    except TariffError as exc:
        _fail(EXIT_BAD_INPUT, {"error": "invalid_tariff", "detail": exc.detail})
    try:
        doc = json.loads(journeys.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(EXIT_BAD_INPUT, {"error": "invalid_journeys", "detail": f"{journeys}: {exc}"})
    try:
        parsed = parse_journeys(doc)
        result = price(
            loaded,
            parsed.legs,
            rider_category_id=parsed.rider_category_id,
            fare_media_id=parsed.fare_media_id,
        )
    except InvalidJourney as exc:
        _fail(EXIT_BAD_INPUT, {"error": "invalid_journeys", "detail": exc.detail})
    except NoFare as exc:
        _fail(EXIT_NO_FARE, {"error": "no_fare", "leg_index": exc.leg_index, "detail": exc.detail})
    typer.echo(json.dumps(render_quote(result), ensure_ascii=False))
