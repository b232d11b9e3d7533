"""Each network's mapper on fixtures written from the public format documentation."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import atproto_repo
import orjson
import pytest
import zstandard

from renown.errors import FormatError
from renown.ingest import mastodon, mastodon_archive, twitter_archive
from renown.ingest.formats import detect
from renown.ingest.pipeline import ingest
from renown.ingest.sources import discover
from renown.privacy import forget
from renown.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


def kinds_by_id(rows: list[dict]) -> dict[str, tuple]:
    return {r["event_id"]: (r["kind"], r["actor"], r["target"]) for r in rows}


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("twarc2/search_page.jsonl", "twarc2"),
        ("twarc2/flattened.jsonl", "twarc2"),
        ("twitter-archive", "twitter-archive"),
        ("mastodon-archive", "mastodon-archive"),
        ("mastodon-archive/outbox.json", "mastodon-archive"),
        ("mastodon/statuses.json", "mastodon"),
        ("mastodon/notifications.json", "mastodon"),
        ("bluesky/jetstream.jsonl", "bluesky"),
        ("bluesky-repo/repo.car", "bluesky-repo"),
        ("reddit/RS_2023-01.ndjson", "reddit"),
        ("reddit/RC_2023-01.ndjson", "reddit"),
        ("csv/events.csv", "csv"),
    ],
)
def test_format_is_detected_from_content(relative: str, expected: str) -> None:
    [source] = discover([FIXTURES / relative])
    assert detect(source).name == expected


def test_twarc2_page_maps_each_reference_type(store, read_events) -> None:
    ingest(store, [FIXTURES / "twarc2/search_page.jsonl"])
    rows = kinds_by_id(read_events())
    assert rows["twitter:1587846394958729216"] == ("post", "twitter:783214", None)
    assert rows["twitter:1587846394958729216#mention:2244994945"] == ("mention", "twitter:783214", "twitter:2244994945")
    assert rows["twitter:1587850000000000001"] == ("reply", "twitter:1526228120", "twitter:783214")
    # the replied-to account is the reply's target, not also a mention; the other mention is
    assert "twitter:1587850000000000001#mention:783214" not in rows
    assert rows["twitter:1587850000000000001#mention:857699969263964161"][0] == "mention"
    # a retweet targets the original author and carries no mentions of its own
    assert rows["twitter:1587851111111111111"] == ("repost", "twitter:2244994945", "twitter:783214")
    assert not any(k.startswith("twitter:1587851111111111111#") for k in rows)
    # the quoted author comes from includes.tweets
    assert rows["twitter:1587852222222222222"] == ("quote", "twitter:857699969263964161", "twitter:783214")
    [post] = read_events("event_id = 'twitter:1587846394958729216'")
    assert post["tags"] == ["api", "devs"]
    assert post["parent_post_id"] is None and post["post_id"] == "1587846394958729216"
    assert post["created_at"].isoformat() == "2022-11-02T16:10:01+00:00"
    assert '"like_count":87' in post["attrs"]
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts["twitter:783214"]["followers"] == 65432100
    assert accounts["twitter:783214"]["handle"] == "Twitter"


def test_twarc2_pages_of_api_errors_and_empty_results_are_skipped_with_their_reason(tmp_path, store) -> None:
    """twarc2 writes what the API answered: a hydrate page names the tweets it could not return (deleted,
    protected) in ``errors``, beside or instead of ``data``; a search can end with an empty page. Those are not
    malformed records: they are counted as skipped, with the API's reason, and nothing is quarantined."""
    page = orjson.loads((FIXTURES / "twarc2/search_page.jsonl").read_text().splitlines()[0])
    twarc = {"url": "https://api.twitter.com/2/tweets?ids=1", "version": "2.14.0", "retrieved_at": "2023-01-10T12:00:00+00:00"}

    def missing(tweet_id: str, title: str = "Not Found Error") -> dict:
        return {"value": tweet_id, "detail": f"Could not find tweet with ids: [{tweet_id}].", "title": title,
                "resource_type": "tweet", "parameter": "ids", "resource_id": tweet_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found"}

    lines = [{**page, "errors": [missing("1460323737035677698")]},
             {"errors": [missing("1460323737035677699"), missing("1460323737035677700", "Authorization Error")],
              "__twarc": twarc},
             {"meta": {"result_count": 0}, "__twarc": twarc}]
    export = tmp_path / "hydrated.jsonl"
    export.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    report = ingest(store, [export])
    assert report.quarantined == 0 and report.total_loaded > 0
    assert report.skipped == {"tweet the API could not return: Not Found Error": 2,
                              "tweet the API could not return: Authorization Error": 1,
                              "twarc2 page with no results": 1}
    errors_only = tmp_path / "deleted.jsonl"  # a file of nothing else is still recognised
    errors_only.write_bytes(orjson.dumps(lines[1]) + b"\n")
    assert ingest(Store(tmp_path / "other"), [errors_only]).skipped["tweet the API could not return: Not Found Error"] == 1


def test_twarc2_flattened_uses_inline_expansions(store, read_events) -> None:
    ingest(store, [FIXTURES / "twarc2/flattened.jsonl"])
    rows = kinds_by_id(read_events())
    assert rows["twitter:1600000000000000001"] == ("repost", "twitter:1526228120", "twitter:2244994945")
    assert rows["twitter:1600000000000000002"] == ("reply", "twitter:857699969263964161", "twitter:1526228120")
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts["twitter:2244994945"]["followers"] == 570001
    assert accounts["twitter:857699969263964161"]["display_name"] == "Suhem Parack"


def test_twitter_archive_takes_owner_from_account_js(store, read_events) -> None:
    report = ingest(store, [FIXTURES / "twitter-archive"])
    assert report.skipped == {twitter_archive.LIKES_SKIPPED: 2}  # like.js: no time, no author — counted, not lost
    rows = kinds_by_id(read_events())
    owner = "twitter:16032925"
    assert rows["twitter:1049735519488077825"] == ("post", owner, None)
    assert rows["twitter:1050000000000000001"] == ("repost", owner, "twitter:91234567")
    assert rows["twitter:1050000000000000002"] == ("reply", owner, "twitter:91234567")
    assert rows["twitter:1050000000000000002#mention:55512345"] == ("mention", owner, "twitter:55512345")
    assert rows["twitter:1050000000000000003"][0] == "quote"
    [quote] = read_events("event_id = 'twitter:1050000000000000003'")
    assert quote["parent_post_id"] == "1050000000000000000"
    [post] = read_events("event_id = 'twitter:1049735519488077825'")
    assert post["created_at"].isoformat() == "2018-10-09T19:49:24+00:00"
    assert post["tags"] == ["sdr"]
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts[owner]["handle"] == "radio_eng"


def test_twitter_archive_zip_equals_folder(tmp_path, store, read_events) -> None:
    archive = tmp_path / "twitter-2024-01-01-abc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (FIXTURES / "twitter-archive").rglob("*.js"):
            zf.write(path, path.relative_to(FIXTURES / "twitter-archive"))
    ingest(store, [archive])
    other = Store(tmp_path / "other")
    ingest(other, [FIXTURES / "twitter-archive"])
    assert kinds_by_id(read_events()) == kinds_by_id(read_events(of=other))


@pytest.mark.parametrize("archive", ["twitter-archive", "twitter-archive/data", "stackexchange/ham.radio"])
def test_an_export_beside_an_archive_in_one_folder_is_read_too(tmp_path, archive) -> None:
    folder = tmp_path / "exports"
    shutil.copytree(FIXTURES / archive, folder)
    if archive == "twitter-archive":  # the root of an X archive: its viewer ships JavaScript that is no data
        (folder / "assets" / "js").mkdir(parents=True)
        (folder / "assets" / "js" / "main.js").write_text("window.__THAR_CONFIG = {};")
    shutil.copy(FIXTURES / "bluesky/jetstream.jsonl", folder)
    report = ingest(Store(tmp_path / "store"), [folder])
    assert {f.format for f in report.files} == {FORMATS_BY_FIXTURE[archive], "bluesky"}
    assert report.quarantined == (1 if archive.startswith("stackexchange") else 0)  # its deliberately broken date


FORMATS_BY_FIXTURE = {"twitter-archive": "twitter-archive", "twitter-archive/data": "twitter-archive",
                      "stackexchange/ham.radio": "stackexchange"}


def test_mastodon_statuses_reblogs_replies_and_html(store, read_events) -> None:
    ingest(store, [FIXTURES / "mastodon/statuses.json"])
    rows = kinds_by_id(read_events())
    author = "mastodon:gargron_fan@fosstodon.org"
    original = "mastodon:https://fosstodon.org/users/gargron_fan/statuses/109382159165398564"
    assert rows[original] == ("post", author, None)
    reply = "mastodon:https://hachyderm.io/users/kris/statuses/109382199999990001"
    assert rows[reply] == ("reply", "mastodon:kris@hachyderm.io", author)
    assert rows[reply + "#mention:nina@mastodon.social"] == ("mention", "mastodon:kris@hachyderm.io", "mastodon:nina@mastodon.social")
    boost = "mastodon:https://fosstodon.org/users/newsbot/statuses/109382300000000002/activity"
    assert rows[boost] == ("repost", "mastodon:newsbot@fosstodon.org", author)
    [post] = read_events(f"event_id = '{original}'")
    assert post["text"] == "Release notes for 4.1 are out #Mastodon\nRead them & share!"
    assert post["tags"] == ["mastodon"]
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts["mastodon:newsbot@fosstodon.org"]["bot"] is True
    assert accounts[author]["followers"] == 2310


def test_mastodon_direct_messages_are_private_and_skipped(tmp_path, store, read_events) -> None:
    statuses = orjson.loads((FIXTURES / "mastodon/statuses.json").read_bytes())
    notifications = orjson.loads((FIXTURES / "mastodon/notifications.json").read_bytes())
    statuses[1]["visibility"] = "direct"
    liked = next(n for n in notifications if n["type"] == "favourite")
    liked["status"]["visibility"] = "direct"
    (tmp_path / "statuses.json").write_bytes(orjson.dumps(statuses))
    (tmp_path / "notifications.json").write_bytes(orjson.dumps(notifications))
    report = ingest(store, [tmp_path])
    assert report.skipped[mastodon.DIRECT_SKIPPED] == 2
    rows = kinds_by_id(read_events())
    assert not any(k.startswith("mastodon:https://hachyderm.io/users/kris/statuses/109382199999990001") for k in rows)
    assert not any(kind == "like" for kind, _, _ in rows.values())
    assert "mastodon:https://fosstodon.org/users/gargron_fan/statuses/109382159165398564" in rows


def test_records_sharing_one_line_keep_their_own_provenance(tmp_path, store, read_events) -> None:
    """A Mastodon API response saved as it came (``curl … > statuses.json``) is one line. Each status is
    still its own raw record: erasing a person removes only the records that involve them, a grown
    file ingested again adds only its new records' raw copies, and a bad status is named by its place."""
    statuses = orjson.loads((FIXTURES / "mastodon/statuses.json").read_bytes())
    saved = tmp_path / "statuses.json"
    saved.write_bytes(orjson.dumps(statuses[:2]))
    ingest(store, [saved])

    def raw_by_position() -> dict[int, str]:
        rows = read_events(view="raw")
        assert len({r["source_line"] for r in rows}) == len(rows)  # one raw copy per record
        return {r["source_line"]: orjson.loads(r["raw"])["id"] for r in rows}

    assert raw_by_position() == {1: statuses[0]["id"], 2: statuses[1]["id"]}
    for event in read_events():  # every event points at the raw copy of its own status
        status = next(s for s in statuses if event["event_id"].startswith(f"mastodon:{s['uri']}"))
        assert raw_by_position()[event["source_line"]] == status["id"]

    saved.write_bytes(orjson.dumps(statuses))  # the account posted again: the same file, grown
    ingest(store, [saved])
    assert raw_by_position() == {i + 1: s["id"] for i, s in enumerate(statuses)}

    erased = forget(store, "mastodon:nina@mastodon.social")  # mentioned in the second status only
    assert (erased["events"], erased["raw_lines"]) == (1, 1)
    assert raw_by_position() == {1: statuses[0]["id"], 3: statuses[2]["id"]}

    broken = [dict(s) for s in statuses]
    broken[1]["created_at"] = "yesterday"
    saved.write_bytes(orjson.dumps(broken))
    report = ingest(Store(tmp_path / "other"), [saved])
    assert report.quarantined == 1
    assert (report.samples[0]["line"], report.samples[0]["item"], report.samples[0]["field"]) == (1, 2, "created_at")


def test_mastodon_notifications_add_likes_and_count_what_they_skip(store, read_events) -> None:
    report = ingest(store, [FIXTURES / "mastodon/notifications.json"])
    [like] = read_events("kind = 'like'")
    assert (like["actor"], like["target"]) == ("mastodon:nina@mastodon.social", "mastodon:gargron_fan@fosstodon.org")
    assert like["parent_post_id"] == "109382159165398564"
    assert sum(report.skipped.values()) == 1 and "follow" in next(iter(report.skipped))


ARCHIVE_OWNER = "mastodon:radio_eng@mastodon.social"
ARCHIVE_STATUS = "mastodon:https://mastodon.social/users/radio_eng/statuses/"


def test_mastodon_archive_posts_replies_boosts_quotes_and_mentions(store, read_events) -> None:
    report = ingest(store, [FIXTURES / "mastodon-archive"])
    rows = kinds_by_id(read_events())
    owner, status = ARCHIVE_OWNER, ARCHIVE_STATUS
    assert rows[status + "111000000000000001"] == ("post", owner, None)
    # the replied author comes from the parent's URI; the other mention stays a mention
    assert rows[status + "111000000000000002"] == ("reply", owner, "mastodon:bob@fosstodon.org")
    assert rows[status + "111000000000000002#mention:carol@hachyderm.io"][2] == "mastodon:carol@hachyderm.io"
    assert not any(k.startswith(status + "111000000000000002#mention:bob") for k in rows)
    assert rows[status + "111000000000000003"] == ("reply", owner, owner)  # a thread: self-interaction, scoring drops it
    assert rows[status + "111000000000000004/activity"] == ("repost", owner, "mastodon:bob@fosstodon.org")
    assert rows[status + "111000000000000008"] == ("quote", owner, "mastodon:carol@hachyderm.io")
    # a boost of a Misskey note: its author's URI carries an internal id, the owner's mention of them the name
    assert rows[status + "111000000000000009/activity"] == ("repost", owner, "mastodon:dave@misskey.io")
    # a local mention (@nina) is named with the instance of its href
    assert rows[status + "111000000000000007#mention:nina@mastodon.social"][2] == "mastodon:nina@mastodon.social"
    # a reply to a post whose URI names no author keeps its parent, and its mention
    [misskey] = read_events(f"event_id = '{status}111000000000000006'")
    assert (misskey["kind"], misskey["target"], misskey["parent_post_id"]) == ("reply", None, "https://misskey.io/notes/9f2kx7zzq3")
    assert misskey["lang"] == "de"
    assert rows[status + "111000000000000006#mention:dave@misskey.io"][2] == "mastodon:dave@misskey.io"
    # the direct message is private: not loaded, and counted
    assert not any("111000000000000005" in k for k in rows)
    assert report.skipped == {mastodon.DIRECT_SKIPPED: 1, mastodon_archive.LIKES_SKIPPED: 2}
    [post] = read_events(f"event_id = '{status}111000000000000001'")
    assert post["text"] == "Field day antenna test: 20 m band wide open #SDR #HamRadio"
    assert post["tags"] == ["sdr", "hamradio"]
    assert post["created_at"].isoformat() == "2023-10-02T08:15:00+00:00"
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts[owner]["display_name"] == "Radio Engineer" and accounts[owner]["bot"] is False
    assert orjson.loads(accounts[owner]["profile"]) == {"website": "https://radio.example", "location": "Tromsø",
                                                        "about": "SDR, antennas and field days."}
    assert accounts[owner]["created_at"].isoformat() == "2022-11-05T00:00:00+00:00"


def test_mastodon_archive_zip_equals_folder_and_needs_no_actor_json(tmp_path, store, read_events) -> None:
    archive = tmp_path / "archive-20231008120000-0f1e2d3c4b5a69788796a5b4c3d2e1f0.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # as Mastodon writes it: files at the root, media beside them
        for path in (FIXTURES / "mastodon-archive").iterdir():
            zf.write(path, path.name)
        zf.writestr("media_attachments/files/111/000/000/original/3f2a.png", b"\x89PNG\r\n")
    ingest(store, [archive])
    other = Store(tmp_path / "other")
    ingest(other, [FIXTURES / "mastodon-archive"])
    assert kinds_by_id(read_events()) == kinds_by_id(read_events(of=other))
    for packed in (False, True):  # an export beside the archive's files is read too, in a folder or a zip
        mixed = tmp_path / f"mixed-{packed}"
        shutil.copytree(FIXTURES / "mastodon-archive", mixed)
        shutil.copy(FIXTURES / "bluesky/jetstream.jsonl", mixed)
        if packed:
            shutil.make_archive(str(mixed), "zip", mixed)
        report = ingest(Store(tmp_path / f"store-{packed}"), [mixed.with_suffix(".zip") if packed else mixed])
        assert {f.format for f in report.files} == {"mastodon-archive", "bluesky"}
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(FIXTURES / "mastodon-archive/outbox.json", bare)
    third = Store(tmp_path / "third")
    ingest(third, [bare])
    assert kinds_by_id(read_events(of=third)) == kinds_by_id(read_events())
    accounts = {a["key"]: a for a in read_events(view="accounts", of=third)}
    assert accounts[ARCHIVE_OWNER]["display_name"] is None  # the profile lives in actor.json


def test_an_outbox_page_fetched_over_activitypub_reads_like_the_archive(tmp_path, read_events) -> None:
    archive = orjson.loads((FIXTURES / "mastodon-archive/outbox.json").read_bytes())
    page = {"@context": archive["@context"], "type": "OrderedCollectionPage",
            "id": "https://mastodon.social/users/radio_eng/outbox?page=true",
            "next": "https://mastodon.social/users/radio_eng/outbox?max_id=110999999999999999&page=true",
            "partOf": "https://mastodon.social/users/radio_eng/outbox", "orderedItems": archive["orderedItems"]}
    path = tmp_path / "outbox-page-1.json"
    path.write_bytes(orjson.dumps(page, option=orjson.OPT_INDENT_2))
    fetched, exported = Store(tmp_path / "fetched"), Store(tmp_path / "exported")
    report = ingest(fetched, [path])
    ingest(exported, [FIXTURES / "mastodon-archive/outbox.json"])
    assert report.files[0].format == "mastodon-archive"
    assert kinds_by_id(read_events(of=fetched)) == kinds_by_id(read_events(of=exported))


def test_a_status_in_both_the_archive_and_an_api_export_loads_once(tmp_path, store, read_events) -> None:
    api = [{"id": "111000000000000001", "created_at": "2023-10-02T08:15:00.000Z", "in_reply_to_id": None,
            "in_reply_to_account_id": None, "visibility": "public", "language": "en",
            "uri": "https://mastodon.social/users/radio_eng/statuses/111000000000000001",
            "url": "https://mastodon.social/@radio_eng/111000000000000001", "content": "<p>Field day</p>",
            "reblog": None, "account": {"id": "109312345", "username": "radio_eng", "acct": "radio_eng",
                                        "url": "https://mastodon.social/@radio_eng", "display_name": "Radio Engineer"},
            "mentions": [], "tags": []}]
    statuses = tmp_path / "statuses.json"
    statuses.write_bytes(orjson.dumps(api))
    ingest(store, [FIXTURES / "mastodon-archive"])
    report = ingest(store, [statuses])
    assert report.total_loaded == 0 and sum(report.duplicate.values()) == 1
    [post] = read_events(f"event_id = '{ARCHIVE_STATUS}111000000000000001'")
    assert post["actor"] == ARCHIVE_OWNER


def test_a_broken_activity_in_an_archive_is_quarantined_and_the_rest_loads(tmp_path, store, read_events) -> None:
    folder = tmp_path / "archive"
    shutil.copytree(FIXTURES / "mastodon-archive", folder)
    outbox = orjson.loads((folder / "outbox.json").read_bytes())
    outbox["orderedItems"][0]["object"]["published"] = "last Tuesday"
    outbox["orderedItems"][3]["object"] = 42
    (folder / "outbox.json").write_bytes(orjson.dumps(outbox)[:-900])  # and the file is cut short
    report = ingest(store, [folder])
    reasons = {(s["field"], s["reason"].split(":")[0]) for s in report.samples}
    assert ("object.published", "not an ISO 8601 timestamp") in reasons
    assert ("object", "expected the boosted post's URI") in reasons
    assert any(s["field"] == "record" and "JSON" in s["reason"] for s in report.samples)
    assert all(s["source_file"].endswith("outbox.json") for s in report.samples)
    assert report.total_loaded >= 5 and report.skipped[mastodon_archive.LIKES_SKIPPED] == 2


def test_a_broken_actor_json_is_quarantined_and_the_outbox_still_loads(tmp_path, store, read_events) -> None:
    folder = tmp_path / "archive"
    shutil.copytree(FIXTURES / "mastodon-archive", folder)
    (folder / "actor.json").write_text('{"id": "https://mastodon.social/users/radio_eng", "name": ')
    outbox = orjson.loads((folder / "outbox.json").read_bytes())
    outbox["orderedItems"][1]["object"]["tag"].append({"type": "Mention", "href": "https://[::1/users/x", "name": "@x"})
    (folder / "outbox.json").write_bytes(orjson.dumps(outbox))
    report = ingest(store, [folder])
    [rejected] = report.samples
    assert rejected["source_file"].endswith("actor.json") and "invalid JSON" in rejected["reason"]
    other = Store(tmp_path / "other")
    ingest(other, [FIXTURES / "mastodon-archive"])
    assert kinds_by_id(read_events()) == kinds_by_id(read_events(of=other))  # a mention with a broken href is left out


def test_bluesky_jetstream_collections_and_delete(store, read_events) -> None:
    report = ingest(store, [FIXTURES / "bluesky/jetstream.jsonl"])
    author = "bluesky:did:plc:wa7b35aakoll7hugkrjtf3xf"
    fan = "bluesky:did:plc:ia76kvnndjutgedggx2ibrem"
    live = read_events()
    by_kind = {r["kind"]: r for r in live}
    assert by_kind["reply"]["actor"] == fan and by_kind["reply"]["target"] == author
    assert by_kind["quote"]["target"] == author
    assert by_kind["repost"]["target"] == author
    assert by_kind["follow"]["target"] == author
    assert by_kind["mention"]["target"] == "bluesky:did:plc:eygmaihciaxprqvxpfvl6flk"
    assert by_kind["post"]["tags"] == ["atproto"]
    assert by_kind["post"]["created_at"].isoformat() == "2024-09-09T19:43:20+00:00"
    # the like was deleted later in the stream: removed from the files; the delete stays as the audit trail
    assert "like" not in by_kind
    assert read_events("kind = 'like'", view="events_all") == []
    assert report.loaded["delete"] == 1 and report.deleted == 1
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts["bluesky:did:plc:eygmaihciaxprqvxpfvl6flk"]["handle"] == "jaz.bsky.social"
    assert sum(report.skipped.values()) == 1  # the account event
    assert accounts[fan]["display_name"] == "Ia"  # from the profile update


def test_bluesky_repository_export_maps_every_record(store, read_events) -> None:
    report = ingest(store, [FIXTURES / "bluesky-repo/repo.car"])
    fan, author, jaz = (f"bluesky:{d}" for d in (atproto_repo.FAN, atproto_repo.AUTHOR, atproto_repo.JAZ))
    records = f"bluesky:at://{atproto_repo.FAN}/"
    rows = kinds_by_id(read_events())
    assert rows[records + "app.bsky.feed.post/3l3qo3aaaaa2b"] == ("reply", fan, author)
    assert rows[records + "app.bsky.feed.post/3l3qo3bbbbb2b"] == ("quote", fan, author)
    assert rows[records + "app.bsky.feed.repost/3l3qo3ccccc2b"] == ("repost", fan, author)
    assert rows[records + "app.bsky.graph.follow/3l3qo3ddddd2b"] == ("follow", fan, author)
    likes = [v for v in rows.values() if v[0] == "like"]
    assert len(likes) == 24 and {target for _, _, target in likes} == {author, jaz}
    [post] = read_events("kind = 'post'")
    assert post["tags"] == ["hamradio"] and post["created_at"].isoformat() == "2024-09-11T12:00:00+00:00"
    assert rows[post["event_id"] + f"#mention:{atproto_repo.JAZ}"] == ("mention", fan, jaz)
    assert report.skipped == {"collection 'app.bsky.graph.block' is not an interaction": 1}
    assert report.total_loaded == len(rows) == 30 and report.quarantined == 0
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts[fan]["display_name"] == "Ia"
    assert orjson.loads(accounts[fan]["profile"]) == {"about": "atproto tinkerer"}
    raw = store.connect().execute(f"SELECT raw FROM raw WHERE source_line = {post['source_line']}").fetchone()[0]
    assert orjson.loads(raw)["uri"] == post["record_id"].removeprefix("bluesky:")  # the audit copy names the record
    assert '"$link":"bafkrei' in raw  # the image blob's link, in atproto's JSON form


def test_the_repository_fixture_is_what_the_spec_writer_makes() -> None:
    assert (FIXTURES / "bluesky-repo/repo.car").read_bytes() == atproto_repo.fan_repository()


def test_a_record_from_the_firehose_and_from_the_repository_loads_once(store) -> None:
    ingest(store, [FIXTURES / "bluesky/jetstream.jsonl"])
    report = ingest(store, [FIXTURES / "bluesky-repo/repo.car"])
    assert sum(report.duplicate.values()) == 4  # the reply, quote, repost and follow the fan made live
    assert report.total_loaded == 30 - 4


def test_a_damaged_repository_export_loses_only_the_damaged_records(tmp_path, store, read_events) -> None:
    data = bytearray(atproto_repo.fan_repository())
    record = atproto_repo.dag_cbor(atproto_repo.fan_records()["app.bsky.feed.post/3l3qo3aaaaa2b"])
    at = bytes(data).index(record)
    data[at + len(record) - 3] ^= 0x20  # one flipped bit in the reply's block
    damaged = tmp_path / "damaged.car"
    damaged.write_bytes(bytes(data))
    report = ingest(store, [damaged])
    assert report.quarantined == 1 and "does not match its hash" in report.samples[0]["reason"]
    assert "3l3qo3aaaaa2b" in report.samples[0]["reason"] and report.total_loaded == 29

    whole = atproto_repo.fan_repository()
    cut = tmp_path / "cut.car"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    other = Store(tmp_path / "other")
    report = ingest(other, [cut])
    reasons = [s["reason"] for s in report.samples]
    assert "truncated" in reasons[0] and all("missing from the file" in r for r in reasons[1:])
    assert any("tree node" in r and "records under it are lost" in r for r in reasons)
    assert 0 < report.total_loaded < 30  # what came before the cut loads

    junk = tmp_path / "notes.car"
    junk.write_text('{"this": "is not a CAR file"}')
    with pytest.raises(FormatError, match="not a CAR"):
        ingest(Store(tmp_path / "third"), [junk])


def test_bluesky_delete_in_a_later_ingest_removes_the_event(tmp_path, store, read_events) -> None:
    lines = (FIXTURES / "bluesky/jetstream.jsonl").read_text().splitlines()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(lines[:-1]) + "\n")
    second.write_text(lines[-1] + "\n")
    ingest(store, [first])
    assert len(read_events("kind = 'like'")) == 1
    like = read_events("kind = 'like'")[0]
    report = ingest(store, [second])
    assert report.deleted == 1
    assert read_events("kind = 'like'") == [] and read_events("kind = 'like'", view="events_all") == []
    raw = {(r["source_file"], r["source_line"]) for r in read_events(view="raw")}
    assert (like["source_file"], like["source_line"]) not in raw  # the deleted record's source text is gone too


