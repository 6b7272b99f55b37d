"""Collects every problem of a tariff so that one load reports them all."""

from __future__ import annotations

from fare.errors import Problem


class Report:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(file=file, line=line, field=field, message=message))


def line_of(text: str, needle: str) -> int | None:
    """1-based line of the first occurrence of `needle`, for formats whose parsers give
    no positions (JSON, TOML): good enough to point an editor at the right place."""
    offset = text.find(needle)
    if offset < 0:
        return None
    return text.count("\n", 0, offset) + 1
