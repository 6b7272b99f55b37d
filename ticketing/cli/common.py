"""What every command needs: settings that fail cleanly, and an upgraded database."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import typer
from sqlalchemy import Engine

from ticketing.db import make_engine
from ticketing.settings import Settings, SettingsError, load_settings


def fail(code: str, detail: str, *, exit_code: int = 2) -> NoReturn:
    """Errors go to stderr as the same JSON shape the API answers."""
    print(json.dumps({"error": code, "detail": detail}), file=sys.stderr)
    raise typer.Exit(exit_code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail("invalid_settings", str(exc))


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database_url, pool_size=2)
