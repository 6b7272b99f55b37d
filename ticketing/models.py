"""Every table of every package, imported in one place for Alembic's autogenerate."""

from __future__ import annotations

from ticketing.users import User
from validators.store import (
    Card,
    CardKey,
    DenyListChange,
    DenyListEntry,
    Device,
    DeviceTokenUse,
    ServiceDay,
    Tap,
    TariffVersion,
)

__all__ = [
    "Card",
    "CardKey",
    "DenyListChange",
    "DenyListEntry",
    "Device",
    "DeviceTokenUse",
    "ServiceDay",
    "Tap",
    "TariffVersion",
    "User",
]
