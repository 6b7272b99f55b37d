"""The audit log: who did what to money, devices and keys, and when. Append-only.

Written in the same transaction as the change it records, so the log never claims a
change that was rolled back, and never misses one that was committed.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from validators.schema import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=320)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(at=now, actor=actor, action=action, subject=subject, detail=detail or {})
    )
    session.flush()


def command_line_actor() -> str:
    """Who ran a command: the operating-system account (the CLI has no login)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def entries(session: Session, *, before_id: int | None, limit: int) -> list[AuditEntry]:
    """Newest first; page with `before_id` = the last id of the previous page."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    return list(session.exec(query))
