"""``/v1/jobs``: ingest uploads and scoring runs in the background, with progress (admins)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, Field

from renown.api.deps import Context, context, role
from renown.api.keys import ApiKey
from renown.ingest.formats import FORMATS

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


class ScoreIn(BaseModel):
    as_of: date | None = Field(None, description="score as of the end of this day; default: the newest event's day")
    weekly: int = Field(0, ge=0, le=12, description="also write the snapshots of this many weeks before")


@router.post("/ingest", status_code=202)
def ingest_upload(files: list[UploadFile] = File(..., description="export files: JSONL, tweets.js, zip, .gz, .zst, CSV ..."),
                  format: str | None = Form(None, description="force a format instead of detecting it"),
                  key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    """Upload export files and ingest them in the background; poll ``GET /v1/jobs/{id}`` for progress."""
    if format is not None and format not in FORMATS:
        raise HTTPException(422, f"format: unknown format {format!r}; one of {', '.join(FORMATS)}")
    return ctx.jobs.submit_ingest([(f.filename or "upload", f.file) for f in files], format, key.name)


@router.post("/score", status_code=202)
def score_run(body: ScoreIn, key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    """Start a scoring run (and optional weekly backfill) in the background."""
    return ctx.jobs.submit_score(body.as_of, body.weekly, key.name)


@router.get("")
def recent_jobs(limit: int = Query(20, ge=1, le=200), key: ApiKey = Depends(role("admin")),
                ctx: Context = Depends(context)) -> list[dict]:
    """The newest jobs first."""
    return ctx.jobs.recent(limit)


@router.get("/{job_id}")
def job_status(job_id: str, key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    """A job's state, progress (0–1), message, and its result or error when it ends."""
    return ctx.jobs.get(job_id)
