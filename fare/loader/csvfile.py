"""GTFS-style CSV reading with line numbers and typed, self-reporting field access."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from fare.loader.report import Report
from fare.money import MoneyError, to_minor


class Row:
    __slots__ = ("file", "line", "report", "values")

    def __init__(self, file: str, line: int, values: dict[str, str], report: Report) -> None:
        self.file = file
        self.line = line
        self.values = values
        self.report = report

    def problem(self, field: str | None, message: str) -> None:
        self.report.add(self.file, self.line, field, message)

    def has(self, name: str) -> bool:
        return bool(self.values.get(name))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name, "")
        if value:
            return value
        if required:
            self.problem(name, "is required")
        return None

    def required(self, name: str) -> str:
        """A required text field; '' after reporting when missing, so loading goes on."""
        return self.text(name, required=True) or ""

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        allowed: frozenset[int] | None = None,
        minimum: int | None = None,
    ) -> int | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.problem(name, f"{raw!r} is not an integer")
            return None
        if allowed is not None and value not in allowed:
            self.problem(name, f"{value} is not one of {sorted(allowed)}")
            return None
        if minimum is not None and value < minimum:
            self.problem(name, f"{value} is below {minimum}")
            return None
        return value

    def decimal(self, name: str) -> Decimal | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return Decimal(raw)
        except InvalidOperation:
            self.problem(name, f"{raw!r} is not a decimal number")
            return None

    def amount(self, name: str, currency: str) -> int | None:
        raw = self.text(name, required=True)
        if raw is None:
            return None
        try:
            return to_minor(raw, currency)
        except MoneyError as exc:
            self.problem(name, str(exc))
            return None

    def time_of_day(self, name: str) -> int | None:
        """GTFS time HH:MM:SS as seconds; 24:00:00 is the most a fare rule allows."""
        raw = self.text(name)
        if raw is None:
            return None
        parts = raw.split(":")
        try:
            h, m, s = (int(p) for p in parts)
        except ValueError:
            self.problem(name, f"{raw!r} is not a HH:MM:SS time")
            return None
        seconds = h * 3600 + m * 60 + s
        if not (0 <= m < 60 and 0 <= s < 60 and 0 <= seconds <= 86400):
            self.problem(name, f"{raw!r} is not a time between 00:00:00 and 24:00:00")
            return None
        return seconds

    def gtfs_date(self, name: str, *, required: bool = False) -> date | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        if len(raw) == 8 and raw.isdigit():
            try:
                return date(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]))
            except ValueError:
                pass
        self.problem(name, f"{raw!r} is not a YYYYMMDD date")
        return None


class Table:
    def __init__(self, file: str, header: list[str], rows: list[Row]) -> None:
        self.file = file
        self.header = header
        self.rows = rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def has_column(self, name: str) -> bool:
        return name in self.header


def read_csv(
    files: Mapping[str, bytes],
    name: str,
    report: Report,
    *,
    required_columns: tuple[str, ...] = (),
    required_file: bool = False,
) -> Table | None:
    data = files.get(name)
    if data is None:
        if required_file:
            report.add(name, None, None, "file is missing")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.add(name, None, None, f"not UTF-8: {exc}")
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        report.add(name, 1, None, "file is empty, a header is required")
        return None
    except csv.Error as exc:  # pragma: no cover - csv rarely rejects a first line
        report.add(name, 1, None, f"unreadable CSV: {exc}")
        return None
    for column in required_columns:
        if column not in header:
            report.add(name, 1, column, "required column is missing")
    rows: list[Row] = []
    next_line = reader.line_num + 1
    try:
        for record in reader:
            line = next_line
            next_line = reader.line_num + 1
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                report.add(
                    name, line, None, f"has {len(record)} fields, the header has {len(header)}"
                )
            values = {column: cell.strip() for column, cell in zip(header, record, strict=False)}
            rows.append(Row(name, line, values, report))
    except csv.Error as exc:
        report.add(name, next_line, None, f"unreadable CSV: {exc}")
    return Table(name, header, rows)
