"""Customer-care triage that weighs reach but answers everyone.

Klout scores were used to answer influential complainers first — two-tier
customer service. renown's queue orders brand mentions by urgency, kind
(complaint, question, praise) and the author's reach *within the brand's own
audience*, and then guarantees a **response-time floor**: every message has a
deadline (its arrival plus the SLA of its urgency), waiting raises its
priority, and the scheduler never picks a message if doing so would make any
waiting message miss its deadline (it serves the earliest deadline instead).
Earliest-deadline-first is optimal for meeting deadlines, so whenever the team
can answer everyone in time, this queue does — whoever wrote.

The classifier is offline and explainable: a weighted lexicon with negation
("not happy" counts against), question marks and urgency cues; its confidence
is the softmax share of the winning class. No model download.
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown.appdb import Base, engine_for, has_database
from renown.appdb import now as utc_now

KINDS = ("complaint", "question", "praise", "other")
URGENCIES = ("low", "normal", "high", "critical")
#: Default SLA (hours to start handling) per urgency — the floor everyone gets.
SLA_HOURS = {"critical": 1.0, "high": 4.0, "normal": 24.0, "low": 72.0}
#: Weights of the priority: urgency level, kind, and reach (0–1 percentile in the audience).
WEIGHTS = {"urgency": 2.0, "kind": 1.5, "reach": 1.0, "ageing": 3.0}
KIND_WEIGHT = {"complaint": 1.0, "question": 0.7, "other": 0.3, "praise": 0.2}

LEXICON = {
    "complaint": {"broken": 2, "worst": 2, "terrible": 2, "awful": 2, "refund": 2, "never again": 2.5,
                  "disappointed": 2, "doesn't work": 2.5, "does not work": 2.5, "not working": 2.5,
                  "stopped working": 2.5, "charged": 1.5, "late": 1, "delayed": 1.5, "delay": 1, "missing": 1.5,
                  "damaged": 2, "cancel": 1.5, "rude": 2, "scam": 2.5, "angry": 2, "bug": 1.5, "crash": 1.5,
                  "crashes": 1.5, "error": 1.5, "outage": 2, "still waiting": 2.5, "unacceptable": 2.5, "hate": 2,
                  "wrong": 1.5, "lost": 1.5, "ridiculous": 2, "useless": 2, "failed": 1.5, "fails": 1.5,
                  "complaint": 2, "no response": 2, "nobody answers": 2.5, "waste": 2, "overcharged": 2.5,
                  "hacked": 2.5, "locked out": 2.5, "dangerous": 2.5, "caught fire": 2.5, "charged twice": 2.5},
    "question": {"how do i": 2.5, "how can i": 2.5, "how to": 2, "is there": 1.5, "can i": 1.5, "does it": 1.5,
                 "do you": 1.5, "when will": 2, "where can": 2, "what is": 1.5, "any way": 1.5, "anyone know": 2,
                 "wondering": 1.5, "is it possible": 2, "which": 1, "should i": 1.5},
    "praise": {"love": 2, "great": 1.5, "amazing": 2, "awesome": 2, "thanks": 1.5, "thank you": 2, "excellent": 2,
               "best": 1.5, "happy": 1.5, "fantastic": 2, "recommend": 2, "impressed": 2, "perfect": 2, "kudos": 2,
               "well done": 2, "brilliant": 2, "smooth": 1, "delighted": 2},
}
URGENCY_CUES = {"urgent": 3, "asap": 3, "immediately": 3, "emergency": 4, "right now": 2, "today": 1, "lawyer": 3,
                "legal action": 3, "fraud": 4, "stolen": 4, "hacked": 4, "security": 3, "charged twice": 3,
                "double charged": 3, "outage": 3, "locked out": 3, "can't log in": 2, "cannot log in": 2,
                "safety": 3, "danger": 4, "dangerous": 4, "fire": 4, "injured": 4, "medical": 3}
NEGATIONS = ("not", "never", "no", "hardly", "isn't", "wasn't", "aren't", "don't", "didn't")


@dataclass(frozen=True)
class Verdict:
    kind: str
    confidence: float
    urgency: str
    cues: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "confidence": round(self.confidence, 3), "urgency": self.urgency, "cues": list(self.cues)}


def _word(term: str) -> re.Pattern:
    """``term`` as whole words (not inside another word)."""
    return re.compile(r"(?<![\w'])" + re.escape(term) + r"(?![\w'])")


_PATTERNS = {kind: [(term, weight, _word(term)) for term, weight in terms.items()] for kind, terms in LEXICON.items()}
_URGENCY_PATTERNS = [(term, weight, _word(term)) for term, weight in URGENCY_CUES.items()]


@lru_cache(maxsize=65_536)
def classify(text: str) -> Verdict:
    """Kind (complaint, question, praise, other), confidence and urgency of one message
    (a pure function of the text, so repeated texts are classified once)."""
    lowered = " ".join((text or "").lower().split())
    scores = {k: 0.0 for k in LEXICON}
    cues: list[str] = []
    for kind, patterns in _PATTERNS.items():
        for term, weight, pattern in patterns:
            for at in (m.start() for m in pattern.finditer(lowered)):
                before = lowered[max(0, at - 20):at].split()[-2:]
                if kind == "praise" and any(w in NEGATIONS for w in before):
                    scores["complaint"] += weight  # "not happy", "never great"
                    cues.append(f"not {term}")
                else:
                    scores[kind] += weight
                    cues.append(term)
    if "?" in lowered:
        scores["question"] += 1.5 * min(lowered.count("?"), 2)
        cues.append("?")
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], KINDS.index(kv[0])))
    exps = {k: math.exp(v) for k, v in scores.items()} | {"other": math.exp(1.0)}
    kind = ranked[0][0] if ranked[0][1] > 0 else "other"
    confidence = exps[kind] / sum(exps.values())
    urgency_score = 0.0
    for term, weight, pattern in _URGENCY_PATTERNS:
        if pattern.search(lowered):
            urgency_score += weight
            cues.append(f"urgent: {term}")
    if "!!" in lowered:
        urgency_score += 1
    if urgency_score >= 4:
        urgency = "critical"
    elif urgency_score >= 2 or (kind == "complaint" and scores["complaint"] >= 5):
        urgency = "high"
    elif kind == "praise" or kind == "other":
        urgency = "low"
    else:
        urgency = "normal"
    return Verdict(kind, confidence, urgency, tuple(dict.fromkeys(cues)))


@dataclass
class Message:
    id: str
    author: str
    text: str
    arrived: datetime
    reach: float  # 0–1: the author's standing among the brand's audience (percentile)
    verdict: Verdict
    deadline: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = self.arrived + timedelta(hours=SLA_HOURS[self.verdict.urgency])


def _static_priority(message: Message) -> float:
    """The part of the priority that does not change while the message waits."""
    return (WEIGHTS["urgency"] * URGENCIES.index(message.verdict.urgency) + WEIGHTS["kind"] * KIND_WEIGHT[message.verdict.kind]
            + WEIGHTS["reach"] * message.reach)


def priority(message: Message, now: datetime) -> float:
    """Urgency, kind and reach, plus ageing: a message near its deadline outranks fresh ones."""
    waited = (now - message.arrived).total_seconds() / 3600
    return _static_priority(message) + WEIGHTS["ageing"] * min(1.0, waited / SLA_HOURS[message.verdict.urgency])


def simulate_queue(messages: list[Message], agents: int, handle_minutes: float, policy: str = "renown") -> list[dict]:
    """Serve ``messages`` with ``agents`` people who each take ``handle_minutes`` per message;
    returns, per message, when handling started and whether the SLA held.

    Policies, for the agent that comes free at ``now``:

    ``renown``
        the highest :func:`priority`, unless taking it would make a waiting message miss its
        deadline — then the earliest deadline. The check is exact: every agent is free within
        one handling time of ``now``, so serving the rest earliest-deadline-first starts the
        k-th of them at ``free[k mod agents] + (k div agents) × handle``.
    ``reach-first``
        the most influential author first (the two-tier queue, for comparison).
    ``fifo``
        oldest first.
    ``edf``
        earliest deadline first (meets every deadline whenever any order can; the yardstick).
    """
    import numpy as np

    step = handle_minutes * 60.0
    pending = sorted(messages, key=lambda m: (m.arrived, m.id))
    start = pending[0].arrived.timestamp() if pending else 0.0
    free_at = [start] * agents
    heapq.heapify(free_at)
    waiting: list[Message] = []  # in arrival order
    static: list[float] = []
    arrived: list[float] = []
    sla: list[float] = []
    deadline: list[float] = []
    served, i = [], 0
    while i < len(pending) or waiting:
        now = heapq.heappop(free_at)
        if not waiting and i < len(pending) and pending[i].arrived.timestamp() > now:
            now = pending[i].arrived.timestamp()
        while i < len(pending) and pending[i].arrived.timestamp() <= now:
            m = pending[i]
            waiting.append(m)
            static.append(_static_priority(m))
            arrived.append(m.arrived.timestamp())
            sla.append(SLA_HOURS[m.verdict.urgency] * 3600.0)
            deadline.append(m.deadline.timestamp())
            i += 1
        if policy == "fifo":
            pick = 0
        elif policy == "edf":
            pick = int(np.argmin(deadline))
        elif policy == "reach-first":
            pick = int(np.argmax([m.reach for m in waiting]))
        else:
            waited = now - np.array(arrived)
            score = np.array(static) + WEIGHTS["ageing"] * np.minimum(1.0, waited / np.array(sla))
            pick = int(np.argmax(score))
            if len(waiting) > 1:
                rest = np.sort(np.delete(np.array(deadline), pick))
                free = np.sort(np.maximum(np.array([*free_at, now + step]), now))
                k = np.arange(len(rest))
                starts = free[k % len(free)] + (k // len(free)) * step
                if not np.all(starts <= rest):
                    pick = int(np.argmin(deadline))
        chosen = waiting.pop(pick)
        for column in (static, arrived, sla, deadline):
            column.pop(pick)
        began = datetime.fromtimestamp(now, tz=chosen.arrived.tzinfo)
        served.append({"id": chosen.id, "author": chosen.author, "reach": chosen.reach, "kind": chosen.verdict.kind,
                       "urgency": chosen.verdict.urgency, "arrived": chosen.arrived, "started": began,
                       "wait_hours": (now - chosen.arrived.timestamp()) / 3600, "breach": now > chosen.deadline.timestamp()})
        heapq.heappush(free_at, now + step)
    return served


def fairness(served: list[dict], deciles: int = 10) -> list[dict]:
    """Response time and SLA breaches by the author's reach decile (1 = least reach)."""
    rows = []
    for d in range(deciles):
        low, high = d / deciles, (d + 1) / deciles
        group = [s for s in served if low <= s["reach"] < high or (d == deciles - 1 and s["reach"] == 1.0)]
        waits = sorted(s["wait_hours"] for s in group)
        rows.append({"decile": d + 1, "messages": len(group),
                     "mean_wait_hours": round(sum(waits) / len(waits), 2) if waits else None,
                     "p95_wait_hours": round(waits[min(len(waits) - 1, int(0.95 * (len(waits) - 1) + 0.5))], 2) if waits else None,
                     "max_wait_hours": round(waits[-1], 2) if waits else None,
                     "breaches": sum(1 for s in group if s["breach"])})
    return rows


