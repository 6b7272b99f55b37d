"""Card-token links: a card's tokens under an old and a new token key, kept as one card.

A token cannot be re-derived under a new key without the PAN, so a card is linked when
it is read again: while an old key stays in the `KeyRing` as a previous key, the card
module also computes the card's token under it (`CardRead.previous_tokens`), and when we
already know the card under that token (a `Card` row) the two tokens are linked here, in
`card_token_links` (see `validators.store.CardTokenLink` for its shape).

What stays under the old token stays there: charges, legs, debts, ledger postings and
processor references are records of what happened and keep the token they were made
under. Readers that answer "this card" ask for all its tokens instead: the deny check at
intake, a rider's linked cards (journeys, charges, debts, retention), the card history
lookup and the earlier days that weekly and monthly caps count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from validators.card import CardRead
from validators.insert import insert_ignoring_conflicts
from validators.schema import table_of
from validators.store import Card, CardTokenLink, RiderCard


def record(session: Session, cards: Iterable[CardRead], now: datetime) -> int:
    """Link each card read under the current key to its token under a previous key, when
    we know the card under that one; returns the number of cards newly linked.

    No statement at all while the ring has no previous key. Otherwise one read for the
    batch (which tokens are linked or known already), then one insert when some card is
    new to the link table: once per card and rotation, never per tap.
    """
    previous = {c.token: c.previous_tokens for c in cards if c.previous_tokens}
    if not previous:
        return 0
    links, known_cards = table_of(CardTokenLink), table_of(Card)
    older = sorted({token for tokens in previous.values() for token in tokens})
    linked: dict[str, str] = {}
    known: set[str] = set()
    query = sa.union_all(
        sa.select(links.c.token, links.c.first_token).where(
            links.c.token.in_(sorted({*previous, *older}))
        ),
        sa.select(known_cards.c.token, sa.null()).where(known_cards.c.token.in_(older)),
    )
    for token, first in session.execute(query):
        if first is None:
            known.add(token)
        else:
            linked[token] = first
    rows: dict[str, dict[str, Any]] = {}
    for token, tokens in previous.items():
        if token in linked:
            continue
        # The ring lists previous keys newest first: link to the most recent known token.
        old = next((t for t in tokens if t in known), None)
        if old is None:
            continue  # a card we never saw under an older key: nothing to link
        first = linked.get(old, old)
        rows[token] = _row(token, first, old, now)
        if old not in linked:
            rows.setdefault(old, _row(old, old, None, now))
    insert_ignoring_conflicts(session, CardTokenLink, list(rows.values()), conflict_column="token")
    return sum(1 for row in rows.values() if row["previous_token"] is not None)


def _row(token: str, first: str, previous: str | None, now: datetime) -> dict[str, Any]:
    return {"token": token, "first_token": first, "previous_token": previous, "linked_at": now}


def kin(tokens: Sequence[str] | sa.BindParameter[Any] | None = None) -> sa.Select[str, str]:
    """(token, kin_token) for each given token that is linked and every token of its
    card, itself included; unlinked tokens give no row. Without `tokens`, for every
    linked token (filter on `table_of(CardTokenLink).c.token` to choose them otherwise)."""
    mine, others = table_of(CardTokenLink), table_of(CardTokenLink).alias("kin")
    query = sa.select(mine.c.token, others.c.token.label("kin_token")).select_from(
        mine.join(others, others.c.first_token == mine.c.first_token)
    )
    if tokens is None:
        return query
    # An expanding bound parameter stands for a list given when the query runs.
    chosen = tokens if isinstance(tokens, sa.BindParameter) else list(tokens)
    return query.where(mine.c.token.in_(chosen))


def tokens_of_cards(session: Session, tokens: Sequence[str]) -> set[str]:
    """The given tokens and every token linked to one of them."""
    found = set(tokens)
    if found:
        found.update(kin_token for _, kin_token in session.execute(kin(sorted(found))))
    return found


def rider_tokens(user_id: int | None = None) -> sa.CompoundSelect[str, str]:
    """(card_token, card_id) of riders' linked cards, each card under all its tokens: a
    card linked under its old token shows its new token's journeys and charges under the
    same `card_id`, and the other way round. Every rider's when `user_id` is None."""
    riders = table_of(RiderCard)
    mine, others = table_of(CardTokenLink).alias("mine"), table_of(CardTokenLink).alias("kin")
    direct = sa.select(riders.c.card_token, riders.c.card_id)
    through_links = (
        sa.select(others.c.token.label("card_token"), riders.c.card_id)
        .select_from(
            riders.join(mine, mine.c.token == riders.c.card_token).join(
                others, others.c.first_token == mine.c.first_token
            )
        )
        .where(others.c.token != riders.c.card_token)
    )
    if user_id is not None:
        direct = direct.where(riders.c.user_id == user_id)
        through_links = through_links.where(riders.c.user_id == user_id)
    return sa.union_all(direct, through_links)


@dataclass(frozen=True, slots=True)
class KidStatus:
    kid: str
    cards: int  # cards known under this key
    carried_forward: int  # of them, linked to a token under a newer key


def status(session: Session) -> list[KidStatus]:
    """Per token key id, for `ticketing keys token-rotation-status`: how many cards we
    know under it and how many of those have been seen again under a newer key. An old
    key can go once the cards still to carry forward no longer matter (see docs)."""
    cards, links = table_of(Card), table_of(CardTokenLink)
    forward = sa.func.count(sa.distinct(sa.case((links.c.token.is_not(None), cards.c.token))))
    rows = session.execute(
        sa.select(cards.c.token_kid, sa.func.count(sa.distinct(cards.c.token)), forward)
        .select_from(cards.outerjoin(links, links.c.previous_token == cards.c.token))
        .group_by(cards.c.token_kid)
        .order_by(cards.c.token_kid)
    )
    return [KidStatus(kid, int(n), int(f)) for kid, n, f in rows]
