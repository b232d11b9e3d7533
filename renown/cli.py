"""The ``renown`` command line.

Every command takes the global ``--data-dir`` (or ``$RENOWN_HOME``). Domain
errors (:class:`renown.errors.RenownError`) become one clean line on stderr and
exit status 1 — in :func:`main`, the one place that handles them.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from renown import __version__, config
from renown.errors import RenownError
from renown.ingest.formats import FORMATS
from renown.score.engine import ENGINES
from renown.ingest.pipeline import IngestReport, describe, ingest
from renown.simulate import DEMO, DEMO_WEEKS
from renown.store import Store

#: Output is data (handles, names, file names, reasons quoting bad values): never parsed as markup, where
#: "[she/her]" would vanish as a style and "[/b]" stop the command. Our own styling goes through :func:`styled`.
#: Piped output (no terminal, no ``COLUMNS``) is not cut at rich's default of 80 columns: a table row stays
#: one line and account keys stay whole for ``grep``, ``cut`` and copying into the next command.
PIPED_WIDTH = 1000


def _console(stream) -> Console:
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(file=None, stderr=stream is sys.stderr, soft_wrap=True, markup=False, width=width)


console = _console(sys.stdout)
err_console = _console(sys.stderr)


def styled(template: str, *values: object) -> Text:
    """``template``'s markup (``[bold]{}[/]``) with ``values`` put in as plain text."""
    return Text.from_markup(template.format(*(escape(str(v)) for v in values)))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None,
    help="Data directory (default: $RENOWN_HOME, else ./renown-data).",
)
@click.version_option(__version__, prog_name="renown")
@click.pass_context
def app(ctx: click.Context, data_dir: Path | None) -> None:
    """renown: open, explainable influence scores from how people react to each other.

    \b
    Start with `renown demo`, or load your own exports:
      renown ingest tweets.jsonl mastodon-statuses.json jetstream.jsonl.zst
      renown stats
    """
    ctx.obj = Store(config.data_dir(data_dir))


def _print_json(value) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")


def run_ingest(store: Store, paths: list[Path], format_name: str | None, strict: bool, quiet: bool = False) -> IngestReport:
    """Ingest with a progress bar (on a terminal) and return the report."""
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}", style="bold", markup=False), BarColumn(), TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(), console=err_console, transient=True, disable=quiet or not err_console.is_terminal,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, records: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(Path(name.split("!")[-1]).name, total=None)
            bar.update(tasks[name], completed=records)

        return ingest(store, paths, format_name, strict, progress)


def print_ingest_report(report: IngestReport) -> None:
    table = Table(title=f"ingest {report.ingest_id}", show_footer=True)
    table.add_column("kind", footer="total")
    table.add_column("loaded", justify="right", footer=f"{sum(report.loaded.values()):,}")
    table.add_column("duplicate", justify="right", footer=f"{sum(report.duplicate.values()):,}")
    for kind in sorted(set(report.loaded) | set(report.duplicate)):
        table.add_row(kind, f"{report.loaded.get(kind, 0):,}", f"{report.duplicate.get(kind, 0):,}")
    console.print(table)
    files = Table(title="files")
    for column in ("file", "format", "records", "quarantined", "skipped", "note"):
        files.add_column(column, justify="right" if column in ("records", "quarantined", "skipped") else "left",
                         overflow="fold")
    for f in report.files:
        files.add_row(f.name, f.format or "-", f"{f.records:,}", f"{f.quarantined:,}", f"{f.skipped:,}", f.note or "")
    console.print(files)
    console.print(f"accounts known: {report.accounts:,}")
    if report.deleted:
        console.print(f"records removed by delete events: {report.deleted:,}")
    for reason, count in report.skipped.items():
        console.print(f"skipped {count:,} record(s): {reason}")
    if report.quarantined:
        err_console.print(styled("[yellow]{} record(s) quarantined[/] in {}; first reasons:", f"{report.quarantined:,}",
                                 report.quarantine_file))
        for entry in report.samples:
            err_console.print(f"  {describe(entry)}")


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
#: How answers name a person the privacy policy does not let them show (``hidden`` in JSON).
NOT_SHOWN = "someone not shown (opted out, or excluded by the privacy policy)"


@app.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "-f", "format_name", type=click.Choice(list(FORMATS)), default=None,
              help="Skip auto-detection and read every path as this format.")
@click.option("--strict", is_flag=True, help="Store nothing and fail if any record is malformed.")
@json_option
@click.pass_obj
def ingest_command(store: Store, paths: tuple[Path, ...], format_name: str | None, strict: bool, as_json: bool) -> None:
    """Load exports into the event log.

    PATHS are files, folders, archives (.zip) or compressed files (.gz, .zst,
    .bz2, .xz): network exports (twarc2, an X archive, a Mastodon archive, a
    Bluesky repo.car, Jetstream, Reddit dumps, Stack Exchange dumps) or CSV.
    The format of each is recognised from its content. Safe to repeat: records
    already stored count as duplicates. Malformed records go to a quarantine
    file (file, line, field, reason) and the rest still load.
    """
    report = run_ingest(store, list(paths), format_name, strict, quiet=as_json)
    if as_json:
        _print_json(report.as_dict())
    else:
        print_ingest_report(report)


