"""What a receipt says, gathered once for its three forms: the printable page, its PDF
(`/web/rider/charges/{id}/receipt.pdf`) and the API's PDF
(`GET /v1/riders/me/charges/{id}/receipt.pdf`).

A receipt is one charge of one of the rider's cards: the day, the card (scheme and last
4), each leg with its amount and the sentence that explains it, the adjustments (caps,
transfers), the total, the operators who carried the rider, the status, and the money
given back since (refunds done or accepted by the processor).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from fare.explain import route_label
from fare.tariff import Tariff
from settlement import refunds, riders_view
from settlement.context import Tariffs
from settlement.web import i18n, reads


def leg_label(leg: dict[str, Any], tariff: Tariff, t: i18n.Words) -> str:
    """A leg as a rider names it: "Tram T1 · Gare → Quetigny", or its kind."""
    if leg["kind"] == "transit" and leg["route_id"] in tariff.routes:
        label = route_label(tariff.routes[leg["route_id"]])
        stops = [
            tariff.stops[s].name if s in tariff.stops else s
            for s in (leg["from_stop_id"], leg["to_stop_id"])
            if s
        ]
        return f"{label} · {' → '.join(stops)}" if stops else label
    return t.kind(leg["kind"])


def receipt_of(
    session: Session, *, user_id: int, charge_id: int, tariffs: Tariffs, t: i18n.Words
) -> dict[str, Any]:
    """The receipt of one charge on the rider's cards; anyone else's is not found."""
    charge = reads.charge_of(session, user_id, charge_id)
    day = charge["service_day"]
    journeys = [
        journey
        for journey in riders_view.journeys_of(session, user_id, from_day=day, to_day=day)
        if journey["card_id"] == charge["card"]["card_id"]
    ]
    tariff = tariffs.tariff_on(session, day).tariff
    names = {agency_id: agency.name for agency_id, agency in tariff.agencies.items()}
    for journey in journeys:
        for leg in journey["legs"]:
            leg["label"] = leg_label(leg, tariff, t)
            leg["operator"] = names.get(leg["operator_id"], leg["operator_id"])
    given = [
        {
            "refund_id": refund.id,
            "amount_minor": refund.amount_minor,
            "status": refund.status,
            "created_at": refund.created_at,
        }
        for refund in refunds.refunds_of(session, charge_id)
        if refund.status in refunds.GIVEN
    ]
    carried = sorted(
        {leg["operator"] for journey in journeys for leg in journey["legs"]} or set(names.values())
    )
    return {
        "charge": charge,
        "journeys": journeys,
        "zone": tariff.config.timezone,
        "issuer": ", ".join(sorted(names.values())),
        "operators": carried,
        "refunds": given,
        "refunded_minor": sum(r["amount_minor"] for r in given),
    }
