"""Bad input never stops a load: rejects are quarantined with file, line, field and reason."""

from __future__ import annotations

import gzip
import io
from dataclasses import replace
from pathlib import Path

import atproto_repo
import orjson
import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from renown.errors import FormatError, NothingLoaded, RecordError
from renown.ingest import bluesky_repo
from renown.ingest.formats import FORMATS
from renown.ingest.pipeline import ingest
from renown.ingest.sources import Source

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_TWEET = {
    "id": "1700000000000000001", "author_id": "42", "created_at": "2023-09-08T10:00:00.000Z", "text": "hello #world",
    "entities": {"hashtags": [{"start": 6, "end": 12, "tag": "world"}]},
}


def write_lines(path: Path, records: list) -> Path:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records))
    return path


def quarantine(store) -> list[dict]:
    return [orjson.loads(line) for path in sorted(store.quarantine_dir.glob("*.jsonl")) for line in path.read_bytes().splitlines()]


def test_each_kind_of_broken_record_is_quarantined_and_the_rest_loads(tmp_path, store, read_events) -> None:
    path = write_lines(tmp_path / "tweets.jsonl", [
        GOOD_TWEET,
        b'{"id": "1700000000000000002", "author_id": "42", "created_at": "2023-09-08T1',  # truncated line
        {**GOOD_TWEET, "id": "1700000000000000003", "author_id": ["42"]},  # wrong type
        {k: v for k, v in GOOD_TWEET.items() if k != "id"},  # missing id
        {**GOOD_TWEET, "id": "1700000000000000005", "created_at": "yesterday at noon"},  # bad timestamp
        b"\x00\x9f\x92\x96\xff binary junk \xfe",  # binary junk
        {**GOOD_TWEET, "id": "1700000000000000007"},
    ])
    report = ingest(store, [path])
    assert sum(report.loaded.values()) == 2
    assert report.quarantined == 5
    entries = {e["line"]: e for e in quarantine(store)}
    assert set(entries) == {2, 3, 4, 5, 6}
    assert entries[2]["reason"].startswith("invalid JSON")
    assert (entries[3]["field"], entries[3]["reason"]) == ("author_id", "expected a string id, got list")
    assert (entries[4]["field"], entries[4]["reason"]) == ("id", "missing")
    assert entries[5]["field"] == "created_at" and "yesterday at noon" in entries[5]["reason"]
    assert entries[6]["reason"].startswith("invalid JSON")
    assert all(e["source_file"] == str(path) for e in entries.values())
    assert '"author_id": ["42"]' in entries[3]["raw"] or '"author_id":["42"]' in entries[3]["raw"]
    assert {r["event_id"] for r in read_events()} == {"twitter:1700000000000000001", "twitter:1700000000000000007"}


def test_one_broken_tweet_in_a_page_does_not_reject_the_page(tmp_path, store, read_events) -> None:
    page = {"data": [GOOD_TWEET, {**GOOD_TWEET, "id": "17", "created_at": 12}], "includes": {"users": []}, "meta": {}}
    report = ingest(store, [write_lines(tmp_path / "page.jsonl", [page])])
    assert sum(report.loaded.values()) == 1
    [entry] = quarantine(store)
    assert entry["line"] == 1 and entry["field"] == "data[1].created_at"


