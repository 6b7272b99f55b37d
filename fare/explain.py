"""Sentences a rider understands, one per leg and one per adjustment. Each ends with the
amount of its line, so the lines of a quote add up to its total."""

from __future__ import annotations

from fare.model import Quote
from fare.money import format_money
from fare.tariff import Cap, Route, Tariff

MODES = {
    0: "Tram", 1: "Metro", 2: "Train", 3: "Bus", 4: "Ferry", 5: "Cable tram",
    6: "Aerial lift", 7: "Funicular", 11: "Trolleybus", 12: "Monorail",
}  # fmt: skip
EXTENDED_MODES = {1: "Train", 2: "Coach", 4: "Metro", 7: "Bus", 8: "Trolleybus", 9: "Tram"}


def route_label(route: Route) -> str:
    if route.route_type in MODES:
        mode = MODES[route.route_type]
    else:
        mode = EXTENDED_MODES.get(route.route_type // 100, "Line")
    name = route.short_name or route.long_name or route.route_id
    return f"{mode} {name}"


# "HH:MM" by minutes after local midnight.
CLOCKS = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(24 * 60))


def duration(seconds: int) -> str:
    minutes = -(-seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


class Explainer:
    def __init__(self, tariff: Tariff) -> None:
        self.tariff = tariff
        self.currency = tariff.currency
        self.zone = tariff.config.timezone
        self._rides: dict[tuple[str, str, str | None], str] = {}
        self._labels: dict[str, str] = {}
        # Legs repeat the same few rides and products: each sentence is built once.
        self._transit: dict[tuple[str, str, int, str | None], str] = {}
        self._hows: dict[tuple[str | None, str, int], str] = {}

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.currency)

    def stop_name(self, stop_id: str | None) -> str:
        if stop_id is None:
            return "an untapped stop"  # a joined leg whose last leg has no tap-out
        return self.tariff.stops[stop_id].name

    def label(self, route: Route) -> str:
        found = self._labels.get(route.route_id)
        if found is None:
            found = self._labels[route.route_id] = route_label(route)
        return found

    def ride(self, route: Route, from_stop_id: str, to_stop_id: str | None) -> str:
        key = (route.route_id, from_stop_id, to_stop_id)
        found = self._rides.get(key)
        if found is None:
            found = f"{self.label(route)} from {self.stop_name(from_stop_id)}"
            if to_stop_id is not None:
                found = f"{found} to {self.stop_name(to_stop_id)}"
            self._rides[key] = found
        return found

    def transit(self, ride: str, product: str, amount: int, *, joined_to: str | None) -> str:
        key = (ride, product, amount, joined_to)
        found = self._transit.get(key)
        if found is None:
            if joined_to is not None:
                ride = f"{ride}, one fare leg with the next to {joined_to}"
            found = self._transit[key] = f"{ride}: {product}, {self.money(amount)}."
        return found

    def joined(self, ride: str) -> str:
        return f"{ride}: included in the fare of the leg it continues, {self.money(0)}."

    def max_fare(self, ride: str, product: str, amount: int) -> str:
        return (
            f"{ride}, no tap-out: maximum fare ({product}), {self.money(amount)}; "
            "it does not count towards caps."
        )

    def transfer(
        self, *, earlier: str, later: str, product: str | None, covered_by: str, amount: int
    ) -> str:
        return f"Transfer from {earlier} to {later}{self._how(product, covered_by, amount)}"

    def _how(self, product: str | None, covered_by: str, amount: int) -> str:
        key = (product, covered_by, amount)
        found = self._hows.get(key)
        if found is None:
            how = f"with {product}" if product else f"covered by the {covered_by}"
            found = self._hows[key] = f", {how}: {self.money(amount)}."
        return found

    def covered_transfer(
        self, earlier: str, earlier_at: int, later: str, later_at: int, covered_by: str, amount: int
    ) -> str:
        """`transfer` with no product, from route labels and minutes after local midnight:
        the sentence of most transfers, built from parts made once."""
        return (
            f"Transfer from {earlier} at {CLOCKS[earlier_at]} to {later} at {CLOCKS[later_at]}"
            f"{self._how(None, covered_by, amount)}"
        )

    def bike(self, plan_name: str, seconds: int, km: str | None, amount: int) -> str:
        distance = f", {km} km" if km is not None else ""
        return f"Bike {plan_name}, {duration(seconds)}{distance}: {self.money(amount)}."

    def parking(self, name: str, seconds: int, amount: int) -> str:
        return f"Parking {name}, {duration(seconds)}: {self.money(amount)}."

    def park_and_ride(self, name: str, price: int, amount: int) -> str:
        return (
            f"Park and ride at {name}: you boarded transit during your stay, so parking "
            f"costs {self.money(price)}: {self.money(amount)}."
        )

    def cap(self, cap: Cap, amount: int) -> str:
        return f"{cap.name} of {self.money(cap.amount_minor)} reached: {self.money(amount)}."


def lines(quote: Quote) -> list[str]:
    """The quote as a receipt: legs, then adjustments, then the total."""
    out = [leg.explanation for leg in quote.legs]
    out += [adjustment.explanation for adjustment in quote.adjustments]
    out.append(f"Total: {format_money(quote.total_minor, quote.currency)}.")
    return out