def test_a_delete_that_arrives_before_its_record_wins(tmp_path, store, read_events) -> None:
    lines = (FIXTURES / "bluesky/jetstream.jsonl").read_text().splitlines()
    delete, rest = tmp_path / "delete.jsonl", tmp_path / "rest.jsonl"
    delete.write_text(lines[-1] + "\n")
    rest.write_text("\n".join(lines[:-1]) + "\n")
    ingest(store, [delete])
    report = ingest(store, [rest])
    assert report.deleted == 1
    assert read_events("kind = 'like'", view="events_all") == []


def test_reddit_reply_targets_resolve_from_parent_posts(store, read_events) -> None:
    report = ingest(store, [FIXTURES / "reddit"])
    rows = kinds_by_id(read_events())
    assert rows["reddit:t3_1008abc"] == ("post", "reddit:sdr_fan", None)
    assert rows["reddit:t1_j2x1a0b"] == ("reply", "reddit:antenna_guru", "reddit:sdr_fan")
    assert rows["reddit:t1_j2x2c3d"] == ("reply", "reddit:sdr_fan", "reddit:antenna_guru")
    assert rows["reddit:t3_1008abc#mention:antenna_guru"][0] == "mention"
    assert report.skipped == {"deleted author": 1}
    [comment] = read_events("event_id = 'reddit:t1_j2x1a0b'")
    assert comment["created_at"].isoformat() == "2023-01-01T13:00:00+00:00"  # created_utc given as a string


