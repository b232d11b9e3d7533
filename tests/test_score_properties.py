"""Properties of the score model, proven on hand-made and random event logs."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renown.score import calibration
from renown.score.model import COMPONENTS, evidence
from synthetic import score_events, scores_of


def audience(target: str, people: int, posts: int = 3, kind: str = "reply", prefix: str = "fan") -> list[tuple]:
    """``target`` posts ``posts`` times; ``people`` distinct fans react to the first post."""
    rows = [(target, None, "post", 1 + i, f"{target}-p{i}", None) for i in range(posts)]
    rows += [(f"{prefix}{i}", target, kind, 1, f"{prefix}{i}-r", f"{target}-p0") for i in range(people)]
    return rows


def test_more_genuine_reactors_means_a_higher_score() -> None:
    small = scores_of(score_events(audience("a", 3)))["t:a"]
    large = scores_of(score_events(audience("a", 30)))["t:a"]
    assert 1 < small < large


def test_self_interaction_counts_for_nothing() -> None:
    rows = audience("a", 3)
    baseline = score_events(rows)
    z_of = lambda result: result.z[list(result.keys).index("t:a")]  # noqa: E731
    self_likes = score_events(rows + [("a", "a", "like", 1 + i / 50, None, "a-p0") for i in range(20)])
    assert np.isclose(z_of(self_likes), z_of(baseline))
    # a self-reply is just one more post of one's own: it can only dilute, never add
    self_reply = score_events(rows + [("a", "a", "reply", 2, "x", "a-p1")])
    assert z_of(self_reply) <= z_of(baseline)


def test_a_hundred_likes_from_one_person_are_worth_less_than_likes_from_ten() -> None:
    one = [("a", None, "post", 1, "p", None)] + [("fan", "a", "like", 1 + i / 100, None, "p") for i in range(100)]
    ten = [("a", None, "post", 1, "p", None)] + [(f"fan{i}", "a", "like", 1, None, "p") for i in range(10)]
    assert scores_of(score_events(one))["t:a"] < scores_of(score_events(ten))["t:a"]


def test_explanation_points_add_up_to_the_score() -> None:
    rows = audience("a", 12) + audience("b", 4, prefix="x") + [("a", "b", "reply", 2, "ab", "b-p0")]
    result = score_events(rows)
    for i in range(len(result.keys)):
        total = 1.0 + sum(result.points[c.name][i] for c in COMPONENTS)
        assert round(total, 1) == result.score[i]


def test_old_reactions_count_less_and_the_window_ends() -> None:
    recent = scores_of(score_events(audience("a", 10)))["t:a"]
    aged = [(a, t, k, d + 60 if k != "post" else d, p, q) for a, t, k, d, p, q in audience("a", 10)]
    assert scores_of(score_events(aged))["t:a"] < recent
    gone = [(a, t, k, d + 100, p, q) for a, t, k, d, p, q in audience("a", 10)]
    assert "t:a" not in scores_of(score_events(gone))


events = st.lists(
    st.tuples(st.integers(0, 11), st.integers(0, 11), st.sampled_from(["reply", "repost", "quote", "like", "mention"]),
              st.integers(0, 80)),
    min_size=1, max_size=60,
)


def as_rows(raw: list[tuple]) -> list[tuple]:
    rows = [(f"u{i}", None, "post", 1, f"u{i}-p", None) for i in range(12)]
    rows += [(f"u{a}", f"u{b}", kind, day, f"u{a}-{n}", f"u{b}-p") for n, (a, b, kind, day) in enumerate(raw)]
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events, kind=st.sampled_from(["reply", "repost", "like", "mention"]), target=st.integers(0, 11))
def test_one_more_genuine_reactor_never_lowers_the_score(raw, kind, target) -> None:
    rows = as_rows(raw)
    before = score_events(rows)
    after = score_events(rows + [("newcomer", f"u{target}", kind, 1, "nc", f"u{target}-p")])
    key = f"t:u{target}"
    index_before = list(before.keys).index(key)
    index_after = list(after.keys).index(key)
    assert after.exact[index_after] >= before.exact[index_before] - 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events, extra=st.integers(1, 40), target=st.integers(0, 11))
def test_posts_nobody_reacts_to_never_raise_the_score(raw, extra, target) -> None:
    rows = as_rows(raw)
    before = score_events(rows)
    after = score_events(rows + [(f"u{target}", None, "post", 1 + i % 30, f"spam{i}", None) for i in range(extra)])
    key = f"t:u{target}"
    was = before.exact[list(before.keys).index(key)]
    assert after.exact[list(after.keys).index(key)] <= was + 1e-9


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events)
def test_scoring_is_deterministic(raw) -> None:
    rows = as_rows(raw)
    first, second = score_events(rows), score_events(list(reversed(rows)))
    assert scores_of(first) == scores_of(second)
    assert np.array_equal(first.exact, second.exact)


def ring(size: int, client: str | None, prefix: str = "ring") -> list[tuple]:
    """``size`` accounts that post and like each other's posts, and like every post of ``client``."""
    members = [f"{prefix}{i}" for i in range(size)]
    rows = [(m, None, "post", 1 + d, f"{m}-p{d}", None) for m in members for d in range(3)]
    for m in members:
        for other in members:
            if other != m:
                rows += [(m, other, "like", 1 + d, None, f"{other}-p{d}") for d in range(3)]
        if client:
            rows += [(m, client, "like", 1 + d, None, f"{client}-p{d}") for d in range(3)]
            rows.append((m, client, "repost", 1, f"{m}-rp", f"{client}-p0"))
    return rows


