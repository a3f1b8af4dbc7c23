"""The demo's sample world: a fictional energy retailer, two competitors, weeks of chatter and one PR incident.

Everything is generated from a seed, anchored to "now", so the demo always
shows recent data. The world is content only (:class:`DemoWorld`); the local
stand-in servers serve it (see :mod:`earshot.demo.servers`).

- **Nordlys** (the own brand), **Solvik** and **Brightwave** (competitors);
- ordinary daily chatter over ``days`` days in English, German, French,
  Dutch, Finnish and Spanish, with a day/night rhythm, on a news feed, a
  complaint/review site, Reddit, Mastodon and Hacker News;
- one PR incident in the last complete hour before "now": a billing error
  double-charges customers; a burst of distinct angry complaints plus reposts
  of some of them (near-duplicates: "RT …", added hashtags).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

BRAND = "Nordlys"
COMPETITORS = ("Solvik", "Brightwave")
ALIASES = {BRAND: ["Nordlys Energy"], "Solvik": ["Solvik Power"], "Brightwave": ["Brightwave Energy"]}
LANGUAGES = ("en", "de", "fr", "nl", "fi", "es")
SOURCES = ("news", "complaints", "reddit", "mastodon", "hackernews")


@dataclass
class Post:
    """One piece of content before a stand-in server turns it into its own format."""

    source: str  # one of SOURCES
    id: str
    text: str
    created_at: datetime
    author: str | None
    brand: str | None
    lang: str
    tone: str  # negative / neutral / positive (what the generator meant; the model decides what is stored)
    title: str | None = None
    rating: float | None = None
    channel: str | None = None
    kind: str = "post"
    incident: bool = False
    repost_of: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoWorld:
    now: datetime
    days: int
    posts: list[Post]
    incident_start: datetime
    incident_end: datetime

    def by_source(self, source: str) -> list[Post]:
        return [p for p in self.posts if p.source == source]

    @property
    def incident_posts(self) -> list[Post]:
        return [p for p in self.posts if p.incident]


# --- text templates: opener + core + detail, so generated posts are distinct, not near-duplicates ---------------

_CORE: dict[str, dict[str, list[str]]] = {
    "en": {
        "positive": [
            "{b} sorted out my meter reading in minutes, great support",
            "switched to {b} and my monthly bill actually went down, really happy",
            "the new {b} app makes it so easy to see my usage, love it",
            "{b} customer service was friendly and quick on the phone today",
            "credit where due: {b} fixed the smart meter problem the same day",
            "{b} green tariff is cheaper than I expected, impressed",
        ],
        "neutral": [
            "does anyone know if {b} offers a fixed tariff this winter",
            "{b} announced new prices for the next quarter",
            "comparing {b} with other suppliers for our new flat",
            "got a letter from {b} about the smart meter rollout in my street",
            "{b} is opening a service office in the city centre",
            "what is the {b} referral code thing everyone mentions",
        ],
        "negative": [
            "{b} estimated my bill again even though I sent a reading",
            "on hold with {b} for forty minutes, not impressed",
            "the {b} app keeps logging me out, so annoying",
            "{b} raised my direct debit without asking, poor service",
        ],
    },
    "de": {
        "positive": [
            "sehr zufrieden mit {b}, der Wechsel war einfach und schnell",
            "der Kundendienst von {b} hat mir heute super geholfen",
        ],
        "neutral": [
            "hat jemand Erfahrung mit dem Flex-Tarif von {b}",
            "{b} schickt neue Preisinformationen für das nächste Quartal",
        ],
        "negative": ["{b} hat meinen Abschlag ohne Grund erhöht, ärgerlich"],
    },
    "fr": {
        "positive": [
            "très contente du service client de {b}, réponse rapide",
            "passé chez {b} et ma facture a baissé, top",
        ],
        "neutral": [
            "quelqu'un a testé l'offre {b} pour l'hiver",
            "{b} annonce de nouveaux tarifs pour le trimestre prochain",
        ],
        "negative": ["{b} m'a envoyé une facture estimée encore une fois, pénible"],
    },
    "nl": {
        "positive": ["heel tevreden over {b}, snelle en vriendelijke hulp", "de app van {b} werkt echt prettig"],
        "neutral": [
            "weet iemand of {b} een vast contract aanbiedt",
            "{b} stuurt een brief over de nieuwe slimme meter",
        ],
        "negative": ["{b} heeft mijn termijnbedrag weer verhoogd, belachelijk"],
    },
    "fi": {
        "positive": [
            "olen tyytyväinen, {b} hoiti asian nopeasti ja ystävällisesti",
            "vaihdoin sähkösopimuksen ja {b} on ollut hyvä valinta",
        ],
        "neutral": [
            "onko kellään kokemusta yhtiöstä {b} ja sen kiinteästä sopimuksesta",
            "{b} lähetti tiedotteen uusista hinnoista",
        ],
        "negative": ["{b} arvioi kulutukseni taas väärin, huono palvelu"],
    },
    "es": {
        "positive": [
            "muy contento con {b}, el cambio fue rápido y fácil",
            "la atención al cliente de {b} fue excelente hoy",
        ],
        "neutral": [
            "alguien sabe si {b} tiene tarifa fija este invierno",
            "{b} anuncia nuevos precios para el próximo trimestre",
        ],
        "negative": ["{b} me envió otra factura estimada, qué pesadez"],
    },
}
_OPENERS = {
    "en": ["", "Honestly, ", "Quick update: ", "So ", "Well, ", "PSA: ", "Hmm, "],
    "de": ["", "Ehrlich gesagt: ", "Kurz: ", "Also ", "Update: "],
    "fr": ["", "Franchement, ", "Bon, ", "Petite info : ", "Alors "],
    "nl": ["", "Eerlijk gezegd: ", "Even dit: ", "Nou, ", "Update: "],
    "fi": ["", "Rehellisesti: ", "Pikainen päivitys: ", "No niin, "],
    "es": ["", "La verdad, ", "Aviso: ", "Bueno, ", "Pues "],
}
_DETAILS = {
    "en": [
        "in {city}",
        "after {n} years as a customer",
        "this {day}",
        "for our {home}",
        "on the {n}th",
        "with the {n} kWh plan",
        "",
        "",
    ],
    "de": ["in {city}", "seit {n} Jahren Kunde", "diese Woche", ""],
    "fr": ["à {city}", "client depuis {n} ans", "cette semaine", ""],
    "nl": ["in {city}", "al {n} jaar klant", "deze week", ""],
    "fi": ["{city}ssa", "{n} vuotta asiakkaana", ""],
    "es": ["en {city}", "cliente desde hace {n} años", "esta semana", ""],
}
_CITIES = ["Oslo", "Bergen", "Hamburg", "Lyon", "Utrecht", "Tampere", "Sevilla", "Leeds", "Bristol", "Graz"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_HOMES = ["flat", "house", "cabin", "shop", "office"]
_CLOSERS = {
    "positive": ["", " 👍", " :)", " Recommended.", " Nice."],
    "neutral": ["", " Thoughts?", " FYI."],
    "negative": ["", " 😠", " Sigh.", " Fix it please.", " Not good."],
}

# the incident: double charging after a billing system change; every complaint distinct
_INCIDENT_WHAT = [
    "{b} charged me twice this month",
    "{b} just took my direct debit two times",
    "double charged by {b} and no one answers the phone",
    "{b} billed me {n} euros twice",
    "my bank shows two payments to {b} today",
    "{b} took the money twice and the app says I owe more",
    "{b} drained my account with a duplicate payment",
    "got double charged by {b} again",
]
_INCIDENT_FEEL = [
    "absolutely furious",
    "this is a disgrace",
    "worst service ever",
    "I want my money back now",
    "terrible, simply terrible",
    "how is this even legal",
    "completely unacceptable",
    "rent is due and they took it twice",
    "support hung up on me",
    "never again",
    "awful company",
    "shocking incompetence",
]
_INCIDENT_TAIL = [
    "",
    "#{b}Fail",
    "Anyone else?",
    "Check your accounts!",
    "Thanks for nothing.",
    "@{b}help where is my refund",
    "Is there a refund?",
    "Posting so others check their bank.",
]
_HANDLES = [
    "kari",
    "ola",
    "ingrid",
    "lars",
    "mette",
    "jonas",
    "emma",
    "lucas",
    "sofia",
    "finn",
    "lea",
    "noah",
    "anna",
    "elias",
    "julia",
    "mats",
    "nora",
    "aksel",
    "sara",
    "tobias",
    "ida",
    "henrik",
    "maja",
    "vera",
]


def _floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


_QUESTION_STARTS = ("does ", "what ", "hat jemand", "quelqu'un", "weet iemand", "onko ", "alguien ")
# a second clause (English only: most of the chatter) so ordinary posts are not near-duplicates of each other
_CONTEXT_EN = [
    "",
    "",
    "my neighbour says the same",
    "third time this year",
    "the kids noticed too",
    "after the storm last week",
    "since we moved in",
    "according to my partner",
    "just saying",
    "before the holidays",
    "with the heating on",
    "while working from home",
    "same as my sister",
    "two weeks after switching",
    "and I read the small print",
]


def _sentence(rng: random.Random, lang: str, tone: str, brand: str) -> str:
    raw_core = rng.choice(_CORE[lang][tone])
    question = raw_core.casefold().startswith(_QUESTION_STARTS)
    core = raw_core.format(b=brand)
    detail = rng.choice(_DETAILS[lang]).format(
        city=rng.choice(_CITIES), n=rng.randint(2, 29), day=rng.choice(_DAYS), home=rng.choice(_HOMES)
    )
    text = rng.choice(_OPENERS[lang]) + core + (f" {detail}" if detail else "")
    if lang == "en" and not question:
        context = rng.choice(_CONTEXT_EN)
        text += f", {context}" if context else ""
    text = text[0].upper() + text[1:]
    closers = _CLOSERS[tone] if lang == "en" else [c for c in _CLOSERS[tone] if not any(ch.isalpha() for ch in c)]
    closer = "" if question else rng.choice(closers)
    return text.rstrip(".?") + ("?" if question else ".") + closer


def generate_world(now: datetime | None = None, *, days: int = 28, seed: int = 7, per_day: int = 36) -> DemoWorld:
    """A deterministic world for ``seed``: ``per_day`` ordinary posts a day over ``days`` days plus the incident."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    posts: list[Post] = []
    counters: dict[str, int] = {}

    def next_id(source: str) -> str:
        counters[source] = counters.get(source, 0) + 1
        n = counters[source]
        return {"reddit": f"d{n:05d}", "mastodon": str(110_000_000 + n), "hackernews": str(4_000_000 + n)}.get(
            source, f"{source[:1]}{n:05d}"
        )

    incident_start = _floor_hour(now) - timedelta(hours=1)
    incident_end = incident_start + timedelta(minutes=55)
    start = incident_start - timedelta(days=days)
    # Ordinary chatter: brand share 55/25/20 %, tone mix 40/40/20, language mix mostly English.
    brand_w = [(BRAND, 0.55), ("Solvik", 0.25), ("Brightwave", 0.20)]
    lang_w = [("en", 0.6), ("de", 0.12), ("fr", 0.1), ("nl", 0.07), ("fi", 0.05), ("es", 0.06)]
    tone_w = [("positive", 0.4), ("neutral", 0.4), ("negative", 0.2)]
    source_w = [("reddit", 0.32), ("mastodon", 0.3), ("complaints", 0.18), ("hackernews", 0.08), ("news", 0.12)]

    def pick(pairs: list[tuple[str, float]]) -> str:
        return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]

    for day in range(days):
        day_start = start + timedelta(days=day)
        n = max(1, int(rng.gauss(per_day, per_day * 0.15)))
        for _ in range(n):
            # a day/night rhythm: most posts between 07:00 and 23:00 UTC
            hour = rng.choices(
                range(24), weights=[1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 8, 7, 7, 7, 7, 8, 8, 7, 5, 3, 2]
            )[0]
            ts = day_start + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
            if ts >= incident_start:
                continue
            source = pick(source_w)
            brand = pick(brand_w)
            lang = pick(lang_w) if source not in ("hackernews", "news") else "en"
            tone = pick(tone_w)
            if source == "complaints":
                tone = rng.choices(["negative", "neutral", "positive"], weights=[0.35, 0.2, 0.45])[0]
            posts.append(_ordinary(rng, source, next_id(source), ts, brand, lang, tone))
        # a little off-topic noise that mentions no brand (the matcher drops it)
        if day % 3 == 0:
            ts = day_start + timedelta(hours=rng.randint(8, 20))
            posts.append(
                Post(
                    "reddit",
                    next_id("reddit"),
                    "Northern lights were amazing over Tromsø last night",
                    ts,
                    rng.choice(_HANDLES),
                    None,
                    "en",
                    "positive",
                    title="Aurora tonight",
                    channel="energy",
                    kind="submission",
                )
            )

    posts.extend(_incident(rng, incident_start, next_id))
    posts.sort(key=lambda p: p.created_at)
    _renumber(posts)
    return DemoWorld(now=now, days=days, posts=posts, incident_start=incident_start, incident_end=incident_end)