POLICY_TEXT = ("Messages are ordered by urgency, kind (complaint, question, praise) and the author's reach among "
               "the brand's audience; waiting raises priority. Every message has a deadline (arrival + the SLA of "
               "its urgency), and a message is never picked if that would make another one miss its deadline: "
               "then the earliest deadline goes first. Reach can move you up the queue, never anyone else out of "
               "their SLA.")


def policy() -> dict:
    return {"sla_hours": dict(SLA_HOURS), "weights": dict(WEIGHTS), "kind_weights": dict(KIND_WEIGHT), "rule": POLICY_TEXT}


def reach_percentiles(store, audience: str | None = None, url: str | None = None) -> dict[str, float]:
    """Each scored account's standing (0–1: share of the reference group scoring below it),
    the reference group being the audience's members when one is given."""
    import numpy as np

    from renown.score import snapshots

    ranked = snapshots.ranking(snapshots.latest(store.root))
    accounts, scores = ranked.accounts, ranked.scores.astype(float)
    if audience:
        from renown.audience import member_accounts

        members = ranked.mask(member_accounts(store, audience, url))
        reference = np.sort(scores[members]) if members.any() else np.sort(scores)
    else:
        reference = np.sort(scores)
    below = np.searchsorted(reference, scores, side="left") / max(len(reference), 1)
    return dict(zip(accounts, below.tolist()))


