"""The dashboard's routes. Each page reads the same functions the API serves, so a
page never shows a number the API would not."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from renown.api.deps import COOKIE, Context, authenticate, brand_of, context
from renown.api.keys import ApiKey
from renown.api.leaderboard import ranking
from renown.score import report, snapshots
from renown.web import charts

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE_SIZE = 25
CSV_LIMIT = 10_000


class SignInRequired(Exception):
    """No valid key in the cookie: the page redirects to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def viewer(request: Request, ctx: Context = Depends(context)) -> ApiKey:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    presented = request.cookies.get(COOKIE, "")
    if not presented:
        raise SignInRequired(here)
    try:
        return authenticate(ctx, presented)
    except HTTPException as exc:
        if exc.status_code == 401:
            raise SignInRequired(here) from None
        raise


def render(request: Request, name: str, key: ApiKey | None, status: int = 200, **values) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"key": key, **values}, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 422: "Invalid request",
              429: "Too many requests", 500: "Something went wrong"}
    return render(request, "error.html", None, status=status, title=titles.get(status, "Error"), message=message)


@router.get("/login")
def login_form(request: Request, next: str = "/ui/", error: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=error)


@router.post("/login")
def login(request: Request, key: str = Form(...), next: str = Form("/ui/"), ctx: Context = Depends(context)) -> Response:
    try:
        authenticate(ctx, key.strip())
    except HTTPException as exc:
        return render(request, "login.html", None, status=exc.status_code, next=_safe_next(next),
                      error="That key was not accepted: check it and try again." if exc.status_code == 401 else str(exc.detail))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path="/ui")
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _safe_next(value: str) -> str:
    """Only redirect within the dashboard (no open redirects)."""
    return value if value.startswith("/ui/") and not value.startswith("//") else "/ui/"


@router.get("/")
def home(key: ApiKey = Depends(viewer)) -> Response:
    if key.role == "person" and key.account:
        return RedirectResponse(f"/ui/accounts/{key.account}", status_code=303)
    return RedirectResponse("/ui/admin" if key.role == "admin" else "/ui/discover", status_code=303)


