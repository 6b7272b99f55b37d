"""Riders sign up, link cards by presenting them sealed, and see only their own."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.validators.devices import sealed_card
from tests.validators.rider_helpers import rider_headers


def rider(client: TestClient, email: str) -> dict[str, str]:
    return rider_headers(client, email)


def test_a_rider_links_a_card_and_sees_it(client: TestClient) -> None:
    ana = rider(client, "ana@example.org")

    linked = client.post(
        "/v1/riders/me/cards", json={"card": sealed_card(client, "5555555555554444")}, headers=ana
    )

    assert linked.status_code == 200, linked.text
    assert linked.json()["scheme"] == "mastercard" and linked.json()["last4"] == "4444"
    assert "token" not in linked.text
    cards = client.get("/v1/riders/me/cards", headers=ana).json()["cards"]
    assert [c["card_id"] for c in cards] == [linked.json()["card_id"]]
    assert client.get("/v1/riders/me", headers=ana).json()["email"] == "ana@example.org"


def test_linking_the_same_card_twice_is_harmless(client: TestClient) -> None:
    ana = rider(client, "ana@example.org")
    first = client.post("/v1/riders/me/cards", json={"card": sealed_card(client)}, headers=ana)
    again = client.post("/v1/riders/me/cards", json={"card": sealed_card(client)}, headers=ana)
    assert again.json()["card_id"] == first.json()["card_id"]
    assert len(client.get("/v1/riders/me/cards", headers=ana).json()["cards"]) == 1


def test_another_riders_card_is_a_conflict_that_names_no_one(client: TestClient) -> None:
    ana = rider(client, "ana@example.org")
    bo = rider(client, "bo@example.org")
    client.post("/v1/riders/me/cards", json={"card": sealed_card(client)}, headers=ana)

    taken = client.post("/v1/riders/me/cards", json={"card": sealed_card(client)}, headers=bo)

    assert taken.status_code == 409
    assert taken.json()["error"] == "card_already_linked"
    assert "ana" not in taken.text


def test_a_rider_cannot_unlink_someone_elses_card(client: TestClient) -> None:
    ana = rider(client, "ana@example.org")
    bo = rider(client, "bo@example.org")
    card_id = client.post(
        "/v1/riders/me/cards", json={"card": sealed_card(client)}, headers=ana
    ).json()["card_id"]

    assert client.delete(f"/v1/riders/me/cards/{card_id}", headers=bo).status_code == 404
    assert client.delete(f"/v1/riders/me/cards/{card_id}", headers=ana).status_code == 204
    assert client.get("/v1/riders/me/cards", headers=ana).json()["cards"] == []


def test_a_bad_envelope_is_a_clear_422(client: TestClient) -> None:
    ana = rider(client, "ana@example.org")
    bad = client.post(
        "/v1/riders/me/cards",
        json={"card": sealed_card(client, "4111111111111112")},
        headers=ana,
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "pan_luhn"


def test_staff_tokens_do_not_open_rider_routes(client: TestClient, auth_headers: object) -> None:
    finance = auth_headers("finance")  # type: ignore[operator]
    assert client.get("/v1/riders/me", headers=finance).status_code == 403
    assert client.get("/v1/riders/me/cards", headers=finance).status_code == 403
    assert client.get("/v1/riders/me").status_code == 401