def print_stats(stats: dict) -> None:
    table = Table(title=f"renown data in {stats['data_dir']}")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("events", f"{stats['events']:,}")
    table.add_row("accounts", f"{stats['accounts']:,}")
    table.add_row("quarantined records", f"{stats['quarantined']:,}")
    for network, count in stats["by_network"].items():
        table.add_row(f"  network {network}", f"{count:,}")
    for kind, count in stats["by_kind"].items():
        table.add_row(f"  kind {kind}", f"{count:,}")
    console.print(table)
    if stats["first_event"]:
        console.print(f"time span: {stats['first_event']} → {stats['last_event']}")


@app.command("stats")
@json_option
@click.pass_obj
def stats_command(store: Store, as_json: bool) -> None:
    """Counts of stored events per network and kind, accounts, time span and quarantined records.

    --json prints one object with at least events, accounts, quarantined, by_kind and by_network.
    """
    stats = store.stats()
    if as_json:
        _print_json(stats)
    else:
        print_stats(stats)


@app.command("demo")
@click.option("--accounts", default=DEMO["accounts"], show_default=True, help="Population size of the generated network.")
@click.option("--days", default=DEMO["days"], show_default=True, help="Days of activity to generate.")
@click.option("--seed", default=DEMO["seed"], show_default=True, help="Random seed; the same seed gives the same data.")
@click.pass_obj
def demo_command(store: Store, accounts: int, days: int, seed: int) -> None:
    """Generate a seeded multi-network demo dataset in the real export formats, ingest it,
    score it, and show the leaderboard and one explained profile."""
    from renown.simulate import simulate, write_dataset

    out = store.root / "demo-source"
    console.print(f"generating {accounts:,} accounts over {days} days (seed {seed}) in {out} ...")
    files = write_dataset(simulate(accounts=accounts, days=days, seed=seed), out)
    console.print(f"wrote {len(files)} files")
    report = run_ingest(store, [out], None, False)
    print_ingest_report(report)
    print_stats(store.stats())
    from renown.score.report import explain, top
    from renown.score.run import run_weekly

    info = run_weekly(store, DEMO_WEEKS)[-1]
    console.print(f"\nscored {info.accounts:,} accounts as of {info.run.as_of} (scoring version {info.run.meta['scoring_version']})")
    leaders = top(store, 10)
    print_top(leaders)
    if leaders:
        console.print()
        print_explanation(explain(store, leaders[0]["account"]))
    customers = out / "customers.tsv"
    if customers.exists():
        from renown.audience import import_csv, top_in_audience

        imported = import_csv(store, customers, "demo-brand")
        console.print(f"\nimported the demo brand's {imported.customers:,} customers; influence among them:")
        table = Table()
        for column in ("#", "account", "score", "global", "customers reacting", "offline"):
            table.add_column(column, overflow="fold")
        for r in top_in_audience(store, "demo-brand", 5):
            table.add_row(str(r["rank"]), r["account"], str(r["score"]), str(r["global_score"]),
                          str(r["audience_reactors"]), f"{r['offline']:.1f}")
        console.print(table)
    _demo_brand_programs(store, info.run.as_of)


def _demo_brand_programs(store: Store, as_of: date) -> None:
    """The demo's last act: a perks campaign chosen for spread, and the care queue's fairness."""
    from renown import perks
    from renown.triage import fairness_report

    name = "demo-boots"
    existing = [c for c in perks.listed(store) if c["name"] == name]
    if not existing:
        perks.create(store, name, "demo-brand", ["football"], budget=5, starts_on=as_of, ends_on=as_of + timedelta(days=14),
                     offer="a pair of boots", tags=["demoboots"], min_topic_score=20)
    try:
        selection = perks.get(store, name)["selection"] or perks.choose(store, name, seed=1)
    except perks.CampaignError as exc:  # a small custom population may have nobody eligible
        console.print(f"\nperks campaign skipped: {exc}")
        return
    chosen, top = selection["chosen"]["expected_reach"], selection["top_by_score"]["expected_reach"]
    console.print(f"\nperks campaign {name!r}, 5 perks on football: the 5 chosen for spread are expected to reach "
                  f"{chosen['people']:.0f} people (95 % {chosen['low']:.0f}–{chosen['high']:.0f}); the 5 top scores "
                  f"{top['people']:.0f} ({top['low']:.0f}–{top['high']:.0f}) — see `renown campaign show {name}`")
    report = fairness_report(store, days=3)
    breaches = {k: v["breaches"] for k, v in report["policies"].items()}
    console.print(f"care triage, {report['messages']:,} simulated mentions over 3 days, 3 agents: SLA breaches "
                  f"{breaches['renown']} with renown's queue, {breaches['reach-first']} answering the most influential "
                  f"first, {breaches['fifo']} first-come-first-served — see `renown triage simulate`")


@app.command("simulate")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--accounts", default=2000, show_default=True, help="Number of accounts.")
@click.option("--days", default=30, show_default=True, help="Days of activity.")
@click.option("--seed", default=7, show_default=True, help="Random seed.")
def simulate_command(out: Path, accounts: int, days: int, seed: int) -> None:
    """Write a seeded synthetic dataset into OUT in the real export formats
    (twarc2, X archive, Mastodon, Jetstream, Reddit, CSV)."""
    from renown.simulate import simulate, write_dataset

    for path in write_dataset(simulate(accounts=accounts, days=days, seed=seed), out):
        console.print(str(path))


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


date_option = click.option("--as-of", "as_of", default=None, metavar="DATE",
                           help="Snapshot date (YYYY-MM-DD); default: the newest.")