def _renumber(posts: list[Post]) -> None:
    """Ids in time order per source (Mastodon/Reddit/HN page by id), reposts re-pointed."""
    counters: dict[str, int] = {}
    mapping: dict[tuple[str, str], str] = {}
    for p in posts:
        counters[p.source] = counters.get(p.source, 0) + 1
        n = counters[p.source]
        new = {"reddit": f"d{n:05d}", "mastodon": str(110_000_000 + n), "hackernews": str(4_000_000 + n)}.get(
            p.source, f"{p.source[:1]}{n:05d}"
        )
        mapping[(p.source, p.id)] = new
        p.id = new
    for p in posts:
        if p.repost_of is not None:
            # originals of reposts may sit on any source; their ids were unique within it
            p.repost_of = next((v for (src, old), v in mapping.items() if old == p.repost_of), p.repost_of)


def _ordinary(rng: random.Random, source: str, pid: str, ts: datetime, brand: str, lang: str, tone: str) -> Post:
    text = _sentence(rng, lang, tone, brand)
    author = rng.choice(_HANDLES) + str(rng.randint(1, 99))
    title: str | None
    if source == "complaints":
        rating = {"negative": rng.choice([1.0, 2.0]), "neutral": 3.0, "positive": rng.choice([4.0, 5.0])}[tone]
        return Post(source, pid, text, ts, author, brand, lang, tone, title=f"{brand} review", rating=rating)
    if source == "news":
        title = {
            "positive": f"{brand} wins praise for its service",
            "neutral": f"{brand} updates tariffs",
            "negative": f"Customers question {brand} billing",
        }[tone]
        return Post(source, pid, text, ts, "Energy Desk", brand, "en", tone, title=title)
    if source == "reddit":
        kind = rng.choice(["submission", "comment"])
        title = f"{brand} question" if kind == "submission" else None
        return Post(
            source,
            pid,
            text,
            ts,
            author,
            brand,
            lang,
            tone,
            title=title,
            channel="energy",
            kind=kind,
            metrics={"score": rng.randint(1, 40), "comments": rng.randint(0, 12)},
        )
    if source == "mastodon":
        return Post(
            source,
            pid,
            f"{text} #{brand.lower()}",
            ts,
            author,
            brand,
            lang,
            tone,
            channel=brand.lower(),
            metrics={"favourites": rng.randint(0, 20), "reblogs": rng.randint(0, 5)},
        )
    kind = rng.choice(["story", "comment"])
    return Post(
        source,
        pid,
        text,
        ts,
        author,
        brand,
        "en",
        tone,
        title=f"{brand} on HN" if kind == "story" else None,
        kind=kind,
        metrics={"points": rng.randint(1, 80)},
    )