def test_values_of_unexpected_types_are_quarantined_by_field_not_a_crash(tmp_path, store, read_events) -> None:
    """Each of these once stopped the whole ingest with a TypeError or AttributeError, or at the
    staging write (a user name that is not text); see tests/test_ingest_mangled.py for the search."""
    page = {"data": [GOOD_TWEET], "includes": {"users": 5}, "meta": {}}
    flattened = {**GOOD_TWEET, "id": "1700000000000000009", "author": {"id": "42", "username": True}}
    post = {"did": "did:plc:a", "time_us": 1788220800000000, "kind": "commit",
            "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "r1",
                       "record": {"text": "hi", "facets": 5, "reply": {"parent": None}}}}
    statuses = tmp_path / "statuses.json"  # a JSON array: read by the standard library, integers of any size
    statuses.write_text((FIXTURES / "mastodon/statuses.json").read_text().replace('"favourites_count": 12', f'"favourites_count": {2**70}', 1))
    report = ingest(store, [write_lines(tmp_path / "tweets.jsonl", [page, flattened]),
                            write_lines(tmp_path / "jetstream.jsonl", [post]), statuses])
    entries = [(e["line"], e["field"]) for e in quarantine(store)]
    assert entries == [(1, "includes.users"), (2, "user.username")]
    assert report.quarantined == 2
    events = {r["event_id"]: r for r in read_events()}
    assert "bluesky:at://did:plc:a/app.bsky.feed.post/r1" in events
    assert [e for e in events if e.startswith("twitter:")] == ["twitter:1700000000000000001"]  # the page's own tweet
    assert any(str(2**70) in (r["attrs"] or "") for r in events.values())  # kept exactly, beyond orjson's 64 bits
    assert events["bluesky:at://did:plc:a/app.bsky.feed.post/r1"]["kind"] == "post"  # malformed facets read as none


def test_a_record_a_mapper_chokes_on_is_quarantined_and_the_load_goes_on(tmp_path, store, read_events, monkeypatch) -> None:
    fmt = FORMATS["reddit"]

    def choking(value, context):
        if value.get("id") == "bad":
            return value["no such field"]  # the kind of slip a mapper can make on an unforeseen shape
        return fmt.map_record(value, context)

    monkeypatch.setitem(FORMATS, "reddit", replace(fmt, map_record=choking))
    comment = {"id": "c1", "author": "ann", "created_utc": 1672531200, "body": "hi", "parent_id": "t3_p1", "subreddit": "x"}
    report = ingest(store, [write_lines(tmp_path / "RC.ndjson", [comment, {**comment, "id": "bad"}, {**comment, "id": "c3"}])])
    assert sum(report.loaded.values()) == 2
    [entry] = quarantine(store)
    assert (entry["line"], entry["field"]) == (2, "record") and entry["reason"].startswith("unreadable record (KeyError")


def test_truncated_json_array_keeps_the_records_before_the_break(tmp_path, store, read_events) -> None:
    text = (FIXTURES / "mastodon/statuses.json").read_text()
    cut = tmp_path / "statuses.json"
    cut.write_text(text[: text.index('"id": "109382300000000002"') + 20])
    report = ingest(store, [cut], format_name="mastodon")
    assert report.loaded["post"] == 1 and report.loaded["reply"] == 1
    [entry] = quarantine(store)
    assert "invalid JSON" in entry["reason"] and entry["line"] > 80


def test_empty_and_zero_byte_gzip_files_load_nothing_without_failing(tmp_path, store) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "zero.jsonl.gz").write_bytes(b"")
    (tmp_path / "blank.jsonl.gz").write_bytes(gzip.compress(b"\n\n"))
    report = ingest(store, [tmp_path / "empty.jsonl", tmp_path / "zero.jsonl.gz", tmp_path / "blank.jsonl.gz"])
    assert sum(report.loaded.values()) == 0 and report.quarantined == 0
    assert [f.note for f in report.files] == ["empty file"] * 3


def test_corrupt_gzip_is_quarantined_and_other_files_still_load(tmp_path, store, read_events) -> None:
    (tmp_path / "broken.jsonl.gz").write_bytes(gzip.compress(orjson.dumps(GOOD_TWEET))[:25])
    write_lines(tmp_path / "good.jsonl", [GOOD_TWEET])
    report = ingest(store, [tmp_path])
    assert sum(report.loaded.values()) == 1
    [entry] = quarantine(store)
    assert entry["source_file"].endswith("broken.jsonl.gz") and entry["field"] == "file"


