"""Background jobs for ``renown serve``: ingest uploads and scoring runs.

A job is a row in the application database (so its state outlives the request
and is visible to every API worker) and runs on the server's single job
thread: the event log has one writer at a time anyway. States: ``queued`` →
``running`` → ``done`` (with the run's report as ``result``) or ``failed``
(with the error's message). A job found ``queued`` or ``running`` when the
server starts was cut off by a restart and is marked ``failed``; re-running an
ingest is safe (it never duplicates).

Uploaded files are written under ``<data dir>/uploads/<job>/`` and removed once
ingested: the event log keeps every loaded record's raw line, and erasure must
not miss a copy.
"""

from __future__ import annotations

import re
import shutil
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import orjson
from sqlalchemy import DateTime, Float, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown.appdb import Base, engine_for, now
from renown.errors import RenownError
from renown.store import Store

KINDS = ("ingest", "score")


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(1000), default="")
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "status": self.status, "progress": round(self.progress, 3),
                "message": self.message, "result": orjson.loads(self.result) if self.result else None,
                "error": self.error, "requested_by": self.requested_by,
                **{k: (getattr(self, k).isoformat() if getattr(self, k) else None)
                   for k in ("created_at", "started_at", "finished_at")}}


class UnknownJob(RenownError):
    """No job with that id."""


class Jobs:
    """The job table and the one thread that runs jobs, for one data directory."""

    def __init__(self, store: Store, url: str | None = None) -> None:
        self.store, self.url = store, url
        self.engine = engine_for(store.root, url)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="renown-job")
        with Session(self.engine) as session, session.begin():
            session.execute(update(Job).where(Job.status.in_(("queued", "running")))
                            .values(status="failed", error="interrupted: the server restarted", finished_at=now()))

    @property
    def uploads(self) -> Path:
        return self.store.root / "uploads"

    def submit_ingest(self, files: list[tuple[str, object]], format_name: str | None, requested_by: str) -> dict:
        """Save the uploaded ``(filename, binary file)`` pairs and queue their ingest."""
        from renown.ingest.pipeline import ingest

        job_id = uuid.uuid4().hex
        folder = self.uploads / job_id
        folder.mkdir(parents=True)
        # provenance names the upload, not the temporary copy (deleted once ingested)
        names = {str(folder): f"upload:{job_id}"}
        for n, (name, handle) in enumerate(files):
            target = folder / f"{n:03d}-{_safe_name(name)}"
            with open(target, "wb") as out:
                shutil.copyfileobj(handle, out, 1 << 20)
            shown = f"upload:{job_id}/{_safe_name(name)}"
            names[str(target)] = shown if shown not in names.values() else f"upload:{job_id}/{target.name}"
        total = len(files)

        def work(report: Callable[[float, str], None]) -> dict:
            done: dict[str, int] = {}

            def progress(name: str, records: int) -> None:
                done[name] = records
                report(min(0.99, (len(done) - 1) / max(total, 1)), f"{name}: {records:,} records read")

            try:
                return ingest(self.store, [folder], format_name, progress=progress, names=names).as_dict()
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        return self._submit(job_id, "ingest", requested_by, work)

    def submit_score(self, as_of: date | None, weekly: int, requested_by: str) -> dict:
        from renown.score.run import run_weekly

        def work(report: Callable[[float, str], None]) -> dict:
            report(0.0, f"scoring {weekly + 1} snapshot(s)")
            infos = run_weekly(self.store, weekly, as_of)
            return {"snapshots": [{"as_of": i.run.as_of.isoformat(), "accounts": i.accounts,
                                   "scoring_version": i.run.meta["scoring_version"]} for i in infos]}

        return self._submit(uuid.uuid4().hex, "score", requested_by, work)

    def get(self, job_id: str) -> dict:
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            if job is None:
                raise UnknownJob(f"no job {job_id!r}")
            return job.as_dict()

    def recent(self, limit: int = 20) -> list[dict]:
        return recent(self.store, self.url, limit)

    def wait(self, job_id: str, timeout: float = 60.0) -> dict:
        """Block until the job ends, for callers that cannot poll (the tests)."""
        import time

        deadline = time.monotonic() + timeout
        while (job := self.get(job_id))["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout:.0f} s")
            time.sleep(0.05)
        return job

    def close(self) -> None:
        """Finish the running job; queued ones are cancelled (a restart would mark them failed anyway)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, job_id: str, kind: str, requested_by: str, work: Callable) -> dict:
        with Session(self.engine) as session, session.begin():
            seq = (session.scalar(select(Job.seq).order_by(Job.seq.desc()).limit(1)) or 0) + 1
            session.add(Job(id=job_id, kind=kind, status="queued", progress=0.0, message="waiting for the job thread",
                            requested_by=requested_by, created_at=now(), seq=seq))
        self.pool.submit(self._run, job_id, work)
        return self.get(job_id)

    def _set(self, job_id: str, **values) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(Job).where(Job.id == job_id).values(**values))

    def _run(self, job_id: str, work: Callable) -> None:
        self._set(job_id, status="running", started_at=now(), message="started")
        try:
            result = work(lambda fraction, message: self._set(job_id, progress=fraction, message=message[:1000]))
        except RenownError as exc:
            self._set(job_id, status="failed", error=str(exc), finished_at=now(), message="failed")
        except Exception as exc:  # a bug: keep the trace server-side, tell the client what failed
            import logging

            logging.getLogger("renown.jobs").error("job %s failed:\n%s", job_id, traceback.format_exc())
            self._set(job_id, status="failed", error=f"internal error ({type(exc).__name__}); see the server log",
                      finished_at=now(), message="failed")
        else:
            self._set(job_id, status="done", progress=1.0, message="done", finished_at=now(),
                      result=orjson.dumps(result, default=str).decode())


def recent(store: Store, url: str | None = None, limit: int = 20) -> list[dict]:
    """The newest jobs first (readable without starting a job thread)."""
    from renown.appdb import has_database

    if not has_database(store.root, url):
        return []
    with Session(engine_for(store.root, url)) as session:
        return [j.as_dict() for j in session.scalars(select(Job).order_by(Job.seq.desc()).limit(limit))]


def _safe_name(name: str) -> str:
    """A file name that cannot leave the upload folder, keeping extensions (.jsonl.gz, .zst)."""
    base = Path(name or "upload").name
    return re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:120] or "upload"
