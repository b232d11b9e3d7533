"""The web dashboard: sign-in, profile, discovery (filter, compare, CSV export) and
admin pages — through the ASGI app, and in a real browser (Debian's Chromium driven
by Playwright), with screenshots of every page saved under test-artifacts/."""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renown.api import create_app
from renown.api.keys import create_key
from renown.score.report import explain, history, top, top_topic

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


pytestmark = pytest.mark.usefixtures("app_db")


@pytest.fixture
def keys(demo_store, app_db) -> dict[str, str]:
    leader = top(demo_store, 1)[0]["account"]
    return {"admin": create_key(demo_store, "ops", "admin"), "brand": create_key(demo_store, "acme", "brand"),
            "person": create_key(demo_store, "me", "person", account=leader), "leader": leader}


@pytest.fixture
def client(demo_store) -> TestClient:
    return TestClient(create_app(demo_store), raise_server_exceptions=False)


def signed_in(client: TestClient, key: str) -> TestClient:
    response = client.post("/ui/login", data={"key": key, "next": "/ui/"}, follow_redirects=False)
    assert response.status_code == 303
    return client


# -- through the ASGI app ------------------------------------------------------------------

def test_pages_redirect_to_sign_in_and_keep_where_you_were_going(client) -> None:
    response = client.get("/ui/discover?topic=football", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fdiscover%3Ftopic%3Dfootball"
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"


def test_sign_in_sets_a_private_cookie_and_refuses_bad_keys(client, keys) -> None:
    bad = client.post("/ui/login", data={"key": "rk_1_wrong", "next": "/ui/"})
    assert bad.status_code == 401 and "not accepted" in bad.text
    good = client.post("/ui/login", data={"key": keys["brand"], "next": "//evil.example/"}, follow_redirects=False)
    assert good.headers["location"] == "/ui/"  # no open redirect
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    out = client.post("/ui/logout", follow_redirects=False)
    assert out.headers["location"] == "/ui/login"
    assert client.get("/ui/discover", follow_redirects=False).status_code == 303


def test_home_sends_each_role_to_its_page(client, keys) -> None:
    for role, where in (("person", f"/ui/accounts/{keys['leader']}"), ("brand", "/ui/discover"), ("admin", "/ui/admin")):
        signed_in(client, keys[role])
        assert client.get("/ui/", follow_redirects=False).headers["location"] == where


def test_errors_on_pages_are_pages_not_json(client, keys) -> None:
    signed_in(client, keys["brand"])
    missing = client.get("/ui/accounts/twitter:nobody-at-all")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"] and "no score" in missing.text
    assert client.get("/ui/admin").status_code == 403
    assert client.get(f"/ui/compare?account={keys['leader']}").status_code == 422


def test_csv_export_is_the_filtered_ranking(client, keys, demo_store) -> None:
    signed_in(client, keys["brand"])
    response = client.get("/ui/discover.csv?topic=football&min_score=20")
    assert response.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = [r for r in top_topic(demo_store, "football", 100_000) if r["score"] >= 20]
    assert [r["account"] for r in rows] == [r["account"] for r in expected]
    assert {"rank", "account", "handle", "score", "topic"} <= set(rows[0])


def test_a_profile_links_its_top_posts_to_the_original(client, keys, demo_store) -> None:
    from renown.score import snapshots

    run = snapshots.latest(demo_store.root)
    account = snapshots.query(f"""SELECT account FROM read_parquet('{run.evidence}')
                                  WHERE kind = 'post' AND account LIKE 'twitter:%' ORDER BY account LIMIT 1""")[0]["account"]
    signed_in(client, keys["brand"])
    page = client.get(f"/ui/accounts/{account}").text
    posts = [e for c in explain(demo_store, account)["components"] for e in c["evidence"] if e["kind"] == "post"]
    assert posts and all(f'<a href="{e["url"]}" rel="noopener noreferrer">{e["ref"]}</a>' in page for e in posts)


# -- in a real browser ----------------------------------------------------------------------

def _chromium() -> str | None:
    return os.environ.get("RENOWN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def live(demo_store):
    """``renown serve``'s app on a loopback port, in a thread."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(demo_store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        if os.environ.get("RENOWN_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (RENOWN_REQUIRE_BROWSER) but not installed: apt-get install chromium")
        pytest.skip("no Chromium: ./scripts/test.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live):
    """A fresh browser tab that refuses (and records) any request leaving the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.outside = []

    def only_loopback(route) -> None:
        if route.request.url.startswith(live):
            route.continue_()
        else:
            tab.outside.append(route.request.url)
            route.abort()

    tab.route("**/*", only_loopback)
    yield tab
    assert tab.outside == [], f"the dashboard asked the internet for {tab.outside}"
    context.close()


def sign_in(page, live: str, key: str) -> None:
    page.goto(f"{live}/ui/")
    assert "/ui/login" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


AUDIT = """() => {
  const rgb = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); const v = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
                     return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1}; };
  const lum = c => { const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
                     return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                             if (c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const problems = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el instanceof SVGElement || !el.getClientRects().length) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: ${el.tagName} "${el.textContent.trim().slice(0, 30)}"`);
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.getAttribute("aria-label");
    if (!labelled) problems.push(`unlabelled ${el.tagName} ${el.name}`);
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (svg.getAttribute("aria-hidden") !== "true" && !(svg.getAttribute("role") === "img" && svg.querySelector("title")))
      problems.push(`svg without role=img and a title: ${svg.getAttribute("class")}`);
  }
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push(`scrolls sideways: ${document.documentElement.scrollWidth}px`);
  return problems;
}"""


def audit(page) -> None:
    """Accessibility and layout checks every page must pass: WCAG AA text contrast, labelled
    form fields, described charts, a page language, no sideways scrolling, and a skip link
    that keyboard users reach first."""
    assert page.evaluate(AUDIT) == []
    page.goto(page.url.split("#")[0])  # start keyboard navigation from the top of a fresh page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_person_sees_their_profile_explained(page, live, keys, demo_store) -> None:
    sign_in(page, live, keys["person"])
    account = keys["leader"]
    assert page.url.endswith(f"/ui/accounts/{account}")
    expected = explain(demo_store, account)
    assert page.locator("svg.gauge title").text_content() == f"renown score: {expected['score']} out of 100"
    points = [float(x) for x in page.locator("table >> nth=0 >> tbody td.num").all_text_contents()]
    assert points == [c["points"] for c in expected["components"]]
    assert round(expected["base"] + sum(points)) == expected["score"]
    assert page.locator("svg.history circle").count() == len(history(demo_store, account)) == 4
    assert "since last week" in page.get_by_role("heading", name="What changed since last week").text_content()
    assert page.locator("#change-h + p.change").count() == 1
    audit(page)
    shoot(page, "profile")
    page.set_viewport_size({"width": 375, "height": 800})
    audit(page)
    shoot(page, "profile-phone")


def test_brand_filters_compares_and_exports(page, live, keys, demo_store) -> None:
    sign_in(page, live, keys["brand"])
    assert page.url.endswith("/ui/discover")
    audit(page)
    shoot(page, "discover")
    page.get_by_label("Topic").select_option("football")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    shown = page.locator("table.results tbody tr td:nth-child(3) a").all_text_contents()
    expected = top_topic(demo_store, "football", 25)
    assert shown == [r["handle"] or r["account"] for r in expected]
    shoot(page, "discover-football")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["account"] for r in rows][:25] == [r["account"] for r in expected]
    first, second = expected[0], expected[1]
    page.get_by_label(f"Compare {first['handle'] or first['account']}").check()
    page.get_by_label(f"Compare {second['handle'] or second['account']}").check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_load_state()
    assert "/ui/compare" in page.url
    compared = page.locator("table.compare tbody tr")
    assert compared.count() == 2
    assert compared.nth(0).locator("td.num strong").text_content() == str(explain(demo_store, first["account"])["score"])
    audit(page)
    shoot(page, "compare")
    page.goto(f"{live}/ui/admin")
    assert page.get_by_role("heading", name="Not allowed").count() == 1


def test_admin_sees_sources_runs_and_quarantine(page, live, keys, demo_store) -> None:
    sign_in(page, live, keys["admin"])
    assert page.url.endswith("/ui/admin")
    stats = demo_store.stats()
    facts = dict(zip(page.locator("dl.facts dt").all_text_contents(), page.locator("dl.facts dd").all_text_contents()))
    assert facts["Events"] == f"{stats['events']:,}" and facts["Quarantined records"] == f"{stats['quarantined']:,}"
    runs = page.get_by_role("heading", name="Scoring runs").locator("xpath=..").locator("tbody tr")
    assert runs.count() == 4
    assert page.get_by_role("heading", name="Data sources").locator("xpath=..").locator("tbody tr").count() > 5
    audit(page)
    shoot(page, "admin")


def test_sign_in_page_is_accessible_and_explains_a_refusal(page, live) -> None:
    page.goto(f"{live}/ui/accounts/twitter:1")
    assert "/ui/login?next=" in page.url
    audit(page)
    shoot(page, "sign-in")
    page.get_by_label("API key").fill("rk_1_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "not accepted" in page.get_by_role("alert").text_content()
    assert page.evaluate(AUDIT) == []
    shoot(page, "sign-in-refused")


def test_brand_runs_a_campaign_and_a_person_accepts_it(page, live, keys, demo_store) -> None:
    from renown import perks
    from renown.score import snapshots

    as_of = snapshots.latest(demo_store.root).as_of
    perks.create(demo_store, "ui-boots", "acme", ["football"], budget=3, starts_on=as_of, ends_on=as_of, offer="trail boots",
                 tags=["acmeboots"], min_topic_score=20)
    chosen = perks.choose(demo_store, "ui-boots", seed=2)["chosen"]["accounts"]
    sign_in(page, live, keys["brand"])
    page.get_by_role("link", name="Campaigns").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="ui-boots").click()
    page.wait_for_load_state()
    assert "Expected reach" in page.locator("svg.reach title").text_content()
    statuses = page.locator("table >> nth=0 >> tbody td:nth-child(3)").all_text_contents()
    assert statuses == ["invited"] * 3
    audit(page)
    shoot(page, "campaign")
    page.get_by_role("link", name="Care queue").click()
    page.wait_for_load_state()
    assert "never anyone else out of their SLA" in page.get_by_role("heading", name="How this queue is ordered").locator("xpath=..").text_content()
    page.get_by_label("Brand handle, name or hashtag").fill("goal")
    page.get_by_role("button", name="Show queue").click()
    page.wait_for_load_state()
    assert page.locator("table tbody tr").count() == 100
    audit(page)
    shoot(page, "care-queue")

    page.context.clear_cookies()
    person = create_key(demo_store, "invitee", "person", account=chosen[0])
    sign_in(page, live, person)
    page.get_by_role("link", name="Invitations").click()
    page.wait_for_load_state()
    audit(page)
    shoot(page, "invitations")
    page.get_by_role("button", name="Accept ui-boots from acme").click()
    page.wait_for_load_state()
    row = page.locator("table tbody tr", has_text="ui-boots")
    assert row.locator("td:nth-child(5)").text_content() == "accepted"
    assert perks.get(demo_store, "ui-boots")["invitations"][0]["status"] == "accepted"


def test_api_docs_work_offline(page, live) -> None:
    """Swagger UI at /docs is served from the installed package: the page renders the API's
    operations with every request to the internet refused (the fixture fails on any)."""
    page.goto(f"{live}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 20
    assert "renown" in page.locator(".title").first.text_content()
    shoot(page, "api-docs")
