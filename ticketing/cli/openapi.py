"""`ticketing openapi export`: the committed API description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="The OpenAPI document.", no_args_is_help=True)

DEFAULT_PATH = Path("openapi/openapi.json")


def openapi_document() -> dict[str, Any]:
    """The document of an app with development settings (no secret is part of it)."""
    from ticketing.app import create_app
    from ticketing.settings import Settings

    settings = Settings(
        database_url="sqlite://",
        jwt_secret="x" * 43,
        card_token_key="x" * 43,
        card_key_encryption_key="x" * 43,
    )
    return create_app(settings).openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


@app.command("export")
def export(
    output: Annotated[Path, typer.Option(help="Where to write it.")] = DEFAULT_PATH,
) -> None:
    """Write the OpenAPI document of the current code."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(openapi_document()))
    typer.echo(f"wrote {output}")
