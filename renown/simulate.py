"""A seeded synthetic social world, written in the real export formats.

``simulate()`` draws a population and its activity; ``write_dataset()`` writes
it as the files people actually have (twarc2 pages and flattened JSONL, an X
archive, Mastodon statuses and notifications, Bluesky Jetstream, Reddit
dumps, CSV) plus ``ground-truth.tsv``, so demos and tests exercise the whole
ingest path. The model, and its parameters (:data:`TYPES`):

* Each account has a home network, a *type* and a latent **influence**: the
  probability that one member of its audience acts on one of its posts.
* Audiences are heavy-tailed (Pareto follower counts) and topical: followers
  are drawn mostly from accounts sharing a topic.
* Posts follow a daily rhythm (evening peak); reactions follow their post
  after an exponential delay (mean 3 h).
* Types: ``ordinary``; ``expert`` (few posts, strong response); ``promoter``
  (many posts, weak response, same audience sizes as experts); ``brand``;
  ``bot`` (reacts to random posts of anyone, in bursts, young account);
  ``sybil`` (rings of fresh accounts reacting to each other and to a client).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from contextlib import contextmanager
import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import zstandard

NETWORKS = ("twitter", "mastodon", "bluesky", "reddit", "forum")
NETWORK_SHARE = (0.4, 0.2, 0.2, 0.15, 0.05)
TOPICS = ("ai", "climate", "football", "crypto", "cooking", "music", "python", "space", "health", "travel")
_WORDS = {
    "ai": "model training data inference agents benchmark",
    "climate": "emissions heat policy carbon solar floods",
    "football": "match goal league transfer keeper derby",
    "crypto": "token chain wallet staking exchange ledger",
    "cooking": "recipe bread oven spice dough broth",
    "music": "album tour guitar single chorus vinyl",
    "python": "typing asyncio packaging release wheel pandas",
    "space": "launch orbit rover telescope rocket mars",
    "health": "sleep running clinic vaccine diet study",
    "travel": "train flight hostel route border island",
}

#: type -> (share of population, influence range (log-uniform), posts per day, audience scale)
TYPES = {
    "ordinary": (0.83, (0.005, 0.04), 0.6, 1.0),
    "expert": (0.05, (0.08, 0.3), 0.25, 1.5),
    "promoter": (0.05, (0.001, 0.006), 8.0, 1.5),
    "brand": (0.01, (0.02, 0.06), 2.0, 4.0),
    "bot": (0.03, (0.0, 0.0), 4.0, 0.1),
    "sybil": (0.03, (0.0005, 0.002), 1.0, 0.1),
}
SYBIL_RING_SIZE = 10
#: The population `renown demo` generates (and the calibration's reference differs only by seed).
DEMO = {"accounts": 2000, "days": 30, "seed": 7}
#: Weekly snapshots the demo writes before its newest, so profiles have a history.
DEMO_WEEKS = 3
#: reaction kinds each network's exports can express, with relative weights
REACTIONS = {
    "twitter": (("repost", 0.45), ("reply", 0.3), ("quote", 0.1), ("mention", 0.15)),
    "mastodon": (("like", 0.55), ("repost", 0.2), ("reply", 0.2), ("mention", 0.05)),
    "bluesky": (("like", 0.6), ("repost", 0.2), ("reply", 0.12), ("quote", 0.05), ("mention", 0.03)),
    "reddit": (("reply", 0.95), ("mention", 0.05)),
    "forum": (("like", 0.5), ("reply", 0.5)),
}


@dataclass
class Person:
    index: int
    network: str
    kind: str
    influence: float
    post_rate: float
    topics: tuple[str, ...]
    created_at: datetime
    native_id: str = ""
    handle: str = ""
    name: str = ""
    audience: list[int] = field(default_factory=list)
    ring: int | None = None
    client: int | None = None
    website: str = ""  # public profile fields: the evidence identity linking weighs
    location: str = ""
    person: str = ""  # planted identity: accounts of one person share it


@dataclass
class Act:
    """One generated action. Posts (post, reply, quote, repost, mention) get a native id."""

    index: int
    kind: str
    actor: int
    time: datetime
    parent: int | None = None  # index of the act reacted to (a post)
    target: int | None = None  # person reacted to / mentioned / followed
    text: str = ""
    tags: tuple[str, ...] = ()
    native_id: str = ""
    deleted: bool = False


@dataclass
class Customer:
    """A customer of the simulated brand: maybe a social account, maybe only a CRM record."""

    customer_id: str
    person: int | None  # index into World.people, None for offline-only customers
    referrals: list[tuple[str, float, datetime]] = field(default_factory=list)  # (referred id, value, when)
    nps: tuple[int, datetime] | None = None
    offline_influence: float = 0.0  # planted: expected referrals per month


@dataclass
class World:
    seed: int
    start: datetime
    days: int
    people: list[Person]
    acts: list[Act]
    customers: list[Customer] = field(default_factory=list)


def _hour(rng: random.Random) -> float:
    """Hour of day with a morning bump and an evening peak (UTC, one audience)."""
    return (rng.gauss(20, 2.5) if rng.random() < 0.6 else rng.gauss(9, 2)) % 24


def simulate(accounts: int = 2000, days: int = 30, seed: int = 7, start: datetime | None = None,
             networks: tuple[str, ...] = NETWORKS) -> World:
    """Draw a population of ``accounts`` people and ``days`` of activity on ``networks``."""
    unknown = set(networks) - set(NETWORKS)
    if unknown or not networks:
        raise ValueError(f"networks must be among {', '.join(NETWORKS)}; got {', '.join(sorted(unknown)) or 'none'}")
    shares = {n: s for n, s in zip(NETWORKS, NETWORK_SHARE) if n in networks}
    rng = random.Random(seed)
    start = start or datetime(2026, 9, 1, tzinfo=timezone.utc)
    people: list[Person] = []
    kinds = list(TYPES)
    type_shares = [TYPES[k][0] for k in kinds]
    for i in range(accounts):
        kind = rng.choices(kinds, type_shares)[0]
        low, high = TYPES[kind][1]
        influence = 0.0 if high == 0 else math.exp(rng.uniform(math.log(low), math.log(high)))
        network = rng.choices(list(shares), list(shares.values()))[0]
        topics = tuple(rng.sample(TOPICS, 1 if kind == "expert" else rng.randint(1, 3)))
        age_days = rng.uniform(1, 20) if kind in ("bot", "sybil") else rng.uniform(200, 4000)
        people.append(Person(i, network, kind, influence, TYPES[kind][2] * rng.lognormvariate(0, 0.5), topics,
                             start - timedelta(days=age_days)))
    # sybil rings live on one network and serve one client of that network
    sybils = [p for p in people if p.kind == "sybil"]
    for ring_no in range(0, len(sybils), SYBIL_RING_SIZE):
        ring = sybils[ring_no : ring_no + SYBIL_RING_SIZE]
        network = ring[0].network
        clients = [p for p in people if p.network == network and p.kind in ("ordinary", "promoter")]
        client = rng.choice(clients).index if clients else None
        for member in ring:
            member.network, member.ring, member.client = network, ring_no, client
    _name_people(people, rng)
    _plant_identities(people, random.Random(seed + 3))  # its own stream: the rest of the world is unchanged
    by_network: dict[str, list[Person]] = {}
    for person in people:
        by_network.setdefault(person.network, []).append(person)
    for person in people:
        peers = [p for p in by_network[person.network] if p.index != person.index and p.kind not in ("bot", "sybil")]
        if not peers:
            continue
        size = min(len(peers), int(TYPES[person.kind][3] * 8 * rng.paretovariate(1.3)))
        topical = [p for p in peers if set(p.topics) & set(person.topics)]
        audience = set()
        while len(audience) < size:
            pool = topical if topical and rng.random() < 0.8 else peers
            audience.add(rng.choice(pool).index)
        person.audience = sorted(audience)
    acts = _activity(people, by_network, start, days, rng)
    customers = _customers(people, start, days, rng)
    return World(seed, start, days, people, acts, customers)


#: The simulated brand's customers: this share of genuine accounts, plus offline-only customers,
#: among them OFFLINE_REFERRERS who refer many others by word of mouth (the radio engineer).
CUSTOMER_SHARE = 0.15
OFFLINE_CUSTOMERS = 20
OFFLINE_REFERRERS = 1


def _customers(people: list[Person], start: datetime, days: int, rng: random.Random) -> list[Customer]:
    eligible = [p for p in people if p.kind in ("ordinary", "expert", "promoter")]
    chosen = rng.sample(eligible, int(len(eligible) * CUSTOMER_SHARE)) if eligible else []
    customers = [Customer(f"cust-{p.index}", p.index) for p in sorted(chosen, key=lambda p: p.index)]
    customers += [Customer(f"offline-{i}", None) for i in range(OFFLINE_CUSTOMERS)]
    for i, customer in enumerate(customers):
        referrer = customer.person is None and i >= len(customers) - OFFLINE_REFERRERS
        rate = rng.uniform(6, 10) if referrer else rng.choice([0.0, 0.0, 0.1, 0.3, 0.8])
        customer.offline_influence = rate
        for n in range(_poisson(rng, rate * days / 30)):
            value = rng.lognormvariate(10.5, 0.4) if referrer else rng.lognormvariate(6, 0.8)
            when = start + timedelta(days=rng.uniform(0, days))
            customer.referrals.append((f"{customer.customer_id}-ref{n}", round(value, 2), when))
        if rng.random() < 0.6:
            answer = 10 if referrer else min(10, max(0, int(rng.gauss(7.5, 2.2))))
            customer.nps = (answer, start + timedelta(days=rng.uniform(0, days)))
    return customers


#: Planted people with an account on both Twitter and Mastodon (same name, same website), and
#: look-alikes: different people given the same name but their own websites (must not be merged).
LINKED_PEOPLE = 12
LOOKALIKES = 6
_CITIES = ("Lyon", "Austin", "Pune", "Leeds", "Osaka", "Quito", "Accra", "Perth")


def _plant_identities(people: list[Person], rng: random.Random) -> None:
    for p in people:
        p.location = rng.choice(_CITIES) if rng.random() < 0.3 else ""
    pool = {n: [p for p in people if p.network == n and p.kind in ("ordinary", "expert")] for n in ("twitter", "mastodon")}
    pairs = list(zip(rng.sample(pool["twitter"], min(len(pool["twitter"]), LINKED_PEOPLE + LOOKALIKES)),
                     rng.sample(pool["mastodon"], min(len(pool["mastodon"]), LINKED_PEOPLE + LOOKALIKES))))
    for n, (tw, ma) in enumerate(pairs):
        ma.name = tw.name
        tw.website = f"https://{tw.handle}.example.net"
        if n < LINKED_PEOPLE:
            ma.website, ma.location = tw.website, tw.location
            tw.person = ma.person = f"person-{n}"
        else:
            ma.website = f"https://{ma.handle}.example.com"


def _name_people(people: list[Person], rng: random.Random) -> None:
    syllables = ["ka", "lo", "mi", "ra", "ne", "to", "vi", "su", "de", "an", "el", "or", "is", "ju", "po"]
    for p in people:
        base = "".join(rng.choice(syllables) for _ in range(3)) + str(p.index)
        p.handle = {"brand": f"{base}_hq", "bot": f"{base}bot", "sybil": f"{base}{rng.randint(1000, 9999)}"}.get(p.kind, base)
        p.name = base.capitalize() + (" Inc." if p.kind == "brand" else "")
        if p.network == "twitter":
            p.native_id = str(10_000_000 + p.index * 7919)
        elif p.network == "mastodon":
            p.native_id = str(100_000 + p.index)
        elif p.network == "bluesky":
            digest = f"{p.index * 2654435761 % 2**40:010x}{p.index:014x}"
            p.native_id = "did:plc:" + "".join("abcdefghijklmnopqrstuvwxyz234567"[int(c, 16) * 2] for c in digest)
        else:
            p.native_id = p.handle


def _text(rng: random.Random, topic: str, words: int = 8) -> str:
    vocab = _WORDS[topic].split()
    return " ".join(rng.choice(vocab) for _ in range(words))


def _activity(people: list[Person], by_network: dict, start: datetime, days: int, rng: random.Random) -> list[Act]:
    acts: list[Act] = []
    end = start + timedelta(days=days)
    bots = [p for p in people if p.kind == "bot"]

    def add(**kwargs) -> Act:
        act = Act(index=len(acts), **kwargs)
        acts.append(act)
        return act

    def react(reactor: Person, post: Act, author: Person, when: datetime, kind: str | None = None) -> None:
        if when >= end:
            return
        kind = kind or rng.choices(*zip(*REACTIONS[author.network]))[0]
        topic = post.tags[0] if post.tags else author.topics[0]
        if kind in ("like", "repost"):
            add(kind=kind, actor=reactor.index, time=when, parent=post.index, target=author.index)
        elif kind in ("reply", "quote"):
            add(kind=kind, actor=reactor.index, time=when, parent=post.index, target=author.index,
                text=_text(rng, topic), tags=(topic,) if rng.random() < 0.3 else ())
        else:  # mention in a new post
            add(kind="mention", actor=reactor.index, time=when, target=author.index, text=_text(rng, topic))

    ring_members: dict[int, list[Person]] = {}
    client_rings: dict[int, list[Person]] = {}
    for person in people:
        if person.kind == "sybil":
            ring_members.setdefault(person.ring, []).append(person)
            if person.client is not None:
                client_rings.setdefault(person.client, []).append(person)
    for day in range(days):
        base = start + timedelta(days=day)
        todays: list[tuple[Act, Person]] = []
        for person in people:
            if person.kind in ("bot", "sybil"):
                count = int(person.post_rate) if rng.random() < 0.5 else 0
            else:
                count = _poisson(rng, person.post_rate)
            for _ in range(count):
                topic = rng.choice(person.topics)
                when = base + timedelta(hours=_hour(rng), seconds=rng.random())
                post = add(kind="post", actor=person.index, time=when, text=_text(rng, topic, 12),
                           tags=(topic,) if rng.random() < 0.6 else ())
                todays.append((post, person))
        for post, author in todays:
            audience = author.audience
            if audience and author.influence > 0:
                for reactor_index in rng.sample(audience, _binomial(rng, len(audience), author.influence)):
                    react(people[reactor_index], post, author, post.time + timedelta(hours=rng.expovariate(1 / 3)))
        # bots react to anything, in bursts of a few seconds
        todays_by_network: dict[str, list[tuple[Act, Person]]] = {}
        for post, author in todays:
            todays_by_network.setdefault(author.network, []).append((post, author))
        for bot in bots:
            candidates = todays_by_network.get(bot.network, [])
            if not candidates:
                continue
            burst_at = base + timedelta(hours=rng.uniform(0, 23))
            for n, (post, author) in enumerate(rng.sample(candidates, min(len(candidates), 40))):
                if author.index == bot.index:
                    continue
                react(bot, post, author, max(burst_at, post.time) + timedelta(seconds=2 * n),
                      "like" if "like" in dict(REACTIONS[bot.network]) else None)
        # sybil rings react to every ring member's and their client's posts
        for post, author in todays:
            members = ring_members.get(author.ring, []) if author.kind == "sybil" else client_rings.get(author.index, [])
            for member in members:
                if member.index != author.index and rng.random() < 0.9:
                    react(member, post, author, post.time + timedelta(minutes=rng.uniform(1, 30)))
    # follows (audience edges observed on Bluesky) and a few retracted likes
    for person in people:
        if person.network == "bluesky":
            for follower in person.audience:
                add(kind="follow", actor=follower, time=start + timedelta(hours=rng.uniform(0, 24 * days)), target=person.index)
    for act in acts:
        if act.kind == "like" and people[act.actor].network == "bluesky" and rng.random() < 0.01:
            act.deleted = True
    acts.sort(key=lambda a: a.time)
    remap = {a.index: i for i, a in enumerate(acts)}
    for i, act in enumerate(acts):
        act.index = i
        if act.parent is not None:
            act.parent = remap[act.parent]
    for act in acts:
        act.native_id = _native_id(people[act.actor].network, act, rng)
    return acts


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    threshold, k, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n * p > 30:
        return min(n, max(0, int(rng.gauss(n * p, math.sqrt(n * p * (1 - p))) + 0.5)))
    return min(n, _poisson(rng, n * p))


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def _native_id(network: str, act: Act, rng: random.Random) -> str:
    micros = int(act.time.timestamp() * 1_000_000)
    if network == "twitter":
        return str(((micros // 1000 - 1288834974657) << 22) | (act.index & 0x3FFFFF))
    if network == "mastodon":
        return str(((micros // 1000) << 16) | (act.index & 0xFFFF))
    if network == "bluesky":
        value = (micros << 10) | (act.index & 0x3FF)
        return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))
    if network == "reddit":
        value, digits = act.index + 36**5, ""
        while value:
            value, r = divmod(value, 36)
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
        return digits
    return f"e{act.index}"


# -- writers -----------------------------------------------------------------

def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def write_dataset(world: World, out: Path) -> list[Path]:
    """Write ``world`` into ``out`` in every supported format; return the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    files += _write_twitter(world, out / "twitter")
    files += _write_mastodon(world, out / "mastodon")
    files += _write_bluesky(world, out / "bluesky")
    files += _write_reddit(world, out / "reddit")
    files += _write_forum_csv(world, out / "forum")
    files += _write_crm(world, out / "crm")
    files.append(write_truth(world, out / "ground-truth.tsv"))
    files.append(write_customers(world, out / "customers.tsv"))
    files.append(write_identities(world, out / "identities.tsv"))
    return files