def test_csv_events_keep_extra_columns(store, read_events) -> None:
    ingest(store, [FIXTURES / "csv/events.csv"])
    rows = {r["event_id"]: r for r in read_events()}
    assert rows["forum:e1"]["tags"] == ["antennas", "hf"]
    assert rows["forum:e1"]["target"] is None
    assert rows["forum:e2"]["created_at"].isoformat() == "2024-03-01T11:00:00+00:00"  # Unix seconds
    assert rows["forum:e3"]["created_at"].isoformat() == "2024-03-01T11:30:00+00:00"  # +01:00 offset
    assert rows["forum:e2"]["attrs"] == '{"channel":"app"}'


def test_gzip_and_zstd_read_the_same_as_plain(tmp_path, store, read_events) -> None:
    plain = FIXTURES / "bluesky/jetstream.jsonl"
    gz, zst = tmp_path / "jet.jsonl.gz", tmp_path / "jet2.jsonl.zst"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    zst.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    ingest(store, [plain])
    expected = kinds_by_id(read_events())
    for path in (gz, zst):
        other = Store(tmp_path / path.name.replace(".", "_"))
        ingest(other, [path])
        assert kinds_by_id(read_events(of=other)) == expected


def test_ingest_of_a_folder_reads_every_format(fixtures, store, read_events) -> None:
    report = ingest(store, [fixtures])
    assert {f.format for f in report.files} == {"twarc2", "twitter-archive", "mastodon", "mastodon-archive", "bluesky",
                                                  "bluesky-repo", "reddit", "csv", "snap", "stackexchange"}
    assert report.quarantined == 1  # the deliberately broken comment date in the Stack Exchange fixture
    networks = {r["network"] for r in read_events()}
    assert networks == {"twitter", "mastodon", "bluesky", "reddit", "forum", "snap", "se-ham-radio", "se-ham-radio-meta"}
    shutil.rmtree(fixtures)
    assert read_events()  # the store does not depend on the source files


