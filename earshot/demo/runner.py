"""``earshot demo``: the whole mission, offline, on the embedded store, in a few minutes.

Stages: generate the sample world → serve it from local stand-ins on
127.0.0.1 → write a watch config pointing at them → run the real crawlers →
pipeline (brand matching, canonical URLs, near-duplicates, language,
sentiment with the shipped model) → SQLite store → alert evaluation (the
incident fires one alert, routed by severity to a console and a file
notifier) → satisfaction report from the bundled sample survey and targets →
the API with a fresh demo key → a readable summary.

Each stage degrades on its own: if an area's module is missing or fails, the
stage says so in one line and the demo goes on.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.table import Table

from earshot.demo.world import ALIASES, BRAND, COMPETITORS, LANGUAGES, DemoWorld, generate_world

if TYPE_CHECKING:
    from earshot.config import WatchConfig
    from earshot.models import Alert, SourceRun
    from store.base import MentionStore

log = logging.getLogger(__name__)


def _samples_dir() -> Path:
    """The reports area's bundled sample survey and targets (works installed or from a checkout)."""
    from reports.samples import samples_dir

    return samples_dir()


ALERT_RULE = "nordlys-negative-spike"
#: API calls the summary suggests (each is checked against the running API before it is printed)
TRY_PATHS = (
    "/api/v1/mentions?q=charged&sentiment=negative&limit=5",
    "/api/v1/stats/timeline?interval=1h&brand=Nordlys",
    "/api/v1/stats/share-of-voice?brand=Nordlys",
    "/api/v1/alerts",
)


@dataclass
class DemoOptions:
    workdir: Path = Path("var/demo")
    days: int = 28
    per_day: int = 36
    port: int = 8765
    seed: int = 7
    serve_s: float | None = None  # None: until Ctrl-C; 0: not at all after the summary
    sentiment: bool = True
    now: datetime | None = None
    scorer: Any = None  # a SentimentScorer to use instead of the shipped model (tests)


@dataclass
class DemoResult:
    world: DemoWorld | None = None
    config_path: Path | None = None
    store_url: str = ""
    runs: dict[str, SourceRun] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    alert_file: Path | None = None
    report_paths: list[Path] = field(default_factory=list)
    report: dict[str, Any] | None = None
    api_url: str | None = None
    api_key: str | None = None
    api_checks: dict[str, int] = field(default_factory=dict)
    unscored_reasons: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Stages:
    """Prints one line per stage with its time; a failing stage is noted and skipped, never fatal."""

    def __init__(self, console: Console, result: DemoResult) -> None:
        self.console = console
        self.result = result

    @contextmanager
    def stage(self, name: str, required: bool = False) -> Iterator[Callable[[str], None]]:
        t0 = time.monotonic()
        notes: list[str] = []
        try:
            yield notes.append
        except ImportError as exc:
            if required:
                raise
            self._skip(name, f"module not available ({exc})")
            return
        except Exception as exc:
            if required:
                raise
            log.debug("demo stage failed", exc_info=True)
            self._skip(name, f"{type(exc).__name__}: {exc}")
            return
        took = time.monotonic() - t0
        self.console.print(f"[green]✓[/] {name}{': ' + '; '.join(notes) if notes else ''} [dim]({took:.1f} s)[/]")

    def _skip(self, name: str, why: str) -> None:
        self.result.skipped.append(f"{name}: {why}")
        self.console.print(f"[yellow]![/] {name}: skipped — {why}")