def test_a_corrupt_zip_is_quarantined_and_the_folder_around_it_still_loads(tmp_path, store, read_events) -> None:
    """A broken .zip stopped the whole ingest with a traceback while the folder was being listed."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "RS_2023-01.ndjson").write_bytes((FIXTURES / "reddit/RS_2023-01.ndjson").read_bytes())
    report = ingest(store, [folder])
    assert report.total_loaded > 0
    [entry] = quarantine(store)
    assert entry["source_file"].endswith("broken.zip") and "not a readable zip archive" in entry["reason"]
    with pytest.raises(NothingLoaded, match="not a readable zip archive"):
        ingest(store, [folder / "broken.zip"])


def test_unknown_format_asks_for_format_option(tmp_path, store) -> None:
    path = tmp_path / "notes.txt"
    path.write_text('{"hello": "world"}\n{"foo": 1}\n')
    with pytest.raises(FormatError, match="--format"):
        ingest(store, [path])
    binary = tmp_path / "blob.json"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(FormatError, match="blob.json.*--format"):
        ingest(store, [binary])


def test_forced_format_quarantines_lines_it_cannot_map(tmp_path, store) -> None:
    path = write_lines(tmp_path / "x.jsonl", [{"hello": "world"}, GOOD_TWEET])
    report = ingest(store, [path], format_name="twarc2")
    assert report.quarantined == 1 and sum(report.loaded.values()) == 1


def test_nothing_loadable_is_an_error_naming_the_first_reason(tmp_path, store) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [{**GOOD_TWEET, "created_at": "never"}])
    with pytest.raises(NothingLoaded, match=r"bad.jsonl, line 1, field created_at"):
        ingest(store, [path], format_name="twarc2")
    assert len(quarantine(store)) == 1  # the reject is still on file for inspection


def test_strict_stores_nothing_when_any_record_is_bad(tmp_path, store, read_events) -> None:
    path = write_lines(tmp_path / "t.jsonl", [GOOD_TWEET, {**GOOD_TWEET, "id": None}])
    with pytest.raises(NothingLoaded, match="--strict"):
        ingest(store, [path], strict=True)
    assert read_events() == []


def test_csv_rows_with_bad_fields_are_quarantined(tmp_path, store) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,network,kind,actor,target,created_at\n"
        "1,forum,post,u1,,2024-01-01T00:00:00Z\n"
        "2,forum,cheer,u1,u2,2024-01-01T00:00:00Z\n"
        ",forum,like,u1,u2,2024-01-01T00:00:00Z\n"
        "4,forum,like,u1,u2,not-a-date\n"
        "5,forum,like,u1,u2,2024-01-01T00:00:00Z,extra\n"
    )
    report = ingest(store, [path])
    assert sum(report.loaded.values()) == 1
    entries = {e["line"]: (e["field"], e["reason"]) for e in quarantine(store)}
    assert entries[3][0] == "kind" and "cheer" in entries[3][1]
    assert entries[4] == ("event_id", "missing")
    assert entries[5][0] == "created_at"
    assert "more fields" in entries[6][1]


def test_a_csv_row_the_parser_rejects_costs_only_that_row(tmp_path, store, read_events, monkeypatch) -> None:
    """A cell beyond the csv module's size limit raised for the whole rest of the file; now the row
    is quarantined with the parser's reason and reading goes on. Cells up to 16 MiB are accepted."""
    import csv

    long_text = "x" * 300_000  # over the csv module's default 128 KiB, under renown's 16 MiB
    path = tmp_path / "events.csv"
    path.write_text("event_id,network,kind,actor,target,created_at,text\n"
                    f"1,forum,post,u1,,2024-01-01T00:00:00Z,{long_text}\n"
                    f"2,forum,post,u1,,2024-01-01T00:00:00Z,{long_text * 60}\n"
                    "3,forum,post,u2,,2024-01-01T00:00:00Z,short\n")
    report = ingest(store, [path])
    assert sorted(r["event_id"] for r in read_events()) == ["forum:1", "forum:3"]
    [entry] = quarantine(store)
    assert entry["line"] == 3 and "field larger than field limit" in entry["reason"] and report.quarantined == 1
    assert csv.field_size_limit() == 1 << 24


def test_csv_without_required_columns_is_a_format_error(tmp_path, store) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nann,a@example.org\n")
    with pytest.raises(FormatError, match="lacks required column.*event_id"):
        ingest(store, [path])


