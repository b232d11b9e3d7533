"""Erasure that really deletes: ``renown forget ACCOUNT``.

Removes, from every store renown keeps in the data directory and the
application database:

* the account's events (made or received), its account row, and the raw
  source lines they came from (:meth:`renown.store.Store.erase_events`);
* every mention of it in other people's records: event texts and other
  accounts' display names and profiles (a bio that names it) are redacted
  (``[erased]``), raw lines and quarantined records naming it are dropped;
* its rows and evidence in every score snapshot;
* its audience memberships, identity links, endorsements given or received,
  API keys bound to it, its opt-in, and its contact details, consents and
  the log of releases to brands, its perk invitations, and the care team's
  marks on its erased mentions;
* its name in the reports that name others too: campaign selections and
  ingest jobs' results are redacted, their quarantined samples naming it
  dropped.

Kept, because they are what stops renown processing the person again if their
data is ingested anew: an opt-out and a minor flag (each is the account key
alone, in the application database).

Identifiers searched for, as whole words ("Bob" in "thanks Bob!", not in
"kebob"): the account key, its handle and display name, and its native id when
that is long enough (six characters or more) not to match unrelated text. Files
are rewritten through the store's journal, so a crash leaves the old or the new
state; re-running ``forget`` completes it. Exports kept outside renown (the
files you ingested) are yours to delete.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import duckdb
import orjson

from renown.store import Store, _sql_list, _write_atomic, sql_text


def identifiers(store: Store, account: str) -> list[str]:
    """The names the person goes by in text. Only the key itself for an account the log has never seen:
    a mistyped ``forget reddit:people`` must not redact the word "people" from everyone's posts."""
    con = store.connect()
    row = con.execute("SELECT handle, display_name FROM accounts WHERE key = ?", [account]).fetchone()
    known = row is not None or con.execute("SELECT EXISTS (SELECT 1 FROM events_all WHERE actor = ? OR target = ?)",
                                           [account, account]).fetchone()[0]
    con.close()
    names = {account}
    native = account.split(":", 1)[-1]
    if known and len(native) >= 6:
        names.add(native)
    for value in row or ():
        if value and len(value.strip()) >= 3:
            names.add(value.strip())
    return sorted(names, key=len, reverse=True)


def forget(store: Store, account: str, url: str | None = None) -> dict:
    """Erase ``account`` everywhere (see the module docstring); returns what was removed."""
    names = identifiers(store, account)
    erased_ids = _event_ids(store, account)
    removed = store.erase_events(account)
    naming = _any_of(names)
    pattern = naming.pattern  # the same regex, for DuckDB's regexp_replace
    report = {"account": account, "identifiers": len(names), "events": removed.events}
    with store.lock(), store.writer("forget-" + uuid.uuid4().hex[:8]) as txn:
        txn.dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()

        def mentions(column: str) -> str:
            return f"regexp_matches(coalesce({column}, ''), {sql_text(pattern)}, 'i')"
        moves = []

        def redact(path: Path, columns: tuple[str, ...], out: Path) -> int:
            """Rewrite ``path`` into ``out`` with the person's names in ``columns`` replaced; rows touched."""
            rows = f"read_parquet({_sql_list([path])}, hive_partitioning = false)"
            hits = con.execute(f"SELECT count(*) FROM {rows} WHERE "
                               + " OR ".join(mentions(c) for c in columns)).fetchone()[0]
            if hits:
                replaced = ", ".join(f"regexp_replace({c}, ?, '[erased]', 'gi') AS {c}" for c in columns)
                con.execute(f"COPY (SELECT * REPLACE ({replaced}) FROM {rows}) TO {sql_text(out)} (FORMAT parquet, "
                            "COMPRESSION zstd)", [pattern] * len(columns))
                moves.append([str(out), str(path)])
            return hits

        for n, path in enumerate(store.event_files()):
            redact(path, ("text", "attrs"), txn.dir / f"events-{n}.parquet")
        # other people's display names and profiles (a bio that names them)
        report["profiles"] = redact(store.accounts_file, ("display_name", "profile"), txn.dir / "accounts.parquet") \
            if store.accounts_file.exists() else 0
        raw_files = sorted(store.raw_dir.glob("*.parquet")) if store.raw_dir.exists() else []
        report["raw_lines"] = removed.raw_lines  # the records its events came from, then those naming it
        for n, path in enumerate(raw_files):
            gone = con.execute(f"SELECT count(*) FROM read_parquet({_sql_list([path])}) WHERE "
                               f"{mentions('raw')}").fetchone()[0]
            if gone:
                report["raw_lines"] += gone
                out = txn.dir / f"raw-{n}.parquet"
                con.execute(f"COPY (SELECT * FROM read_parquet({_sql_list([path])}) WHERE NOT {mentions('raw')}) "
                            f"TO {sql_text(out)} (FORMAT parquet, COMPRESSION zstd)")
                moves.append([str(out), str(path)])
        report["snapshot_rows"] = 0
        for snapshot in sorted(store.root.glob("snapshots/*/*/*.parquet")):
            columns = con.execute(f"SELECT * FROM read_parquet({_sql_list([snapshot])}) LIMIT 0").description
            keyed = [c[0] for c in columns if c[0] in ("account", "ref")]
            condition = " OR ".join(f"coalesce({c} = ?, false)" for c in keyed)
            if not keyed:
                continue
            hits = con.execute(f"SELECT count(*) FROM read_parquet({_sql_list([snapshot])}) WHERE {condition}",
                               [account] * len(keyed)).fetchone()[0]
            if hits:
                report["snapshot_rows"] += hits
                out = txn.dir / f"snap-{uuid.uuid4().hex[:8]}.parquet"
                con.execute(f"COPY (SELECT * FROM read_parquet({_sql_list([snapshot])}) WHERE NOT ({condition})) "
                            f"TO {sql_text(out)} (FORMAT parquet, COMPRESSION zstd)", [account] * len(keyed))
                moves.append([str(out), str(snapshot)])
        con.close()
        report["quarantined"] = 0
        for path in sorted(store.quarantine_dir.glob("*.jsonl")) if store.quarantine_dir.exists() else []:
            lines = path.read_bytes().splitlines(keepends=True)
            kept = [line for line in lines if not naming.search(line.decode("utf-8", "replace"))]
            if len(kept) != len(lines):
                report["quarantined"] += len(lines) - len(kept)
                out = txn.dir / f"quarantine-{path.name}"
                out.write_bytes(b"".join(kept))
                moves.append([str(out), str(path)])
        _write_atomic(txn.dir / "COMMIT", orjson.dumps(moves))
        store._apply(moves)
    report["application_rows"] = _forget_application_state(store, account, url, naming, erased_ids)
    return report