def demo_config(world: DemoWorld, urls: dict[str, str], workdir: Path) -> dict[str, Any]:
    """The watch config the demo writes: every source on the stand-ins, one spike rule, console + file."""
    # the API sources' first run reads the whole sample world, not only the default 3 days
    backfill = f"{world.days * 24 + 48}h"
    return {
        "version": 1,
        "brands": [
            {"name": BRAND, "aliases": ALIASES[BRAND], "competitors": list(COMPETITORS)},
            *({"name": c, "aliases": ALIASES[c], "own": False} for c in COMPETITORS),
        ],
        "topics": [
            {"name": "billing", "query": "bill* OR charged OR charge OR payment* OR debit OR refund OR factur*"},
            {"name": "app", "query": "app"},
        ],
        "sources": [
            {"name": "news", "kind": "feed", "interval": "15m", "urls": [urls["news"]]},
            {
                "name": "complaints",
                "kind": "reviews",
                "interval": "30m",
                "urls": [urls["complaints"]],
                "options": {"max_pages": 50},
            },
            {
                "name": "reddit",
                "kind": "reddit",
                "interval": "10m",
                "base_url": urls["reddit"],
                "subreddits": ["energy"],
                "backfill": backfill,
                "options": {"limit": 2000, "time_filter": "all", "ratelimit_seconds": 1},
            },
            {
                "name": "mastodon",
                "kind": "mastodon",
                "interval": "10m",
                "instances": [urls["mastodon"]],
                "hashtags": [BRAND.lower(), *(c.lower() for c in COMPETITORS)],
                "backfill": backfill,
                "options": {"max_pages": 100},
            },
            {
                "name": "hackernews",
                "kind": "hackernews",
                "interval": "30m",
                "base_url": urls["hackernews"],
                "backfill": backfill,
                "options": {"max_pages": 100},
            },
        ],
        "crawl": {
            "user_agent": "EarshotDemo/0.1",
            "contact": "demo@earshot.invalid",
            "download_delay_s": 0.0,
            "concurrency_per_domain": 4,
            "timeout_s": 15,
            "retries": 2,
        },
        "nlp": {"languages": list(LANGUAGES), "batch_size": 64, "dedup_window": "3d"},
        "alerts": {
            "interval": "1m",
            "rules": [
                {
                    "name": ALERT_RULE,
                    "brand": BRAND,
                    "metric": "negative_volume",
                    "bucket": "1h",
                    "detector": "seasonal",
                    "min_volume": 10,
                    "severity": "warning",
                    "severity_bands": [
                        {"min_score": 0, "severity": "warning"},
                        {"min_score": 25, "severity": "critical"},
                    ],
                    "cooldown": "6h",
                },
            ],
            "channels": {
                "console": {"kind": "console"},
                "incident-log": {"kind": "file", "path": str(workdir / "alerts.jsonl")},
            },
            "escalation": {
                "notice": ["console"],
                "warning": ["console", "incident-log"],
                "critical": ["console", "incident-log"],
            },
        },
        "reports": {
            "targets": str(workdir / "targets.yaml"),
            "min_n": 30,
            "language_regions": {"en": "EMEA", "de": "EMEA", "fr": "EMEA", "nl": "EMEA", "fi": "EMEA", "es": "LATAM"},
        },
    }


def _demo_settings(public_url: str) -> Any:
    from pydantic import SecretStr

    from earshot.settings import get_settings

    # the Reddit stand-in wants an app id/secret like the real OAuth endpoint; these are placeholders for it only
    return get_settings().model_copy(
        update={
            "public_url": public_url,  # alert links point at the demo's API
            "reddit_client_id": "earshot-demo",
            "reddit_client_secret": SecretStr("demo-only-secret"),
            "reddit_user_agent": "EarshotDemo/0.1 (demo@earshot.invalid)",
        }
    )