@app.command("score")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Score as of the end of this day (YYYY-MM-DD); default: the day of the newest event.")
@click.option("--window-days", default=90, show_default=True, help="Trailing window of events that count.")
@click.option("--half-life-days", default=30.0, show_default=True, help="Older reactions count half as much every this many days.")
@click.option("--weekly", default=0, show_default=True, metavar="N",
              help="Also write snapshots for the N weeks before, to backfill history.")
@click.option("--engine", type=click.Choice(ENGINES), default="embedded", show_default=True,
              help="Where the SQL and PageRank run: embedded DuckDB, or Apache Spark (pip install 'renown[spark]'); "
                   "both write the same snapshot.")
@click.option("--master", default=None, metavar="URL",
              help="Spark master (spark://host:7077, yarn, k8s://…); default local[2]. Only with --engine spark.")
@click.option("--conf", "conf", multiple=True, metavar="KEY=VALUE",
              help="A Spark setting, e.g. --conf spark.driver.memory=8g (repeatable). Only with --engine spark.")
@click.option("--event-log", "event_log", default=None, metavar="URI",
              help="Where Spark's executors read the event log, when not from --data-dir: a copy of the data "
                   "directory's events/ and accounts.parquet (s3a://bucket/renown-data, hdfs://…). Consent, "
                   "snapshots and the rest stay in --data-dir. Only with --engine spark.")
@json_option
@click.pass_obj
def score_command(store: Store, as_of: str | None, window_days: int, half_life_days: float, weekly: int, engine: str,
                  master: str | None, conf: tuple[str, ...], event_log: str | None, as_json: bool) -> None:
    """Score every account and write a dated snapshot (atomic) stamped with the scoring version.

    \b
    renown score                                  # embedded engine, newest day in the log
    renown score --engine spark                   # the same on Spark, local[2]
    renown score --engine spark --master spark://head:7077 --conf spark.executor.memory=8g
    renown score --engine spark --master yarn --event-log s3a://bucket/renown-data
    """
    from renown.score.run import EngineChoice, run_weekly

    if engine == "embedded" and (master or conf or event_log):
        raise click.UsageError("--master, --conf and --event-log are Spark settings: add --engine spark")
    settings = []
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--conf")
        settings.append((key.strip(), value.strip()))
    choice = EngineChoice(engine, master, tuple(settings), event_log)
    with err_console.status("scoring", spinner="dots") if err_console.is_terminal else nullcontext() as status:
        def on_step(name: str) -> None:
            if status is not None:
                status.update(f"scoring on the {engine} engine: {'starting' if name == 'start' else name}")

        info = run_weekly(store, max(weekly, 0), _date(as_of), window_days=window_days, half_life_days=half_life_days,
                          engine=choice, on_step=on_step)[-1]
    meta = info.run.meta
    result = {"as_of": info.run.as_of.isoformat(), "scoring_version": meta["scoring_version"], "engine": engine,
              "accounts": info.accounts,
              "pairs": info.pairs, "snapshot": str(info.run.path), "seconds": {k: round(v, 3) for k, v in info.seconds.items()}}
    if as_json:
        _print_json(result)
    else:
        console.print(f"scored {info.accounts:,} accounts ({info.pairs:,} reactor→author pairs) as of {result['as_of']} "
                      f"with scoring version {result['scoring_version']} on the {engine} engine; snapshot {info.run.path}")
    if not info.accounts:
        err_console.print(styled("[yellow]the {}-day window ending {} holds no events to score[/]: is --as-of right? "
                                 "`renown stats` shows the span of the log", meta["window_days"], result["as_of"]))