def _write_crm(world: World, folder: Path) -> list[Path]:
    """The brand's CRM export as CSV events (network ``crm``): referrals and NPS answers."""
    rows = []
    for customer in world.customers:
        for referred, value, when in customer.referrals:
            rows.append([f"{referred}", "crm", "referral", customer.customer_id, referred, when.isoformat(), value, "", ""])
        if customer.nps:
            answer, when = customer.nps
            rows.append([f"nps-{customer.customer_id}", "crm", "nps", customer.customer_id, "", when.isoformat(), "",
                         answer, "great support" if answer >= 9 else ("slow delivery" if answer <= 6 else "")])
    if not rows:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "crm-events.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "network", "kind", "actor", "target", "created_at", "value", "score", "comment"])
        writer.writerows(rows)
    return [path]


def write_identities(world: World, path: Path) -> Path:
    """The planted identities: ``person``, ``account`` rows (also a links file for ``renown link import``)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["person", "account"])
        for p in world.people:
            if p.person:
                writer.writerow([p.person, f"{p.network}:{_key_id(p)}"])
    return path


def write_customers(world: World, path: Path) -> Path:
    """The brand's customer list for ``renown audience import`` (tab-separated, so that
    ingesting the dataset folder does not take it for events)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["customer_id", "email", "name", *NETWORKS])
        for customer in world.customers:
            handles = {n: "" for n in NETWORKS}
            name = customer.customer_id
            if customer.person is not None:
                person = world.people[customer.person]
                handles[person.network] = _key_id(person) if person.network != "reddit" else person.handle
                name = person.name
            writer.writerow([customer.customer_id, f"{customer.customer_id}@example.org", name, *handles.values()])
    return path