def test_snap_activity_lines(store, read_events) -> None:
    [source] = discover([FIXTURES / "snap/activity.txt"])
    assert detect(source).name == "snap"
    report = ingest(store, [FIXTURES / "snap/activity.txt"])
    rows = kinds_by_id(read_events())
    assert rows["snap:101-202-1341100972-MT"] == ("mention", "snap:101", "snap:202")
    assert rows["snap:101-202-1341100972-RE"] == ("reply", "snap:101", "snap:202")
    assert rows["snap:303-202-1341101181-RT"] == ("repost", "snap:303", "snap:202")
    assert sum(report.loaded.values()) == 5
    assert sum(ingest(store, [FIXTURES / "snap/activity.txt"]).loaded.values()) == 0  # content ids dedupe


def test_stackexchange_site_folder(store, read_events) -> None:
    site = FIXTURES / "stackexchange/ham.radio"
    [source] = discover([site])
    assert detect(source).name == "stackexchange"
    report = ingest(store, [site])
    rows = kinds_by_id(read_events())
    net = "se-ham-radio"
    assert rows[f"{net}:post-1"] == ("post", f"{net}:7", None)
    assert rows[f"{net}:post-2"] == ("reply", f"{net}:3", f"{net}:7")  # answer -> asker
    assert rows[f"{net}:comment-10"] == ("reply", f"{net}:7", f"{net}:3")  # comment -> post owner
    assert rows[f"{net}:vote-100"] == ("like", f"{net}:7", f"{net}:3")  # accept: asker endorses answerer
    assert rows[f"{net}:vote-101"] == ("like", f"{net}:anonymous", f"{net}:3")  # voter unknown
    assert rows[f"{net}:vote-103"] == ("like", f"{net}:9", f"{net}:3")  # favourite with a known user
    [question] = read_events(f"event_id = '{net}:post-4'")
    assert question["tags"] == ["measurement", "swr"]
    assert report.skipped["post without an owner (deleted user)"] == 1
    assert report.skipped["comment without a user (deleted user)"] == 1
    assert report.skipped["vote type 3 is not a positive reaction between accounts"] == 1
    [bad] = report.samples
    assert bad["source_file"].endswith("Comments.xml") and bad["line"] == 5 and bad["field"] == "CreationDate"
    accounts = {a["key"]: a for a in read_events(view="accounts")}
    assert accounts[f"{net}:3"]["handle"] == "Radio Engineer"
    assert accounts[f"{net}:3"]["created_at"].isoformat() == "2013-10-22T19:00:53+00:00"