def run_demo(opts: DemoOptions, console: Console | None = None) -> DemoResult:
    """Run every stage; returns what happened (the e2e test reads it), printing progress and a summary."""
    console = console or Console()
    result = DemoResult()
    stages = _Stages(console, result)
    started = time.monotonic()
    workdir = opts.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm", "alerts.jsonl"):
        (workdir / stale).unlink(missing_ok=True)
    console.print(f"[bold]Earshot demo[/] — everything offline, working in {workdir}")

    fake: Any = None
    server: Any = None
    store: MentionStore | None = None
    try:
        with stages.stage("sample world", required=True) as note:
            world = generate_world(opts.now, days=opts.days, seed=opts.seed, per_day=opts.per_day)
            result.world = world
            note(
                f"{len(world.posts)} posts over {world.days} days about {BRAND} and {', '.join(COMPETITORS)}, "
                f"incident at {world.incident_start:%Y-%m-%d %H:%M} UTC ({len(world.incident_posts)} posts)"
            )

        with stages.stage("local sources", required=True) as note:
            from earshot.demo.servers import fake_world, source_urls

            fake = fake_world(world).start()
            urls = source_urls(fake)
            note(", ".join(f"{k} {v}" for k, v in urls.items()))

        with stages.stage("watch config", required=True) as note:
            from earshot.config import load_config

            cfg_path = workdir / "demo.yaml"
            cfg_path.write_text(
                "# Written by `earshot demo`: the sources point at the local stand-ins.\n"
                + yaml.safe_dump(demo_config(world, urls, workdir), sort_keys=False, allow_unicode=True),
                encoding="utf-8",
            )
            config = load_config(cfg_path)
            result.config_path = cfg_path
            note(str(cfg_path))

        with stages.stage("store", required=True) as note:
            from store import open_store

            result.store_url = f"sqlite:///{workdir / 'demo.db'}"
            store = open_store(result.store_url)
            store.open()
            note(result.store_url)

        with stages.stage("pipeline", required=True) as note:
            from earshot.pipeline import build_pipeline

            chosen: Any = opts.scorer if opts.scorer is not None else ("auto" if opts.sentiment else None)
            pipeline = build_pipeline(config, store, scorer=chosen, batch_size=256)
            parts = [f"matcher {'on' if pipeline.matcher else 'off'}"]
            for label, part in (
                ("canonical URLs", pipeline.canonicalizer),
                ("near-duplicates", pipeline.deduplicator),
                ("language id", pipeline.language_detector),
            ):
                parts.append(f"{label} {'on' if part is not None else 'missing'}")
            parts.append(
                f"sentiment {pipeline.scorer.model_name if pipeline.scorer else 'off: ' + pipeline.unscored_reason}"
            )
            note(", ".join(parts))

        sock = _free_socket(opts.port)
        settings = _demo_settings(f"http://127.0.0.1:{sock.getsockname()[1]}")
        _crawl(stages, config, store, pipeline, result, settings)
        _collect(store, result)
        _alerts(stages, config, store, result, workdir, settings)
        _report(stages, config, store, result, workdir)
        _api(stages, config, store, result, settings, sock)
        server = result.__dict__.pop("_server", None)
        result.seconds = time.monotonic() - started
        print_summary(console, result)
        if server is not None and opts.serve_s != 0:
            _serve(console, opts.serve_s)
        return result
    finally:
        if server is not None:
            server.should_exit = True
            thread = result.__dict__.pop("_server_thread", None)
            if thread is not None:
                thread.join(timeout=10)
        if fake is not None:
            fake.stop()
        if store is not None:
            store.close()


def _crawl(
    stages: _Stages, config: WatchConfig, store: MentionStore, pipeline: Any, result: DemoResult, settings: Any
) -> None:
    from earshot.service import crawl_source

    for source in config.sources:
        with stages.stage(f"crawl {source.name} ({source.kind})") as note:
            run = crawl_source(source, config, store, pipeline, settings)
            result.runs[source.name] = run
            if run.status in ("failed", "not_configured"):
                raise RuntimeError("; ".join(run.error_messages[:2]) or run.status)
            note(f"seen {run.seen}, new {run.new}, duplicates {run.duplicates}, errors {run.errors}")


def _collect(store: MentionStore, result: DemoResult) -> None:
    from earshot.commands import collect_stats
    from store.base import MentionFilter

    result.stats = collect_stats(store, MentionFilter())
    reasons: dict[str, int] = {}
    for m in store.iter_mentions(MentionFilter(sentiments=["unscored"])):
        reason = m.unscored_reason or "unknown"
        reasons[reason] = reasons.get(reason, 0) + 1
    result.unscored_reasons = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    for source in result.stats["by_source"]:
        counts: dict[str, int] = {}
        for bucket in store.timeline(MentionFilter(sources=[source]), 100 * 365 * 86400, split_by="sentiment"):
            for k, v in bucket.counts.items():
                counts[k] = counts.get(k, 0) + v
        result.per_source[source] = counts