def print_top(rows: list[dict]) -> None:
    if not rows:
        console.print("nobody scored yet")
        return
    table = Table(title=f"top accounts as of {rows[0]['as_of']}")
    for column in ("#", "account", "handle", "score"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left", overflow="fold")
    names = [k for k in rows[0] if k not in ("rank", "account", "handle", "score", "as_of")]
    for name in names:
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(str(r["rank"]), r["account"], r["handle"] or "", str(r["score"]), *(f"{r[n]:.1f}" for n in names))
    console.print(table)


@app.command("top")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many accounts.")
@click.option("--topic", default=None, help="Rank by influence in one topic (a Klout topic slug or a tag).")
@click.option("--audience", "audience_name", default=None, metavar="NAME",
              help="Rank by influence among an imported customer list (see `renown audience import`).")
@date_option
@json_option
@click.pass_obj
def top_command(store: Store, limit: int, topic: str | None, audience_name: str | None, as_of: str | None,
                as_json: bool) -> None:
    """The leaderboard: highest scores first, with each component's points (or, with
    --topic, topic scores on the same 1–100 scale; with --audience, influence among
    a brand's own customers).

    --json prints a list of objects with at least account and score.
    """
    from renown.score.report import top, top_topic

    if audience_name is not None:
        from renown.audience import top_in_audience

        rows = top_in_audience(store, audience_name, limit, _date(as_of), topic=topic)
        if as_json:
            _print_json(rows)
            return
        table = Table(title=f"influence among audience {audience_name} as of {rows[0]['as_of'] if rows else '-'}")
        for column in ("#", "account", "handle", "score", "global", "customers reacting", "reach inside"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(str(r["rank"]), r["account"], r["handle"] or "", str(r["score"]), str(r["global_score"]),
                          str(r["audience_reactors"]), f"{r['inside_share']:.0%}")
        console.print(table)
        return
    if topic is not None:
        rows = top_topic(store, topic, limit, _date(as_of))
        if as_json:
            _print_json(rows)
            return
        table = Table(title=f"top accounts in {rows[0]['topic_name']} as of {rows[0]['as_of']}")
        for column in ("#", "account", "handle", "score", "topic posts"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(str(r["rank"]), r["account"], r["handle"] or "", str(r["score"]), str(r["posts"]))
        console.print(table)
        return
    rows = top(store, limit, _date(as_of))
    if as_json:
        _print_json(rows)
    else:
        print_top(rows)


def print_explanation(e: dict) -> None:
    who = f"{e['account']}" + (f" (@{e['handle']})" if e.get("handle") else "")
    console.print(styled("[bold]{}[/]: score [bold]{}[/] as of {} (scoring version {})", who, e["score"], e["as_of"],
                         e["scoring_version"]))
    table = Table(show_footer=True)
    table.add_column("component", footer="score")
    table.add_column("points", justify="right", footer=str(e["score"]))
    table.add_column("what it measures")
    table.add_row("base", f"{e['base']:.1f}", "everyone starts at 1")
    for c in e["components"]:
        table.add_row(c["name"], f"{c['points']:.1f}", f"{c['description']} (measure {c['measure']:.2f})")
    console.print(table)
    for c in e["components"]:
        if c["evidence"]:
            console.print(styled("[bold]{}[/] — behind it:", c["name"]))
            for item in c["evidence"]:
                label = NOT_SHOWN if item.get("hidden") else \
                    (item.get("url") or item["ref"]) + (f" (@{item['handle']})" if item.get("handle") else "")
                extra = f", {item['reactors']} people" if "reactors" in item else ""
                console.print(f"  {label}: {item['reactions']}{extra} (weight {item['weight']:.2f})")
    for d in e["discounts"]:
        console.print(styled("[yellow]discount[/]: {}", d["detail"]))
    if e["flags"]:
        console.print(styled("[yellow]this account's own reactions are discounted[/]: {}", ", ".join(e["flags"])))
    t = e["totals"]
    console.print(f"{t['reactors']:,} people reacted {t['reactions']:,} times; {t['posts']:,} posts in the window")
    if e.get("nps"):
        console.print(f"latest NPS answer {e['nps']['score']}/10 ({e['nps']['group']}): {e['nps']['effect']}")


@app.command("explain")
@click.argument("account")
@click.option("--audience", "audience_name", default=None, metavar="NAME",
              help="Also say how much of the account's influence falls inside this customer list.")
@date_option
@json_option
@click.pass_obj
def explain_command(store: Store, account: str, audience_name: str | None, as_of: str | None, as_json: bool) -> None:
    """Why ACCOUNT (network:native-id) has its score: points per component that add up
    exactly to the score, the people and posts behind each, and every discount applied.

    --json prints one object with at least account, score and components (name, points).
    """
    from renown.score.report import explain

    result = explain(store, account, _date(as_of))
    if audience_name is not None:
        from renown.audience import top_in_audience

        line = top_in_audience(store, audience_name, as_of=_date(as_of), only=account)
        result["audience"] = line[0] if line else None
    if as_json:
        _print_json(result)
    else:
        print_explanation(result)
        among = result.get("audience")
        if among:
            console.print(f"among audience {among['audience']}: score {among['score']} (rank {among['rank'] or '-'}), "
                          f"{among['audience_reactors']} customer(s) reacting, {among['inside_share']:.0%} of its reach inside")


@app.command("topics")
@click.argument("account")
@date_option
@json_option
@click.pass_obj
def topics_command(store: Store, account: str, as_of: str | None, as_json: bool) -> None:
    """What ACCOUNT is known for: its topic scores, with the posts and people behind each."""
    from renown.score.report import topics

    result = topics(store, account, _date(as_of))
    if as_json:
        _print_json(result)
        return
    if not result["known_for"]:
        console.print(f"{account} has no topic scores as of {result['as_of']} (no tagged posts in a scored topic)")
    for item in result["known_for"]:
        endorsed = f", endorsed {item['endorsements']} time(s)" if item.get("endorsements") else ""
        console.print(styled("[bold]{}[/] ({}): {} — {} posts{}", item["name"], item["topic"], item["score"], item["posts"],
                             endorsed))
        for post in item["top_posts"]:
            console.print(f"  post {post['post']}: {post['reactions']} reactions")
        for person in item["top_people"]:
            console.print(f"  {NOT_SHOWN if person.get('hidden') else person['account']}: {person['reactions']} reactions")


@app.group("audience")
def audience_group() -> None:
    """A brand's own customer lists: import them, list them, rank within them (`top --audience`)."""


@audience_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The audience's name (re-importing a name replaces it).")
@json_option
@click.pass_obj
def audience_import_command(store: Store, path: Path, name: str, as_json: bool) -> None:
    """Import customers from PATH: a CSV with customer_id, optional email and name, and one
    column per network holding each customer's handle or native id there."""
    from renown.audience import import_csv

    report = import_csv(store, path, name)
    if as_json:
        _print_json(report.as_dict())
        return
    console.print(f"audience {name}: {report.customers:,} customers, {report.resolved:,} of {report.identifiers:,} "
                  f"account identifiers resolved, {report.offline_only:,} without any social account")
    for item in report.unresolved[:5]:
        err_console.print(f"  line {item['line']}, {item['field']} {item.get('value', '')!r}: {item['reason']}")


@audience_group.command("list")
@json_option
@click.pass_obj
def audience_list_command(store: Store, as_json: bool) -> None:
    """The imported audiences."""
    from renown.audience import audiences

    rows = audiences(store)
    if as_json:
        _print_json(rows)
        return
    for r in rows:
        console.print(f"{r['name']}: {r['members']:,} identifiers, {r['accounts']:,} resolved to accounts ({r['created_at']})")


@app.command("endorse")
@click.argument("endorser")
@click.argument("endorsee")
@click.option("--topic", required=True, help="What ENDORSEE is good at (a Klout topic or a tag).")
@json_option
@click.pass_obj
def endorse_command(store: Store, endorser: str, endorsee: str, topic: str, as_json: bool) -> None:
    """ENDORSER vouches for ENDORSEE on a topic (Klout's +K). At most 5 a day, once per
    person and topic a week, never oneself; counts in topic scores, capped and discounted
    for rings and bots like any reaction."""
    from renown.endorsements import endorse

    result = endorse(store, endorser, endorsee, topic)
    if as_json:
        _print_json(result)
    else:
        console.print(f"{endorser} endorsed {endorsee} for {result['topic']}; it counts from the next `renown score`")


@app.command("forget")
@click.argument("account")
@click.option("--yes", is_flag=True, help="Do it without asking.")
@json_option
@click.pass_obj
def forget_command(store: Store, account: str, yes: bool, as_json: bool) -> None:
    """Erase ACCOUNT from every store renown keeps: its events, mentions of it in others' records,
    raw lines, snapshots and application data. Files are rewritten, not hidden."""
    from renown.privacy import forget

    if not yes and not as_json:
        click.confirm(f"Erase every trace of {account}? This cannot be undone", abort=True)
    report = forget(store, account)
    if as_json:
        _print_json(report)
    else:
        console.print(f"erased {account}: {report['events']:,} events, {report['raw_lines']:,} raw lines, "
                      f"{report['snapshot_rows']:,} snapshot rows, {report['quarantined']:,} quarantined records, "
                      f"{report['application_rows']:,} application rows; mentions in others' texts and "
                      f"{report['profiles']:,} profile(s) redacted")


@app.command("opt-out")
@click.argument("account")
@click.pass_obj
def opt_out_command(store: Store, account: str) -> None:
    """ACCOUNT is no longer scored and disappears from every ranking and answer (undo: opt-in)."""
    from renown.privacy import opt_out

    opt_out(store, account)
    console.print(f"{account} opted out: hidden now, left out of the next `renown score`")


@app.command("opt-in")
@click.argument("account")
@click.pass_obj
def opt_in_command(store: Store, account: str) -> None:
    """ACCOUNT wants to be scored: undoes an opt-out, and is what an opted-in-only policy needs."""
    from renown.privacy import opt_in

    opt_in(store, account)
    console.print(f"{account} opted in: scored from the next `renown score`")


@app.command("minor")
@click.argument("account")
@click.option("--clear", is_flag=True, help="Remove the flag (the account is an adult after all).")
@click.option("--source", default="operator", show_default=True, help="Who said so: operator, guardian, a source's flag.")
@click.pass_obj
def minor_command(store: Store, account: str, clear: bool, source: str) -> None:
    """Flag ACCOUNT as a child's: never scored or shown while the policy excludes minors (the default)."""
    from renown.policy import flag_minor, unflag_minor

    if clear:
        unflag_minor(store.root, account)
        console.print(f"{account} is no longer flagged as a minor")
    else:
        flag_minor(store.root, account, source)
        console.print(f"{account} flagged as a minor: hidden now, left out of the next `renown score`")


@app.command("policy")
@click.option("--only-opted-in/--everyone", default=None,
              help="Score only people who opted in, or everyone who has not opted out.")
@click.option("--exclude-minors/--include-minors", default=None, help="Leave accounts flagged as minors out (default).")
@json_option
@click.pass_obj
def policy_command(store: Store, only_opted_in: bool | None, exclude_minors: bool | None, as_json: bool) -> None:
    """Show or change who may be scored (kept in policy.toml in the data directory).

    \b
    renown policy                     show the policy
    renown policy --only-opted-in     score only people who ran `renown opt-in`
    renown policy --everyone          everyone but opt-outs (and minors)
    """
    from dataclasses import asdict, replace

    from renown.policy import load, save

    policy = load(store.root)
    if only_opted_in is not None or exclude_minors is not None:
        changes = {k: v for k, v in (("only_opted_in", only_opted_in), ("exclude_minors", exclude_minors)) if v is not None}
        policy = replace(policy, **changes)
        save(store.root, policy)
    if as_json:
        _print_json(asdict(policy))
        return
    console.print(f"score only opted-in people: {'yes' if policy.only_opted_in else 'no'}; "
                  f"exclude minors: {'yes' if policy.exclude_minors else 'no'} "
                  "(takes effect in answers now, in scores from the next `renown score`)")


@app.command("export")
@click.argument("account")
@click.pass_obj
def export_command(store: Store, account: str) -> None:
    """Everything renown holds about ACCOUNT, as one JSON document on stdout."""
    from renown.privacy import export

    _print_json(export(store, account))


@app.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.pass_obj
def serve_command(store: Store, host: str, port: int) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs). Create a key first with `renown keys create`."""
    from renown.api import create_app

    import uvicorn

    uvicorn.run(create_app(store), host=host, port=port, log_level="info")


@app.group("campaign")
def campaign_group() -> None:
    """Perks campaigns: pick recipients by expected spread, invite, fulfil with consent, measure.

    \b
    renown campaign create spring --brand acme --topic football --budget 10 --starts 2026-10-01 --ends 2026-10-14 --tag acmeperk
    renown campaign select spring            # IMM choice vs the top-N by topic score, both reaches
    renown campaign respond spring twitter:42 --accept
    renown campaign fulfil spring twitter:42
    renown campaign outcome spring --report out/
    """


@campaign_group.command("create")
@click.argument("name")
@click.option("--brand", required=True, help="The brand (the name of its API key).")
@click.option("--topic", "topics", multiple=True, required=True, help="A topic of the campaign (repeatable).")
@click.option("--budget", type=int, required=True, help="Number of perks.")
@click.option("--starts", required=True, metavar="DATE")
@click.option("--ends", required=True, metavar="DATE")
@click.option("--offer", default="", help="What the perk is.")
@click.option("--tag", "tags", multiple=True, help="Hashtag or brand term that marks campaign posts (repeatable).")
@click.option("--audience", default=None, help="Choose only among this customer list.")
@click.option("--min-topic-score", default=1, show_default=True, help="Eligibility: at least this score in a campaign topic.")
@click.option("--network", "networks", multiple=True, help="Eligibility: only these networks (repeatable).")
@click.option("--language", default=None, help="Eligibility: people who mostly post in this language (e.g. en).")
@click.option("--region", default=None, help="Eligibility: profile location contains this (where the network gives one).")
@click.option("--perk-cost", default=0.0, show_default=True, help="Cost of one perk, for cost per person reached.")
@json_option
@click.pass_obj
def campaign_create_command(store: Store, name: str, brand: str, topics: tuple[str, ...], budget: int, starts: str, ends: str,
                            offer: str, tags: tuple[str, ...], audience: str | None, min_topic_score: int,
                            networks: tuple[str, ...], language: str | None, region: str | None, perk_cost: float,
                            as_json: bool) -> None:
    """Create campaign NAME."""
    from renown.perks import create

    created = create(store, name, brand, list(topics), budget, _date(starts), _date(ends), offer, list(tags), audience,
                     min_topic_score, list(networks) or None, language, perk_cost, region=region)
    if as_json:
        _print_json(created)
    else:
        console.print(f"campaign {created['name']!r} (#{created['id']}) for {brand}: {budget} perks, "
                      f"topics {', '.join(created['topics'])}; next: renown campaign select {name}")


@campaign_group.command("list")
@json_option
@click.pass_obj
def campaign_list_command(store: Store, as_json: bool) -> None:
    """Every campaign."""
    from renown.perks import listed

    rows = listed(store)
    if as_json:
        _print_json(rows)
        return
    for c in rows:
        console.print(f"#{c['id']} {c['name']} ({c['brand']}): {c['budget']} perks, {c['starts_on']} – {c['ends_on']}")


@campaign_group.command("select")
@click.argument("name")
@click.option("--seed", default=0, show_default=True, help="Random seed: the same seed gives the same choice.")
@click.option("--epsilon", default=0.2, show_default=True, help="IMM's approximation slack (smaller: slower, closer).")
@json_option
@click.pass_obj
def campaign_select_command(store: Store, name: str, seed: int, epsilon: float, as_json: bool) -> None:
    """Choose NAME's recipients by influence maximisation and invite them."""
    from renown.perks import choose

    report = choose(store, name, seed, epsilon)
    if as_json:
        _print_json(report)
        return
    for label, part in (("chosen by expected spread", report["chosen"]), ("top by topic score", report["top_by_score"])):
        r = part["expected_reach"]
        console.print(f"{label}: expected reach {r['people']:.0f} people (95 % {r['low']:.0f}–{r['high']:.0f}): "
                      f"{', '.join(part['accounts'])}")
    console.print(f"{report['overlap']} in common; {report['eligible']:,} eligible; {report['rr_sets']:,} RR sets")


@campaign_group.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def campaign_show_command(store: Store, name: str, as_json: bool) -> None:
    """NAME's settings, selection and invitations."""
    from renown.perks import get

    campaign = get(store, name)
    if as_json:
        _print_json(campaign)
        return
    table = Table(title=f"campaign {campaign['name']} ({campaign['brand']})")
    for column in ("#", "account", "handle", "status"):
        table.add_column(column, overflow="fold")
    for i in campaign["invitations"]:
        table.add_row(str(i["rank"]), i["account"], i["handle"] or "", i["status"])
    console.print(table)


@campaign_group.command("respond")
@click.argument("name")
@click.argument("account")
@click.option("--accept/--decline", required=True, help="Accepting consents to sharing contact details with the brand for this campaign.")
@click.pass_obj
def campaign_respond_command(store: Store, name: str, account: str, accept: bool) -> None:
    """Record ACCOUNT's answer to NAME's invitation (on the person's behalf, e.g. from a reply email)."""
    from renown.perks import respond

    console.print(f"{account}: {respond(store, name, account, accept)['status']}")


@campaign_group.command("fulfil")
@click.argument("name")
@click.argument("account")
@click.pass_obj
def campaign_fulfil_command(store: Store, name: str, account: str) -> None:
    """Mark ACCOUNT's accepted perk as sent."""
    from renown.perks import fulfil

    console.print(f"{account}: {fulfil(store, name, account)['status']}")


@campaign_group.command("outcome")
@click.argument("name")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Also write outcome.md and outcome.png (predicted vs actual reach) into this folder.")
@json_option
@click.pass_obj
def campaign_outcome_command(store: Store, name: str, report_dir: Path | None, as_json: bool) -> None:
    """What NAME's perks did: campaign posts, reactions, people reached, against the prediction."""
    from renown.perks import outcome, write_report

    result = outcome(store, name)
    if report_dir is not None:
        result["report"] = [str(p) for p in write_report(result, report_dir)]
    if as_json:
        _print_json(result)
        return
    table = Table(title=f"outcome of {name}")
    for column in ("recipient", "campaign posts", "reactions", "people reached", "new people"):
        table.add_column(column, overflow="fold")
    for r in result["recipients"]:
        table.add_row(r["account"], str(r["campaign_posts"]), str(r["reactions"]), str(r["people_reached"]), str(r["new_people"]))
    console.print(table)
    predicted = result["predicted_reach"]
    console.print(f"reach: predicted {predicted['people'] if predicted else '—'} (if every invitee accepted), "
                  f"actual {result['actual_reach']}; cost per person reached: {result['cost_per_person_reached'] or '—'}")


@app.group("triage")
def triage_group() -> None:
    """Customer care: brand mentions ranked by urgency and reach, with a response-time floor for everyone."""


@triage_group.command("queue")
@click.option("--term", "terms", multiple=True, required=True, help="Brand handle, name or hashtag to look for (repeatable).")
@click.option("--audience", default=None, help="Measure reach among this customer list.")
@click.option("--since", default=None, metavar="DATE", help="Only mentions after this day.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many conversations.")
@json_option
@click.pass_obj
def triage_queue_command(store: Store, terms: tuple[str, ...], audience: str | None, since: str | None, limit: int,
                         as_json: bool) -> None:
    """Open brand mentions in the order to answer them, each with kind, urgency, reach and deadline."""
    from renown.score.run import end_of_day
    from renown.triage import queue

    start = end_of_day(_date(since)) if since else None
    result = queue(store, list(terms), audience, start, limit=limit)
    if as_json:
        _print_json(result)
        return
    console.print(result["policy"]["rule"])
    table = Table(title=f"{result['open']} open mention(s) as of {result['now']}")
    for column in ("#", "author", "kind", "urgency", "reach", "due in h", "text"):
        table.add_column(column, overflow="fold")
    for n, i in enumerate(result["items"], start=1):
        table.add_row(str(n), i["handle"] or i["author"], f"{i['kind']} ({i['confidence']:.0%})", i["urgency"],
                      f"{i['reach']:.2f}" if i["scored"] else "not scored", f"{i['due_in_hours']:.1f}", i["text"])
    console.print(table)


@triage_group.command("handle")
@click.argument("event_ids", nargs=-1, required=True)
@click.option("--by", default="operator", show_default=True, help="Who answered.")
@click.pass_obj
def triage_handle_command(store: Store, event_ids: tuple[str, ...], by: str) -> None:
    """Mark mentions as answered: they leave the queue."""
    from renown.triage import mark_handled

    console.print(f"{mark_handled(store, list(event_ids), by)} mention(s) marked handled")


@triage_group.command("simulate")
@click.option("--agents", default=3, show_default=True)
@click.option("--handle-minutes", default=10.0, show_default=True, help="Time one agent needs per message.")
@click.option("--per-hour", default=14.0, show_default=True, help="Mentions per hour (doubled in the evening peak).")
@click.option("--days", default=7.0, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--audience", default=None)
@json_option
@click.pass_obj
def triage_simulate_command(store: Store, agents: int, handle_minutes: float, per_hour: float, days: float, seed: int,
                            audience: str | None, as_json: bool) -> None:
    """Fairness report: a simulated mention stream from the scored population, served under renown's policy,
    reach-first and first-in-first-out; waits and SLA breaches by reach decile."""
    from renown.triage import fairness_report

    report = fairness_report(store, agents, handle_minutes, per_hour, days, seed, audience)
    if as_json:
        _print_json(report)
        return
    console.print(f"{report['messages']:,} messages, {agents} agents, capacity {report['capacity_per_hour']:.0f}/h")
    for name, result in report["policies"].items():
        table = Table(title=f"{name}: {result['breaches']} SLA breach(es)")
        for column in ("reach decile", "messages", "mean wait h", "p95 wait h", "max wait h", "breaches"):
            table.add_column(column, justify="right")
        for r in result["by_decile"]:
            table.add_row(*(str(r[k]) for k in ("decile", "messages", "mean_wait_hours", "p95_wait_hours", "max_wait_hours", "breaches")))
        console.print(table)


@app.group("keys")
def keys_group() -> None:
    """API keys for `renown serve`: admin, brand or person."""


@keys_group.command("create")
@click.option("--name", required=True, help="Who the key is for.")
@click.option("--role", type=click.Choice(["admin", "brand", "person"]), required=True)
@click.option("--account", default=None, help="A person key's own account (network:native-id).")
@click.pass_obj
def keys_create_command(store: Store, name: str, role: str, account: str | None) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from renown.api.keys import create_key

    sys.stdout.write(create_key(store, name, role, account) + "\n")


@app.group("link")
def link_group() -> None:
    """One person, many accounts: suggestions from evidence, links an operator confirms. Never merged silently."""


@link_group.command("suggest")
@json_option
@click.pass_obj
def link_suggest_command(store: Store, as_json: bool) -> None:
    """Pairs of accounts on different networks that look like one person, with the evidence, and conflicts."""
    from renown.identity import suggest

    suggestions, conflicts = suggest(store)
    if as_json:
        _print_json({"suggestions": [s.as_dict() for s in suggestions], "conflicts": conflicts})
        return
    for s in suggestions:
        console.print(f"{s.a}  ~  {s.b}  [{s.confidence}]: {', '.join(s.evidence)}")
    for c in conflicts:
        console.print(styled("[yellow]conflict[/] {} ~ {}: for {}; against {}", c["accounts"][0], c["accounts"][1],
                             ", ".join(c["for"]) or "-", ", ".join(c["against"])))
    console.print(f"{len(suggestions)} suggestion(s), {len(conflicts)} conflict(s); confirm with `renown link confirm A B`")


@link_group.command("confirm")
@click.argument("a")
@click.argument("b")
@click.pass_obj
def link_confirm_command(store: Store, a: str, b: str) -> None:
    """Record that accounts A and B are one person."""
    from renown.identity import confirm

    console.print(f"linked {a} and {b} as {confirm(store, a, b)}")


@link_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def link_import_command(store: Store, path: Path) -> None:
    """Import explicit links: a CSV of person,account rows."""
    from renown.identity import import_links

    console.print(f"recorded {import_links(store, path)} link(s) from {path}")


@link_group.command("show")
@click.argument("account")
@json_option
@click.pass_obj
def link_show_command(store: Store, account: str, as_json: bool) -> None:
    """The person ACCOUNT belongs to: each linked account's score and the person's."""
    from renown.identity import person_of

    person = person_of(store, account)
    if as_json:
        _print_json(person)
        return
    console.print(f"{person['person'] or 'no linked person'}: score {person['score']} ({person['score_rule']})")
    for row in person["accounts"]:
        console.print(f"  {row['account']}: {row['score']}")


@app.command("history")
@click.argument("account")
@json_option
@click.pass_obj
def history_command(store: Store, account: str, as_json: bool) -> None:
    """ACCOUNT's score in every snapshot, with its components."""
    from renown.score.report import history

    rows = history(store, account)
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"history of {account}")
    for column in rows[0]:
        table.add_column(column)
    for r in rows:
        table.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()))
    console.print(table)


