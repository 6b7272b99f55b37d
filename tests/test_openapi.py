from __future__ import annotations

from pathlib import Path

from ticketing.cli.openapi import openapi_document, render

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    assert COMMITTED.exists(), "run `uv run ticketing openapi export`"
    assert COMMITTED.read_text() == render(openapi_document()), (
        "openapi/openapi.json is stale: run `uv run ticketing openapi export` and commit it"
    )
