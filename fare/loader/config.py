"""tariff.toml: time zone, service-day start, currency, bike/parking operators,
park-and-ride amounts and the policy for missing tap-outs."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fare.loader.report import Report, line_of
from fare.money import MoneyError, is_currency_code, to_minor
from fare.tariff import Config

FILE = "tariff.toml"
_KEYS = {
    "timezone", "service_day_start", "currency", "bike", "parking", "park_and_ride", "incomplete",
}  # fmt: skip
POLICIES = frozenset({"max_fare"})


class _Toml:
    def __init__(self, text: str, report: Report) -> None:
        self.text = text
        self.report = report

    def problem(self, key: str, message: str) -> None:
        self.report.add(FILE, line_of_key(self.text, key), key, message)

    def string(self, table: Mapping[str, Any], key: str, default: str | None) -> str | None:
        value = table.get(key, default)
        if value is not None and not isinstance(value, str):
            self.problem(key, "must be a string")
            return default
        return value


def line_of_key(text: str, key: str) -> int | None:
    found = re.search(rf"^\s*{re.escape(key.rsplit('.', maxsplit=1)[-1])}\s*=", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else line_of(text, key)


def load_config(files: Mapping[str, bytes], report: Report) -> Config:
    fallback = Config(timezone=ZoneInfo("Europe/Paris"), service_day_start_s=4 * 3600 + 1800,
                      currency="EUR")  # fmt: skip
    data = files.get(FILE)
    if data is None:
        report.add(FILE, None, None, "file is missing")
        return fallback
    text = data.decode("utf-8", errors="replace")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        report.add(FILE, int(found.group(1)) if found else None, None, f"invalid TOML: {exc}")
        return fallback
    toml = _Toml(text, report)
    for key in doc.keys() - _KEYS:
        toml.problem(key, "unknown key")

    timezone = fallback.timezone
    zone_name = toml.string(doc, "timezone", "Europe/Paris")
    try:
        timezone = ZoneInfo(zone_name or "")
    except (ZoneInfoNotFoundError, ValueError):
        toml.problem("timezone", f"{zone_name!r} is not an IANA time zone")

    start_s = fallback.service_day_start_s
    start = toml.string(doc, "service_day_start", "04:30") or ""
    found = re.fullmatch(r"(\d\d):(\d\d)", start)
    if found and int(found.group(1)) < 24 and int(found.group(2)) < 60:
        start_s = int(found.group(1)) * 3600 + int(found.group(2)) * 60
    else:
        toml.problem("service_day_start", f"{start!r} is not a HH:MM local time")

    currency = toml.string(doc, "currency", "EUR") or "EUR"
    if not is_currency_code(currency):
        toml.problem("currency", f"{currency!r} is not an ISO 4217 code")
        currency = "EUR"

    def section(name: str) -> dict[str, Any]:
        value = doc.get(name, {})
        if not isinstance(value, dict):
            toml.problem(name, "must be a table")
            return {}
        return value

    bike, parking, incomplete = section("bike"), section("parking"), section("incomplete")

    park_and_ride: dict[str, int] = {}
    entries = doc.get("park_and_ride", [])
    if not isinstance(entries, list):
        toml.problem("park_and_ride", "must be an array of tables [[park_and_ride]]")
        entries = []
    for entry in entries:
        tariff_id = toml.string(entry, "tariff_id", None) if isinstance(entry, dict) else None
        amount = entry.get("amount") if isinstance(entry, dict) else None
        if not tariff_id:
            toml.problem("park_and_ride", "each entry needs a tariff_id")
            continue
        if not isinstance(amount, str):
            message = f'park_and_ride {tariff_id!r}: amount must be a string ("0.00")'
            report.add(FILE, line_of(text, f'"{tariff_id}"'), "amount", message)
            continue
        try:
            park_and_ride[tariff_id] = to_minor(amount, currency)
        except MoneyError as exc:
            message = f"park_and_ride {tariff_id!r}: {exc}"
            report.add(FILE, line_of(text, f'"{tariff_id}"'), "amount", message)

    networks = incomplete.get("tap_out_networks", [])
    if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
        toml.problem("tap_out_networks", "must be a list of network ids")
        networks = []
    policy = toml.string(incomplete, "policy", None)
    if policy is not None and policy not in POLICIES:
        toml.problem("policy", f"{policy!r} is not one of {sorted(POLICIES)}")
        policy = None

    return Config(
        timezone=timezone,
        service_day_start_s=start_s,
        currency=currency,
        bike_operator_id=toml.string(bike, "operator_id", None),
        bike_network_id=toml.string(bike, "network_id", None),
        parking_operator_id=toml.string(parking, "operator_id", None),
        parking_network_id=toml.string(parking, "network_id", None),
        park_and_ride=park_and_ride,
        tap_out_networks=frozenset(networks),
        incomplete_policy=policy,
    )
