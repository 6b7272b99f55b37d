"""A wrong tariff reports every problem at once, each with its file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fare import Problem, TariffError, load_tariff, load_tariff_files
from tests.fare.builders import build_files, csv, routes, stops


def problems(files: dict[str, bytes]) -> list[Problem]:
    with pytest.raises(TariffError) as caught:
        load_tariff_files(files)
    return caught.value.problems


def where(found: list[Problem]) -> set[tuple[str, int | None, str | None]]:
    return {(p.file, p.line, p.field) for p in found}


def test_every_problem_of_several_files_is_reported_with_its_line() -> None:
    files = build_files(
        networks=csv("network_id", "net"),
        routes=routes("T1 tram net"),
        stops=stops("a", "b"),
        fare_products=csv(
            "fare_product_id,amount,currency",
            "single,1.30,EUR",
            "dear,1.305,EUR",  # line 3: too many decimals
            "usd,2.00,USD",  # line 4: another currency
        ),
        fare_leg_rules=csv(
            "network_id,from_area_id,fare_product_id,from_timeframe_group_id",
            "net,,single,",
            "nowhere,,single,",  # line 3: unknown network
            "net,zone9,missing,",  # line 4: unknown area and product
            "net,,single,peak",  # line 5: unknown timeframe group
        ),
        fare_capping=csv(
            "cap_id,cap_name,period,amount,currency,network_ids,rider_category_id,fare_media_id",
            "d,Daily,fortnight,3.90,EUR,,,",  # line 2: unknown period
        ),
    )
    found = problems(files)
    assert where(found) >= {
        ("fare_products.txt", 3, "amount"),
        ("fare_products.txt", 4, "currency"),
        ("fare_leg_rules.txt", 3, "network_id"),
        ("fare_leg_rules.txt", 4, "from_area_id"),
        ("fare_leg_rules.txt", 4, "fare_product_id"),
        ("fare_leg_rules.txt", 5, "from_timeframe_group_id"),
        ("fare_capping.txt", 2, "period"),
    }
    detail = TariffError(found).detail
    assert "fare_leg_rules.txt:3 network_id: network 'nowhere' is not defined" in detail


def test_missing_columns_are_reported_on_the_header_line() -> None:
    files = build_files(fare_products=csv("fare_product_id,amount", "single,1.30"))
    assert ("fare_products.txt", 1, "currency") in where(problems(files))


def test_transfer_rule_constraints_of_the_spec() -> None:
    files = build_files(
        routes=routes("T1 tram -"),
        stops=stops("a"),
        fare_products=csv("fare_product_id,amount,currency", "single,1.30,EUR"),
        fare_leg_rules=csv("leg_group_id,fare_product_id", "A,single", "B,single"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type,fare_product_id",
            "A,A,,,,0,",  # line 2: count required when from == to
            "A,B,1,,,0,",  # line 3: count forbidden when from != to
            "A,B,,600,,0,",  # line 4: type required with a limit
            "A,B,,,,7,",  # line 5: unknown transfer type
            "A,C,,,,0,nothing",  # line 6: unknown group and product
            "A,A,0,,,0,",  # line 7: count 0 is not allowed
        ),
    )
    assert where(problems(files)) >= {
        ("fare_transfer_rules.txt", 2, "transfer_count"),
        ("fare_transfer_rules.txt", 3, "transfer_count"),
        ("fare_transfer_rules.txt", 4, "duration_limit_type"),
        ("fare_transfer_rules.txt", 5, "fare_transfer_type"),
        ("fare_transfer_rules.txt", 6, "to_leg_group_id"),
        ("fare_transfer_rules.txt", 6, "fare_product_id"),
        ("fare_transfer_rules.txt", 7, "transfer_count"),
    }


def test_schedule_references_are_checked() -> None:
    files = build_files(
        routes=csv("route_id,agency_id,route_type", "T1,nobody,0", "T1,op,0"),
        stops=csv("stop_id,parent_station,stop_lat", "a,ghost,91", "a,,"),
        stop_areas=csv("area_id,stop_id", "zone,a"),
        timeframes=csv(
            "timeframe_group_id,start_time,end_time,service_id",
            "peak,09:00:00,08:00:00,all",
            "peak,08:00:00,,all",
            "peak,25:00:00,26:00:00,nothing",
        ),
    )
    assert where(problems(files)) >= {
        ("routes.txt", 2, "agency_id"),
        ("routes.txt", 3, "route_id"),
        ("stops.txt", 2, "parent_station"),
        ("stops.txt", 2, "stop_lat"),
        ("stops.txt", 3, "stop_id"),
        ("stop_areas.txt", 2, "area_id"),
        ("timeframes.txt", 2, "end_time"),
        ("timeframes.txt", 3, "end_time"),
        ("timeframes.txt", 4, "start_time"),
        ("timeframes.txt", 4, "service_id"),
    }


def test_route_networks_and_routes_network_id_are_exclusive() -> None:
    files = build_files(
        networks=csv("network_id", "net"),
        routes=routes("T1 tram net"),
        route_networks=csv("network_id,route_id", "net,T1", "net,T9"),
    )
    assert where(problems(files)) >= {
        ("routes.txt", 1, "network_id"),
        ("route_networks.txt", None, "route_id"),
    }


def test_bike_parking_and_config_problems_carry_lines() -> None:
    files = build_files(
        tariff_toml='timezone = "Mars/Olympus"\nservice_day_start = "4h30"\ncurrency = "EUR"\n'
        '[[park_and_ride]]\ntariff_id = "nowhere"\namount = "0.00"\n'
        '[[park_and_ride]]\ntariff_id = "p"\namount = "0.001"\n',
        gbfs=json.dumps(
            {
                "data": {
                    "plans": [
                        {"plan_id": "ok", "currency": "EUR", "price": 1},
                        {
                            "plan_id": "bad",
                            "currency": "GBP",
                            "price": -1,
                            "per_min_pricing": [{"start": 30, "rate": "x", "interval": 30}],
                        },
                    ]
                }
            },
            indent=1,
        ),
        parking_tariffs=json.dumps(
            {
                "tariffs": [
                    {
                        "id": "p",
                        "currency": "EUR",
                        "elements": [
                            {"price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}]},
                            {
                                "price_components": [{"type": "TIME", "price": 1, "step_size": 0}],
                                "restrictions": {"start_time": "25:00", "day_of_week": ["FUNDAY"]},
                            },
                        ],
                    }
                ]
            },
            indent=1,
        ),
    )
    found = where(problems(files))
    assert {
        ("tariff.toml", 1, "timezone"),
        ("tariff.toml", 2, "service_day_start"),
        ("tariff.toml", 8, "amount"),
        ("tariff.toml", 5, "park_and_ride.tariff_id"),
    } <= found
    gbfs = {(line, field) for file, line, field in found if file.startswith("gbfs/")}
    assert {field for _, field in gbfs} >= {"currency", "per_min_pricing.rate"}
    assert all(line is not None and line > 1 for line, _ in gbfs)
    ocpi = {field for file, _, field in found if file == "parking_tariffs.json"}
    assert ocpi >= {"type", "step_size", "start_time", "day_of_week"}


def test_unreadable_files_are_problems_not_crashes() -> None:
    files = build_files(fare_media=csv("fare_media_id,fare_media_type", "cemv,3"))
    files["tariff.toml"] = b"currency = \n"
    files["gbfs/system_pricing_plans.json"] = b"{not json"
    files["parking_tariffs.json"] = b'{"tariffs": 3}'
    files["fare_products.txt"] = b""
    found = where(problems(files))
    assert {
        ("tariff.toml", 1, None),
        ("gbfs/system_pricing_plans.json", 1, None),
        ("parking_tariffs.json", None, "tariffs"),
        ("fare_products.txt", 1, None),
    } <= found


def test_a_missing_directory_is_a_tariff_error(tmp_path: Path) -> None:
    with pytest.raises(TariffError) as caught:
        load_tariff(tmp_path / "nowhere")
    assert "is not a tariff directory" in caught.value.detail


def test_missing_tariff_toml_is_reported() -> None:
    files = build_files()
    del files["tariff.toml"]
    assert ("tariff.toml", None, None) in where(problems(files))


def test_tariff_toml_value_problems() -> None:
    files = build_files(
        networks=csv("network_id", "net"),
        tariff_toml="\n".join(
            [
                'currency = "euro"',
                "timezone = 3",
                'colour = "blue"',
                'bike = "yes"',
                "park_and_ride = 1",
                "[incomplete]",
                'tap_out_networks = "net"',
                'policy = "guess"',
            ]
        )
        + "\n",
    )
    found = where(problems(files))
    assert {
        ("tariff.toml", 1, "currency"),
        ("tariff.toml", 2, "timezone"),
        ("tariff.toml", 3, "colour"),
        ("tariff.toml", 4, "bike"),
        ("tariff.toml", 5, "park_and_ride"),
        ("tariff.toml", 7, "tap_out_networks"),
        ("tariff.toml", 8, "policy"),
    } <= found


def test_park_and_ride_entries_and_tap_out_networks_are_checked() -> None:
    files = build_files(
        tariff_toml='currency = "EUR"\n[[park_and_ride]]\namount = "1.00"\n'
        '[[park_and_ride]]\ntariff_id = "p"\namount = 0\n'
        '[incomplete]\ntap_out_networks = ["metro"]\n',
    )
    found = where(problems(files))
    assert {
        ("tariff.toml", 2, "park_and_ride"),
        ("tariff.toml", 5, "amount"),
        ("tariff.toml", 8, "incomplete.tap_out_networks"),
    } <= found


def test_bike_plan_problems() -> None:
    plans = [
        {"plan_id": "a", "currency": "EUR", "price": 1},
        {"plan_id": "a", "currency": "EUR", "price": 1},
        "not a plan",
        {"plan_id": "b", "currency": "EUR", "price": True,
         "per_min_pricing": ["x", {"start": 10, "rate": 1, "interval": 1, "end": 5},
                             {"start": -1, "rate": 1, "interval": 1},
                             {"start": 1, "rate": 1, "interval": 1, "end": "x"}],
         "fare_capping": {"duration": 0, "price": 1}},
    ]  # fmt: skip
    files = build_files(gbfs=json.dumps({"data": {"plans": plans}}, indent=1))
    fields = {field for file, _, field in where(problems(files)) if file.startswith("gbfs")}
    assert fields >= {
        "plan_id", "price", "per_min_pricing", "per_min_pricing.end",
        "per_min_pricing.start", "fare_capping",
    }  # fmt: skip
    no_list = build_files(gbfs=json.dumps({"data": {"plans": {}}}))
    assert ("gbfs/system_pricing_plans.json", None, "data.plans") in where(problems(no_list))


def test_parking_tariff_problems() -> None:
    tariffs = [
        {"id": "a", "currency": "EUR", "elements": [{"price_components": [{"type": "FLAT",
                                                                           "price": 1}]}]},
        {"id": "a", "currency": "EUR", "elements": [{"price_components": [{"type": "FLAT",
                                                                           "price": 1}]}]},
        {"id": "b", "currency": "GBP", "max_price": {"excl_vat": "x"}, "elements": []},
        {"id": "c", "currency": "EUR", "elements": [
            {"price_components": []},
            {"price_components": [{"type": "TIME", "price": "0.001"}],
             "restrictions": "always"},
            {"price_components": [{"type": "TIME", "price": 1}],
             "restrictions": {"start_date": "soon", "min_duration": -5, "end_time": "12h"}},
        ]},
        7,
    ]  # fmt: skip
    files = build_files(parking_tariffs=json.dumps({"tariffs": tariffs}, indent=1))
    fields = {field for file, _, field in where(problems(files)) if file == "parking_tariffs.json"}
    assert fields >= {
        "id", "elements", "price_components", "price", "restrictions", "start_date",
        "min_duration", "end_time",
    }  # fmt: skip


def test_bike_and_parking_need_their_operators() -> None:
    files = build_files(
        tariff_toml='currency = "EUR"\n',
        gbfs=json.dumps({"data": {"plans": [{"plan_id": "a", "currency": "EUR", "price": 1}]}}),
        parking_tariffs=json.dumps(
            {
                "tariffs": [
                    {
                        "id": "p",
                        "currency": "EUR",
                        "elements": [{"price_components": [{"type": "FLAT", "price": 1}]}],
                    }
                ]
            }
        ),
    )
    found = where(problems(files))
    assert {("tariff.toml", None, "bike.operator_id"),
            ("tariff.toml", None, "parking.operator_id")} <= found  # fmt: skip


def test_csv_field_problems() -> None:
    files = build_files(
        agency=csv("agency_id,agency_timezone", "a,Nowhere/City", "b,", "a,Europe/Paris"),
        routes=csv("route_id,route_type", "R1,tram"),
        stops=csv("stop_id,stop_lon,stop_timezone", "s,east,Mars/Base", "t,1"),
        calendar=csv(
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
            "start_date,end_date",
            "x,1,1,1,1,1,1,2,2026-01-01,20261301",
        ),
        calendar_dates=csv("service_id,date,exception_type", "x,20260101,3"),
        timeframes=csv("timeframe_group_id,start_time,end_time,service_id", "t,8am,09:00:00,x"),
        fare_media=csv("fare_media_id,fare_media_type", "m,9", "m,3"),
        rider_categories=csv("rider_category_id,is_default_fare_category", "c,yes"),
        fare_leg_join_rules=csv(
            "from_network_id,to_network_id,from_stop_id,to_stop_id", "n1,n2,s,"
        ),
    )
    files["networks.txt"] = b"network_id\n\xff\n"
    found = where(problems(files))
    assert {
        ("agency.txt", 2, "agency_timezone"),
        ("agency.txt", 3, "agency_timezone"),
        ("agency.txt", 4, "agency_id"),
        ("routes.txt", 2, "agency_id"),
        ("routes.txt", 2, "route_type"),
        ("stops.txt", 2, "stop_lon"),
        ("stops.txt", 2, "stop_timezone"),
        ("stops.txt", 3, None),
        ("calendar.txt", 2, "sunday"),
        ("calendar.txt", 2, "start_date"),
        ("calendar.txt", 2, "end_date"),
        ("calendar_dates.txt", 2, "exception_type"),
        ("timeframes.txt", 2, "start_time"),
        ("fare_media.txt", 2, "fare_media_type"),
        ("fare_media.txt", 3, "fare_media_id"),
        ("rider_categories.txt", 2, "is_default_fare_category"),
        ("fare_leg_join_rules.txt", 2, "from_network_id"),
        ("fare_leg_join_rules.txt", 2, "to_stop_id"),
        ("networks.txt", None, None),
    } <= found


def test_cap_problems() -> None:
    files = build_files(
        networks=csv("network_id", "tram"),
        fare_capping=csv(
            "cap_id,cap_name,period,amount,currency,network_ids,rider_category_id,fare_media_id",
            "d,Daily,day,3.90,EUR,tram bike,,",
            "d,Daily again,day,3.90,EUR,,,",
            "w,Weekly,week,-1.00,USD,,student,paper",
        ),
    )
    assert where(problems(files)) >= {
        ("fare_capping.txt", 3, "cap_id"),
        ("fare_capping.txt", 4, "amount"),
        ("fare_capping.txt", 4, "currency"),
        ("fare_capping.txt", 4, "rider_category_id"),
        ("fare_capping.txt", 4, "fare_media_id"),
    }
    # "bike" is the bike network of tariff.toml, so only nothing else is unknown there.
    assert ("fare_capping.txt", 2, "network_ids") not in where(problems(files))