@app.command("diff")
@click.argument("account")
@click.option("--since", required=True, metavar="DATE", help="Compare with the snapshot on or before this date.")
@date_option
@json_option
@click.pass_obj
def diff_command(store: Store, account: str, since: str, as_of: str | None, as_json: bool) -> None:
    """Why ACCOUNT's score changed since DATE: the change per component and the
    reactions that arrived or left the window in between."""
    from renown.score.report import diff

    result = diff(store, account, _date(since), _date(as_of))
    if as_json:
        _print_json(result)
        return
    console.print(f"{account}: {result['from']['score']} ({result['from']['as_of']}) → {result['to']['score']} "
                  f"({result['to']['as_of']}), change {result['change']:+d}")
    for c in result["components"]:
        console.print(f"  {c['name']}: {c['from']:.1f} → {c['to']:.1f} ({c['change']:+.1f})")
    arrived, left = result["new_reactions"], result["expired_reactions"]
    console.print(f"new reactions: {arrived['count']:,} from {arrived['reactors']:,} people; "
                  f"left the window: {left['count']:,} from {left['reactors']:,} people")
    for event in arrived["latest"]:
        console.print(f"  {event['created_at']} {event['kind']} by {NOT_SHOWN if event.get('hidden') else event['actor']}")
    if result["note"]:
        console.print(styled("[yellow]{}[/]", result["note"]))


