"""The ``renown`` command line.

Every command takes the global ``--data-dir`` (or ``$RENOWN_HOME``). Domain
errors (:class:`renown.errors.RenownError`) become one clean line on stderr and
exit status 1 — in :func:`main`, the one place that handles them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from renown import __version__, config
from renown.errors import RenownError
from renown.ingest.formats import FORMATS
from renown.ingest.pipeline import IngestReport, ingest
from renown.store import Store

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


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
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


def run_ingest(store: Store, paths: list[Path], format_name: str | None, strict: bool, quiet: bool = False) -> IngestReport:
    """Ingest with a progress bar (on a terminal) and return the report."""
    with Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} records"),
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
    for reason, count in report.skipped.items():
        console.print(f"skipped {count:,} record(s): {reason}")
    if report.quarantined:
        err_console.print(f"[yellow]{report.quarantined:,} record(s) quarantined[/] in {report.quarantine_file}; first reasons:")
        for entry in report.samples:
            line = f", line {entry['line']}" if entry.get("line") else ""
            err_console.print(f"  {entry['source_file']}{line}, field {entry['field']}: {entry['reason']}")


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")


@app.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "-f", "format_name", type=click.Choice(list(FORMATS)), default=None,
              help="Skip auto-detection and read every path as this format.")
@click.option("--strict", is_flag=True, help="Store nothing and fail if any record is malformed.")
@json_option
@click.pass_obj
def ingest_command(store: Store, paths: tuple[Path, ...], format_name: str | None, strict: bool, as_json: bool) -> None:
    """Load exports into the event log.

    PATHS are files, folders, archives (.zip) or compressed files (.gz, .zst);
    the format of each is recognised from its content. Safe to repeat: records
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
@click.option("--accounts", default=2000, show_default=True, help="Population size of the generated network.")
@click.option("--days", default=30, show_default=True, help="Days of activity to generate.")
@click.option("--seed", default=7, show_default=True, help="Random seed; the same seed gives the same data.")
@click.pass_obj
def demo_command(store: Store, accounts: int, days: int, seed: int) -> None:
    """Generate a seeded multi-network demo dataset in the real export formats, ingest it and show stats."""
    from renown.simulate import simulate, write_dataset

    out = store.root / "demo-source"
    console.print(f"generating {accounts:,} accounts over {days} days (seed {seed}) in {out} ...")
    files = write_dataset(simulate(accounts=accounts, days=days, seed=seed), out)
    console.print(f"wrote {len(files)} files")
    report = run_ingest(store, [out], None, False)
    print_ingest_report(report)
    print_stats(store.stats())


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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning domain errors into one clean message."""
    try:
        app.main(args=argv, prog_name="renown", standalone_mode=False)
    except RenownError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
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
