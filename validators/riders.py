"""Riders' cards: linking a card to an account by presenting it sealed, like at a gate.

A card belongs to at most one account. Linking someone else's card answers a conflict
that does not say whose it is; linking one's own card again is a no-op.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlmodel import Session, col, select

from validators import tokenlinks
from validators.card import open_card
from validators.errors import Conflict, NotFound
from validators.insert import insert_ignoring_conflicts
from validators.store import Card, RiderCard
from validators.tokens import KeyRing, TokenKey


@dataclass(frozen=True, slots=True)
class LinkedCard:
    card_id: str
    scheme: str
    last4: str
    expiry_month: date
    linked_at: datetime


class CardLinkedElsewhere(Conflict):
    code = "card_already_linked"


def link(
    session: Session,
    *,
    user_id: int,
    kid: str,
    sealed: str,
    card_keys: Mapping[str, X25519PrivateKey],
    token_key: TokenKey | KeyRing,
    device_key: TokenKey,
    now: datetime,
) -> LinkedCard:
    read = open_card(
        sealed, kid=kid, keys=card_keys, occurred_at=now, token_key=token_key, device_key=device_key
    )
    insert_ignoring_conflicts(
        session,
        Card,
        [
            {
                "token": read.token,
                "token_kid": read.token_kid,
                "bin6": read.bin6,
                "last4": read.last4,
                "expiry_month": read.expiry_month,
                "scheme": read.scheme,
                "par": read.par,
                "device_hash": read.device_hash,
                "first_seen_at": now,
            }
        ],
        conflict_column="token",
    )
    tokenlinks.record(session, [read], now)
    # The card may be linked already under its token of an older key (key rotation).
    tokens = tokenlinks.tokens_of_cards(session, [read.token])
    existing = session.exec(
        select(RiderCard)
        .where(col(RiderCard.card_token).in_(sorted(tokens)))
        .order_by(col(RiderCard.linked_at))
    ).first()
    if existing is None:
        existing = RiderCard(
            card_token=read.token, card_id=str(uuid.uuid4()), user_id=user_id, linked_at=now
        )
        session.add(existing)
        session.flush()
    elif existing.user_id != user_id:
        raise CardLinkedElsewhere("This card is already linked to another account.")
    return LinkedCard(
        existing.card_id, read.scheme, read.last4, read.expiry_month, existing.linked_at
    )


def cards_of(
    session: Session,
    user_id: int,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[LinkedCard]:
    """Oldest link first; those after `after` (linked at, card id) only."""
    query = (
        select(RiderCard, Card)
        .join(Card, col(Card.token) == col(RiderCard.card_token))
        .where(RiderCard.user_id == user_id)
        .order_by(col(RiderCard.linked_at), col(RiderCard.card_id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(col(RiderCard.linked_at), col(RiderCard.card_id)) > after)
    rows = session.exec(query)
    return [
        LinkedCard(link.card_id, card.scheme, card.last4, card.expiry_month, link.linked_at)
        for link, card in rows
    ]


def tokens_of(session: Session, user_id: int) -> list[str]:
    """The rider's cards under every token they have had (key rotation)."""
    return [token for token, _ in session.execute(tokenlinks.rider_tokens(user_id))]


def unlink(session: Session, *, user_id: int, card_id: str) -> None:
    link = session.exec(select(RiderCard).where(RiderCard.card_id == card_id)).first()
    # Another rider's card is "not found": its existence is not ours to confirm.
    if link is None or link.user_id != user_id:
        raise NotFound("No such card on your account.")
    session.delete(link)
    session.flush()


def forget_user(session: Session, user_id: int) -> None:
    """An erased account's cards are unlinked: their trips become anonymous."""
    for link in session.exec(select(RiderCard).where(RiderCard.user_id == user_id)):
        session.delete(link)
    session.flush()