def write_truth(world: World, path: Path) -> Path:
    """The planted truth: one row per account (key, type, influence, topics, audience size)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["account", "type", "influence", "topics", "audience", "ring", "client"])
        for p in world.people:
            client = world.people[p.client] if p.client is not None else None
            writer.writerow([f"{p.network}:{_key_id(p)}", p.kind, f"{p.influence:.6f}", ";".join(p.topics),
                             len(p.audience), "" if p.ring is None else p.ring,
                             f"{client.network}:{_key_id(client)}" if client else ""])
        for c in world.customers:  # customers' CRM records: planted offline influence (referrals a month)
            kind = "referrer" if c.offline_influence >= 5 else "customer"
            writer.writerow([f"crm:{c.customer_id}", kind, f"{c.offline_influence:.6f}", "", 0, "", ""])
    return path


def _key_id(p: Person) -> str:
    return f"{p.handle.lower()}@{_instance(p)}" if p.network == "mastodon" else p.native_id


def _instance(p: Person) -> str:
    return ("mastodon.social", "fosstodon.org", "hachyderm.io")[p.index % 3]


@contextmanager
def _gzip(path: Path) -> Iterator[gzip.GzipFile]:
    """A gzip writer with a zero timestamp in its header: same seed, same bytes."""
    with open(path, "wb") as raw, gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0) as out:
        yield out


def _network_acts(world: World, network: str, folder: Path, exclude: tuple[str, ...] = ()) -> list[Act]:
    """The acts of ``network``'s accounts its exports can express; makes ``folder`` when there are any."""
    acts = [a for a in world.acts if world.people[a.actor].network == network and a.kind not in exclude]
    if acts:
        folder.mkdir(parents=True, exist_ok=True)
    return acts


