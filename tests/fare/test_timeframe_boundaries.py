"""Timeframes: local time of the stop (or its station, or the agency), the event's local
calendar date rather than the service day, alighting timeframes, calendar exceptions."""

from __future__ import annotations

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, tariff, total


def peak_tariff(*, to_side: bool = False) -> Tariff:
    column = "to_timeframe_group_id" if to_side else "from_timeframe_group_id"
    return tariff(
        routes=routes("R1 rail -"),
        stops=csv(
            "stop_id,stop_name,location_type,parent_station,stop_timezone",
            "PARIS,Paris Nord,0,,",
            "LONDON,London St Pancras,1,,Europe/London",
            "LONDON_P5,London platform 5,0,LONDON,",
        ),
        timeframes=csv(
            "timeframe_group_id,start_time,end_time,service_id",
            "peak,08:00:00,09:00:00,weekdays",
            "offpeak,00:00:00,08:00:00,all",
            "offpeak,09:00:00,24:00:00,all",
            "offpeak,08:00:00,09:00:00,weekend",
        ),
        fare_products=csv("fare_product_id,amount,currency", "peak,5.00,EUR", "offpeak,2.00,EUR"),
        fare_leg_rules=csv(f"{column},fare_product_id", "peak,peak", "offpeak,offpeak"),
    )


def test_a_stop_timezone_sets_the_local_time() -> None:
    # 08:30 in Paris is 07:30 in London: off-peak there, peak in Paris.
    assert total(peak_tariff(), Journey().ride("R1", "PARIS", "LONDON", "08:30")) == 500
    assert total(peak_tariff(), Journey().ride("R1", "LONDON", "PARIS", "08:30")) == 200
    assert total(peak_tariff(), Journey().ride("R1", "LONDON", "PARIS", "09:30")) == 500


def test_a_platform_takes_its_station_timezone() -> None:
    assert total(peak_tariff(), Journey().ride("R1", "LONDON_P5", "PARIS", "09:30")) == 500


def test_end_time_is_exclusive_and_start_time_inclusive() -> None:
    assert total(peak_tariff(), Journey().ride("R1", "PARIS", None, "09:00")) == 200
    assert total(peak_tariff(), Journey().ride("R1", "PARIS", None, "08:59:59")) == 500
    assert total(peak_tariff(), Journey().ride("R1", "PARIS", None, "08:00")) == 500
    assert total(peak_tariff(), Journey().ride("R1", "PARIS", None, "07:59:59")) == 200


def test_the_timeframe_day_is_the_local_date_not_the_service_day() -> None:
    # 08:30 on a Saturday is off-peak; 02:00 on Monday belongs to Sunday's service day but
    # the timeframe looks at Monday's date.
    assert total(peak_tariff(), Journey("2026-11-28").ride("R1", "PARIS", None, "08:30")) == 200
    quote = Journey("2026-11-30").ride("R1", "PARIS", None, "02:00").price(peak_tariff())
    assert quote.legs[0].service_day.isoformat() == "2026-11-29"


def test_alighting_timeframes_use_the_end_event() -> None:
    arriving = peak_tariff(to_side=True)
    assert total(arriving, Journey().ride("R1", "PARIS", "PARIS", "07:30", "08:10")) == 500
    assert total(arriving, Journey().ride("R1", "PARIS", "PARIS", "07:30", "07:50")) == 200
    # Without a tap-out the end event is the boarding, in the agency's time zone.
    assert total(arriving, Journey().ride("R1", "PARIS", None, "08:10")) == 500


def test_a_service_defined_only_by_calendar_dates() -> None:
    special = tariff(
        routes=routes("R1 rail -"),
        stops=csv("stop_id", "a"),
        calendar_dates=csv("service_id,date,exception_type", "fete,20260714,1"),
        timeframes=csv("timeframe_group_id,service_id", "fete,fete", "normal,all"),
        fare_products=csv("fare_product_id,amount,currency", "free,0.00,EUR", "one,1.00,EUR"),
        fare_leg_rules=csv(
            "from_timeframe_group_id,fare_product_id,rule_priority", "fete,free,1", "normal,one,0"
        ),
    )
    assert total(special, Journey("2026-07-14").ride("R1", "a", None, "10:00")) == 0
    assert total(special, Journey("2026-07-15").ride("R1", "a", None, "10:00")) == 100