def _alerts(
    stages: _Stages, config: WatchConfig, store: MentionStore, result: DemoResult, workdir: Path, settings: Any
) -> None:
    from earshot.service import evaluate_alerts

    with stages.stage("alerts") as note:
        world = result.world
        assert world is not None
        evaluate_alerts(config, store, now=world.now, settings=settings)
        result.alerts = store.list_alerts()
        result.alert_file = workdir / "alerts.jsonl"
        note(f"{len(result.alerts)} alert(s); file notifier wrote {result.alert_file}")


def _shift_year(value: str, years: int) -> str:
    """``YYYY-MM-DD`` moved by whole years (29 Feb → 28 Feb); anything else (the sample's bad rows) unchanged."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    try:
        return day.replace(year=day.year + years).isoformat()
    except ValueError:
        return day.replace(year=day.year + years, day=28).isoformat()


def aligned_samples(workdir: Path, year: int) -> tuple[Path, Path]:
    """The bundled sample survey and targets, moved by whole years so their last year is ``year``.

    The demo's web mentions are recent; shifting the survey lets the report
    put the web's voice beside the survey for the same year.
    """
    import csv

    samples = _samples_dir()
    with (samples / "survey.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    last = max(int(r[0][:4]) for r in rows[1:] if r and r[0][:4].isdigit() and r[0][4:5] == "-")
    shift = year - last
    survey = workdir / "survey.csv"
    with survey.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(rows[0])
        writer.writerows([_shift_year(r[0], shift), *r[1:]] if r else r for r in rows[1:])
    targets_data = yaml.safe_load((samples / "targets.yaml").read_text(encoding="utf-8")) or {}
    shifted = {(k + shift if isinstance(k, int) else k): v for k, v in targets_data.items()}
    targets = workdir / "targets.yaml"
    targets.write_text(
        f"# reports/samples/targets.yaml moved by {shift} year(s) for the demo\n"
        + yaml.safe_dump(shifted, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return survey, targets


def _report(stages: _Stages, config: WatchConfig, store: MentionStore, result: DemoResult, workdir: Path) -> None:
    with stages.stage("satisfaction report") as note:
        from reports.build import build_report

        world = result.world
        assert world is not None
        year = world.now.year
        survey, targets = aligned_samples(workdir, year)
        report = build_report(
            survey, targets, year, store=store, config=config, config_path=result.config_path, now=world.now
        )
        result.report = report
        from reports.render import write_outputs

        result.report_paths = write_outputs(report, workdir, formats=["json", "html"], stem=f"report-{year}")
        note(", ".join(str(p) for p in result.report_paths))


def _free_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.bind(("127.0.0.1", 0))  # the asked port is busy: any free one (the summary prints it)
    sock.listen(128)
    return sock


def _api(
    stages: _Stages,
    config: WatchConfig,
    store: MentionStore,
    result: DemoResult,
    settings: Any,
    sock: socket.socket,
) -> None:
    with stages.stage("API") as note:
        import httpx
        import uvicorn

        from api.app import create_app
        from api.security import new_api_key
        from earshot.service import wait_for

        secret, record = new_api_key("demo", ["read", "write"])
        store.save_api_key(record)
        app = create_app(settings, store=store, config=config)
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-api", daemon=True)
        thread.start()
        result.__dict__["_server"], result.__dict__["_server_thread"] = server, thread
        if not wait_for(lambda: server.started, 20):
            raise RuntimeError("the API did not start within 20 s")
        base = f"http://127.0.0.1:{port}"
        result.api_url, result.api_key = base, secret
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=base, timeout=10) as client:
            result.api_checks["/healthz"] = client.get("/healthz").status_code
            for path in TRY_PATHS:  # every URL the summary prints is checked here first
                result.api_checks[path] = client.get(path, headers=headers).status_code
        bad = {k: v for k, v in result.api_checks.items() if v != 200}
        note(
            f"{base}, {len(result.api_checks) - len(bad)} of {len(result.api_checks)} checks answered 200"
            + (f"; failing: {bad}" if bad else "")
        )


def _serve(console: Console, serve_s: float | None) -> None:
    if serve_s is None:
        console.print("[bold]The API stays up until you press Ctrl-C.[/]")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            console.print("stopping")
    else:
        console.print(f"The API stays up for {serve_s:.0f} s.")
        time.sleep(serve_s)


# --- summary -----------------------------------------------------------------------------------------------------


def print_summary(console: Console, r: DemoResult) -> None:
    console.rule("[bold]Earshot demo summary")
    total = r.stats.get("total", 0)
    table = Table(title="Mentions collected per source", title_justify="left")
    for col in ("source", "mentions", "negative", "neutral", "positive", "unscored"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for source, n in r.stats.get("by_source", {}).items():
        c = r.per_source.get(source, {})
        table.add_row(source, str(n), *(str(c.get(k, 0)) for k in ("negative", "neutral", "positive", "unscored")))
    console.print(table)
    split = r.stats.get("by_sentiment", {})
    if total:
        console.print(
            "Sentiment split: "
            + ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in split.items())
            + f"  ·  languages: {', '.join(f'{k} {v}' for k, v in r.stats.get('by_language', {}).items())}"
            + f"  ·  near-duplicates linked: {r.stats.get('duplicates', 0)}"
        )
        console.print("Brands: " + ", ".join(f"{k} {v}" for k, v in r.stats.get("by_brand", {}).items()))
        for reason, n in list(r.unscored_reasons.items())[:3]:
            console.print(f"Unscored {n}: {reason}", highlight=False)
    if r.alerts:
        for a in r.alerts:
            console.print(
                f"[bold red]ALERT[/] {a.rule} · {a.brand} · severity {a.severity.value} · {a.metric} "
                f"{a.observed:g} in the bucket from {a.bucket_start:%Y-%m-%d %H:%M} UTC "
                f"(expected ≈ {a.expected or 0:.1f})"
                if a.observed is not None and a.bucket_start is not None
                else f"[bold red]ALERT[/] {a.rule} · {a.brand} · severity {a.severity.value}"
            )
            for ev in _evidence_lines(a):
                console.print(f"    • {ev}", soft_wrap=True, highlight=False)
        if r.alert_file is not None and r.alert_file.exists():
            console.print(f"  notified: console (above) and file {r.alert_file}")
    else:
        console.print("No alert fired." if not any(s.startswith("alerts") for s in r.skipped) else "Alerts skipped.")
    if r.report:
        o, web = r.report.get("overall") or {}, (r.report.get("web_sentiment") or {}).get("year") or {}
        console.print(
            f"Satisfaction {r.report.get('year')}: CSAT {o.get('csat')}% (target {o.get('target')}, "
            f"{o.get('status')}), NPS {o.get('nps')}; web: {web.get('volume', 0)} mentions, "
            f"net sentiment {web.get('net_sentiment')}"
        )
    for p in r.report_paths:
        console.print(f"Report: {p}", soft_wrap=True)
    if r.api_url and r.api_key:
        key = r.api_key
        console.print(f"API: {r.api_url}  (docs: {r.api_url}/docs)   demo key: [bold]{key}[/]", soft_wrap=True)
        for path in TRY_PATHS:
            console.print(f"  curl -H 'Authorization: Bearer {key}' '{r.api_url}{path}'", soft_wrap=True)
    if r.config_path:
        console.print(
            f"CLI: earshot --store {r.store_url} --config {r.config_path} search 'nordlys AND charged' --limit 5",
            soft_wrap=True,
        )
    for s in r.skipped:
        console.print(f"[yellow]skipped[/] {s}")
    console.print(f"Done in {r.seconds:.0f} s.")


def _evidence_lines(alert: Alert) -> list[str]:
    ev = alert.evidence or {}
    lines: list[str] = []
    if ev.get("top_sources"):
        lines.append("by source: " + ", ".join(f"{k} {v}" for k, v in ev["top_sources"].items()))
    for m in (ev.get("top_mentions") or [])[:3]:
        if isinstance(m, dict):
            text = " ".join(str(m.get("text") or "").split())
            text = text if len(text) <= 100 else text[:99] + "…"
            lines.append(f"{m.get('source', '?')} (reach {m.get('reach', 0):g}): {text}")
    if ev.get("link"):
        lines.append(f"all mentions behind it: {ev['link']}")
    return lines