def mentions(store, terms: list[str], since: datetime | None = None, until: datetime | None = None) -> list[tuple]:
    """Posts, replies, quotes and mentions whose text names the brand: (event_id, actor, text, created_at)."""
    if not terms:
        raise ValueError("name at least one brand term (handle, name or hashtag)")
    con = store.connect()
    rows = con.execute(
        """SELECT event_id, actor, text, created_at FROM events
           WHERE kind IN ('post', 'reply', 'quote', 'mention') AND text IS NOT NULL
             AND (? IS NULL OR created_at > ?) AND (? IS NULL OR created_at <= ?)
             AND EXISTS (SELECT 1 FROM unnest(?::VARCHAR[]) t(term) WHERE contains(lower(text), term))
           ORDER BY created_at, event_id""",
        [since, since, until, until, [t.lower() for t in terms]]).fetchall()
    con.close()
    return rows


def queue(store, terms: list[str], audience: str | None = None, since: datetime | None = None,
          now: datetime | None = None, limit: int = 50, url: str | None = None) -> dict:
    """The open brand mentions in the order one agent should take them now (not yet handled).

    Every customer who writes is in the queue: someone who opted out of scoring (or a minor, or anyone
    not opted in under an opted-in-only policy) is answered like everyone else, on the floor — their
    score is never used (reach 0, ``scored: false``), so opting out costs nobody their response time."""
    from renown.policy import scope

    rows = mentions(store, terms, since, now)
    done = handled(store, url)
    allowed = scope(store.root, url)
    reach = reach_percentiles(store, audience, url)
    waiting = [Message(e, a, t, c, reach.get(a, 0.0) if allowed.allows(a) else 0.0, classify(t)) for e, a, t, c in rows
               if e not in done]
    now = now or (max((m.arrived for m in waiting), default=None))
    # for one agent at ``now``: past-deadline messages first (earliest deadline first), then by priority
    overdue = sorted((m for m in waiting if m.deadline <= now), key=lambda m: (m.deadline, m.id))
    rest = sorted((m for m in waiting if m.deadline > now), key=lambda m: (-priority(m, now), m.arrived, m.id))
    ordered = (overdue + rest)[:limit]
    handles = store.handles([m.author for m in ordered])
    return {"policy": policy(), "now": now.isoformat() if now else None, "open": len(waiting),
            "items": [{"event_id": m.id, "author": m.author, "handle": handles.get(m.author), "text": m.text,
                       "arrived": m.arrived.isoformat(), **m.verdict.as_dict(), "reach": round(m.reach, 3), "scored": allowed.allows(m.author),
                       "deadline": m.deadline.isoformat(), "due_in_hours": round((m.deadline - now).total_seconds() / 3600, 2),
                       "priority": round(priority(m, now), 3)} for m in ordered]}