@router.get("/accounts/{account}")
def profile(request: Request, account: str, key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    explained = report.explain(ctx.store, account)
    series = report.history(ctx.store, account)
    known = report.topics(ctx.store, account)["known_for"]
    newest = snapshots.latest(ctx.store.root).as_of
    try:
        change = report.diff(ctx.store, account, newest - timedelta(days=7))
    except snapshots.NoSnapshot:
        change = None
    handles = ctx.store.handles([p["account"] for t in known for p in t["top_people"] if p["account"]])
    return render(request, "profile.html", key, title=explained["handle"] or account, a=explained, series=series,
                  known=known, change=change, handles=handles,
                  gauge=Markup(charts.gauge(explained["score"])), history_chart=Markup(charts.history(series)),
                  contributions=Markup(charts.contributions(explained["base"], explained["components"])))


def _filters(q, topic, audience, network, min_score, max_score) -> dict:
    return {k: v for k, v in {"q": q, "topic": topic, "audience": audience, "network": network,
                              "min_score": min_score if min_score != 1 else None,
                              "max_score": max_score if max_score != 100 else None}.items() if v not in (None, "")}


@router.get("/discover")
def discover(request: Request, q: str | None = Query(None, max_length=200), topic: str | None = None,
             audience: str | None = None, network: str | None = None, min_score: int = Query(1, ge=1, le=100),
             max_score: int = Query(100, ge=1, le=100), page: int = Query(1, ge=1, le=10_000),
             key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    filters = _filters(q, topic, audience, network, min_score, max_score)
    rows = ranking(ctx, key, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, topic=topic or None,
                   audience=audience or None, min_score=min_score, max_score=max_score, network=network or None, q=q)
    audiences = []
    if key.role != "person":
        from renown.audience import audiences as list_audiences

        audiences = [a["name"] for a in list_audiences(ctx.store, ctx.db_url)]
    con = ctx.store.connect()
    networks = [n for (n,) in con.execute("SELECT DISTINCT network FROM accounts ORDER BY 1").fetchall()]
    con.close()
    run = snapshots.latest(ctx.store.root)
    return render(request, "discover.html", key, title="Discover", rows=rows[:PAGE_SIZE], page=page,
                  more=len(rows) > PAGE_SIZE, filters=filters, topics=report.scored_topics(ctx.store), audiences=audiences,
                  networks=networks, components=[c["name"] for c in run.meta["components"]], as_of=run.as_of,
                  query=lambda **extra: urlencode({**filters, **extra}), min_score=min_score, max_score=max_score)


@router.get("/discover.csv")
def discover_csv(q: str | None = Query(None, max_length=200), topic: str | None = None, audience: str | None = None,
                 network: str | None = None, min_score: int = Query(1, ge=1, le=100),
                 max_score: int = Query(100, ge=1, le=100), key: ApiKey = Depends(viewer),
                 ctx: Context = Depends(context)) -> Response:
    rows = ranking(ctx, key, limit=CSV_LIMIT, topic=topic or None, audience=audience or None, min_score=min_score,
                   max_score=max_score, network=network or None, q=q)
    out = io.StringIO()
    columns = list(dict.fromkeys(c for r in rows for c in r)) or ["rank", "account", "handle", "score"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="renown-discover.csv"'})


@router.get("/compare")
def compare(request: Request, account: list[str] = Query(default=[], max_length=8), key: ApiKey = Depends(viewer),
            ctx: Context = Depends(context)) -> HTMLResponse:
    picked = list(dict.fromkeys(a for a in account if a))
    if len(picked) < 2:
        raise HTTPException(422, "pick two to eight accounts to compare")
    explained = [report.explain(ctx.store, a) for a in picked]
    names = [c["name"] for c in explained[0]["components"]]
    return render(request, "compare.html", key, title="Compare", accounts=explained, names=names,
                  bars=[Markup(charts.contributions(e["base"], e["components"], width=320)) for e in explained])


@router.get("/admin")
def admin(request: Request, key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    if key.role != "admin":
        raise HTTPException(403, "the admin page needs an admin key")
    stats = ctx.store.stats()
    ingests = list(reversed(ctx.store.ingest_runs()))[:20]
    sources: dict[str, dict] = {}
    for run in ctx.store.ingest_runs():
        for f in run.get("files", []):
            sources[f["name"]] = {"name": f["name"], "format": f.get("format"), "records": f.get("records", 0),
                                  "quarantined": f.get("quarantined", 0), "ingest": run["ingest_id"]}
    runs = [r.meta for r in reversed(snapshots.runs(ctx.store.root))][:20]
    from renown.jobs import recent

    return render(request, "admin.html", key, title="Admin", stats=stats, ingests=ingests, sources=list(sources.values()),
                  runs=runs, quarantine=ctx.store.quarantine_summary(20), jobs=recent(ctx.store, ctx.db_url, 10))


def _brand_or_admin(key: ApiKey) -> str | None:
    if key.role not in ("brand", "admin"):
        raise HTTPException(403, "campaigns and the care queue are for brands")
    return brand_of(key)


@router.get("/campaigns")
def campaigns(request: Request, key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    from renown import perks

    rows = perks.listed(ctx.store, ctx.db_url, _brand_or_admin(key))
    return render(request, "campaigns.html", key, title="Campaigns", campaigns=rows)


@router.get("/campaigns/{campaign}")
def campaign(request: Request, campaign: str, key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    from renown import perks

    detail = perks.get(ctx.store, campaign, ctx.db_url, _brand_or_admin(key))
    selection = detail["selection"]
    bars = None
    if selection:
        bars = Markup(charts.compare_reach([("chosen for spread", selection["chosen"]["expected_reach"]),
                                            ("top by score", selection["top_by_score"]["expected_reach"])]))
    result = perks.outcome(ctx.store, campaign, ctx.db_url, _brand_or_admin(key)) if detail["invitations"] else None
    return render(request, "campaign.html", key, title=detail["name"], c=detail, bars=bars, result=result)


@router.get("/care")
def care(request: Request, term: list[str] = Query(default=[], max_length=20), audience: str | None = None,
         key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    from renown import triage

    _brand_or_admin(key)
    terms = [t for t in term if t.strip()] or ([f"@{key.name}"] if key.role == "brand" else [])
    result = triage.queue(ctx.store, terms, audience or None, limit=100, url=ctx.db_url) if terms else None
    return render(request, "care.html", key, title="Care queue", terms=terms, result=result, policy=triage.policy(),
                  audience=audience or "")


@router.get("/invitations")
def invitations(request: Request, key: ApiKey = Depends(viewer), ctx: Context = Depends(context)) -> HTMLResponse:
    from renown import perks

    if key.role != "person" or not key.account:
        raise HTTPException(403, "invitations are for people: sign in with a person key")
    return render(request, "invitations.html", key, title="Invitations", rows=perks.invitations_of(ctx.store, key.account, ctx.db_url))


@router.post("/invitations/{campaign}")
def answer(campaign: str, choice: str = Form(..., pattern="^(accept|decline)$"), key: ApiKey = Depends(viewer),
           ctx: Context = Depends(context)) -> Response:
    """The person's answer; the session cookie is same-site only, so another site cannot post this."""
    from renown import perks

    if key.role != "person" or not key.account:
        raise HTTPException(403, "only the invited person can answer")
    perks.respond(ctx.store, campaign, key.account, choice == "accept", ctx.db_url)
    return RedirectResponse("/ui/invitations", status_code=303)
