"""One person, many accounts: suggestions from evidence, confirmed links, and the real Stack Exchange bar."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from renown.identity import suggest
from renown.ingest.pipeline import ingest
from renown.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "stackexchange"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "stackexchange"


@pytest.fixture
def two_sites(store) -> Store:
    ingest(store, [FIXTURES / "ham.radio", FIXTURES / "ham.radio.meta"])
    return store


def test_suggestions_need_strong_or_corroborated_evidence(two_sites) -> None:
    suggestions, conflicts = suggest(two_sites)
    assert [s.as_dict() for s in suggestions] == [{
        "accounts": ["se-ham-radio-meta:12", "se-ham-radio:3"], "confidence": "strong",
        "evidence": ["same website", "same unique name", "same location"]}]
    # same name, different websites: reported, not suggested
    assert conflicts == [{"accounts": ["se-ham-radio-meta:13", "se-ham-radio:7"], "for": ["same unique name"],
                          "against": ["different websites"]}]


@pytest.mark.usefixtures("app_db")
def test_links_are_only_what_an_operator_confirms(two_sites, cli, tmp_path) -> None:
    assert cli("score").code == 0
    alone = cli("link", "show", "se-ham-radio:3", "--json").json()
    assert alone["person"] is None and [a["account"] for a in alone["accounts"]] == ["se-ham-radio:3"]
    assert cli("link", "confirm", "se-ham-radio:3", "se-ham-radio-meta:12").code == 0
    person = cli("link", "show", "se-ham-radio-meta:12", "--json").json()
    assert [a["account"] for a in person["accounts"]] == ["se-ham-radio-meta:12", "se-ham-radio:3"]
    assert person["score"] == max(a["score"] for a in person["accounts"] if a["score"] is not None)
    links = tmp_path / "links.csv"
    links.write_bytes(b"\xef\xbb\xbfperson;account\r\nnewbie;se-ham-radio:9\r\nnewbie;se-ham-radio-meta:14\r\n")  # a spreadsheet's
    assert cli("link", "import", links).code == 0
    assert len(cli("link", "show", "se-ham-radio:9", "--json").json()["accounts"]) == 2
    assert cli("link", "confirm", "se-ham-radio:3", "nowhere:1").code == 1
    # an opted-out account is no longer shown as one of the person's, nor shown itself
    assert cli("opt-out", "se-ham-radio:3").code == 0
    assert [a["account"] for a in cli("link", "show", "se-ham-radio-meta:12", "--json").json()["accounts"]] == \
        ["se-ham-radio-meta:12"]
    assert cli("link", "show", "se-ham-radio:3").code == 1


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
def test_real_stack_exchange_identities_precision(tmp_path) -> None:
    """The two sites share 60 people (same AccountId); suggestions never look at AccountId."""
    store = Store(tmp_path / "data")
    ingest(store, [SHARED / "quantumcomputing", SHARED / "cardano"])
    suggestions, _ = suggest(store)
    con = store.connect()
    account_id = {k: orjson.loads(p).get("account_id") for k, p in
                  con.execute("SELECT key, profile FROM accounts WHERE profile IS NOT NULL").fetchall()}
    by_id: dict[str, set[str]] = {}
    for key, value in account_id.items():
        if value:
            by_id.setdefault(value, set()).add(key)
    truth = {tuple(sorted(keys)) for keys in by_id.values() if len({k.split(":")[0] for k in keys}) == 2}
    hits = sum((s.a, s.b) in truth for s in suggestions)
    precision, recall = hits / len(suggestions), hits / len(truth)
    print(f"identity suggestions: {len(suggestions)}, precision {precision:.3f}, recall {recall:.3f} of {len(truth)}")
    assert len(truth) >= 60
    assert precision >= 0.9 and recall > 0.4


def test_planted_identities_are_recovered_without_false_merges(demo_store) -> None:
    """The simulator plants people with a Twitter and a Mastodon account (same name and website) and
    look-alikes (same name, their own websites): every planted pair is suggested, no look-alike is."""
    planted: dict[str, set[str]] = {}
    for line in (demo_store.root.parent / "source" / "identities.tsv").read_text().splitlines()[1:]:
        person, account = line.split("\t")
        planted.setdefault(person, set()).add(account)
    truth = {tuple(sorted(accounts)) for accounts in planted.values()}
    suggestions, conflicts = suggest(demo_store)
    found = {(s.a, s.b) for s in suggestions}
    assert len(truth) == 12 and truth <= found  # all recovered
    assert found <= truth  # and nothing else merged
    assert len(conflicts) >= 6  # the look-alikes, reported
