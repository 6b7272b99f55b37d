"""Reading JSON tariff files exactly: numbers become Decimal, never float."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fare.loader.report import Report, line_of
from fare.money import MoneyError, to_minor


class JsonFile:
    def __init__(self, name: str, text: str, report: Report) -> None:
        self.name = name
        self.text = text
        self.report = report

    def problem(self, anchor: str | None, field: str | None, message: str) -> None:
        line = line_of(self.text, f'"{anchor}"') if anchor else None
        self.report.add(self.name, line, field, message)

    def amount(self, anchor: str, field: str, value: object, currency: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            self.problem(anchor, field, f"{value!r} is not a number")
            return None
        try:
            return to_minor(str(value), currency)
        except MoneyError as exc:
            self.problem(anchor, field, str(exc))
            return None

    def number(self, anchor: str, field: str, value: object) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.problem(anchor, field, f"{value!r} is not a number")
            return None
        number = Decimal(value)
        if number < 0:
            self.problem(anchor, field, f"{number} is negative")
            return None
        return number


def read_json(files: Mapping[str, bytes], name: str, report: Report) -> tuple[JsonFile, Any] | None:
    data = files.get(name)
    if data is None:
        return None
    text = data.decode("utf-8-sig", errors="replace")
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        report.add(name, exc.lineno, None, f"invalid JSON: {exc.msg}")
        return None
    return JsonFile(name, text, report), doc