# Twitter: most tweets as raw v2 pages, some flattened, plus one person's archive.

def _tw_user(p: Person) -> dict:
    user = {"id": p.native_id, "username": p.handle, "name": p.name, "created_at": _iso(p.created_at),
            "public_metrics": {"followers_count": len(p.audience) * 3 + 5, "following_count": 120,
                               "tweet_count": 900, "listed_count": 2}, "verified": False, "protected": False,
            "description": f"Into {', '.join(p.topics)}."}
    if p.website:
        user["url"] = p.website
    if p.location:
        user["location"] = p.location
    return user


def _tw_tweet(world: World, act: Act) -> dict:
    people, acts = world.people, world.acts
    author = people[act.actor]
    tweet = {"id": act.native_id, "author_id": author.native_id, "created_at": _iso(act.time),
             "conversation_id": act.native_id, "lang": "en", "edit_history_tweet_ids": [act.native_id],
             "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                                "bookmark_count": 0, "impression_count": 0}}
    entities: dict = {}
    text = act.text
    if act.kind == "repost":
        original = acts[act.parent]
        target = people[original.actor]
        text = f"RT @{target.handle}: {original.text}"[:140]
        tweet["referenced_tweets"] = [{"type": "retweeted", "id": original.native_id}]
        entities["mentions"] = [{"start": 3, "end": 4 + len(target.handle), "username": target.handle, "id": target.native_id}]
    elif act.kind == "reply":
        original = acts[act.parent]
        target = people[original.actor]
        text = f"@{target.handle} {act.text}"
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": original.native_id}]
        tweet["in_reply_to_user_id"] = target.native_id
        tweet["conversation_id"] = original.native_id
        entities["mentions"] = [{"start": 0, "end": 1 + len(target.handle), "username": target.handle, "id": target.native_id}]
    elif act.kind == "quote":
        original = acts[act.parent]
        text = f"{act.text} https://t.co/q{act.index}"
        tweet["referenced_tweets"] = [{"type": "quoted", "id": original.native_id}]
    elif act.kind == "mention":
        target = people[act.target]
        text = f"{act.text} cc @{target.handle}"
        start = len(act.text) + 4
        entities["mentions"] = [{"start": start, "end": start + 1 + len(target.handle), "username": target.handle, "id": target.native_id}]
    if act.tags and act.kind != "repost":
        text = f"{text} " + " ".join(f"#{t}" for t in act.tags)
        entities["hashtags"] = [{"start": 0, "end": 1 + len(t), "tag": t} for t in act.tags]
    tweet["text"] = text
    if entities:
        tweet["entities"] = entities
    return tweet


def _write_twitter(world: World, folder: Path) -> list[Path]:
    people = world.people
    acts = _network_acts(world, "twitter", folder, exclude=("like",))
    if not acts:
        return []
    flat = [a for a in acts if a.index % 5 == 0]
    paged = [a for a in acts if a.index % 5 != 0]
    pages_path, flat_path = folder / "search-pages.jsonl", folder / "flattened.jsonl.gz"
    with open(pages_path, "wb") as handle:
        for i in range(0, len(paged), 100):
            chunk = paged[i : i + 100]
            data = [_tw_tweet(world, a) for a in chunk]
            user_ids = {a.actor for a in chunk} | {world.acts[a.parent].actor for a in chunk if a.parent is not None}
            user_ids |= {a.target for a in chunk if a.kind == "mention"}
            originals = {a.parent for a in chunk if a.parent is not None}
            page = {
                "data": data,
                "includes": {"users": [_tw_user(people[u]) for u in sorted(user_ids)],
                             "tweets": [_tw_tweet(world, world.acts[o]) for o in sorted(originals)]},
                "meta": {"result_count": len(data), "newest_id": data[-1]["id"], "oldest_id": data[0]["id"],
                         "next_token": f"b26v89c19zqg8o3f{i:08d}"},
                "__twarc": {"url": "https://api.twitter.com/2/tweets/search/all?query=renown", "version": "2.14.0",
                            "retrieved_at": _iso(world.start + timedelta(days=world.days))},
            }
            handle.write(orjson.dumps(page) + b"\n")
    with _gzip(flat_path) as handle:
        for act in flat:
            tweet = _tw_tweet(world, act)
            tweet["author"] = _tw_user(people[act.actor])
            if act.parent is not None:
                original = world.acts[act.parent]
                inline = _tw_tweet(world, original)
                inline["author"] = _tw_user(people[original.actor])
                tweet["referenced_tweets"] = [{**tweet["referenced_tweets"][0], **inline}]
            if "in_reply_to_user_id" in tweet:
                tweet["in_reply_to_user"] = _tw_user(people[act.target])
            for mention in tweet.get("entities", {}).get("mentions", []):
                mention.update(_tw_user(people[act.target if act.kind == "mention" else world.acts[act.parent].actor]))
            tweet["__twarc"] = {"url": "https://api.twitter.com/2/tweets/search/all", "version": "2.14.0",
                                "retrieved_at": _iso(world.start + timedelta(days=world.days))}
            handle.write(orjson.dumps(tweet) + b"\n")
    return [pages_path, flat_path] + _write_archive(world, folder.parent / "twitter-archive", acts)


def _classic(dt: datetime) -> str:
    return dt.strftime("%a %b %d %H:%M:%S +0000 %Y")


def _write_archive(world: World, folder: Path, acts: list[Act]) -> list[Path]:
    """The archive of the most active twitter expert (its tweets overlap the API files: dedup)."""
    people = world.people
    owners = [p for p in people if p.network == "twitter" and p.kind in ("expert", "ordinary")]
    if not owners:
        return []
    owner = max(owners, key=lambda p: (p.kind == "expert", len(p.audience)))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    account = [{"account": {"email": f"{owner.handle}@example.org", "createdVia": "web", "username": owner.handle,
                            "accountId": owner.native_id, "createdAt": _iso(owner.created_at),
                            "accountDisplayName": owner.name}}]
    (data / "account.js").write_text("window.YTD.account.part0 = " + json.dumps(account, indent=2))
    tweets = []
    for act in (a for a in acts if a.actor == owner.index):
        v2 = _tw_tweet(world, act)
        mentions = [{"name": people[act.target].name if act.target is not None else "", "screen_name": m["username"],
                     "indices": [str(m["start"]), str(m["end"])], "id_str": m["id"], "id": m["id"]}
                    for m in v2.get("entities", {}).get("mentions", [])]
        tweet = {"edit_info": {"initial": {"editTweetIds": [act.native_id], "editableUntil": _iso(act.time),
                                           "editsRemaining": "5", "isEditEligible": True}},
                 "retweeted": False, "source": "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
                 "entities": {"hashtags": [{"text": t, "indices": ["0", "1"]} for t in act.tags if act.kind != "repost"],
                              "symbols": [], "user_mentions": mentions, "urls": []},
                 "display_text_range": ["0", str(len(v2["text"]))], "favorite_count": "0", "id_str": act.native_id,
                 "truncated": False, "retweet_count": "0", "id": act.native_id, "created_at": _classic(act.time),
                 "favorited": False, "full_text": v2["text"], "lang": "en"}
        if act.kind == "reply":
            original = world.acts[act.parent]
            tweet.update({"in_reply_to_status_id_str": original.native_id, "in_reply_to_status_id": original.native_id,
                          "in_reply_to_user_id": people[original.actor].native_id,
                          "in_reply_to_user_id_str": people[original.actor].native_id,
                          "in_reply_to_screen_name": people[original.actor].handle})
        if act.kind == "quote":
            original = world.acts[act.parent]
            tweet["entities"]["urls"] = [{"url": f"https://t.co/q{act.index}",
                                          "expanded_url": f"https://twitter.com/{people[original.actor].handle}/status/{original.native_id}",
                                          "display_url": f"twitter.com/{people[original.actor].handle}/…", "indices": ["0", "1"]}]
        tweets.append({"tweet": tweet})
    path = data / "tweets.js"
    path.write_text("window.YTD.tweets.part0 = " + json.dumps(tweets, indent=2))
    return [data / "account.js", path]


# Mastodon: statuses (posts, replies, reblogs, mentions) and favourite notifications.

def _m_account(p: Person) -> dict:
    instance = _instance(p)
    return {"id": p.native_id, "username": p.handle, "acct": p.handle if instance == "mastodon.social" else f"{p.handle}@{instance}",
            "display_name": p.name, "locked": False, "bot": p.kind == "bot", "discoverable": True, "group": False,
            "created_at": _iso(p.created_at.replace(hour=0, minute=0, second=0, microsecond=0)),
            "note": "<p></p>", "url": f"https://{instance}/@{p.handle}", "uri": f"https://{instance}/users/{p.handle}",
            "avatar": f"https://{instance}/avatars/original/missing.png", "header": "", "followers_count": len(p.audience),
            "following_count": 50, "statuses_count": 300, "last_status_at": "2026-09-30", "emojis": [],
            "fields": ([{"name": "Website", "value": f'<a href="{p.website}" rel="me nofollow noopener">{p.website}</a>',
                         "verified_at": None}] if p.website else [])
                      + ([{"name": "Location", "value": p.location, "verified_at": None}] if p.location else [])}


def _m_status(world: World, act: Act) -> dict:
    people = world.people
    author = people[act.actor]
    instance = _instance(author)
    status = {"id": act.native_id, "created_at": _iso(act.time), "in_reply_to_id": None, "in_reply_to_account_id": None,
              "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
              "uri": f"https://{instance}/users/{author.handle}/statuses/{act.native_id}",
              "url": f"https://{instance}/@{author.handle}/{act.native_id}", "replies_count": 0, "reblogs_count": 0,
              "favourites_count": 0, "edited_at": None, "content": "", "reblog": None,
              "application": {"name": "Web", "website": None}, "account": _m_account(author), "media_attachments": [],
              "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None}
    if act.kind == "repost":
        status["reblog"] = _m_status(world, world.acts[act.parent])
        return status
    html = act.text
    if act.kind in ("reply", "mention"):
        target = people[act.target]
        account = _m_account(target)
        status["mentions"] = [{"id": target.native_id, "username": target.handle, "url": account["url"], "acct": account["acct"]}]
        html = f'<span class="h-card"><a href="{account["url"]}" class="u-url mention">@<span>{target.handle}</span></a></span> {html}'
        if act.kind == "reply":
            status["in_reply_to_id"] = world.acts[act.parent].native_id
            status["in_reply_to_account_id"] = target.native_id
    if act.tags:
        html += " " + " ".join(f'<a href="https://{instance}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>' for t in act.tags)
        status["tags"] = [{"name": t, "url": f"https://{instance}/tags/{t}"} for t in act.tags]
    status["content"] = f"<p>{html}</p>"
    return status


def _write_mastodon(world: World, folder: Path) -> list[Path]:
    people = world.people
    acts = _network_acts(world, "mastodon", folder)
    if not acts:
        return []
    statuses = [_m_status(world, a) for a in acts if a.kind != "like"]
    notifications = [{"id": str(900_000 + a.index), "type": "favourite", "created_at": _iso(a.time), "group_key": f"favourite-{a.index}",
                      "account": _m_account(people[a.actor]), "status": _m_status(world, world.acts[a.parent])}
                     for a in acts if a.kind == "like"]
    paths = [folder / "statuses.json", folder / "notifications.json"]
    paths[0].write_bytes(orjson.dumps(statuses, option=orjson.OPT_INDENT_2))
    paths[1].write_bytes(orjson.dumps(notifications, option=orjson.OPT_INDENT_2))
    return paths


# Bluesky: one Jetstream capture, zstd-compressed.

def _bsky_uri(world: World, act: Act, collection: str = "app.bsky.feed.post") -> str:
    return f"at://{world.people[act.actor].native_id}/{collection}/{act.native_id}"


_BSKY_COLLECTION = {"post": "app.bsky.feed.post", "reply": "app.bsky.feed.post", "quote": "app.bsky.feed.post",
                    "mention": "app.bsky.feed.post", "like": "app.bsky.feed.like", "repost": "app.bsky.feed.repost",
                    "follow": "app.bsky.graph.follow"}


def _jetstream(world: World, act: Act, rng: random.Random) -> list[dict]:
    people = world.people
    actor = people[act.actor]
    collection = _BSKY_COLLECTION[act.kind]
    created = _iso(act.time)
    if act.kind in ("like", "repost"):
        record = {"$type": collection, "createdAt": created,
                  "subject": {"cid": "bafyreig" + act.native_id, "uri": _bsky_uri(world, world.acts[act.parent])}}
    elif act.kind == "follow":
        record = {"$type": collection, "createdAt": created, "subject": people[act.target].native_id}
    else:
        record = {"$type": collection, "createdAt": created, "langs": ["en"], "text": act.text}
        facets = []
        if act.kind == "reply":
            parent = {"cid": "bafyreih" + world.acts[act.parent].native_id, "uri": _bsky_uri(world, world.acts[act.parent])}
            record["reply"] = {"parent": parent, "root": parent}
        if act.kind == "quote":
            record["embed"] = {"$type": "app.bsky.embed.record",
                               "record": {"cid": "bafyreiq" + world.acts[act.parent].native_id, "uri": _bsky_uri(world, world.acts[act.parent])}}
        if act.kind == "mention":
            target = people[act.target]
            mention = f"@{target.handle}.bsky.social"
            record["text"] = f"{mention} {act.text}"
            facets.append({"$type": "app.bsky.richtext.facet", "index": {"byteStart": 0, "byteEnd": len(mention)},
                           "features": [{"$type": "app.bsky.richtext.facet#mention", "did": target.native_id}]})
        for tag in act.tags:
            start = len(record["text"].encode()) + 1
            record["text"] += f" #{tag}"
            facets.append({"$type": "app.bsky.richtext.facet", "index": {"byteStart": start, "byteEnd": start + 1 + len(tag)},
                           "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]})
        if facets:
            record["facets"] = facets
    time_us = int(act.time.timestamp() * 1_000_000) + rng.randint(100, 900_000)
    events = [{"did": actor.native_id, "time_us": time_us, "kind": "commit",
               "commit": {"rev": act.native_id, "operation": "create", "collection": collection, "rkey": act.native_id,
                          "record": record, "cid": "bafyrei" + act.native_id}}]
    if act.deleted:
        events.append({"did": actor.native_id, "time_us": time_us + 3_600_000_000, "kind": "commit",
                       "commit": {"rev": act.native_id + "d", "operation": "delete", "collection": collection, "rkey": act.native_id}})
    return events


def _write_bluesky(world: World, folder: Path) -> list[Path]:
    people = world.people
    acts = _network_acts(world, "bluesky", folder)
    if not acts:
        return []
    rng = random.Random(world.seed + 1)
    lines = []
    for person in (p for p in people if p.network == "bluesky"):
        lines.append((int(world.start.timestamp() * 1e6), {"did": person.native_id, "time_us": int(world.start.timestamp() * 1e6),
                      "kind": "identity", "identity": {"did": person.native_id, "handle": f"{person.handle}.bsky.social",
                                                       "seq": 1000 + person.index, "time": _iso(world.start)}}))
    for act in acts:
        for event in _jetstream(world, act, rng):
            lines.append((event["time_us"], event))
    lines.sort(key=lambda item: item[0])
    path = folder / "jetstream.jsonl.zst"
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
        for _, event in lines:
            out.write(orjson.dumps(event) + b"\n")
    return [path]


# Reddit: Pushshift-style submissions and comments.

def _write_reddit(world: World, folder: Path) -> list[Path]:
    people = world.people
    acts = _network_acts(world, "reddit", folder, exclude=("like", "repost", "quote", "follow"))
    if not acts:
        return []
    submissions, comments = folder / "RS_2026-09.ndjson", folder / "RC_2026-09.ndjson.gz"

    def root_of(act: Act) -> Act:
        while act.parent is not None:
            act = world.acts[act.parent]
        return act

    with open(submissions, "wb") as subs, _gzip(comments) as coms:
        for act in acts:
            author = people[act.actor]
            topic = act.tags[0] if act.tags else author.topics[0]
            common = {"author": author.handle, "created_utc": int(act.time.timestamp()), "subreddit": topic,
                      "subreddit_id": f"t5_{TOPICS.index(topic) + 100:x}", "score": 1, "id": act.native_id}
            if act.kind == "reply":
                parent = world.acts[act.parent]
                prefix = "t3_" if parent.kind in ("post", "mention") else "t1_"
                row = {**common, "body": act.text, "parent_id": prefix + parent.native_id,
                       "link_id": "t3_" + root_of(parent).native_id, "author_flair_text": None, "controversiality": 0}
                if act.index % 97 == 0:
                    row["created_utc"] = str(row["created_utc"])  # the dumps mix numbers and strings
                coms.write(orjson.dumps(row) + b"\n")
            else:
                body = act.text + (f" thanks u/{people[act.target].handle}" if act.kind == "mention" else "")
                row = {**common, "title": act.text[:40], "selftext": body, "num_comments": 0, "over_18": False,
                       "permalink": f"/r/{topic}/comments/{act.native_id}/", "url": f"https://www.reddit.com/r/{topic}/comments/{act.native_id}/"}
                subs.write(orjson.dumps(row) + b"\n")
        for n in range(3):  # deleted authors appear in every real dump
            coms.write(orjson.dumps({"author": "[deleted]", "body": "[deleted]", "id": f"zz{n}", "created_utc": int(world.start.timestamp()),
                                     "parent_id": "t3_" + acts[0].native_id, "link_id": "t3_" + acts[0].native_id, "subreddit": "ai"}) + b"\n")
    return [submissions, comments]


def _write_forum_csv(world: World, folder: Path) -> list[Path]:
    people = world.people
    acts = _network_acts(world, "forum", folder)
    if not acts:
        return []
    path = folder / "events.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "network", "kind", "actor", "target", "created_at", "post_id", "parent_post_id",
                         "text", "tags", "lang", "thread"])
        for act in acts:
            target = people[act.target].native_id if act.target is not None else ""
            parent = world.acts[act.parent].native_id if act.parent is not None else ""
            post_id = act.native_id if act.kind in ("post", "reply", "mention", "quote") else ""
            writer.writerow([act.native_id, "forum", act.kind, people[act.actor].native_id, target,
                             act.time.isoformat() if act.index % 2 else int(act.time.timestamp()), post_id, parent,
                             act.text, ";".join(act.tags), "en", f"thread-{act.parent or act.index}"])
    return [path]


__all__ = ["World", "Person", "Act", "simulate", "write_dataset", "write_truth", "TYPES", "TOPICS", "NETWORKS"]


#: Brand mentions for the care-triage simulation: (kind, text); urgent ones carry urgency cues.
MENTION_TEMPLATES = {
    "complaint": ("my order arrived damaged and nobody answers", "the app keeps crashing, this is unacceptable",
                  "still waiting for my refund after three weeks", "worst support ever, I was overcharged",
                  "delivery delayed again and the tracking is wrong", "the update is broken, useless now"),
    "question": ("how do i change my delivery address?", "is there a student discount?",
                 "when will the new model ship?", "can i return an opened box?", "does it work with older chargers?"),
    "praise": ("love the new update, great work", "thanks for the quick help, fantastic service",
               "the new boots are amazing, would recommend", "kudos to your support team, perfect"),
    "urgent": ("my account was hacked, help immediately", "charged twice for one order, fix this asap",
               "the charger caught fire, this is dangerous", "locked out of my account and it's urgent"),
}


#: The share of the day in the evening peak (17–22 h), when mentions come at twice the rate.
MENTION_PEAK_SHARE = 5 / 24


def mention_stream(authors: list[tuple[str, float]], hours: float, per_hour: float, seed: int = 0,
                   start: datetime | None = None) -> list[tuple[str, str, str, datetime, float]]:
    """Brand mentions ``(id, author, text, arrived, reach)`` arriving as a Poisson stream of
    ``per_hour`` an hour, doubled in the evening peak (17–22 h); authors are drawn uniformly (anyone can have a
    problem, whatever their reach): 45 % complaints, 25 % questions, 22 % praise, 8 % urgent."""
    rng = random.Random(seed)
    start = start or datetime(2026, 10, 1, tzinfo=timezone.utc)
    kinds, shares = ["complaint", "question", "praise", "urgent"], [0.45, 0.25, 0.22, 0.08]
    out, t, n = [], 0.0, 0
    peak = 2 * per_hour
    while True:
        t += rng.expovariate(peak)  # thinning: propose at the peak rate, keep by the hour's rate
        if t >= hours:
            return out
        hour = (start + timedelta(hours=t)).hour
        if rng.random() > (1.0 if 17 <= hour < 22 else 0.5):
            continue
        author, reach = authors[rng.randrange(len(authors))]
        kind = rng.choices(kinds, shares)[0]
        out.append((f"m{n}", author, rng.choice(MENTION_TEMPLATES[kind]), start + timedelta(hours=t), reach))
        n += 1
