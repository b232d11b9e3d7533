"""Validity: does the score predict future influence better than the obvious baselines?

Protocol (``renown evaluate``): score every account with only the events up
to ``split_at``; the outcome is, per account, the number of distinct genuine
accounts that react to it in the ``horizon`` after the split (reactors the past
model discounted as bots or rings, and anonymous reactions, do not count).
Each method ranks the same accounts — those active in the scoring window — and
is compared with the outcome by :mod:`renown.metrics`, with bootstrap
intervals on every metric and on renown's margin over each baseline.

Baselines, all from the same past window: ``indegree`` (distinct reactors),
``volume`` (posts), ``reactions`` (raw reactions received), ``pagerank``
(unweighted PageRank of the reaction graph, no discounts), ``followers`` (when
the source reports them; note that a follower count is observed when the data
was collected, which may be after the split), and ``klout_fit``: a least-squares
fit of the outcome on ``log(1 + followers)`` and ``log(1 + reactions)``, the two
variables that explained ~94 % of Klout's score — fitted on an earlier split
(the horizon before ``split_at``) and applied at ``split_at``, so it never sees
the evaluation period.

Ablation: renown recomputed with each component removed. Planted truth: with a
simulator ``ground-truth.tsv`` the same metrics are computed against the
planted influence (non-bot, non-sybil accounts), plus the simulator's bars;
for the sybil bar, the window is scored a second time with every planted sybil
account left out, so the report says what each ring added to its client.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from renown import metrics
from renown.errors import RenownError
from renown.events import ANONYMOUS, REACTION_KINDS
from renown.score import calibration
from renown.score.features import Features, Window, compute, latest_event_time
from renown.score.graph import adjacency, pagerank
from renown.score.model import COMPONENTS, Scores, score
from renown.score.run import end_of_day
from renown.store import Store

SOCIAL_TYPES = ("ordinary", "expert", "promoter", "brand")
METHODS = ("renown", "indegree", "volume", "reactions", "pagerank", "klout_fit", "followers")


@dataclass
class Split:
    features: Features
    scores: Scores
    outcome: np.ndarray
    followers: np.ndarray  # nan when unknown


def _past_and_future(store: Store, split_at: datetime, horizon: timedelta, window_days: int) -> Split:
    con = store.connect()
    f = compute(con, Window(split_at, window_days))
    s = score(f)
    genuine = s.context.genuine.g
    con.register("_g", pa.table({"idx": pa.array(np.arange(f.n), pa.int64()), "g": pa.array(genuine, pa.float64())}))
    kinds = ", ".join(f"'{k}'" for k in REACTION_KINDS)
    rows = con.execute(f"""
        SELECT t.idx, count(DISTINCT e.actor)
        FROM events e JOIN nodes t ON t.key = e.target
        LEFT JOIN nodes a ON a.key = e.actor LEFT JOIN _g ON _g.idx = a.idx
        WHERE e.kind IN ({kinds}) AND e.actor <> e.target AND NOT suffix(e.actor, ':{ANONYMOUS}')
          AND e.created_at > ? AND e.created_at <= ? AND coalesce(_g.g, 1.0) >= 0.5
        GROUP BY t.idx""", [split_at, split_at + horizon]).fetchall()
    outcome = np.zeros(f.n)
    for idx, count in rows:
        outcome[idx] = count
    followers = np.full(f.n, np.nan)
    for idx, value in con.execute("SELECT nodes.idx, a.followers FROM accounts a JOIN nodes ON nodes.key = a.key "
                                  "WHERE a.followers IS NOT NULL").fetchall():
        followers[idx] = value
    con.close()
    return Split(f, s, outcome, followers)


def _baselines(split: Split) -> dict[str, np.ndarray]:
    f = split.features
    reactions = _reactions(f)
    indegree = np.bincount(f.dst, minlength=f.n).astype(float)
    if f.n:
        plain = pagerank(adjacency(f.src, f.dst, np.ones(len(f.src)), f.n))
    else:
        plain = np.zeros(0)
    out = {"renown": split.scores.exact + 1e-9 * split.scores.z, "indegree": indegree, "volume": f.posts_count,
           "reactions": reactions, "pagerank": plain}
    if np.isfinite(split.followers).any():
        out["followers"] = np.nan_to_num(split.followers, nan=0.0)
    return out


def _reactions(f: Features) -> np.ndarray:
    """Raw reactions each account received in the window."""
    return np.bincount(f.dst, weights=f.count, minlength=f.n)


def _klout_design(split: Split) -> np.ndarray:
    f = split.features
    reactions = _reactions(f)
    columns = [np.ones(f.n), np.log1p(reactions)]
    if np.isfinite(split.followers).any():
        columns.append(np.log1p(np.nan_to_num(split.followers, nan=0.0)))
    return np.stack(columns, axis=1)


def _ablations(s: Scores) -> dict[str, np.ndarray]:
    out = {}
    for component in COMPONENTS:
        z = s.z - component.weight * s.values[component.name]
        out[f"renown without {component.name}"] = calibration.calibrate(z) + 1e-9 * z
    return out


def _read_truth(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["account"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _truth_report(split: Split, truth: dict[str, dict], without_sybils: Scores) -> dict:
    """Metrics against the planted influence, and the simulator's bars. ``without_sybils`` is the
    same window scored with every planted sybil account left out: what each ring adds to its client."""
    f, s = split.features, split.scores
    keys = list(f.keys)
    position = {k: i for i, k in enumerate(keys)}
    # social accounts with a planted latent influence (CRM customers carry referral rates, another scale)
    genuine = [k for k, row in truth.items() if row["type"] in SOCIAL_TYPES and k in position]
    idx = np.array([position[k] for k in genuine], dtype=np.int64)
    latent = np.array([float(truth[k]["influence"]) for k in genuine])
    report = {"accounts": len(genuine), "vs_latent_influence": metrics.evaluate(s.exact[idx], latent)}
    # how much of the latent influence the events reveal at all: an oracle told each account's true
    # audience size (no real data set reveals it) estimates it as reactions per post per audience member
    audience = np.maximum(np.array([float(truth[k]["audience"]) for k in genuine]), 1.0)
    posts = np.maximum(f.posts_count[idx], 1.0)
    reactions = _reactions(f)[idx]
    report["oracle_vs_latent_influence"] = metrics.evaluate(reactions / posts / audience, latent)
    # what a reach-based score is built to track: the people an account can expect to move in the window
    report["vs_expected_people_moved"] = metrics.evaluate(s.exact[idx], audience * latent * posts)
    # quiet experts vs loud self-promoters of comparable audience (within a factor of 1.5)
    experts = [(position[k], int(r["audience"])) for k, r in truth.items() if r["type"] == "expert" and k in position]
    promoters = [(position[k], int(r["audience"])) for k, r in truth.items() if r["type"] == "promoter" and k in position]
    pairs = wins = 0
    for e, ea in experts:
        for p, pa_ in promoters:
            if ea and pa_ and max(ea, pa_) <= 1.5 * min(ea, pa_):
                pairs += 1
                wins += s.exact[e] > s.exact[p]
    report["experts_above_promoters"] = {"pairs": pairs, "share": wins / pairs if pairs else float("nan")}
    planted = {r["client"] for r in truth.values() if r.get("client")}
    clients = sorted(c for c in planted if c in position)
    top = _top_decile(s.exact)
    alone = {k: i for i, k in enumerate(without_sybils.keys.tolist())}
    top_alone = _top_decile(without_sybils.exact)
    lift = {c: float(s.exact[position[c]] - (without_sybils.exact[alone[c]] if c in alone else 1.0)) for c in clients}
    in_top = [c for c in clients if position[c] in top]
    on_their_own = [c for c in clients if c in alone and alone[c] in top_alone]
    report["sybil_clients"] = {
        "clients": len(planted),
        "in_top_decile": in_top,
        # the bar's intent: a ring must not be what puts its client there
        "in_top_decile_without_sybils": on_their_own,
        "lifted_into_top_decile": [c for c in in_top if c not in on_their_own],
        "lift": lift,
        "max_lift": max(lift.values(), default=0.0),
    }
    return report


def _top_decile(exact: np.ndarray) -> set[int]:
    ranked = np.argsort(-exact, kind="stable")
    return set(ranked[: max(1, len(ranked) // 10)].tolist())


def _without(store: Store, split_at: datetime, window_days: int, accounts: frozenset[str]) -> Scores:
    """The window scored as if ``accounts`` had never existed (the privacy scope's mechanism)."""
    from renown.policy import Scope

    con = store.connect()
    try:
        return score(compute(con, Window(split_at, window_days), Scope(excluded=accounts)))
    finally:
        con.close()


def _topic_evaluation(store: Store, split_at: datetime, horizon: timedelta, window_days: int) -> dict:
    """NDCG@10 within each scored topic: topic scores at the split against each account's
    distinct genuine reactors on its posts in that topic during the horizon; baseline: the
    same count in the past window (topic in-degree)."""
    from renown.score.topics import topic_scores
    from renown.topics import taxonomy

    con = store.connect()
    window = Window(split_at, window_days)
    f = compute(con, window)
    s = score(f)
    table = topic_scores(con, s.context, window)
    if table.num_rows == 0:
        con.close()
        return {"topics": 0}
    tax = taxonomy()
    end = split_at + horizon
    tags = [t for (t,) in con.execute(
        """SELECT DISTINCT unnest(tags) FROM events WHERE created_at > ? AND created_at <= ?
           AND kind IN ('post', 'reply', 'quote') AND len(tags) > 0""", [window.start, end]).fetchall()]
    con.register("_tt", pa.table({"tag": tags, "topic": [tax.topic_of(t) for t in tags]}))
    con.register("_g", pa.table({"key": pa.array(f.keys.tolist(), pa.string()), "g": pa.array(s.context.genuine.g)}))
    kinds = ", ".join(f"'{k}'" for k in REACTION_KINDS)
    counts = con.execute(f"""
        WITH tp AS (SELECT DISTINCT e.actor AS author, e.network, e.post_id, _tt.topic
                    FROM (SELECT actor, network, post_id, unnest(tags) AS tag FROM events
                          WHERE created_at > ? AND created_at <= ? AND kind IN ('post', 'reply', 'quote')
                            AND post_id IS NOT NULL AND len(tags) > 0) e JOIN _tt USING (tag))
        SELECT tp.author, tp.topic,
               count(DISTINCT r.actor) FILTER (WHERE r.created_at > ? AND coalesce(_g.g, 1.0) >= 0.5) AS future,
               count(DISTINCT r.actor) FILTER (WHERE r.created_at <= ?) AS past
        FROM tp JOIN events r ON r.network = tp.network AND r.parent_post_id = tp.post_id AND r.target = tp.author
        LEFT JOIN _g ON _g.key = r.actor
        WHERE r.kind IN ({kinds}) AND r.actor <> r.target AND NOT suffix(r.actor, ':{ANONYMOUS}')
          AND r.created_at > ? AND r.created_at <= ?
        GROUP BY ALL""", [window.start, end, split_at, split_at, window.start, end]).fetchall()
    con.close()
    outcome = {(a, t): (fut, past) for a, t, fut, past in counts}
    per_topic = {}
    for topic in sorted(set(table.column("topic").to_pylist())):
        rows = [(a, e) for a, t, e in zip(table.column("account").to_pylist(), table.column("topic").to_pylist(),
                                           table.column("exact").to_pylist()) if t == topic]
        future = np.array([outcome.get((a, topic), (0, 0))[0] for a, _ in rows], dtype=float)
        if len(rows) < 10 or future.sum() == 0:
            continue
        past = np.array([outcome.get((a, topic), (0, 0))[1] for a, _ in rows], dtype=float)
        ours = np.array([e for _, e in rows])
        per_topic[topic] = {"accounts": len(rows), "renown": metrics.ndcg_at(ours, future, 10),
                            "indegree": metrics.ndcg_at(past, future, 10)}
    if not per_topic:
        return {"topics": 0}
    return {"topics": len(per_topic), "metric": "ndcg@10",
            "renown": float(np.mean([v["renown"] for v in per_topic.values()])),
            "indegree": float(np.mean([v["indegree"] for v in per_topic.values()])),
            "per_topic": per_topic}


def run(store: Store, split_at: date | None = None, horizon_days: int | None = None, window_days: int = 90,
        truth: Path | None = None, rounds: int = 100, seed: int = 0) -> dict:
    """The whole evaluation as one JSON-able object (the ``--json`` contract)."""
    con = store.connect()
    first = con.execute("SELECT min(created_at) FROM events_all").fetchall()[0][0]
    last = latest_event_time(con)
    con.close()
    if last is None:
        raise RenownError("nothing to evaluate: the event log is empty")
    span_days = max(1, (last - first).days)
    horizon_days = horizon_days or max(1, min(30, span_days // 3))
    horizon = timedelta(days=horizon_days)
    if split_at is None:
        split = end_of_day((last - horizon).astimezone(timezone.utc).date())
    else:
        split = end_of_day(split_at)
    if split <= first:
        raise RenownError(f"--split-at {split.date()} leaves no past: the first event is on {first.date()}")
    evaluation = _past_and_future(store, split, horizon, window_days)
    if evaluation.outcome.sum() == 0:
        raise RenownError(f"no reactions in the {horizon_days} days after {split.date()}: choose an earlier --split-at")
    methods = _baselines(evaluation)
    # Klout-like fit: learn on the previous horizon, apply at the split (never sees the evaluation period)
    earlier = _past_and_future(store, split - horizon, horizon, window_days)
    design = _klout_design(earlier)
    coefficients, *_ = np.linalg.lstsq(design, np.log1p(earlier.outcome), rcond=None)
    current = _klout_design(evaluation)
    if current.shape[1] == len(coefficients):
        methods["klout_fit"] = current @ coefficients
    actual = evaluation.outcome
    results = {name: metrics.evaluate(values, actual) for name, values in methods.items()}
    intervals = metrics.bootstrap(methods, actual, "renown", rounds=rounds, seed=seed)
    ablation = {name: metrics.evaluate(values, actual) for name, values in _ablations(evaluation.scores).items()}
    report = {
        "split_at": split.date().isoformat(),
        "horizon_days": horizon_days,
        "window_days": window_days,
        "accounts": int(evaluation.features.n),
        "accounts_with_outcome": int((actual > 0).sum()),
        "outcome": "distinct genuine accounts reacting in the horizon",
        "methods": results,
        "intervals": intervals["intervals"],
        "renown_margin": intervals["margins"],
        "ablation": ablation,
        "klout_fit_coefficients": [float(c) for c in coefficients],
        "bootstrap_rounds": rounds,
    }
    report["topics"] = _topic_evaluation(store, split, horizon, window_days)
    if truth is not None:
        planted = _read_truth(truth)
        sybils = frozenset(k for k, row in planted.items() if row["type"] == "sybil")
        report["planted_truth"] = _truth_report(evaluation, planted, _without(store, split, window_days, sybils))
    report["_arrays"] = {"renown": methods["renown"], "outcome": actual}
    return report


def markdown(report: dict) -> str:
    """The results as markdown tables (what the terminal and docs show)."""
    lines = [f"Split at {report['split_at']}, horizon {report['horizon_days']} days, {report['accounts']:,} accounts "
             f"({report['accounts_with_outcome']:,} with any outcome). Outcome: {report['outcome']}.", ""]
    header = "| method | " + " | ".join(metrics.METRICS) + " |"
    lines += [header, "|---|" + "---:|" * len(metrics.METRICS)]
    for name, values in report["methods"].items():
        cells = []
        for m in metrics.METRICS:
            ci = report["intervals"][name][m]
            cells.append(f"{values[m]:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "renown's margin over each baseline (95 % bootstrap interval of renown − baseline):", "",
              header, "|---|" + "---:|" * len(metrics.METRICS)]
    for name, values in report["renown_margin"].items():
        cells = [f"[{values[m]['low']:+.3f}, {values[m]['high']:+.3f}]" for m in metrics.METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Ablation (renown with one component removed):", "", header, "|---|" + "---:|" * len(metrics.METRICS)]
    for name, values in {"renown": report["methods"]["renown"], **report["ablation"]}.items():
        lines.append(f"| {name} | " + " | ".join(f"{values[m]:.3f}" for m in metrics.METRICS) + " |")
    topics = report.get("topics") or {}
    if topics.get("topics"):
        lines += ["", f"Within topics (NDCG@10 averaged over {topics['topics']} topics with ≥ 10 scored accounts): "
                  f"renown topic scores {topics['renown']:.3f}, topic in-degree {topics['indegree']:.3f}."]
    truth = report.get("planted_truth")
    if truth:
        latent = ", ".join(f"{k} {v:.3f}" for k, v in truth["vs_latent_influence"].items())
        oracle = truth["oracle_vs_latent_influence"]["spearman"]
        moved = truth["vs_expected_people_moved"]["spearman"]
        experts = truth["experts_above_promoters"]
        lines += ["",
                  f"- Planted truth ({truth['accounts']:,} non-bot accounts): {latent}",
                  (f"- For scale: an oracle told each account's true audience size (reactions per post per audience "
                   f"member) reaches spearman {oracle:.3f} against the latent influence; against the people each "
                   f"account can expect to move in the window (audience × influence × posts) renown reaches "
                   f"spearman {moved:.3f}."),
                  (f"- Quiet experts above loud self-promoters of comparable audience: {experts['share']:.1%} of "
                   f"{experts['pairs']} pairs."),
                  _sybil_line(truth["sybil_clients"])]
    return "\n".join(lines) + "\n"


def _sybil_line(clients: dict) -> str:
    there, alone = clients["in_top_decile"], clients["in_top_decile_without_sybils"]
    return (f"- Sybil-ring clients in the top 10 %: {len(there)} of {clients['clients']}; "
            f"lifted there by their ring: {len(clients['lifted_into_top_decile'])} "
            f"(scored with every sybil account left out, {len(alone)} of them are in the top 10 % on their own; "
            f"the most a ring added to its client: {clients['max_lift']:.1f} points).")


def plots(report: dict, folder: Path) -> list[Path]:
    """PNG plots: score vs future reach, and each metric by method."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RenownError("plots need matplotlib: pip install 'renown[eval]'") from exc
    folder.mkdir(parents=True, exist_ok=True)
    arrays = report["_arrays"]
    scatter = folder / "score-vs-future-reach.png"
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    ax.scatter(arrays["renown"], arrays["outcome"] + 1, s=4, alpha=0.3)
    ax.set_yscale("log")
    ax.set_xlabel(f"renown score at {report['split_at']}")
    ax.set_ylabel(f"distinct genuine reactors in next {report['horizon_days']} days (+1)")
    ax.set_title("Score vs future reach")
    fig.tight_layout()
    fig.savefig(scatter)
    plt.close(fig)
    bars = folder / "metrics-by-method.png"
    names = list(report["methods"])
    fig, axes = plt.subplots(1, len(metrics.METRICS), figsize=(3 * len(metrics.METRICS), 3.6), dpi=110, sharey=False)
    for ax, metric in zip(axes, metrics.METRICS):
        values = [report["methods"][n][metric] for n in names]
        lows = [values[i] - report["intervals"][n][metric]["low"] for i, n in enumerate(names)]
        highs = [report["intervals"][n][metric]["high"] - values[i] for i, n in enumerate(names)]
        colors = ["#1f6f43" if n == "renown" else "#8a8f98" for n in names]
        # an m-out-of-n interval need not contain the full-sample estimate: draw what lies beyond it
        errors = np.clip(np.nan_to_num([lows, highs]), 0, None)
        ax.bar(range(len(names)), np.nan_to_num(values), yerr=errors, color=colors)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_title(metric)
    fig.tight_layout()
    fig.savefig(bars)
    plt.close(fig)
    return [scatter, bars]


def public(report: dict) -> dict:
    """The report without its raw arrays (what ``--json`` prints)."""
    return {k: v for k, v in report.items() if not k.startswith("_")}