def test_archive_without_account_js_says_what_is_missing(tmp_path, store) -> None:
    data = tmp_path / "archive" / "data"
    data.mkdir(parents=True)
    (data / "tweets.js").write_text((FIXTURES / "twitter-archive/data/tweets.js").read_text())
    with pytest.raises(FormatError, match="account.js"):
        ingest(store, [tmp_path / "archive"])


def test_parallel_blocks_give_the_same_result_as_one_process(tmp_path, monkeypatch, read_events) -> None:
    from renown.ingest import pipeline
    from renown.store import Store

    records = []
    for i in range(400):
        tweet = {**GOOD_TWEET, "id": str(1800000000000000000 + i), "author_id": str(i % 37)}
        records.append(tweet if i % 50 != 7 else {**tweet, "created_at": "soon"})
        if i % 100 == 3:
            records.append(b'{"truncated": ')
    records.append({**records[0], "text": "a later copy"})  # same id as the first, which must win
    path = write_lines(tmp_path / "many.jsonl", records)
    monkeypatch.setattr(pipeline, "_BLOCK_BYTES", 2048)
    serial, parallel = Store(tmp_path / "serial"), Store(tmp_path / "parallel")
    one = ingest(serial, [path], workers=1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    many = ingest(parallel, [path], workers=2)
    assert (many.loaded, many.duplicate, many.quarantined) == (one.loaded, one.duplicate, one.quarantined)
    assert one.quarantined == 12 and one.duplicate == {"post": 1}
    assert read_events(of=serial, view="events_all") == read_events(of=parallel, view="events_all")
    assert quarantine(serial) == quarantine(parallel)
    [first] = read_events(f"event_id = 'twitter:{records[0]['id']}'", of=parallel)
    assert first["text"] == GOOD_TWEET["text"] and first["source_line"] == 1
    assert [e["line"] for e in quarantine(parallel)] == sorted(e["line"] for e in quarantine(parallel))


@fuzz_settings(200)
@given(data=st.data())
def test_a_damaged_repository_export_is_read_or_refused_never_a_crash(data: st.DataObject) -> None:
    """Bit flips, cuts and inserted bytes anywhere in a Bluesky ``.car`` (header, framing, CIDs, tree
    nodes, records): the reader yields records and reasons, or refuses the file with a FormatError."""
    whole = atproto_repo.fan_repository()
    damaged = bytearray(whole)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip":
            damaged[at] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "cut":
            del damaged[at:]
            break
        else:
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=5))
    source = Source("damaged.car", lambda: io.BytesIO(bytes(damaged)))
    try:
        records, context = bluesky_repo.read(source)
        for record in records:
            if record.error is None:
                try:
                    bluesky_repo.map_record(record.value, context)
                except RecordError:
                    pass
    except FormatError:
        pass


def test_a_repository_tree_that_loops_or_links_no_block_is_reported_not_followed() -> None:
    """Hash links cannot loop, but a CID with the identity "hash" is not checked: a node naming itself
    must end the walk with a reason (it recursed forever), and an entry whose value is no link too."""
    entry = {"p": 0, "k": b"app.bsky.feed.like/3l3qo3zzzzz2b", "v": [1, 2], "t": None}
    node = atproto_repo.dag_cbor({"l": None, "e": [entry]})
    nodes = [(atproto_repo.cid_of(node), node)]
    itself = atproto_repo.Link(bytes([1, 0x71, 0x00, 4]) + b"loop")  # identity multihash: the bytes are the "digest"
    nodes.append((itself, atproto_repo.dag_cbor({"l": itself, "e": []})))
    reasons = []
    for cid, block in nodes:
        commit = atproto_repo.commit_block("did:plc:ia76kvnndjutgedggx2ibrem", cid)
        car = atproto_repo.car_of([(atproto_repo.cid_of(commit), commit), (cid, block)])
        records, _ = bluesky_repo.read(Source("x.car", lambda car=car: io.BytesIO(car)))
        reasons += [record.error for record in records]
    assert reasons == ["the tree entry of at://did:plc:ia76kvnndjutgedggx2ibrem/app.bsky.feed.like/3l3qo3zzzzz2b does "
                       "not link a record block",
                       "repository tree node bafyqabdmn5xxa unreadable (reached twice: the tree loops): the records "
                       "under it are lost"]