def test_anonymous_reactions_are_kept_but_nobody_scores_from_them(store) -> None:
    from renown.score.run import run_score
    from renown.score import snapshots

    ingest(store, [FIXTURES / "stackexchange/ham.radio"])
    run = run_score(store).run
    rows = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}')")
    assert "se-ham-radio:anonymous" not in {r["account"] for r in rows}


def test_reply_targets_resolve_whichever_arrives_first(tmp_path, read_events) -> None:
    comments, submissions = FIXTURES / "reddit/RC_2023-01.ndjson", FIXTURES / "reddit/RS_2023-01.ndjson"
    parents_first, children_first = Store(tmp_path / "a"), Store(tmp_path / "b")
    ingest(parents_first, [submissions])
    ingest(parents_first, [comments])
    # the parent was stored: the target is resolved once, at ingest
    [stored] = read_events("event_id = 'reddit:t1_j2x1a0b'", view="events_all", of=parents_first)
    assert stored["target"] == "reddit:sdr_fan"
    ingest(children_first, [comments])
    ingest(children_first, [submissions])
    [late] = read_events("event_id = 'reddit:t1_j2x1a0b'", of=children_first)
    assert late["target"] == "reddit:sdr_fan"  # resolved by the live view once the parent arrived
    assert kinds_by_id(read_events(of=parents_first)) == kinds_by_id(read_events(of=children_first))


