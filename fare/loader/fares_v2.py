"""GTFS-Fares v2 files: media, rider categories, products, leg, transfer and join rules.
Every reference to another file is checked; a dangling one is a problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fare.loader.csvfile import Row, read_csv
from fare.loader.gtfs import Schedule, unique
from fare.loader.report import Report
from fare.tariff import FareMedium, JoinRule, LegRule, ProductPrice, RiderCategory, TransferRule


@dataclass
class Fares:
    media: list[FareMedium] = field(default_factory=list)
    categories: dict[str, RiderCategory] = field(default_factory=dict)
    products: dict[str, list[ProductPrice]] = field(default_factory=dict)
    leg_rules: list[LegRule] = field(default_factory=list)
    has_rule_priority: bool = False
    transfer_rules: list[TransferRule] = field(default_factory=list)
    join_rules: list[JoinRule] = field(default_factory=list)


def ref(row: Row, name: str, known: Mapping[str, object] | set[str], what: str) -> str | None:
    value = row.text(name)
    if value is not None and value not in known:
        row.problem(name, f"{what} {value!r} is not defined")
    return value


def load_fares(
    files: Mapping[str, bytes], report: Report, schedule: Schedule, currency: str
) -> Fares:
    out = Fares()
    _media(files, report, out)
    _categories(files, report, out)
    _products(files, report, out, currency)
    _leg_rules(files, report, out, schedule)
    _transfer_rules(files, report, out)
    _join_rules(files, report, out, schedule)
    return out


def _media(files: Mapping[str, bytes], report: Report, out: Fares) -> None:
    columns = ("fare_media_id", "fare_media_type")
    seen: set[str] = set()
    for row in read_csv(files, "fare_media.txt", report, required_columns=columns) or ():
        media_id = unique(row, "fare_media_id", seen)
        kind = row.integer("fare_media_type", required=True, allowed=frozenset(range(5)))
        if media_id is not None:
            seen.add(media_id)
        if media_id is not None and kind is not None:
            out.media.append(FareMedium(media_id, row.text("fare_media_name") or media_id, kind))


def _categories(files: Mapping[str, bytes], report: Report, out: Fares) -> None:
    columns = ("rider_category_id",)
    for row in read_csv(files, "rider_categories.txt", report, required_columns=columns) or ():
        category_id = unique(row, "rider_category_id", out.categories)
        default = row.integer("is_default_fare_category", allowed=frozenset({0, 1}))
        if category_id is not None:
            name = row.text("rider_category_name") or category_id
            out.categories[category_id] = RiderCategory(category_id, name, default == 1)


def _products(files: Mapping[str, bytes], report: Report, out: Fares, currency: str) -> None:
    media = {m.fare_media_id for m in out.media}
    columns = ("fare_product_id", "amount", "currency")
    for row in read_csv(files, "fare_products.txt", report, required_columns=columns) or ():
        product_id = row.required("fare_product_id")
        category = ref(row, "rider_category_id", out.categories, "rider category")
        medium = ref(row, "fare_media_id", media, "fare medium")
        row_currency = row.required("currency")
        if row_currency and row_currency != currency:
            row.problem("currency", f"{row_currency} differs from the tariff currency {currency}")
        amount = row.amount("amount", currency)
        rows = out.products.setdefault(product_id, [])
        if any(r.rider_category_id == category and r.fare_media_id == medium for r in rows):
            row.problem("fare_product_id", "same product, category and medium defined twice")
        elif amount is not None and product_id:
            name = row.text("fare_product_name") or product_id
            rows.append(ProductPrice(product_id, name, category, medium, amount))


def _leg_rules(files: Mapping[str, bytes], report: Report, out: Fares, schedule: Schedule) -> None:
    table = read_csv(files, "fare_leg_rules.txt", report, required_columns=("fare_product_id",))
    if table is None:
        return
    out.has_rule_priority = table.has_column("rule_priority")
    for row in table:
        product = ref(row, "fare_product_id", out.products, "fare product")
        if product is None:
            row.problem("fare_product_id", "is required")
        rule = LegRule(
            leg_group_id=row.text("leg_group_id"),
            network_id=ref(row, "network_id", schedule.networks, "network"),
            from_area_id=ref(row, "from_area_id", schedule.areas, "area"),
            to_area_id=ref(row, "to_area_id", schedule.areas, "area"),
            from_timeframe_group_id=ref(
                row, "from_timeframe_group_id", schedule.timeframes, "timeframe group"
            ),
            to_timeframe_group_id=ref(
                row, "to_timeframe_group_id", schedule.timeframes, "timeframe group"
            ),
            fare_product_id=product or "",
            priority=row.integer("rule_priority", minimum=0) or 0,
        )
        out.leg_rules.append(rule)


def _transfer_rules(files: Mapping[str, bytes], report: Report, out: Fares) -> None:
    groups = {r.leg_group_id for r in out.leg_rules if r.leg_group_id}
    columns = ("fare_transfer_type",)
    for row in read_csv(files, "fare_transfer_rules.txt", report, required_columns=columns) or ():
        source = ref(row, "from_leg_group_id", groups, "leg group")
        target = ref(row, "to_leg_group_id", groups, "leg group")
        count = row.integer("transfer_count")
        if count is not None and (count == 0 or count < -1):
            row.problem("transfer_count", "must be -1 (unlimited) or at least 1")
        if source is not None and source == target and count is None:
            row.problem("transfer_count", "is required when from and to leg groups are equal")
        if source != target and count is not None:
            row.problem("transfer_count", "is forbidden when from and to leg groups differ")
        limit = row.integer("duration_limit", minimum=1)
        limit_type = row.integer("duration_limit_type", allowed=frozenset(range(4)))
        if row.has("duration_limit") and not row.has("duration_limit_type"):
            row.problem("duration_limit_type", "is required with a duration_limit")
        if row.has("duration_limit_type") and not row.has("duration_limit"):
            row.problem("duration_limit_type", "is forbidden without a duration_limit")
        kind = row.integer("fare_transfer_type", required=True, allowed=frozenset(range(3)))
        product = ref(row, "fare_product_id", out.products, "fare product")
        if kind is None:
            continue
        out.transfer_rules.append(
            TransferRule(source, target, count, limit, limit_type, kind, product)
        )


def _join_rules(files: Mapping[str, bytes], report: Report, out: Fares, schedule: Schedule) -> None:
    columns = ("from_network_id", "to_network_id")
    for row in read_csv(files, "fare_leg_join_rules.txt", report, required_columns=columns) or ():
        source = row.required("from_network_id")
        target = row.required("to_network_id")
        for name, value in (("from_network_id", source), ("to_network_id", target)):
            if value and value not in schedule.networks:
                row.problem(name, f"network {value!r} is not defined")
        from_stop = ref(row, "from_stop_id", schedule.stops, "stop")
        to_stop = ref(row, "to_stop_id", schedule.stops, "stop")
        if (from_stop is None) != (to_stop is None):
            row.problem("to_stop_id", "from_stop_id and to_stop_id are both set or both empty")
            continue
        out.join_rules.append(JoinRule(source, target, from_stop, to_stop))