def _incident(rng: random.Random, t0: datetime, next_id: object) -> list[Post]:
    """Distinct angry complaints across sources in one hour, then reposts (near-duplicates) of some."""
    assert callable(next_id)
    out: list[Post] = []
    combos = [(w, f, t) for w in _INCIDENT_WHAT for f in _INCIDENT_FEEL for t in _INCIDENT_TAIL]
    rng.shuffle(combos)
    used_what: dict[str, int] = {}
    originals: list[Post] = []
    for what, feel, tail in combos:
        # at most 6 complaints per opening, so originals stay mutually distinct
        if used_what.get(what, 0) >= 6 or len(originals) >= 44:
            continue
        used_what[what] = used_what.get(what, 0) + 1
        text = f"{what.format(b=BRAND, n=rng.randint(40, 180))}. {feel.capitalize()}! {tail.format(b=BRAND)}".strip()
        source = rng.choices(["reddit", "mastodon", "complaints"], weights=[0.4, 0.4, 0.2])[0]
        ts = t0 + timedelta(minutes=5 + rng.randint(0, 48), seconds=rng.randint(0, 59))
        author = rng.choice(_HANDLES) + str(rng.randint(100, 999))
        pid = next_id(source)
        if source == "complaints":
            post = Post(
                source, pid, text, ts, author, BRAND, "en", "negative", title="Charged twice", rating=1.0, incident=True
            )
        elif source == "reddit":
            post = Post(
                source,
                pid,
                text,
                ts,
                author,
                BRAND,
                "en",
                "negative",
                title=f"{BRAND} double charge?",
                channel="energy",
                kind="submission",
                incident=True,
                metrics={"score": rng.randint(5, 300)},
            )
        else:
            post = Post(
                source,
                pid,
                f"{text} #{BRAND.lower()}",
                ts,
                author,
                BRAND,
                "en",
                "negative",
                channel=BRAND.lower(),
                incident=True,
                metrics={"reblogs": rng.randint(2, 60)},
            )
        originals.append(post)
    out.extend(originals)
    for orig in rng.sample(originals, 14):
        prefix = rng.choice(["RT ", "This! ", "Same here: ", ""])
        suffix = rng.choice([" #boycott", " 😡", " +1", " #nordlysfail"])
        ts = orig.created_at + timedelta(minutes=rng.randint(1, 6))
        if ts >= t0 + timedelta(minutes=59):
            ts = t0 + timedelta(minutes=58, seconds=rng.randint(0, 59))
        out.append(
            Post(
                "mastodon",
                next_id("mastodon"),
                f"{prefix}{orig.text}{suffix}",
                ts,
                rng.choice(_HANDLES) + str(rng.randint(1000, 9999)),
                BRAND,
                "en",
                "negative",
                channel=BRAND.lower(),
                incident=True,
                repost_of=orig.id,
            )
        )
    return out