def test_the_unresolved_target_check_is_kept_until_the_log_changes(tmp_path, read_events) -> None:
    """Every command connects, and counting unresolved targets scans the whole log: the answer is kept
    beside the files for as long as they are unchanged, and any write recounts."""
    comments, submissions = FIXTURES / "reddit/RC_2023-01.ndjson", FIXTURES / "reddit/RS_2023-01.ndjson"
    store = Store(tmp_path)
    ingest(store, [comments])
    assert store.has_unresolved()
    marker = store.events_dir / ".unresolved.json"
    kept = orjson.loads(marker.read_bytes())
    assert kept["unresolved"] >= 1
    marker.write_bytes(orjson.dumps({**kept, "unresolved": 0}))  # a kept answer is believed while the files stand
    assert not store.has_unresolved()
    ingest(store, [submissions])  # new files: counted again, and the view resolves the comment's target
    [late] = read_events("event_id = 'reddit:t1_j2x1a0b'", of=store)
    assert late["target"] == "reddit:sdr_fan"
    assert orjson.loads(marker.read_bytes())["files"] != kept["files"]


def test_snap_ids_must_be_ascii_digits() -> None:
    """A superscript passes str.isdigit() but is no account id: the line is quarantined, naming the field."""
    from renown.errors import RecordError
    from renown.ingest import snap

    with pytest.raises(RecordError) as caught:
        snap.map_record(snap.parse_line("101 2\u00b2 1341100972 RT".encode()), {})
    assert caught.value.field == "target"
    assert snap.map_record(snap.parse_line(b"101 202 1341100972 RT"), {})