def test_a_ring_of_fifty_barely_lifts_a_target_without_audience() -> None:
    target_posts = [("client", None, "post", 1 + d, f"client-p{d}", None) for d in range(3)]
    bystanders = audience("other", 15, prefix="z")
    alone = scores_of(score_events(target_posts + bystanders)).get("t:client", 1)
    boosted_result = score_events(target_posts + bystanders + ring(50, "client"))
    boosted = scores_of(boosted_result)["t:client"]
    assert boosted - alone <= 3
    ring_members = boosted_result.context.genuine.ring[[list(boosted_result.keys).index(f"t:ring{i}") for i in range(50)]]
    assert (ring_members >= 0).all()


def test_a_ring_of_fifty_barely_lifts_a_target_with_a_real_audience() -> None:
    real = audience("client", 25, posts=3)
    alone = scores_of(score_events(real))["t:client"]
    boosted = scores_of(score_events(real + ring(50, "client")))["t:client"]
    assert boosted - alone <= 3


def test_pure_boosters_that_never_post_are_caught_as_clones() -> None:
    target = [("client", None, "post", 1 + d, f"client-p{d}", None) for d in range(3)]
    helper = [("helper", None, "post", 1, "helper-p0", None)]
    boosters = [(f"b{i}", t, "like", 1 + d, None, f"{t}-p{d if t == 'client' else 0}")
                for i in range(30) for t in ("client", "helper") for d in range(3 if t == "client" else 1)]
    alone = scores_of(score_events(target + helper)).get("t:client", 1)
    result = score_events(target + helper + boosters)
    assert scores_of(result)["t:client"] - alone <= 3
    # and they are named for what they are: look-alikes, not a reciprocal ring (they never react to each other)
    booster = list(result.keys).index("t:b0")
    assert result.context.genuine.reasons(booster)[0] == "clones"
    labels = {label for block in evidence(result.context) if block.kind == "discount" for label in block.ref_label}
    assert labels and all(label.startswith("clones:") for label in labels)


def test_a_reciprocal_ring_is_named_a_ring() -> None:
    result = score_events(audience("client", 5) + ring(8, "client"))
    member = list(result.keys).index("t:ring0")
    assert result.context.genuine.reasons(member)[0] == "ring"
    labels = {label for block in evidence(result.context) if block.kind == "discount" for label in block.ref_label}
    assert labels and all(label.startswith("ring:") for label in labels)


def test_evidence_made_a_slice_of_accounts_at_a_time_is_the_evidence_made_at_once(monkeypatch) -> None:
    """The embedded engine makes the evidence of a few accounts' pairs at a time (bounded memory); every
    person and discount row is the one made from all pairs at once."""
    from renown.score import pairs

    result = score_events(audience("client", 5) + ring(8, "client") + audience("b", 9, prefix="x")
                          + [("a", "b", "reply", 2, "ab", "b-p0")] + audience("a", 4, prefix="y"))

    def rows() -> list[tuple]:
        made = []
        for block in evidence(result.context):
            refs = block.ref_node if block.ref_node is not None else block.ref_label
            made += [(block.component, int(a), int(r), float(w), str(ref)) for a, r, w, ref in
                     zip(block.account, block.rank, block.weight, refs)]
        return sorted(made)

    at_once = rows()
    sliced = []
    monkeypatch.setattr(pairs, "ROWS_CHUNK", 3)
    real = pairs.LocalPairs.rows_by

    def counted(self, *args):
        for chunk in real(self, *args):
            sliced.append(len(chunk["account"]))
            yield chunk

    monkeypatch.setattr(pairs.LocalPairs, "rows_by", counted)
    assert rows() == at_once and len(at_once) > 20
    assert len(sliced) > 5  # it did slice

