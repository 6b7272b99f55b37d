"""Every table of every package, imported in one place for Alembic's autogenerate."""

from __future__ import annotations

from ticketing.users import User

__all__ = ["User"]