def _any_of(names: list[str]) -> re.Pattern:
    """A case-insensitive match of any of ``names`` as a whole word: "Bob" is erased from "thanks Bob!" and
    "@bob", not from "kebob" or "Bobby" (other people's words are theirs). Its ``pattern`` is also valid
    for DuckDB (RE2, whose ``\\b`` knows only ASCII letters: a name edge that is not an ASCII word character
    gets no boundary, so erasure errs towards redacting more, never less)."""
    def word(name: str) -> str:
        return ((r"\b" if _ASCII_WORD.match(name[0]) else "") + re.escape(name)
                + (r"\b" if _ASCII_WORD.match(name[-1]) else ""))

    return re.compile("|".join(word(n) for n in names), re.IGNORECASE | re.ASCII)


_ASCII_WORD = re.compile(r"[A-Za-z0-9_]")


def _event_ids(store: Store, account: str) -> list[str]:
    """The ids of the events ``account`` made or received: what erasure removes from the log."""
    con = store.connect()
    try:
        return [row[0] for row in con.execute("SELECT DISTINCT event_id FROM events_all WHERE actor = ? OR target = ?",
                                              [account, account]).fetchall()]
    finally:
        con.close()


def _redact(value, names: re.Pattern):
    """``value`` (text, or JSON-like data) with every mention of ``names`` replaced by ``[erased]``."""
    if isinstance(value, str):
        return names.sub("[erased]", value)
    if isinstance(value, list):
        return [_redact(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _redact(item, names) for key, item in value.items()}
    return value


def _forget_application_state(store: Store, account: str, url: str | None, names: re.Pattern,
                              erased_events: list[str]) -> int:
    """Rows about the person go; the reports that name them among others (a campaign's selection, an ingest
    job's result) stay with the person redacted, and quarantined samples naming them are dropped, as the
    quarantine files' lines are."""
    from sqlalchemy import delete, or_, select
    from sqlalchemy.orm import Session

    from renown.api.keys import ApiKey
    from renown.appdb import AudienceMember, OptIn, engine_for, has_database
    from renown.consent import Consent, Contact, Release
    from renown.endorsements import Endorsement
    from renown.identity import IdentityLink
    from renown.jobs import Job
    from renown.perks import Campaign, Invitation
    from renown.triage import CareHandled

    if not has_database(store.root, url):
        return 0
    removed = 0
    with Session(engine_for(store.root, url)) as session, session.begin():
        for start in range(0, len(erased_events), 500):  # care marks of the mentions that were erased
            chunk = erased_events[start:start + 500]
            removed += session.execute(delete(CareHandled).where(CareHandled.event_id.in_(chunk))).rowcount or 0
        for campaign in session.scalars(select(Campaign).where(Campaign.selection.is_not(None))):
            if names.search(campaign.selection):
                campaign.selection = orjson.dumps(_redact(orjson.loads(campaign.selection), names)).decode()
                removed += 1
        for job in session.scalars(select(Job)):
            texts = {"message": job.message, "error": job.error, "result": job.result}
            if not any(text and names.search(text) for text in texts.values()):
                continue
            if job.result:
                result = orjson.loads(job.result)
                if isinstance(result, dict) and isinstance(result.get("samples"), list):
                    result["samples"] = [e for e in result["samples"] if not names.search(orjson.dumps(e).decode())]
                job.result = orjson.dumps(_redact(result, names)).decode()
            job.message = _redact(job.message, names)
            job.error = _redact(job.error, names)
            removed += 1
        for statement in (
            delete(AudienceMember).where(AudienceMember.account == account),
            delete(IdentityLink).where(IdentityLink.account == account),
            delete(Endorsement).where(or_(Endorsement.endorser == account, Endorsement.endorsee == account)),
            delete(ApiKey).where(ApiKey.account == account),
            delete(OptIn).where(OptIn.account == account),
            delete(Contact).where(Contact.account == account),
            delete(Consent).where(Consent.account == account),
            delete(Release).where(Release.account == account),
            delete(Invitation).where(Invitation.account == account),
        ):
            removed += session.execute(statement).rowcount or 0
    return removed


def mentions_of(store: Store, needles: list[str], url: str | None = None) -> list[str]:
    """Every place in the data directory and the application database that still holds one of
    ``needles`` — reading Parquet column by column, text files as text (a byte scan of compressed files
    would prove nothing) and every table's rows (``application database TABLE.COLUMN``)."""
    import pyarrow.parquet as pq

    lowered = [n.lower() for n in needles]
    found = _database_mentions(store, lowered, url)
    for path in sorted(Path(store.root).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for name in table.column_names:
                values = table.column(name).to_pylist()
                text = orjson.dumps(values, default=str).decode().lower()
                if any(n in text for n in lowered):
                    found.append(f"{path}:{name}")
        elif path.suffix == ".db":  # SQLite, uncompressed, deletes overwritten (appdb): a byte scan is proof
            data = path.read_bytes().lower()
            if any(n.encode() in data for n in lowered):
                found.append(str(path))
        elif path.suffix in (".json", ".jsonl", ".txt", ".csv", ".tsv", ".md"):
            text = path.read_text(errors="replace").lower()
            if any(n in text for n in lowered):
                found.append(str(path))
    return found


def export(store: Store, account: str, url: str | None = None) -> dict:
    """Everything renown holds about ``account``, as one JSON-able document."""
    from sqlalchemy import or_, select
    from sqlalchemy.orm import Session

    from renown.api.keys import ApiKey
    from renown.appdb import (
        AudienceMember,
        Minor,
        OptIn,
        OptOut,
        engine_for,
        has_database,
    )
    from renown.consent import record_of as consent_record
    from renown.endorsements import Endorsement
    from renown.identity import IdentityLink
    from renown.jobs import Job
    from renown.perks import Campaign, invitations_of
    from renown.triage import CareHandled

    con = store.connect()

    def rows(sql: str, params: list) -> list[dict]:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]

    names = identifiers(store, account)
    pattern = _any_of(names)
    document = {
        "account": account,
        "profile": rows("SELECT * FROM accounts WHERE key = ?", [account]),
        "events_made": rows("SELECT * EXCLUDE (day) FROM events_all WHERE actor = ? ORDER BY created_at", [account]),
        "events_received": rows("SELECT * EXCLUDE (day) FROM events_all WHERE target = ? ORDER BY created_at", [account]),
        # its own source records as they were read; a record that also holds other people's (a twarc2 page of
        # a hundred tweets) is withheld and counted: an export must not hand over third parties' data
        **_own_raw_records(con, account),
        "quarantined": _quarantined_naming(store, pattern),
        "scores": [],
        "explanations": [],  # why its score is what it is, and where it is behind someone else's
        "application": {},
    }
    from renown.score import snapshots

    for run in snapshots.runs(store.root):
        for kind in ("scores", "topics"):
            path = run.path / f"{kind}.parquet"
            if path.exists():
                for row in rows(f"SELECT * FROM read_parquet({sql_text(path)}) WHERE account = ?", [account]):
                    document["scores"].append({"as_of": run.as_of.isoformat(), "table": kind, **row})
        if run.evidence.exists():
            for row in rows(f"SELECT * FROM read_parquet({sql_text(run.evidence)}) WHERE account = ? OR ref = ?",
                            [account, account]):
                document["explanations"].append({"as_of": run.as_of.isoformat(), **row})
    con.close()
    if has_database(store.root, url):
        with Session(engine_for(store.root, url)) as session:
            document["application"] = {
                "audience_memberships": [{"audience": m.audience.name, "customer_id": m.customer_id, "email": m.email}
                                         for m in session.scalars(select(AudienceMember).where(AudienceMember.account == account))],
                "identity_links": [{"person": l.person, "source": l.source}
                                   for l in session.scalars(select(IdentityLink).where(IdentityLink.account == account))],
                "endorsements": [{"endorser": e.endorser, "endorsee": e.endorsee, "topic": e.topic,
                                  "created_at": e.created_at.isoformat()}
                                 for e in session.scalars(select(Endorsement).where(
                                     or_(Endorsement.endorser == account, Endorsement.endorsee == account)))],
                **consent_record(store, account, url),
                "perk_invitations": invitations_of(store, account, url),
                "api_keys": [{"name": k.name, "role": k.role, "created_at": k.created_at.isoformat(), "revoked": k.revoked}
                             for k in session.scalars(select(ApiKey).where(ApiKey.account == account))],
                "care_marks": [{"event_id": c.event_id, "handled_by": c.handled_by, "handled_at": c.handled_at.isoformat()}
                               for c in session.scalars(select(CareHandled).where(CareHandled.event_id.in_(
                                   [e["event_id"] for e in document["events_made"]] or [""])))],
                "named_in": {
                    "campaign_selections": [c.name for c in session.scalars(select(Campaign).where(
                        Campaign.selection.is_not(None))) if pattern.search(c.selection)],
                    "job_reports": [j.id for j in session.scalars(select(Job))
                                    if any(t and pattern.search(t) for t in (j.result, j.message, j.error))],
                },
                "participation": {
                    "opted_out": session.scalar(select(OptOut).where(OptOut.account == account)) is not None,
                    "opted_in": session.scalar(select(OptIn).where(OptIn.account == account)) is not None,
                    "flagged_minor": session.scalar(select(Minor).where(Minor.account == account)) is not None,
                },
            }
    return document


def opt_out(store: Store, account: str, url: str | None = None) -> None:
    """Stop scoring ``account`` and hide it from every ranking and answer (until it opts back in)."""
    from renown.appdb import OptIn, OptOut

    _choose(store, account, url, record=OptOut, undo=OptIn)


def opt_in(store: Store, account: str, url: str | None = None) -> None:
    """Undo an opt-out, and record the wish to be scored (what an opted-in-only policy needs)."""
    from renown.appdb import OptIn, OptOut

    _choose(store, account, url, record=OptIn, undo=OptOut)


def _choose(store: Store, account: str, url: str | None, record, undo) -> None:
    from sqlalchemy import delete, select
    from sqlalchemy.orm import Session

    from renown.appdb import engine_for, now

    with Session(engine_for(store.root, url)) as session, session.begin():
        session.execute(delete(undo).where(undo.account == account))
        if session.scalar(select(record).where(record.account == account)) is None:
            session.add(record(account=account, created_at=now()))


def _database_mentions(store: Store, lowered: list[str], url: str | None) -> list[str]:
    from sqlalchemy import select

    from renown.appdb import Base, engine_for, has_database, import_tables

    if not has_database(store.root, url):
        return []
    import_tables()
    found = set()
    with engine_for(store.root, url).connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is not None and any(n in str(value).lower() for n in lowered):
                        found.add(f"application database {table.name}.{column}")
    return sorted(found)


def _own_raw_records(con: duckdb.DuckDBPyConnection, account: str) -> dict:
    con.execute("""CREATE OR REPLACE TEMP TABLE _mine AS SELECT DISTINCT source_file, source_line FROM events_all
                   WHERE actor = ?""", [account])
    con.execute("""CREATE OR REPLACE TEMP TABLE _shared AS SELECT DISTINCT source_file, source_line FROM events_all
                   SEMI JOIN _mine USING (source_file, source_line) WHERE actor <> ?""", [account])
    cursor = con.execute("""SELECT * FROM raw SEMI JOIN _mine USING (source_file, source_line)
                            ANTI JOIN _shared USING (source_file, source_line) ORDER BY source_file, source_line""")
    names = [d[0] for d in cursor.description]
    own = [dict(zip(names, r)) for r in cursor.fetchall()]
    withheld = con.execute("SELECT count(*) FROM raw SEMI JOIN _shared USING (source_file, source_line)").fetchone()[0]
    return {"raw_records": own, "raw_records_withheld": withheld}


def _quarantined_naming(store: Store, naming: re.Pattern) -> list[dict]:
    """Quarantined records that name the person (what ``forget`` drops from the quarantine files)."""
    found = []
    for path in sorted(store.quarantine_dir.glob("*.jsonl")) if store.quarantine_dir.exists() else []:
        for line in path.read_bytes().splitlines():
            if naming.search(line.decode("utf-8", "replace")):
                found.append(orjson.loads(line))
    return found
