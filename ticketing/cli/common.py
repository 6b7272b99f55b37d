"""What every command needs: settings that fail cleanly, sessions, and JSON errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from ticketing.db import make_engine, make_session_factory, unit_of_work, upgrade
from ticketing.settings import Settings, SettingsError, load_settings
from validators.partitions import ensure_months, months_around
from validators.schema import utc_now


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


def migrate(engine: Engine) -> None:
    """Migrate to the latest schema, then make the coming months' partitions
    (PostgreSQL), before their first tap."""
    upgrade(engine)
    with engine.begin() as connection:
        ensure_months(connection, months_around(utc_now().date()))


@contextmanager
def job(settings: Settings | None = None) -> Iterator[Session]:
    """A command's unit of work; domain errors become the JSON error and exit 2."""
    settings = settings or settings_or_exit()
    try:
        with unit_of_work(make_session_factory(engine_for(settings))) as session:
            yield session
    except typer.Exit:
        raise
    except Exception as exc:
        code = getattr(exc, "code", None)
        if not isinstance(code, str):
            raise
        fail(code, str(exc))


def audited(session: Session, action: str, subject: str, **detail: object) -> None:
    """Record a command's change in the audit log, in the command's own transaction."""
    from validators import audit
    from validators.schema import utc_now

    audit.record(
        session,
        actor=audit.command_line_actor(),
        action=action,
        subject=subject,
        now=utc_now(),
        detail=dict(detail),
    )
