"""Web sentiment beside the survey: the same groups and periods, from the mention store.

Only the :class:`store.base.MentionStore` contract is used (``timeline``, ``top``,
``search``), so every backend gives the same figures. Mentions are mapped to
survey groups like this:

* ``region``: a mention from a source configured with ``region:`` belongs to
  that region; otherwise its language decides through ``reports.language_regions``
  (``{de: EMEA, ja: APAC}``);
* ``product``: the brand's ``products`` aliases (a listening query built from them);
* ``brand``: the brand names themselves.

Other group columns (department, segment …) have no web counterpart and are
listed as such. Duplicates (``duplicate_of``) are left out, so a syndicated
story counts once. Daily buckets are summed into months, so months are exact
UTC calendar months on every backend.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reports.figures import pct, pearson, round_half_up

if TYPE_CHECKING:
    from earshot.config import WatchConfig
    from store.base import MentionFilter, MentionStore

log = logging.getLogger(__name__)

DAY_S = 86400
LABELS = ("positive", "neutral", "negative")
MIN_SCORED_FOR_CORRELATION = 10


@dataclass
class Counts:
    """Mention counts by sentiment label for one segment and period."""

    volume: int = 0
    by_label: dict[str, int] = field(default_factory=dict)

    def add(self, total: int, counts: Mapping[str, int]) -> None:
        self.volume += total
        for k, v in counts.items():
            self.by_label[k] = self.by_label.get(k, 0) + v

    @property
    def scored(self) -> int:
        return sum(self.by_label.get(label, 0) for label in LABELS)

    @property
    def net_sentiment(self) -> float | None:
        """(positive − negative) / all scored, in percent; ``None`` with nothing scored."""
        pos, neg = self.by_label.get("positive", 0), self.by_label.get("negative", 0)
        return pct(pos - neg, self.scored)

    @property
    def negative_share(self) -> float | None:
        return pct(self.by_label.get("negative", 0), self.scored)

    def as_dict(self) -> dict[str, Any]:
        return {
            "volume": self.volume,
            "scored": self.scored,
            "positive": self.by_label.get("positive", 0),
            "neutral": self.by_label.get("neutral", 0),
            "negative": self.by_label.get("negative", 0),
            "unscored": self.volume - self.scored,
            "net_sentiment": self.net_sentiment,
            "negative_share": self.negative_share,
        }


def _month_key(d: datetime) -> str:
    return f"{d.year}-{d.month:02d}"


def monthly_counts(store: MentionStore, flt: MentionFilter) -> dict[str, Counts]:
    """Month (``YYYY-MM``) → counts, from daily buckets (epoch-aligned days are UTC days)."""
    out: dict[str, Counts] = {}
    for bucket in store.timeline(flt, DAY_S, "sentiment"):
        start = bucket.start.astimezone(UTC)
        out.setdefault(_month_key(start), Counts()).add(bucket.total, bucket.counts)
    return out


def _sum(months: Mapping[str, Counts], year: int) -> Counts:
    total = Counts()
    for key, c in months.items():
        if key.startswith(f"{year}-"):
            total.add(c.volume, c.by_label)
    return total


def _quarter_sum(months: Mapping[str, Counts], year: int, q: int) -> Counts:
    total = Counts()
    for m in range(3 * q - 2, 3 * q + 1):
        c = months.get(f"{year}-{m:02d}")
        if c:
            total.add(c.volume, c.by_label)
    return total


def query_version(config: WatchConfig | None) -> str:
    """A short hash of everything that decides which mentions count for which group."""
    if config is None:
        return "no-config"
    payload = {
        "brands": [b.model_dump(mode="json") for b in config.brands],
        "language_regions": config.reports.language_regions,
        "source_regions": {s.name: s.region for s in config.sources if s.region},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _product_query(name: str, aliases: Sequence[str]) -> Any:
    from earshot.query import parse

    words = [a.strip() for a in (aliases or [name]) if a.strip()]
    parts = [f'"{w}"' if " " in w else w for w in (w.replace('"', "") for w in words)]
    return parse(" OR ".join(parts))


def web_sentiment(
    store: MentionStore,
    year: int,
    *,
    config: WatchConfig | None,
    groups: Mapping[str, Sequence[str]],
    survey_monthly_csat: Mapping[str, tuple[float | None, int]],
    survey_group_csat: Mapping[str, Mapping[str, float | None]],
    min_n: int,
) -> dict[str, Any]:
    """Web figures for ``year`` (previous year beside); see the module docstring for the mapping.

    ``groups``: survey group column → values seen; ``survey_monthly_csat``:
    ``YYYY-MM`` → (CSAT, n) over every month of the survey, for the correlation.
    """
    from store.base import MentionFilter

    notes: list[str] = []
    since = datetime(year - 1, 1, 1, tzinfo=UTC)
    until = datetime(year + 1, 1, 1, tzinfo=UTC)
    own = [b for b in (config.brands if config else []) if b.own]
    own_names = [b.name for b in own] or None
    competitor_names: list[str] = []
    for b in own:
        competitor_names += [c for c in b.competitors if c not in competitor_names]
    for b in config.brands if config else []:
        if not b.own and b.name not in competitor_names:
            competitor_names.append(b.name)
    if own_names is None:
        notes.append("no own brand configured: every stored mention counts as the brand")
    base = MentionFilter(brands=own_names, since=since, until=until, include_duplicates=False)

    months = monthly_counts(store, base)
    cur, prev = _sum(months, year), _sum(months, year - 1)
    month_rows = []
    for m in range(1, 13):
        c = months.get(f"{year}-{m:02d}", Counts())
        p = months.get(f"{year - 1}-{m:02d}", Counts())
        csat = survey_monthly_csat.get(f"{year}-{m:02d}", (None, 0))[0]
        month_rows.append({"period": f"{year}-{m:02d}", **c.as_dict(), "csat": csat,
                           "previous_year": {"period": f"{year - 1}-{m:02d}", **p.as_dict()}})
    quarter_rows = []
    for q in range(1, 5):
        c, p = _quarter_sum(months, year, q), _quarter_sum(months, year - 1, q)
        quarter_rows.append({"period": f"{year}-Q{q}", **c.as_dict(),
                             "previous_year": {"period": f"{year - 1}-Q{q}", **p.as_dict()}})

    group_out: dict[str, list[dict[str, Any]]] = {}
    for dimension, values in groups.items():
        filters = _group_filters(store, base, dimension, values, config, notes)
        if filters is None:
            continue
        rows = []
        for value in values:
            flts = filters.get(value, [])
            gm: dict[str, Counts] = {}
            for flt in flts:
                for k, c in monthly_counts(store, flt).items():
                    gm.setdefault(k, Counts()).add(c.volume, c.by_label)
            gc, gp = _sum(gm, year), _sum(gm, year - 1)
            rows.append({
                "group": value,
                **gc.as_dict(),
                "csat": survey_group_csat.get(dimension, {}).get(value),
                "change_net_sentiment": _delta(gc.net_sentiment, gp.net_sentiment),
                "previous_year": gp.as_dict(),
                "mapped": bool(flts),
            })
        group_out[dimension] = rows

    sov = _share_of_voice(store, since=datetime(year, 1, 1, tzinfo=UTC), until=until, own=own_names or [],
                          competitors=competitor_names, notes=notes)

    xs: list[float] = []
    ys: list[float] = []
    used: list[str] = []
    for key, (csat, n) in sorted(survey_monthly_csat.items()):
        mc = months.get(key)
        if csat is None or n < min_n or mc is None or mc.scored < MIN_SCORED_FOR_CORRELATION:
            continue
        net = mc.net_sentiment
        if net is None:
            continue
        xs.append(net)
        ys.append(csat)
        used.append(key)
    correlation = pearson(xs, ys)
    correlation["months"] = used
    correlation["series"] = "monthly web net sentiment (own brands) vs monthly CSAT"

    return {
        "available": True,
        "store": redact_url(getattr(store, "url", None)),
        "brands": own_names or [],
        "competitors": competitor_names,
        "year": {**cur.as_dict(), "period": str(year)},
        "previous_year": {**prev.as_dict(), "period": str(year - 1)},
        "change_net_sentiment": _delta(cur.net_sentiment, prev.net_sentiment),
        "month": month_rows,
        "quarter": quarter_rows,
        "groups": group_out,
        "share_of_voice": sov,
        "correlation": correlation,
        "models": sentiment_models(store, MentionFilter(brands=own_names, since=since, until=until)),
        "range": {"since": since.date().isoformat(), "until": until.date().isoformat(), "until_exclusive": True},
        "notes": notes,
    }


def redact_url(url: str | None) -> str | None:
    """The store URL without credentials (it goes into files that get mailed around)."""
    if not url or "@" not in url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round_half_up(a - b, 1)


def _group_filters(
    store: MentionStore,
    base: MentionFilter,
    dimension: str,
    values: Sequence[str],
    config: WatchConfig | None,
    notes: list[str],
) -> dict[str, list[MentionFilter]] | None:
    """Group value → filters whose union is that group (``None``: no web mapping for the column)."""
    from dataclasses import replace

    out: dict[str, list[MentionFilter]] = {}
    folded = {v.casefold(): v for v in values}
    if dimension == "region":
        lang_regions = config.reports.language_regions if config else {}
        source_regions = {s.name: s.region for s in (config.sources if config else []) if s.region}
        if not lang_regions and not source_regions:
            notes.append("region: no reports.language_regions and no source regions configured; no web figures")
            return None
        present = [s for s, _ in store.top(base, "source", size=10_000)]
        unregioned = [s for s in present if s not in source_regions]
        for value in values:
            flts: list[MentionFilter] = []
            srcs = [s for s, r in source_regions.items() if r.casefold() == value.casefold()]
            if srcs:
                flts.append(replace(base, sources=srcs))
            langs = [lang for lang, r in lang_regions.items() if r.casefold() == value.casefold()]
            if langs and (unregioned or not source_regions):
                flts.append(replace(base, languages=langs, sources=unregioned if source_regions else None))
            out[value] = flts
        unknown = sorted({r for r in [*lang_regions.values(), *source_regions.values()] if r.casefold() not in folded})
        if unknown:
            notes.append(f"region: web regions {', '.join(unknown)} have no survey group and are not shown")
        return out
    if dimension == "product":
        products: dict[str, list[str]] = {}
        for b in config.brands if config else []:
            if b.own:
                for name, aliases in b.products.items():
                    products.setdefault(name.casefold(), []).extend(aliases or [name])
        if not products:
            notes.append("product: no brand products configured; no web figures")
            return None
        for value in values:
            product_aliases = products.get(value.casefold())
            out[value] = [replace(base, query=_product_query(value, product_aliases))] if product_aliases else []
        return out
    if dimension == "brand":
        for value in values:
            out[value] = [replace(base, brands=[value])]
        return out
    notes.append(f"{dimension}: no web counterpart for this survey column")
    return None


def _share_of_voice(
    store: MentionStore, *, since: datetime, until: datetime, own: Sequence[str], competitors: Sequence[str],
    notes: list[str],
) -> list[dict[str, Any]]:
    from store.base import MentionFilter

    if not own or not competitors:
        notes.append("share of voice: needs an own brand with competitors in the config")
        return []
    rows = []
    for name in [*own, *competitors]:
        counts = Counts()
        for b in store.timeline(MentionFilter(brands=[name], since=since, until=until, include_duplicates=False),
                                DAY_S, "sentiment"):
            counts.add(b.total, b.counts)
        rows.append({"brand": name, "own": name in own, **counts.as_dict()})
    total = sum(r["volume"] for r in rows)
    for r in rows:
        r["share_of_voice"] = pct(r["volume"], total)
    return rows


def sentiment_models(store: MentionStore, flt: MentionFilter, sample: int = 500) -> list[str]:
    """Distinct sentiment model versions among the newest ``sample`` mentions of ``flt``."""
    from store.base import SearchRequest

    seen: dict[str, None] = {}
    try:
        page = store.search(SearchRequest(filter=flt, sort="time", limit=sample))
    except Exception as exc:  # provenance is best-effort; the figures above already succeeded
        log.warning("reports.web.models_unavailable error=%s", exc)
        return []
    for hit in page.hits:
        if hit.mention.sentiment is not None:
            seen.setdefault(hit.mention.sentiment.model, None)
    return sorted(seen)