def fairness_report(store, agents: int = 3, handle_minutes: float = 10.0, per_hour: float = 14.0, days: float = 7.0,
                    seed: int = 1, audience: str | None = None, url: str | None = None) -> dict:
    """The queue under load: a simulated mention stream from the scored population (anyone may
    write, whatever their reach), served by ``agents``, under renown's policy and, for
    comparison, reach-first and first-in-first-out. Response time and SLA breaches by decile."""
    from renown.errors import RenownError
    from renown.simulate import mention_stream

    from renown.simulate import MENTION_PEAK_SHARE

    capacity = agents * 60 / handle_minutes
    average = per_hour * (1 + MENTION_PEAK_SHARE)
    if average > capacity:
        raise RenownError(f"{per_hour:g} mentions an hour off-peak (doubled 17–22 h: {average:.1f} an hour on average) is "
                          f"more than {agents} agent(s) can handle ({capacity:g} an hour): the backlog grows without end "
                          f"and no policy meets an SLA; add agents")
    if per_hour * days * 24 > 30_000:
        raise RenownError("simulate at most about 30,000 mentions (per_hour × days × 24)")
    reach = reach_percentiles(store, audience, url)
    stream = mention_stream(sorted(reach.items()), days * 24, per_hour, seed)
    messages = [Message(i, a, t, at, r, classify(t)) for i, a, t, at, r in stream]
    result = {"messages": len(messages), "agents": agents, "handle_minutes": handle_minutes, "per_hour": per_hour,
              "days": days, "capacity_per_hour": agents * 60 / handle_minutes, "policy": policy(), "policies": {}}
    for name in ("renown", "reach-first", "fifo"):
        served = simulate_queue(messages, agents, handle_minutes, name)
        result["policies"][name] = {"breaches": sum(1 for s in served if s["breach"]), "by_decile": fairness(served)}
    return result


def handled(store, url: str | None = None) -> set[str]:
    if not has_database(store.root, url):
        return set()
    with Session(engine_for(store.root, url)) as session:
        return set(session.scalars(select(CareHandled.event_id)))


def mark_handled(store, event_ids: list[str], by: str, url: str | None = None) -> int:
    added = 0
    with Session(engine_for(store.root, url)) as session, session.begin():
        for event_id in dict.fromkeys(event_ids):
            if session.scalar(select(CareHandled).where(CareHandled.event_id == event_id)) is None:
                session.add(CareHandled(event_id=event_id, handled_by=by, handled_at=utc_now()))
                added += 1
    return added


class CareHandled(Base):
    """A brand mention someone answered: it leaves the queue."""

    __tablename__ = "care_handled"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(400), unique=True)
    handled_by: Mapped[str] = mapped_column(String(200))
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
