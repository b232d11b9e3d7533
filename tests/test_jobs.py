"""Background jobs through the API: export uploads ingested with progress, scoring runs,
failures reported with their reason, and jobs cut off by a restart marked failed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from renown.api import create_app
from renown.api.keys import create_key
from renown.simulate import simulate, write_dataset
from renown.store import Store

pytestmark = pytest.mark.usefixtures("app_db")


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def exports(tmp_path):
    write_dataset(simulate(accounts=200, days=5, seed=4), tmp_path / "source")
    return tmp_path / "source"


def test_upload_ingests_in_the_background_and_never_duplicates(tmp_path, exports) -> None:
    store = Store(tmp_path / "data")
    admin = create_key(store, "ops", "admin")
    uploads = [exports / "reddit" / "RC_2026-09.ndjson.gz", exports / "crm" / "crm-events.csv"]
    with TestClient(create_app(store)) as client:
        def upload() -> dict:
            files = [("files", (p.name, p.read_bytes())) for p in uploads]
            accepted = client.post("/v1/jobs/ingest", files=files, headers=auth(admin))
            assert accepted.status_code == 202 and accepted.json()["status"] in ("queued", "running", "done")
            return client.app.state.renown.jobs.wait(accepted.json()["id"])

        first = upload()
        assert first["status"] == "done" and first["progress"] == 1.0, first
        assert first["result"]["loaded"] > 0 and first["result"]["duplicate"] == 0
        # provenance names the upload and its original file name, not the deleted temporary copy
        assert {f["name"] for f in first["result"]["files"]} == {f"upload:{first['id']}/{p.name}" for p in uploads}
        con = store.connect()
        sources = {row[0] for row in con.execute("SELECT DISTINCT source_file FROM events").fetchall()}
        con.close()
        assert sources == {f"upload:{first['id']}/{p.name}" for p in uploads}
        assert not any((store.root / "uploads").iterdir())  # the uploaded copies are gone once ingested
        second = upload()
        assert second["result"]["loaded"] == 0 and second["result"]["duplicate"] == first["result"]["loaded"]
        scored = client.app.state.renown.jobs.wait(
            client.post("/v1/jobs/score", json={"weekly": 1}, headers=auth(admin)).json()["id"])
        assert scored["status"] == "done" and len(scored["result"]["snapshots"]) == 2
        assert client.get("/v1/leaderboard?limit=3", headers=auth(admin)).json()["items"]
        listed = client.get("/v1/jobs", headers=auth(admin)).json()
        assert [j["kind"] for j in listed] == ["score", "ingest", "ingest"]


def test_failed_jobs_say_why_and_jobs_are_for_admins(tmp_path) -> None:
    store = Store(tmp_path / "data")
    admin, brand = create_key(store, "ops", "admin"), create_key(store, "acme", "brand")
    with TestClient(create_app(store)) as client:
        files = [("files", ("notes.txt", b"this is not an export\n"))]
        assert client.post("/v1/jobs/ingest", files=files, headers=auth(brand)).status_code == 403
        job = client.app.state.renown.jobs.wait(client.post("/v1/jobs/ingest", files=files, headers=auth(admin)).json()["id"])
        assert job["status"] == "failed" and "notes.txt" in job["error"]
        scoring = client.app.state.renown.jobs.wait(client.post("/v1/jobs/score", json={}, headers=auth(admin)).json()["id"])
        assert scoring["status"] == "failed" and "event log is empty" in scoring["error"]
        assert client.get("/v1/jobs/no-such-job", headers=auth(admin)).status_code == 404
        bad_format = client.post("/v1/jobs/ingest", files=files, data={"format": "myspace"}, headers=auth(admin))
        assert bad_format.status_code == 422 and "myspace" in bad_format.json()["error"]["message"]


def test_jobs_cut_off_by_a_restart_are_marked_failed(tmp_path) -> None:
    from sqlalchemy.orm import Session

    from renown.appdb import engine_for, now
    from renown.jobs import Job, Jobs

    store = Store(tmp_path / "data")
    with Session(engine_for(store.root)) as session, session.begin():
        session.add(Job(id="interrupted", kind="score", status="running", progress=0.4, message="", requested_by="ops",
                        created_at=now(), seq=1))
    jobs = Jobs(store)
    try:
        assert jobs.get("interrupted")["status"] == "failed" and "restarted" in jobs.get("interrupted")["error"]
    finally:
        jobs.close()
