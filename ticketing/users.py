"""People who log in: riders, finance staff, admins. Devices are not users (validators)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select


class Role(StrEnum):
    rider = "rider"
    finance = "finance"
    admin = "admin"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("email_key", name="uq_users_email_key"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    # Lower-cased email: uniqueness must not depend on how someone typed their address.
    email_key: str = Field(max_length=320)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


def email_key(email: str) -> str:
    return email.strip().lower()


def find_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email_key == email_key(email))).first()


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored here is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
