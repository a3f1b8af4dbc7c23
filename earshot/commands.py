"""Core subcommands: ``config check|schema``, ``ingest``, ``search``, ``stats``.

Every domain error (bad config, bad query, unreadable file, store failure)
becomes one line on stderr and exit code 2 (:func:`earshot.cli.fail`).
``ingest`` runs imported mentions through the same pipeline as crawled ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from earshot.errors import EarshotError, InputError, StoreError

if TYPE_CHECKING:
    from earshot.config import WatchConfig
    from earshot.models import Mention, RawMention
    from store.base import MentionFilter, MentionStore

log = logging.getLogger(__name__)

SENTIMENT_CHOICES = ("negative", "neutral", "positive")
_RAW_FIELDS = ("source", "source_id", "url", "author", "title", "text", "published_at", "rating", "metrics", "language")
MAX_REJECTS_SHOWN = 20
# fields of an exported Mention (`earshot search --json`) that the pipeline recomputes on import
_DERIVED_FIELDS = frozenset(
    {
        "id",
        "canonical_url",
        "site",
        "brands",
        "topics",
        "sentiment",
        "unscored_reason",
        "content_hash",
        "duplicate_of",
        "collected_at",
    }
)


# --- shared helpers (also used by earshot.service) ---------------------------------------------------------------


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn domain errors into the one-line ``error: …`` and exit code 2."""
    from earshot.cli import fail

    try:
        yield
    except EarshotError as exc:
        fail(str(exc))


def current_config(required: bool = False) -> WatchConfig | None:
    """The watch config from ``--config``/``EARSHOT_CONFIG``, or ``None`` when none is given."""
    from earshot.cli import STATE
    from earshot.config import load_config
    from earshot.settings import get_settings

    path = STATE.config_path or get_settings().config
    if path is None:
        if required:
            raise InputError("no watch config given; pass --config FILE or set EARSHOT_CONFIG")
        return None
    return load_config(path)


def store_url() -> str:
    from earshot.cli import STATE
    from earshot.settings import get_settings

    return STATE.store_url or get_settings().store_url()


def open_cli_store(url: str | None = None) -> MentionStore:
    """Open the store named by ``--store``/``EARSHOT_STORE`` (default: SQLite under the data dir)."""
    from store import open_store

    url = url or store_url()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        store = open_store(url)
        store.open()
    except EarshotError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot open store {redact_url(url)!r}: {exc}") from exc
    return store


def redact_url(url: str) -> str:
    from earshot.logging import redact

    return redact(url)


def parse_when(value: str | None, *, end: bool, option: str) -> datetime | None:
    """``--since``/``--until``: ISO date (a whole UTC day, inclusive), ISO datetime, or a duration ago (``7d``).

    For ``end=True`` a date-only value means the end of that day (exclusive
    bound = next midnight), so ``--until 2026-03-01`` includes all of 1 March.
    """
    if value is None:
        return None
    text = value.strip()
    from earshot.config import parse_duration
    from earshot.models import as_utc, utcnow

    try:
        return utcnow() - parse_duration(text)
    except ValueError:
        pass
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise InputError(
            f"{option} {value!r} is not a date; use YYYY-MM-DD, an ISO datetime, or a duration like 7d"
        ) from None


def build_filter(
    query: str | None = None,
    brand: list[str] | None = None,
    source: list[str] | None = None,
    lang: list[str] | None = None,
    sentiment: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    include_duplicates: bool = True,
) -> MentionFilter:
    from earshot.query import parse
    from store.base import MentionFilter

    for s in sentiment or []:
        if s not in (*SENTIMENT_CHOICES, "unscored"):
            raise InputError(f"--sentiment {s!r} is not one of negative, neutral, positive, unscored")
    lo = parse_when(since, end=False, option="--since")
    hi = parse_when(until, end=True, option="--until")
    if lo and hi and lo >= hi:
        raise InputError(f"--since {since!r} is not before --until {until!r}")
    return MentionFilter(
        query=parse(query) if query and query.strip() else None,
        brands=brand or None,
        sources=source or None,
        languages=lang or None,
        sentiments=sentiment or None,
        since=lo,
        until=hi,
        include_duplicates=include_duplicates,
    )


