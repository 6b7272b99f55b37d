"""`ticketing fare quote`: JSON on stdout and exit 0; exit 2 for a bad tariff or journeys
file; exit 3 for a leg no fare rule prices; errors as JSON on stderr."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from tests.fare.demo import DEMO_DIR
from ticketing.cli import app

runner = CliRunner()

LEG = {"kind": "transit", "route_id": "T1", "from_stop_id": "GARE", "to_stop_id": "QUETIGNY",
       "start": "2026-11-26T08:00:00+01:00", "end": "2026-11-26T08:20:00+01:00"}  # fmt: skip


def quote(tmp_path: Path, journeys: object, tariff_dir: Path = DEMO_DIR) -> tuple[int, str, str]:
    file = tmp_path / "journeys.json"
    file.write_text(journeys if isinstance(journeys, str) else json.dumps(journeys))
    result = runner.invoke(
        app, ["fare", "quote", "--tariff", str(tariff_dir), "--journeys", str(file)]
    )
    return result.exit_code, result.stdout, result.stderr


def test_quote_prints_the_quote_and_exits_0(tmp_path: Path) -> None:
    code, out, _ = quote(tmp_path, {
        "rider_category_id": "adult", "fare_media_id": "cemv",
        "legs": [LEG,
                 {"kind": "bike", "plan_id": "velodi", "start": "2026-11-26T09:00:00+01:00",
                  "end": "2026-11-26T09:45:00+01:00", "distance_km": 2.4},
                 {"kind": "parking", "tariff_id": "centre", "start": "2026-11-26T10:00:00+01:00",
                  "end": "2026-11-26T11:10:00+01:00"}]})  # fmt: skip
    assert code == 0
    body = json.loads(out)
    assert body["currency"] == "EUR"
    assert [leg["amount_minor"] for leg in body["legs"]] == [130, 200, 325]
    assert body["total_minor"] == 655


def test_a_bad_tariff_exits_2_listing_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "tariff"
    shutil.copytree(DEMO_DIR, bad)
    (bad / "fare_products.txt").write_text(
        "fare_product_id,amount,currency\nticket_1h,1.305,EUR\nticket_1h,1.30,USD\n"
    )
    code, out, err = quote(tmp_path, {"legs": [LEG]}, bad)
    assert (code, out) == (2, "")
    body = json.loads(err)
    assert body["error"] == "invalid_tariff"
    assert "fare_products.txt:2 amount" in body["detail"]
    assert "fare_products.txt:3 currency" in body["detail"]


def test_a_leg_naming_an_unknown_route_exits_2(tmp_path: Path) -> None:
    code, _, err = quote(tmp_path, {"legs": [{**LEG, "route_id": "T7"}]})
    assert code == 2
    assert json.loads(err) == {
        "error": "invalid_journeys",
        "detail": "leg 0: route 'T7' is not in the tariff",
    }


def test_unreadable_journeys_exit_2(tmp_path: Path) -> None:
    code, _, err = quote(tmp_path, "{nope")
    assert code == 2
    assert json.loads(err)["error"] == "invalid_journeys"
    code, _, err = quote(tmp_path, {"legs": [{**LEG, "start": "2026-11-26T08:00:00"}]})
    assert code == 2
    assert "UTC offset" in json.loads(err)["detail"]


def test_a_leg_without_fare_exits_3(tmp_path: Path) -> None:
    bus_only = tmp_path / "tariff"
    shutil.copytree(DEMO_DIR, bus_only)
    routes = (bus_only / "routes.txt").read_text().replace(",divia\n", ",\n", 2)
    (bus_only / "routes.txt").write_text(routes)
    later = {**LEG, "route_id": "L3", "start": "2026-11-26T07:00:00+01:00", "end": None}
    code, _, err = quote(tmp_path, {"legs": [LEG, later]}, bus_only)
    assert code == 3
    body = json.loads(err)
    assert (body["error"], body["leg_index"]) == ("no_fare", 0)
    assert body["detail"]


def test_quote_has_help() -> None:
    result = runner.invoke(app, ["fare", "quote", "--help"])
    assert result.exit_code == 0
    assert "--journeys" in result.stdout
