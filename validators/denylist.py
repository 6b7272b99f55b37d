"""The deny list: cards refused at the gate, published to validators as versioned deltas.

An offline validator must decide on a card it has just read without asking us, and it
must not hold the token key (a stolen validator would then turn every stored token back
into a card). So each card also gets a *device hash*: HMAC-SHA256 of the PAN under a
separate deny-list key that validators do hold. A validator hashes the card it reads and
looks the hash up in its copy of the list. The trade-off (written in docs/deny-list.md):
whoever steals that key and the list can test whether a PAN they already have is denied,
or brute-force the few denied PANs; never the cards that are not denied, and never the
tokens of our database, which are under the other key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from validators.store import Card, DenyListChange, DenyListEntry


@dataclass(frozen=True, slots=True)
class Delta:
    version: int
    action: str
    device_hash: str
    reason: str


def deny(session: Session, card_token: str, *, reason: str, now: datetime) -> int | None:
    """Put a card on the list; returns the new version, or None if it already was."""
    if session.get(DenyListEntry, card_token) is not None:
        return None
    change = _change(session, card_token, "add", reason, now)
    session.add(DenyListEntry(card_token=card_token, reason=reason, version=change, added_at=now))
    session.flush()
    return change


def allow(session: Session, card_token: str, *, reason: str, now: datetime) -> int | None:
    """Take a card off the list (debt paid); returns the new version, or None when no
    change reaches the devices."""
    entry = session.get(DenyListEntry, card_token)
    if entry is None:
        return None
    session.delete(entry)
    session.flush()
    if _denied_under_another_token(session, card_token):
        # The same card, under its token of another token key (key rotation), still owes:
        # devices know the card by its device hash alone, which both tokens share.
        return None
    return _change(session, card_token, "remove", reason, now)


def _denied_under_another_token(session: Session, card_token: str) -> bool:
    card = session.get(Card, card_token)
    if card is None or not card.device_hash:
        return False
    others = (
        select(DenyListEntry.card_token)
        .join(Card, col(Card.token) == col(DenyListEntry.card_token))
        .where(Card.device_hash == card.device_hash, DenyListEntry.card_token != card_token)
        .limit(1)
    )
    return session.exec(others).first() is not None


def _change(session: Session, card_token: str, action: str, reason: str, now: datetime) -> int:
    card = session.get(Card, card_token)
    device_hash = card.device_hash if card is not None else ""
    change = DenyListChange(
        card_token=card_token, device_hash=device_hash, action=action, reason=reason, changed_at=now
    )
    session.add(change)
    session.flush()
    assert change.version is not None
    return change.version


def current_version(session: Session) -> int:
    latest = session.exec(select(func.max(DenyListChange.version))).one()
    return latest or 0


def deltas_since(session: Session, since: int, *, limit: int) -> list[Delta]:
    rows = session.exec(
        select(DenyListChange)
        .where(col(DenyListChange.version) > since)
        .order_by(col(DenyListChange.version))
        .limit(limit)
    )
    return [Delta(r.version or 0, r.action, r.device_hash, r.reason) for r in rows]