# --- ingest ----------------------------------------------------------------------------------------------------


@dataclass
class IngestReport:
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _validation_reason(exc: ValidationError, obj: dict[str, Any]) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "line"
    msg = err["msg"].removeprefix("Value error, ")
    value = obj.get(str(err["loc"][0])) if err["loc"] else None
    shown = f" (got {value!r})" if value is not None and not isinstance(value, dict | list) else ""
    more = f"; and {len(exc.errors()) - 1} more" if len(exc.errors()) > 1 else ""
    return f"{loc}: {msg}{shown}{more}"


def parse_jsonl_line(line: str) -> RawMention:
    """One JSONL export line → :class:`RawMention`; raises :class:`InputError` with the reason."""
    from earshot.models import RawMention

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in ("source", "text", "published_at") if obj.get(k) in (None, "")]
    if missing:
        raise InputError(f"missing required field(s) {', '.join(missing)}")
    known = {k: obj[k] for k in _RAW_FIELDS if k in obj and obj[k] is not None}
    extra = {k: v for k, v in obj.items() if k not in _RAW_FIELDS and k not in _DERIVED_FIELDS}
    if isinstance(obj.get("raw"), dict):
        extra.pop("raw")
        extra = {**obj["raw"], **extra}
    if "source_id" in known and not isinstance(known["source_id"], str):
        known["source_id"] = str(known["source_id"])
    try:
        return RawMention.model_validate({**known, "raw": extra})
    except ValidationError as exc:
        raise InputError(_validation_reason(exc, obj)) from None


def iter_jsonl(path: Path, report: IngestReport) -> Iterator[RawMention]:
    """Valid rows of ``path``; each bad line is recorded in ``report`` with its 1-based number and reason."""
    try:
        handle = path.open(encoding="utf-8", errors="strict")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        lineno = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                # the rest of the file cannot be trusted to be split into the same lines
                report.rejected.append((lineno + 1, f"not UTF-8 ({exc.reason}); the rest of the file is skipped"))
                return
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                raw = parse_jsonl_line(line)
            except InputError as exc:
                report.rejected.append((lineno, str(exc)))
                continue
            report.accepted += 1
            yield raw


# --- output ----------------------------------------------------------------------------------------------------