def stored(read_events, store: Store, *also: str) -> list[dict]:
    """A store's events without where they were read from (``source_file``, and ``also``)."""
    return [{k: v for k, v in row.items() if k not in ("source_file", *also)} for row in read_events(of=store)]


BOM_SOURCES = ["csv/events.csv", "twarc2/flattened.jsonl", "twarc2/search_page.jsonl", "bluesky/jetstream.jsonl",
               "reddit/RC_2023-01.ndjson", "mastodon/statuses.json", "mastodon/notifications.json", "snap/activity.txt",
               "twitter-archive", "stackexchange/ham.radio"]


@pytest.mark.parametrize("name", BOM_SOURCES)
def test_a_byte_order_mark_before_the_text_changes_nothing(tmp_path, read_events, name) -> None:
    """Windows tools write UTF-8 with a byte-order mark (Excel's "CSV UTF-8", Notepad): every
    format reads such a file exactly as the same file without it."""
    import shutil

    source = FIXTURES / name
    marked = tmp_path / "marked" / source.name
    if source.is_dir():
        shutil.copytree(source, marked)
        files = sorted(p for p in marked.rglob("*") if p.is_file())
    else:
        marked.parent.mkdir()
        shutil.copy(source, marked)
        files = [marked]
    for path in files:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    plain, bommed = Store(tmp_path / "plain"), Store(tmp_path / "bommed")
    plain_report, marked_report = ingest(plain, [source]), ingest(bommed, [marked])
    assert marked_report.quarantined == plain_report.quarantined
    assert marked_report.total_loaded == plain_report.total_loaded > 0

    assert stored(read_events, bommed) == stored(read_events, plain)


@pytest.mark.parametrize("delimiter, suffix", [(";", ".csv"), ("\t", ".tsv")])
def test_csv_separated_by_semicolons_or_tabs_reads_as_with_commas(tmp_path, read_events, delimiter, suffix) -> None:
    """Spreadsheets in many locales export CSV with semicolons, and "text" exports with tabs: the
    header decides the separator, and a ';' inside a quoted tags cell stays a tag separator."""
    import csv as csv_module

    with open(FIXTURES / "csv/events.csv", newline="") as handle:
        rows = list(csv_module.reader(handle))
    other = tmp_path / f"events{suffix}"
    with open(other, "w", newline="") as handle:
        csv_module.writer(handle, delimiter=delimiter).writerows(rows)
    plain, separated = Store(tmp_path / "plain"), Store(tmp_path / "separated")
    ingest(plain, [FIXTURES / "csv/events.csv"])
    report = ingest(separated, [other])
    assert report.files[0].format == "csv" and report.quarantined == 0

    assert stored(read_events, separated) == stored(read_events, plain)
    assert any(len(e["tags"]) > 1 for e in stored(read_events, plain))  # the fixture's tags cell really holds a ';'


