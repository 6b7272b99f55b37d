"""Loading a tariff directory (DESIGN §4.1). The only part of `fare` that reads files.

A tariff is a mapping of relative paths to bytes, so a version stored in a database
loads exactly like a directory. Every problem is collected and raised at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fare.errors import Problem, TariffError
from fare.loader.capping import load_caps
from fare.loader.config import load_config
from fare.loader.fares_v2 import load_fares
from fare.loader.gbfs import load_bike_plans
from fare.loader.gtfs import load_schedule
from fare.loader.ocpi import load_parking
from fare.loader.report import Report, line_of
from fare.tariff import Tariff

__all__ = ["load_tariff", "load_tariff_files", "read_tariff_dir"]


def read_tariff_dir(path: Path) -> dict[str, bytes]:
    """Every file under `path`, keyed by its POSIX path relative to `path`."""
    if not path.is_dir():
        raise TariffError([Problem(str(path), None, None, "is not a tariff directory")])
    return {
        file.relative_to(path).as_posix(): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file() and not file.name.startswith(".")
    }


def load_tariff(path: Path) -> Tariff:
    return load_tariff_files(read_tariff_dir(path))


def load_tariff_files(files: Mapping[str, bytes]) -> Tariff:
    report = Report()
    config = load_config(files, report)
    schedule = load_schedule(files, report)
    fares = load_fares(files, report, schedule, config.currency)
    bike_plans = load_bike_plans(files, report, config.currency)
    parking = {t.tariff_id: t for t in load_parking(files, report, config.currency)}
    networks = set(schedule.networks)
    networks.update(n for n in (config.bike_network_id, config.parking_network_id) if n)
    caps = load_caps(
        files,
        report,
        currency=config.currency,
        networks=networks,
        categories=set(fares.categories),
        media={m.fare_media_id for m in fares.media},
    )
    toml = files.get("tariff.toml", b"").decode("utf-8", errors="replace")
    for tariff_id in sorted(config.park_and_ride.keys() - parking.keys()):
        line = line_of(toml, f'"{tariff_id}"')
        message = f"parking tariff {tariff_id!r} is not in parking_tariffs.json"
        report.add("tariff.toml", line, "park_and_ride.tariff_id", message)
    for network_id in sorted(config.tap_out_networks - schedule.networks):
        line = line_of(toml, f'"{network_id}"')
        message = f"network {network_id!r} is not defined"
        report.add("tariff.toml", line, "incomplete.tap_out_networks", message)
    # Settlement books every leg to an operator, so bike and parking need one.
    if bike_plans and not config.bike_operator_id:
        report.add("tariff.toml", None, "bike.operator_id", "is required with bike pricing plans")
    if parking and not config.parking_operator_id:
        report.add("tariff.toml", None, "parking.operator_id", "is required with parking tariffs")
    if report.problems:
        raise TariffError(report.problems)
    return Tariff(
        config=config,
        agencies=schedule.agencies,
        routes=schedule.routes,
        stops=schedule.stops,
        services=schedule.services,
        timeframes=schedule.timeframes,
        media=tuple(fares.media),
        products={k: tuple(v) for k, v in fares.products.items() if v},
        categories=fares.categories,
        leg_rules=tuple(fares.leg_rules),
        has_rule_priority=fares.has_rule_priority,
        transfer_rules=tuple(fares.transfer_rules),
        join_rules=tuple(fares.join_rules),
        caps=tuple(caps),
        bike_plans={p.plan_id: p for p in bike_plans},
        parking_tariffs=parking,
    )