def test_bot_signals_discount_and_are_reported() -> None:
    rows = audience("a", 5)
    bot_rows = [("spambot", f"v{i}", "like", 1 + (i * 2) / 86400, None, f"v{i}-p") for i in range(150)]
    bot_rows += [("spambot", "a", "like", 1, None, "a-p0")]
    result = score_events(rows + bot_rows, accounts=[("t:spambot", 3, True)])
    bot = list(result.keys).index("t:spambot")
    assert set(result.context.genuine.reasons(bot)) >= {"bot-flag", "burst", "reacts-to-everyone", "new-account"}
    assert result.context.genuine.g[bot] < 0.1


def test_calibration_is_monotone_bounded_and_concave_at_the_top() -> None:
    z = np.linspace(0, 60, 6001)
    s = calibration.calibrate(z)
    assert s[0] == 1.0 and (np.diff(s) >= 0).all() and (s < 100).all()
    median_z = calibration.KNOTS[3][0]
    slopes = np.diff(s[z >= median_z])
    assert (np.diff(slopes) <= 1e-9).all()  # concave from the median up: ever harder to climb
    assert calibration.calibrate(np.array([1e6]))[0] <= 100.0


def test_the_reference_knots_come_from_the_documented_quantiles() -> None:
    z = np.random.default_rng(1).lognormal(1.5, 0.6, 20_000)
    knots = calibration.knots_from(z)
    s = calibration.calibrate(z, knots)
    assert abs(np.median(s) - 22) < 0.5
    assert abs(np.quantile(s, 0.99) - 72) < 1


def test_steady_accounts_move_at_most_two_points_between_daily_snapshots() -> None:
    """Accounts whose behaviour does not change: every day each posts once and the
    same fans react. Scored on 30 consecutive days after the window has filled."""
    from datetime import timedelta

    from synthetic import AS_OF

    days = 160
    rows = []
    for name, fans, kind in (("big", 60, "like"), ("mid", 8, "reply"), ("small", 2, "repost"), ("quiet", 1, "like")):
        for day in range(days):
            post = f"{name}-{day}"
            rows.append((name, None, "post", day, post, None))
            for i in range(fans):
                if (day + i) % 3 == 0:  # each fan reacts every third day, staggered
                    rows.append((f"{name}-fan{i}", name, kind, day + 0.1, f"{name}-r{day}-{i}" if kind != "like" else None, post))
    previous = None
    for shift in range(30):
        as_of = AS_OF - timedelta(days=shift)
        shifted = [(a, t, k, d - shift, p, q) for a, t, k, d, p, q in rows if d - shift >= 0]
        current = scores_of(score_events(shifted, as_of=as_of))
        if previous is not None:
            for account in ("t:big", "t:mid", "t:small", "t:quiet"):
                assert abs(current[account] - previous[account]) <= 2, (account, shift)
        previous = current
    assert previous["t:big"] > previous["t:mid"] > previous["t:small"] >= previous["t:quiet"]


@settings(max_examples=60, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 15), st.integers(0, 15)).filter(lambda p: p[0] != p[1]), max_size=80),
       st.randoms(use_true_random=False))
def test_mutual_pairs_are_exactly_those_whose_reverse_exists(pairs, rng) -> None:
    from renown.score.gaming import is_mutual

    listed = list(pairs)
    rng.shuffle(listed)  # any order
    src = np.array([a for a, _ in listed], dtype=np.int64)
    dst = np.array([b for _, b in listed], dtype=np.int64)
    assert is_mutual(16, src, dst).tolist() == [(b, a) in pairs for a, b in listed]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.sampled_from([0.0, 1.0, 2.0])),
                min_size=1, max_size=80), st.integers(1, 4))
def test_evidence_picks_the_top_k_per_account_with_ties_broken_as_documented(rows, k) -> None:
    """The people behind a component: per account the k largest positive values, ties going to
    the larger tie-break and then to the lower row — the same rows in the same order as sorting
    each account's rows by hand (values and tie-breaks drawn from a few levels, so ties abound)."""
    from renown.score.model import _top_per_group

    rows = sorted(rows, key=lambda r: r[0])  # pairs arrive grouped by author
    group = np.array([r[0] for r in rows], dtype=np.int64)
    value = np.array([r[1] for r in rows])
    tiebreak = np.array([r[2] for r in rows])
    for (index, rank), with_tiebreak in zip(_top_per_group(group, [(value, tiebreak), (value, None)], k), (True, False)):
        expected = []
        for g in sorted(set(group.tolist())):
            mine = [i for i in range(len(rows)) if group[i] == g and value[i] > 0]
            mine.sort(key=lambda i: (-value[i], -tiebreak[i] if with_tiebreak else 0, i))
            expected += [(i, r + 1) for r, i in enumerate(mine[:k])]
        assert list(zip(index.tolist(), rank.tolist())) == expected
