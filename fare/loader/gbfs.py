"""GBFS system_pricing_plans.json, v2.3 and v3.x (v3.1 fare_capping included)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fare.loader.jsonfile import JsonFile, read_json
from fare.loader.report import Report
from fare.tariff import BikePlan, BikeSegment

FILE = "gbfs/system_pricing_plans.json"


def load_bike_plans(files: Mapping[str, bytes], report: Report, currency: str) -> list[BikePlan]:
    loaded = read_json(files, FILE, report)
    if loaded is None:
        return []
    source, doc = loaded
    data = doc.get("data", doc) if isinstance(doc, dict) else None
    plans = data.get("plans") if isinstance(data, dict) else None
    if not isinstance(plans, list):
        source.problem(None, "data.plans", "a list of plans is required")
        return []
    out: dict[str, BikePlan] = {}
    for plan in plans:
        parsed = _plan(source, plan, currency)
        if parsed is not None and parsed.plan_id in out:
            source.problem(parsed.plan_id, "plan_id", f"plan {parsed.plan_id!r} defined twice")
        elif parsed is not None:
            out[parsed.plan_id] = parsed
    return list(out.values())


def _text(value: object, fallback: str) -> str:
    # v2.x names are strings; v3.x names are lists of {"text", "language"}.
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return str(value[0].get("text", fallback))
    return fallback


def _plan(source: JsonFile, plan: Any, currency: str) -> BikePlan | None:
    if not isinstance(plan, dict) or not isinstance(plan.get("plan_id"), str):
        source.problem(None, "plan_id", "each plan needs a string plan_id")
        return None
    plan_id: str = plan["plan_id"]
    ok = True
    if plan.get("currency") != currency:
        source.problem(
            plan_id, "currency", f"{plan.get('currency')!r} differs from the tariff currency"
        )
        ok = False
    price = source.amount(plan_id, "price", plan.get("price"), currency)
    if price is None or price < 0:
        ok = False
    segments: dict[str, tuple[BikeSegment, ...]] = {}
    for key in ("per_min_pricing", "per_km_pricing"):
        parsed = [_segment(source, plan_id, key, raw, currency) for raw in plan.get(key, [])]
        ok = ok and all(s is not None for s in parsed)
        segments[key] = tuple(s for s in parsed if s is not None)
    cap_minutes = cap_price = None
    capping = plan.get("fare_capping")
    if capping is not None:
        duration = source.number(plan_id, "fare_capping.duration", capping.get("duration"))
        cap_price = source.amount(plan_id, "fare_capping.price", capping.get("price"), currency)
        if duration is None or duration == 0 or duration != int(duration) or cap_price is None:
            source.problem(plan_id, "fare_capping", "needs a whole positive duration and a price")
            ok = False
        else:
            cap_minutes = int(duration)
    if not ok or price is None:
        return None
    return BikePlan(
        plan_id=plan_id,
        name=_text(plan.get("name"), plan_id),
        price_minor=price,
        per_min=segments["per_min_pricing"],
        per_km=segments["per_km_pricing"],
        cap_minutes=cap_minutes,
        cap_price_minor=cap_price,
    )


def _segment(
    source: JsonFile, plan_id: str, key: str, raw: Any, currency: str
) -> BikeSegment | None:
    if not isinstance(raw, dict):
        source.problem(plan_id, key, "each segment must be an object")
        return None
    start = source.number(plan_id, f"{key}.start", raw.get("start"))
    rate = source.amount(plan_id, f"{key}.rate", raw.get("rate"), currency)
    interval = source.number(plan_id, f"{key}.interval", raw.get("interval"))
    end = None
    if raw.get("end") is not None:
        end = source.number(plan_id, f"{key}.end", raw.get("end"))
        if end is None:
            return None
        if start is not None and end <= start:
            source.problem(plan_id, f"{key}.end", "must be after start")
            return None
    if start is None or rate is None or interval is None:
        return None
    return BikeSegment(start=Decimal(start), rate_minor=rate, interval=interval, end=end)