def _snippet(m: Mention, width: int = 90) -> str:
    text = " ".join(((m.title + " — ") if m.title else "").split() + m.text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def mention_json(m: Mention) -> str:
    return json.dumps(m.model_dump(mode="json", exclude={"raw"}), ensure_ascii=False)


# --- commands ----------------------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add the core commands to the main app."""
    config_app = typer.Typer(help="Check the watch config or write its JSON schema.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("check")
    def config_check(
        file: Annotated[Path, typer.Argument(help="watch config YAML")],
    ) -> None:
        """Validate a watch config: schema, references, every listening query."""
        from earshot.config import load_config
        from earshot.errors import ConfigError, QuerySyntaxError
        from earshot.matching import BrandMatcher
        from earshot.query import parse

        with cli_errors():
            cfg = load_config(file)
            try:
                BrandMatcher.from_config(cfg)
            except ConfigError as exc:
                raise ConfigError(str(exc), file=str(file)) from None
            for i, rule in enumerate(cfg.alerts.rules):
                if rule.query:
                    try:
                        parse(rule.query)
                    except QuerySyntaxError as exc:
                        raise ConfigError(str(exc), file=str(file), path=f"alerts.rules[{i}].query") from None
            try:
                from alerts.rules import compile_rules
            except ImportError:
                compile_rules = None  # type: ignore[assignment]  # the alerts area is optional here
            if compile_rules is not None:
                compile_rules(cfg, file=str(file))  # detector settings, quiet hours, severity bands
            for i, src in enumerate(cfg.sources):
                if src.query:
                    try:
                        parse(src.query)
                    except QuerySyntaxError as exc:
                        raise ConfigError(str(exc), file=str(file), path=f"sources[{i}].query") from None
        typer.echo(
            f"ok: {file}: {len(cfg.brands)} brands, {len(cfg.topics)} topics, {len(cfg.sources)} sources, "
            f"{len(cfg.alerts.rules)} alert rules, {len(cfg.alerts.channels)} channels"
        )

    @config_app.command("schema")
    def config_schema(
        output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    ) -> None:
        """Write the watch config's JSON schema (the committed copy is config/schema.json)."""
        from earshot.config import json_schema

        text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}")

    @app.command("ingest")
    def ingest(
        file: Annotated[Path, typer.Argument(help="JSON lines: source, text, published_at (+ source_id, url, …)")],
        no_sentiment: Annotated[
            bool, typer.Option("--no-sentiment", help="store unscored (skip loading the model)")
        ] = False,
        batch_size: Annotated[int, typer.Option(min=1, help="mentions per pipeline batch")] = 256,
    ) -> None:
        """Import mentions exported from elsewhere through the same pipeline as crawled ones.

        Every valid line is stored; each rejected line is reported with its
        number and reason, and the exit code is then 2.
        """
        from earshot.logging import setup_logging
        from earshot.pipeline import build_pipeline

        setup_logging()
        report = IngestReport()
        with cli_errors():
            if not file.is_file():
                raise InputError(f"{file}: no such file; pass a JSON-lines file")
            cfg = current_config()
            with open_cli_store() as store:
                pipeline = build_pipeline(cfg, store, scorer=None if no_sentiment else "auto", batch_size=batch_size)
                result = pipeline.process(iter_jsonl(file, report))
        for lineno, reason in report.rejected[:MAX_REJECTS_SHOWN]:
            typer.echo(f"error: {file}:{lineno}: {reason}", err=True)
        if len(report.rejected) > MAX_REJECTS_SHOWN:
            typer.echo(f"error: … and {len(report.rejected) - MAX_REJECTS_SHOWN} more rejected lines", err=True)
        typer.echo(
            f"accepted {report.accepted}, rejected {len(report.rejected)}; stored {result.stored} "
            f"(new {result.inserted}, unchanged {result.unchanged}), filtered {result.filtered} (no brand), "
            f"duplicates {result.duplicates}, unscored {result.unscored}, failed {result.failed}"
        )
        if report.rejected or result.failed:
            raise typer.Exit(2)

    @app.command("search")
    def search(
        query: Annotated[str, typer.Argument(help="listening query, e.g. 'acme AND (refund OR broken)'")] = "",
        brand: Annotated[list[str] | None, typer.Option("--brand", "-b", help="repeatable")] = None,
        source: Annotated[list[str] | None, typer.Option("--source", help="repeatable")] = None,
        lang: Annotated[list[str] | None, typer.Option("--lang", help="ISO 639-1, repeatable")] = None,
        sentiment: Annotated[list[str] | None, typer.Option("--sentiment", help="negative|neutral|positive")] = None,
        since: Annotated[str | None, typer.Option(help="YYYY-MM-DD (whole UTC day), ISO datetime or 7d")] = None,
        until: Annotated[str | None, typer.Option(help="YYYY-MM-DD (inclusive), ISO datetime")] = None,
        limit: Annotated[int, typer.Option(min=1, max=10000)] = 20,
        sort: Annotated[str, typer.Option(help="time or relevance")] = "time",
        no_duplicates: Annotated[bool, typer.Option("--no-duplicates", help="hide near-duplicates")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line")] = False,
    ) -> None:
        """Search stored mentions with a listening query and filters, newest first."""
        from store.base import SearchRequest, SortOrder

        with cli_errors():
            if sort not in ("time", "relevance"):
                raise InputError(f"--sort {sort!r} is not one of time, relevance")
            flt = build_filter(query, brand, source, lang, sentiment, since, until, not no_duplicates)
            with open_cli_store() as store:
                hits: list[Mention] = []
                cursor: str | None = None
                while len(hits) < limit:
                    order: SortOrder = "relevance" if sort == "relevance" else "time"
                    page = store.search(
                        SearchRequest(filter=flt, sort=order, limit=min(500, limit - len(hits)), cursor=cursor)
                    )
                    hits.extend(h.mention for h in page.hits)
                    if not page.next_cursor or not page.hits:
                        break
                    cursor = page.next_cursor
                total = page.total
        if as_json:
            for m in hits:
                typer.echo(mention_json(m))
            return
        _print_mentions(hits, total)

    @app.command("stats")
    def stats(
        query: Annotated[str, typer.Argument(help="optional listening query")] = "",
        brand: Annotated[list[str] | None, typer.Option("--brand", "-b")] = None,
        source: Annotated[list[str] | None, typer.Option("--source")] = None,
        since: Annotated[str | None, typer.Option(help="YYYY-MM-DD, ISO datetime or 7d")] = None,
        until: Annotated[str | None, typer.Option(help="YYYY-MM-DD (inclusive)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    ) -> None:
        """Counts of stored mentions by brand, source, sentiment and language."""
        with cli_errors():
            flt = build_filter(query, brand, source, None, None, since, until)
            with open_cli_store() as store:
                figures = collect_stats(store, flt)
        if as_json:
            typer.echo(json.dumps(figures, ensure_ascii=False))
            return
        _print_stats(figures)


def collect_stats(store: MentionStore, flt: MentionFilter) -> dict[str, Any]:
    """Total, duplicates and counts by brand/source/sentiment/language for ``flt``."""
    from dataclasses import replace

    total = store.count(flt)
    unique = store.count(replace(flt, include_duplicates=False))
    sentiment: dict[str, int] = {}
    # one bucket wide enough for any range: the sentiment split over everything
    for bucket in store.timeline(flt, interval_s=100 * 365 * 86400, split_by="sentiment"):
        for k, v in bucket.counts.items():
            sentiment[k] = sentiment.get(k, 0) + v
    return {
        "total": total,
        "duplicates": total - unique,
        "by_brand": dict(store.top(flt, "brand", size=100)),
        "by_source": dict(store.top(flt, "source", size=100)),
        "by_sentiment": {k: sentiment.get(k, 0) for k in (*SENTIMENT_CHOICES, "unscored") if k in sentiment},
        "by_language": dict(store.top(flt, "language", size=100)),
    }


def _print_mentions(hits: list[Mention], total: int | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=False, expand=True)
    table.add_column("published (UTC)", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("brands")
    table.add_column("sentiment", no_wrap=True)
    table.add_column("lang", no_wrap=True)
    table.add_column("mention", ratio=1, min_width=30)
    for m in hits:
        label = m.sentiment.label if m.sentiment else "—"
        style = {"negative": "red", "positive": "green"}.get(label, "")
        where = f" [dim]({m.site})[/]" if m.site else ""
        table.add_row(
            m.published_at.strftime("%Y-%m-%d %H:%M"),
            m.source,
            ", ".join(m.brands),
            f"[{style}]{label}[/]" if style else label,
            m.language,
            escape(_snippet(m, 160)) + where + (" [dim](duplicate)[/]" if m.duplicate_of else ""),
        )
    console = Console()
    console.print(table)
    shown = f"{len(hits)} of {total}" if total is not None else str(len(hits))
    console.print(f"{shown} mentions")


def _print_stats(figures: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"mentions: {figures['total']} (of which near/exact duplicates: {figures['duplicates']})")
    for key, title in (
        ("by_brand", "brand"),
        ("by_source", "source"),
        ("by_sentiment", "sentiment"),
        ("by_language", "language"),
    ):
        table = Table(title=f"by {title}", title_justify="left")
        table.add_column(title)
        table.add_column("mentions", justify="right")
        table.add_column("share", justify="right")
        for name, n in figures[key].items():
            share = f"{100 * n / figures['total']:.1f}%" if figures["total"] else "—"
            table.add_row(str(name), str(n), share)
        console.print(table)
