"""Loading a good tariff: directory and mapping give the same tariff; GTFS details."""

from __future__ import annotations

import shutil
from pathlib import Path

from fare import load_tariff, load_tariff_files, read_tariff_dir
from tests.fare.builders import Journey, csv, routes, tariff, total
from tests.fare.demo import DEMO_DIR, dijon


def test_demo_tariff_loads_from_a_directory_or_a_mapping(tmp_path: Path) -> None:
    copy = tmp_path / "dijon"
    shutil.copytree(DEMO_DIR, copy)
    (copy / ".hidden").write_text("ignored")
    files = read_tariff_dir(copy)
    assert "gbfs/system_pricing_plans.json" in files
    assert ".hidden" not in files
    from_dir, from_files = load_tariff(copy), load_tariff_files(files)
    assert from_dir.routes == from_files.routes
    assert from_dir.caps == from_files.caps


def test_demo_has_two_transit_operators_a_bike_and_a_parking_operator() -> None:
    demo = dijon()
    assert {r.agency_id for r in demo.routes.values()} == {"divia-tram", "divia-bus"}
    assert demo.config.bike_operator_id == "divia-velodi"
    assert demo.config.parking_operator_id == "indigo-dijon"
    assert demo.default_medium() == "cemv"
    assert demo.default_category() == "adult"
    assert {"GARE", "QUETIGNY"} <= set(demo.stops)
    assert all(s.lat is not None and s.lon is not None for s in demo.stops.values())


def test_a_station_puts_its_platforms_in_its_area_unless_assigned_elsewhere() -> None:
    stations = tariff(
        routes=routes("R1 rail -"),
        stops=csv(
            "stop_id,stop_name,location_type,parent_station",
            "CENTRAL,Central,1,",
            "P1,Platform 1,0,CENTRAL",
            "P2,Platform 2,0,CENTRAL",
            "FAR,Far away,0,",
        ),
        areas=csv("area_id", "centre", "special"),
        stop_areas=csv("area_id,stop_id", "centre,CENTRAL", "special,P2"),
        fare_products=csv("fare_product_id,amount,currency", "centre,1.00,EUR", "special,9.00,EUR"),
        fare_leg_rules=csv(
            "from_area_id,fare_product_id,rule_priority", "centre,centre,0", "special,special,0"
        ),
    )
    assert stations.stops["P1"].areas == frozenset({"centre"})
    assert total(stations, Journey().ride("R1", "P1", "FAR", "08:00")) == 100
    assert total(stations, Journey().ride("R1", "P2", "FAR", "08:00")) == 900


def test_route_networks_file_gives_routes_their_network() -> None:
    by_file = tariff(
        networks=csv("network_id", "tram"),
        routes=csv("route_id,agency_id,route_type", "T1,op,0"),
        route_networks=csv("network_id,route_id", "tram,T1"),
        stops=csv("stop_id", "a"),
        fare_products=csv("fare_product_id,amount,currency", "single,1.30,EUR"),
        fare_leg_rules=csv("network_id,fare_product_id", "tram,single"),
    )
    assert by_file.routes["T1"].network_id == "tram"
    assert total(by_file, Journey().ride("T1", "a", None, "08:00")) == 130


def test_calendar_dates_add_and_remove_days() -> None:
    holidays = tariff(
        routes=routes("T1 tram -"),
        stops=csv("stop_id", "a"),
        calendar_dates=csv(
            "service_id,date,exception_type", "weekdays,20261225,2", "weekend,20261225,1"
        ),
        timeframes=csv(
            "timeframe_group_id,start_time,end_time,service_id",
            "weekday,,,weekdays",
            "weekend,,,weekend",
        ),
        fare_products=csv(
            "fare_product_id,amount,currency", "weekday,2.00,EUR", "weekend,1.00,EUR"
        ),
        fare_leg_rules=csv(
            "from_timeframe_group_id,fare_product_id", "weekday,weekday", "weekend,weekend"
        ),
    )
    assert total(holidays, Journey("2026-12-24").ride("T1", "a", None, "10:00")) == 200
    assert total(holidays, Journey("2026-12-25").ride("T1", "a", None, "10:00")) == 100
