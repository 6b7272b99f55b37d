"""fare_capping.txt (ours): cap_id, cap_name, period, amount, currency, network_ids,
rider_category_id, fare_media_id."""

from __future__ import annotations

from collections.abc import Mapping, Set

from fare.loader.csvfile import read_csv
from fare.loader.gtfs import unique
from fare.loader.report import Report
from fare.tariff import Cap

PERIODS = frozenset({"day", "week", "month"})


def load_caps(
    files: Mapping[str, bytes],
    report: Report,
    *,
    currency: str,
    networks: Set[str],
    categories: Set[str],
    media: Set[str],
) -> list[Cap]:
    caps: dict[str, Cap] = {}
    columns = ("cap_id", "period", "amount", "currency")
    for row in read_csv(files, "fare_capping.txt", report, required_columns=columns) or ():
        cap_id = unique(row, "cap_id", caps)
        period = row.required("period")
        if period and period not in PERIODS:
            row.problem("period", f"{period!r} is not one of day, week, month")
        row_currency = row.required("currency")
        if row_currency and row_currency != currency:
            row.problem("currency", f"{row_currency} differs from the tariff currency {currency}")
        amount = row.amount("amount", currency)
        if amount is not None and amount < 0:
            row.problem("amount", "a cap cannot be negative")
        network_ids = frozenset((row.text("network_ids") or "").split())
        for network_id in sorted(network_ids - networks):
            row.problem("network_ids", f"network {network_id!r} is not defined")
        category = row.text("rider_category_id")
        if category is not None and category not in categories:
            row.problem("rider_category_id", f"rider category {category!r} is not defined")
        medium = row.text("fare_media_id")
        if medium is not None and medium not in media:
            row.problem("fare_media_id", f"fare medium {medium!r} is not defined")
        if cap_id is None or period not in PERIODS or amount is None or amount < 0:
            continue
        name = row.text("cap_name") or cap_id
        caps[cap_id] = Cap(cap_id, name, period, amount, network_ids, category, medium)
    return list(caps.values())