@app.command("evaluate")
@click.option("--split-at", "split_at", default=None, metavar="DATE",
              help="Score with events up to this day; default: the last day minus the horizon.")
@click.option("--horizon", "horizon", type=int, default=None, metavar="DAYS",
              help="Days after the split whose reactions are the outcome; default: min(30, a third of the data's span).")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A simulator ground-truth.tsv: also compare with the planted influence.")
@click.option("--bootstrap", "rounds", default=100, show_default=True, help="Bootstrap rounds for the intervals.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report.md, report.json and PNG plots into this folder.")
@json_option
@click.pass_obj
def evaluate_command(store: Store, split_at: str | None, horizon: int | None, truth: Path | None, rounds: int,
                     report_dir: Path | None, as_json: bool) -> None:
    """Does the score predict future influence better than follower counts, volume and friends?

    Scores with the past only, then compares every method with the distinct genuine accounts
    that react to each account after the split: Spearman, Kendall, NDCG@10/100, precision@100
    with bootstrap intervals, renown's margin over each baseline, and an ablation per component.

    --json prints one object with at least split_at, horizon_days, accounts and methods.
    """
    from renown import evaluate

    report = evaluate.run(store, _date(split_at), horizon, truth=truth, rounds=rounds)
    text = evaluate.markdown(report)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "report.md").write_text(text)
        (report_dir / "report.json").write_bytes(orjson.dumps(evaluate.public(report), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
        evaluate.plots(report, report_dir)
    if as_json:
        _print_json(evaluate.public(report))
    else:
        from rich.markdown import Markdown

        console.print(Markdown(text))
        if report_dir is not None:
            console.print(f"report written to {report_dir}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning domain errors into one clean message."""
    try:
        app.main(args=argv, prog_name="renown", standalone_mode=False)
    except RenownError as exc:
        err_console.print(styled("[bold red]Error:[/] {}", exc), highlight=False, soft_wrap=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
