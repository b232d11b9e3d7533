"""The HTTP API through its ASGI app: keys and roles, leaderboards, explanations, error bodies, rate limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from renown.api import create_app
from renown.api.keys import create_key
from renown.score import snapshots

pytestmark = pytest.mark.usefixtures("app_db")


@pytest.fixture
def client(demo_store):
    return TestClient(create_app(demo_store), raise_server_exceptions=False)


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_every_endpoint_needs_a_valid_key(client) -> None:
    for path in ("/v1/leaderboard", "/v1/accounts/twitter:1", "/v1/admin/stats"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert client.get("/v1/leaderboard", headers=auth("rk_1_not-the-secret")).status_code == 401
    assert client.get("/v1/leaderboard", headers={"X-API-Key": "garbage"}).status_code == 401
    # digits that str.isdigit() accepts but int() does not (superscripts) are not a key id either
    superscript = {"Authorization": "Bearer rk_\u00b2_secret".encode("latin-1")}  # headers are Latin-1 on the wire
    assert client.get("/v1/leaderboard", headers=superscript).status_code == 401


def test_brand_reads_leaderboards_and_explanations(client, demo_store) -> None:
    key = create_key(demo_store, "acme", "brand")
    page = client.get("/v1/leaderboard?limit=5", headers=auth(key)).json()
    assert len(page["items"]) == 5 and page["items"][0]["rank"] == 1
    second = client.get("/v1/leaderboard?limit=5&offset=5", headers=auth(key)).json()["items"]
    assert second[0]["rank"] == 6
    leader = page["items"][0]["account"]
    explained = client.get(f"/v1/accounts/{leader}", headers=auth(key)).json()
    assert explained["account"] == leader
    assert round(explained["base"] + sum(c["points"] for c in explained["components"]), 1) == explained["score"]
    only_twitter = client.get("/v1/leaderboard?network=twitter&min_score=30&limit=50", headers=auth(key)).json()["items"]
    assert only_twitter and all(r["account"].startswith("twitter:") and r["score"] >= 30 for r in only_twitter)
    topical = client.get("/v1/leaderboard?topic=football&limit=3", headers=auth(key)).json()["items"]
    assert [r["topic"] for r in topical] == ["football"] * 3
    # the same filters on a topic board, over the whole board, ranks unchanged
    board, page_items = [], [None]
    while page_items:
        page_items = client.get(f"/v1/leaderboard?topic=football&limit=500&offset={len(board)}",
                                headers=auth(key)).json()["items"]
        board += page_items
    filtered = client.get("/v1/leaderboard?topic=football&network=twitter&min_score=20&limit=500",
                          headers=auth(key)).json()["items"]
    expected = [r for r in board if r["account"].startswith("twitter:") and r["score"] >= 20]
    assert filtered and filtered == expected[:500]


def test_roles_are_enforced(client, demo_store) -> None:
    brand = create_key(demo_store, "acme", "brand")
    admin = create_key(demo_store, "ops", "admin")
    leader = snapshots.query(f"SELECT account FROM read_parquet('{snapshots.latest(demo_store.root).scores}') LIMIT 1")[0]["account"]
    person = create_key(demo_store, "me", "person", account=leader)
    assert client.get("/v1/admin/stats", headers=auth(brand)).status_code == 403
    stats = client.get("/v1/admin/stats", headers=auth(admin)).json()
    assert stats["events"] > 0 and stats["latest_snapshot"]["scoring_version"]
    denied = client.get("/v1/leaderboard?audience=acme", headers=auth(person))
    assert denied.status_code == 403 and "brand" in denied.json()["error"]["message"]


def test_errors_are_json_and_useful(client, demo_store) -> None:
    key = create_key(demo_store, "acme", "brand")
    missing = client.get("/v1/accounts/twitter:nobody", headers=auth(key))
    assert missing.status_code == 404 and "has no score" in missing.json()["error"]["message"]
    bad = client.get("/v1/leaderboard?limit=0", headers=auth(key))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert "Traceback" not in bad.text
    # found by the schema fuzzer: a campaign named by a superscript digit is unknown, not a server error
    odd = client.get("/v1/campaigns/5%C2%B2/outcome", headers=auth(key))
    assert odd.status_code == 404 and odd.json()["error"]["code"] == "not_found"


def test_each_key_is_rate_limited(demo_store) -> None:
    app = create_app(demo_store, rate=0.001, burst=3)
    client = TestClient(app)
    key = create_key(demo_store, "burst", "brand")
    codes = [client.get("/v1/leaderboard?limit=1", headers=auth(key)).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_openapi_document_is_served(client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/leaderboard", "/v1/accounts/{account}", "/v1/admin/stats"} <= set(spec["paths"])


def test_privacy_requests_are_for_the_person_or_an_admin(tmp_path) -> None:
    from worlds import scored_world

    store = scored_world(tmp_path, accounts=200, days=5, seed=13)
    client = TestClient(create_app(store), raise_server_exceptions=False)
    rows = snapshots.query(f"SELECT account FROM read_parquet('{snapshots.latest(store.root).scores}') "
                           "ORDER BY exact DESC LIMIT 2")
    me, someone = rows[0]["account"], rows[1]["account"]
    mine = auth(create_key(store, "me", "person", account=me))
    brand = auth(create_key(store, "acme", "brand"))
    assert client.get(f"/v1/privacy/{me}/export", headers=brand).status_code == 403
    assert client.get(f"/v1/privacy/{someone}/export", headers=mine).status_code == 403
    exported = client.get(f"/v1/privacy/{me}/export", headers=mine).json()
    assert exported["account"] == me and exported["events_received"]
    assert client.post(f"/v1/privacy/{me}/opt-out", headers=mine).json() == {"account": me, "opted_out": True}
    assert client.get(f"/v1/accounts/{me}", headers=brand).status_code == 404
    assert me not in [r["account"] for r in client.get("/v1/leaderboard?limit=100", headers=brand).json()["items"]]
    erased = client.delete(f"/v1/privacy/{me}", headers=mine).json()
    assert erased["events"] > 0


def test_admin_sets_policy_and_flags_minors(client, demo_store) -> None:
    admin, brand = create_key(demo_store, "ops", "admin"), create_key(demo_store, "acme", "brand")
    assert client.put("/v1/admin/policy?only_opted_in=true", headers=auth(brand)).status_code == 403
    assert client.get("/v1/admin/policy", headers=auth(admin)).json() == {"only_opted_in": False, "exclude_minors": True}
    child = client.get("/v1/leaderboard?limit=1&offset=3", headers=auth(brand)).json()["items"][0]["account"]
    assert client.put(f"/v1/admin/minors/{child}", headers=auth(admin)).json() == {"account": child, "minor": True}
    try:
        shown = [r["account"] for r in client.get("/v1/leaderboard?limit=50", headers=auth(brand)).json()["items"]]
        assert child not in shown
        assert client.get(f"/v1/accounts/{child}", headers=auth(brand)).status_code == 404
    finally:
        client.delete(f"/v1/admin/minors/{child}", headers=auth(admin))
    assert client.get(f"/v1/accounts/{child}", headers=auth(brand)).status_code == 200


def test_brand_reads_personal_data_only_with_consent_and_every_release_is_logged(client, demo_store) -> None:
    person_account, other_account = [r["account"] for r in
                                      client.get("/v1/leaderboard?limit=2", headers=auth(create_key(demo_store, "x", "brand"))).json()["items"]]
    person = create_key(demo_store, "me", "person", account=person_account)
    stranger = create_key(demo_store, "other", "person", account=other_account)
    acme, globex = create_key(demo_store, "acme", "brand"), create_key(demo_store, "globex", "brand")
    contact = f"/v1/people/{person_account}/contact"
    details = {"email": "me@example.org", "postal_address": "1 Main St"}
    assert client.put(contact, json=details, headers=auth(acme)).status_code == 403
    assert client.put(contact, json=details, headers=auth(person)).json()["email"] == "me@example.org"
    refused = client.get(contact, headers=auth(acme))
    assert refused.status_code == 403 and "not agreed" in refused.json()["error"]["message"]
    consents = f"/v1/people/{person_account}/consents"
    assert client.post(consents, json={"brand": "acme"}, headers=auth(acme)).status_code == 403  # only the person consents
    assert client.post(consents, json={"brand": "acme"}, headers=auth(person)).json()["active"] is True
    assert client.get(contact, headers=auth(acme)).json() == {"account": person_account, **details}
    assert client.get(contact, headers=auth(globex)).status_code == 403
    assert client.get(contact, headers=auth(stranger)).status_code == 403
    record = client.get(consents, headers=auth(person)).json()
    assert [(r["brand"], r["fields"]) for r in record["releases"]] == [("acme", ["email", "postal_address"])]
    assert client.get(consents, headers=auth(acme)).status_code == 403
    assert client.delete(f"{consents}/acme", headers=auth(person)).json()["active"] is False
    assert client.get(contact, headers=auth(acme)).status_code == 403
    exported = client.get(f"/v1/privacy/{person_account}/export", headers=auth(person)).json()["application"]
    assert exported["contact"] == details and len(exported["releases"]) == 1 and exported["consents"][0]["withdrawn_at"]


def test_people_endorse_each_other_through_the_api(client, demo_store) -> None:
    brand = create_key(demo_store, "acme", "brand")
    first, second = [r["account"] for r in client.get("/v1/leaderboard?limit=2&offset=6", headers=auth(brand)).json()["items"]]
    person = create_key(demo_store, "fan", "person", account=first)
    given = client.post("/v1/endorsements", json={"endorsee": second, "topic": "Football"}, headers=auth(person))
    assert given.status_code == 201 and given.json()["topic"] == "football"
    again = client.post("/v1/endorsements", json={"endorsee": second, "topic": "football"}, headers=auth(person))
    assert again.status_code == 400 and "already endorsed" in again.json()["error"]["message"]
    assert client.post("/v1/endorsements", json={"endorsee": second, "topic": "football"}, headers=auth(brand)).status_code == 403
    received = client.get(f"/v1/accounts/{second}/endorsements", headers=auth(brand)).json()["received"]
    assert received[0]["endorser"] == first and received[0]["topic"] == "football"


def test_campaign_consent_is_enforced_at_the_api(client, demo_store) -> None:
    acme, globex = create_key(demo_store, "acme", "brand"), create_key(demo_store, "globex", "brand")
    as_of = snapshots.latest(demo_store.root).as_of
    body = {"name": "boots", "topics": ["football"], "budget": 3, "starts_on": str(as_of), "ends_on": str(as_of),
            "tags": ["acmeboots"], "min_topic_score": 20}
    created = client.post("/v1/campaigns", json=body, headers=auth(acme))
    assert created.status_code == 201 and created.json()["brand"] == "acme"
    assert client.get("/v1/campaigns/boots", headers=auth(globex)).status_code == 404
    report = client.post("/v1/campaigns/boots/selection", json={"seed": 1}, headers=auth(acme)).json()
    invited = report["chosen"]["accounts"]
    assert len(invited) == 3 and report["top_by_score"]["expected_reach"]["people"] > 0
    person = invited[0]
    me = create_key(demo_store, "me", "person", account=person)
    client.put(f"/v1/people/{person}/contact", json={"email": "me@example.org"}, headers=auth(me))
    shipping = f"/v1/campaigns/boots/invitations/{person}/shipping"
    refused = client.get(shipping, headers=auth(acme))
    assert refused.status_code == 403 and "not accepted" in refused.json()["error"]["message"]
    assert client.post(f"/v1/campaigns/boots/invitations/{person}/accept", headers=auth(acme)).status_code == 403
    assert client.post(f"/v1/campaigns/boots/invitations/{person}/accept", headers=auth(me)).json()["status"] == "accepted"
    assert client.get(shipping, headers=auth(acme)).json()["email"] == "me@example.org"
    assert client.get(f"/v1/campaigns/boots/invitations/{person}/shipping", headers=auth(globex)).status_code == 404
    assert client.get(f"/v1/people/{person}/contact", headers=auth(acme)).status_code == 403  # the campaign's consent only
    assert client.post(f"/v1/campaigns/boots/invitations/{person}/fulfilment", headers=auth(acme)).json()["status"] == "fulfilled"
    assert [i["status"] for i in client.get(f"/v1/people/{person}/invitations", headers=auth(me)).json()] == ["fulfilled"]
    assert client.get("/v1/campaigns/boots/outcome", headers=auth(acme)).json()["fulfilled"] == 1


def test_care_queue_and_fairness_through_the_api(client, demo_store) -> None:
    brand, person = create_key(demo_store, "acme", "brand"), create_key(demo_store, "me", "person", account="twitter:1")
    assert client.get("/v1/triage/queue?term=acme", headers=auth(person)).status_code == 403
    queue = client.get("/v1/triage/queue?term=goal&limit=5", headers=auth(brand)).json()
    assert queue["open"] > 0 and len(queue["items"]) == 5 and "deadline" in queue["policy"]["rule"]
    first = queue["items"][0]["event_id"]
    assert client.post("/v1/triage/handled", json={"event_ids": [first]}, headers=auth(brand)).json() == {"marked": 1}
    assert first not in [i["event_id"] for i in client.get("/v1/triage/queue?term=goal&limit=500", headers=auth(brand)).json()["items"]]
    report = client.get("/v1/triage/fairness?days=1", headers=auth(brand)).json()
    assert report["policies"]["renown"]["breaches"] == 0