@pytest.mark.parametrize("packed", [False, True])
def test_a_large_archive_continues_in_tweets_part_files(tmp_path, read_events, packed) -> None:
    """X splits a big archive's tweets over data/tweets.js, tweets-part1.js, tweets-part2.js…:
    all are read, in order, each record's provenance naming its own file."""
    import json
    import shutil
    import zipfile

    archive = tmp_path / "archive"
    shutil.copytree(FIXTURES / "twitter-archive", archive)
    data = archive / "data"
    text = (data / "tweets.js").read_text()
    tweets = json.loads(text[text.index("["):])
    (data / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(tweets[:1], indent=2))
    (data / "tweets-part2.js").write_text("window.YTD.tweets.part2 = " + json.dumps(tweets[3:], indent=2))
    (data / "tweets-part1.js").write_text("window.YTD.tweets.part1 = " + json.dumps(tweets[1:3], indent=2))
    if packed:
        zipped = tmp_path / "archive.zip"
        with zipfile.ZipFile(zipped, "w") as out:
            for path in sorted(data.iterdir()):
                out.write(path, f"data/{path.name}")
        archive = zipped
    whole, split = Store(tmp_path / "whole"), Store(tmp_path / "split")
    ingest(whole, [FIXTURES / "twitter-archive"])
    report = ingest(split, [archive])
    assert report.quarantined == 0 and report.files[0].records - report.files[0].skipped == len(tweets) == 4

    assert stored(read_events, split, "source_line") == stored(read_events, whole, "source_line")
    files = {row["source_file"].replace("\\", "/").rsplit("/", 1)[-1] for row in read_events(of=split)}
    assert files == {"tweets.js", "tweets-part1.js", "tweets-part2.js"}


def test_reddit_dumps_compressed_with_a_long_window_are_read(tmp_path, store, read_events) -> None:
    """Pushshift and Arctic Shift publish Reddit dumps made with ``zstd --long=31``: their frames ask
    for a 2 GiB window, which the decoder refuses by default ("Frame requires too much memory")."""
    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, enable_ldm=True)
    dump = tmp_path / "RC_2023-01.zst"
    with open(dump, "wb") as out, zstandard.ZstdCompressor(compression_params=params).stream_writer(out) as writer:
        writer.write((FIXTURES / "reddit/RC_2023-01.ndjson").read_bytes())
    assert zstandard.get_frame_parameters(dump.read_bytes()).window_size == 2**31
    report = ingest(store, [dump])
    assert report.quarantined == 0 and report.total_loaded > 0
    assert report.files[0].format == "reddit"


@pytest.mark.parametrize("suffix", [".bz2", ".xz"])
def test_older_dumps_compressed_with_bzip2_or_xz_are_read(tmp_path, read_events, suffix) -> None:
    """Reddit's older monthly dumps came as RC_2015-01.bz2 and RC_2017-12.xz."""
    import bz2
    import lzma

    compress = bz2.compress if suffix == ".bz2" else lzma.compress
    packed = tmp_path / f"RC_2023-01.ndjson{suffix}"
    packed.write_bytes(compress((FIXTURES / "reddit/RC_2023-01.ndjson").read_bytes()))
    plain, compressed = Store(tmp_path / "plain"), Store(tmp_path / "compressed")
    ingest(plain, [FIXTURES / "reddit/RC_2023-01.ndjson"])
    report = ingest(compressed, [packed])
    assert report.files[0].format == "reddit" and report.quarantined == 0
    assert stored(read_events, compressed) == stored(read_events, plain) != []
    truncated = tmp_path / f"broken.ndjson{suffix}"
    truncated.write_bytes(packed.read_bytes()[:-20])
    report = ingest(Store(tmp_path / "broken"), [truncated, FIXTURES / "reddit/RS_2023-01.ndjson"])
    assert any("unreadable" in (f.note or "") for f in report.files)  # quarantined, the other file still loads


def test_archives_to_extract_first_say_so(tmp_path, store) -> None:
    dump = tmp_path / "ham.stackexchange.com.7z"
    dump.write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04")
    with pytest.raises(FormatError, match=r"\.7z archive is not read directly: extract it"):
        ingest(store, [dump])


def test_a_long_post_is_read_whole_from_note_tweet(tmp_path, store, read_events) -> None:
    """The v2 API cuts ``text`` (and its ``entities``) at 280 characters; a longer post's whole text
    and the hashtags and mentions in all of it come in ``note_tweet``."""
    whole = "A long thread-sized post about antennas " * 10 + "#radio thanks @alice_reads"
    tweet = {"id": "1700000000000000042", "author_id": "42", "created_at": "2023-09-08T10:00:00.000Z",
             "text": whole[:277] + "…", "entities": {},
             "note_tweet": {"text": whole, "entities": {
                 "hashtags": [{"start": len(whole) - 25, "end": len(whole) - 19, "tag": "radio"}],
                 "mentions": [{"start": len(whole) - 12, "end": len(whole), "username": "alice_reads", "id": "1526228120"}]}}}
    path = tmp_path / "long.jsonl"
    path.write_bytes(orjson.dumps(tweet) + b"\n")
    ingest(store, [path], format_name="twarc2")
    by_kind = {r["kind"]: r for r in read_events()}
    assert by_kind["post"]["text"] == whole and by_kind["post"]["tags"] == ["radio"]
    assert by_kind["mention"]["target"] == "twitter:1526228120"


def test_a_bare_hash_sign_names_no_tag() -> None:
    from renown.ingest import fields

    assert fields.hashtags(["#", "  ", "#SDR", {"tag": "#"}, {"tag": "HamRadio"}, 7], "tags") == ["sdr", "hamradio"]
