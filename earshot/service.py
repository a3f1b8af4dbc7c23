"""The running service: scheduled jobs wiring every area, and the ``run``, ``worker`` and ``demo`` commands.

Jobs (APScheduler 3.x ``BackgroundScheduler``, one job per source):

- ``crawl:<source>`` every ``sources[].interval``: the source's crawler from the
  stored cursor → :class:`~earshot.pipeline.Pipeline` → store; the new cursor
  is stored only after every item is stored, so a crash or a stop mid-run
  makes the next run fetch the same items again (ids make that idempotent);
- ``alerts`` every ``alerts.interval``: evaluate the rules, then deliver due
  notifications from the outbox (a send happens once per alert state);
- ``digest`` daily at ``alerts.digest_at`` (UTC), ``retention`` daily.

``earshot run`` runs the jobs and the API in one process; ``earshot worker``
runs the jobs only (``earshot serve``, from the api area, runs the API only).
SIGTERM/SIGINT stop taking new work, let the current batch finish and store,
then exit.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from earshot.config import Source, WatchConfig, parse_duration
from earshot.models import RawMention, SourceRun, utcnow

if TYPE_CHECKING:
    from earshot.pipeline import Pipeline, PipelineResult
    from earshot.settings import Settings
    from store.base import MentionStore

log = logging.getLogger(__name__)


# --- jobs ------------------------------------------------------------------------------------------------------


class _StoppablePipeline:
    """The pipeline as the crawl runner sees it, checking ``should_stop`` between batches."""

    def __init__(self, pipeline: Pipeline, should_stop: Callable[[], bool] | None, lock: threading.Lock | None) -> None:
        self.pipeline = pipeline
        self.should_stop = should_stop
        self.lock = lock

    def process(self, raws: Sequence[RawMention]) -> PipelineResult:
        if self.lock is None:
            return self.pipeline.process(raws, should_stop=self.should_stop)
        with self.lock:  # sources fetch in parallel; one batch at a time goes through the model
            return self.pipeline.process(raws, should_stop=self.should_stop)


def crawl_source(
    source: Source,
    config: WatchConfig,
    store: MentionStore,
    pipeline: Pipeline,
    settings: Settings,
    *,
    should_stop: Callable[[], bool] | None = None,
    pipeline_lock: threading.Lock | None = None,
) -> SourceRun:
    """One run of one source (``crawlers.runner.run_source``): crawl from the stored cursor, store, advance.

    When ``should_stop`` turns true the current batch is stored and the run
    ends without advancing the cursor, so the next run fetches the rest.
    Never raises for a source problem: the run record says what happened.
    """
    from crawlers.runner import run_source

    wrapped = _StoppablePipeline(pipeline, should_stop, pipeline_lock)
    outcome = run_source(source, config, store, wrapped, settings=settings)
    return outcome.run


def run_retention(config: WatchConfig, store: MentionStore, now: datetime | None = None) -> int:
    """Delete mentions published before ``now - retention``; 0 when no retention is configured."""
    from store.base import MentionFilter

    if not config.retention:
        return 0
    cut = (now or utcnow()) - parse_duration(config.retention)
    deleted = store.delete_mentions(MentionFilter(until=cut))
    log.info("retention_done before=%s deleted=%d", cut.isoformat(), deleted)
    return deleted


def evaluate_alerts(
    config: WatchConfig, store: MentionStore, now: datetime | None = None, settings: Settings | None = None
) -> list[Any]:
    """Evaluate the alert rules at ``now``, then deliver due notifications; returns the alert events."""
    try:
        from alerts.engine import AlertEngine
        from alerts.notifiers import build_notifiers
        from alerts.outbox import OutboxDispatcher
    except ImportError as exc:
        log.warning("alerts unavailable (%s); rules are not evaluated", exc)
        return []
    events: list[Any] = list(AlertEngine(store, config, settings=settings).evaluate(now))
    OutboxDispatcher(store, build_notifiers(config, settings)).dispatch(now)
    return events


def send_digest(
    config: WatchConfig, store: MentionStore, now: datetime | None = None, settings: Settings | None = None
) -> None:
    """Queue the daily digest and deliver it."""
    try:
        from alerts.engine import AlertEngine
        from alerts.notifiers import build_notifiers
        from alerts.outbox import OutboxDispatcher
    except ImportError as exc:
        log.warning("alerts unavailable (%s); no digest", exc)
        return
    AlertEngine(store, config, settings=settings).enqueue_digest(now)
    OutboxDispatcher(store, build_notifiers(config, settings)).dispatch(now)


class Worker:
    """The scheduled jobs of one process around one store and one pipeline.

    ``stop()`` (or SIGTERM) lets the batch being stored finish, stops the
    scheduler and waits for running jobs; nothing accepted is lost.
    """

    def __init__(
        self, config: WatchConfig, store: MentionStore, settings: Settings, *, pipeline: Pipeline | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.settings = settings
        self._pipeline = pipeline
        self._pipeline_lock = threading.Lock()  # one batch through the model at a time (stateful dedup, CPU)
        self._build_lock = threading.Lock()
        self.stopping = threading.Event()
        self.scheduler: Any = None

    @property
    def pipeline(self) -> Pipeline:
        with self._build_lock:  # two first crawls at once must not load the model twice
            if self._pipeline is None:
                from earshot.pipeline import build_pipeline

                self._pipeline = build_pipeline(self.config, self.store, batch_size=self.config.nlp.batch_size * 4)
            return self._pipeline

    # jobs
    def crawl(self, name: str) -> SourceRun | None:
        source = next((s for s in self.config.sources if s.name == name), None)
        if source is None or self.stopping.is_set():
            return None
        return crawl_source(
            source,
            self.config,
            self.store,
            self.pipeline,
            self.settings,
            should_stop=self.stopping.is_set,
            pipeline_lock=self._pipeline_lock,
        )

    def alerts(self) -> None:
        if not self.stopping.is_set():
            evaluate_alerts(self.config, self.store, settings=self.settings)

    def retention(self) -> None:
        run_retention(self.config, self.store)

    def run_once(self) -> list[SourceRun]:
        """Every enabled source once, then alerts (``earshot worker --once``, cron-style)."""
        runs = [r for s in self.config.sources if s.enabled and (r := self.crawl(s.name)) is not None]
        self.alerts()
        return runs

    # scheduling
    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        sched = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            executors={"default": {"type": "threadpool", "max_workers": 4}},
        )
        now = utcnow()
        for i, source in enumerate(s for s in self.config.sources if s.enabled):
            sched.add_job(
                self.crawl,
                "interval",
                args=[source.name],
                seconds=parse_duration(source.interval).total_seconds(),
                id=f"crawl:{source.name}",
                next_run_time=now + timedelta(seconds=i),  # first run now, staggered
            )
        if self.config.alerts.rules:
            try:
                from alerts.engine import AlertEngine
                from alerts.notifiers import build_notifiers
                from alerts.scheduler import add_alert_jobs

                add_alert_jobs(
                    sched,
                    AlertEngine(self.store, self.config, settings=self.settings),
                    notifiers=build_notifiers(self.config, self.settings),
                )
            except ImportError as exc:
                log.warning("alerts unavailable (%s); rules are not evaluated", exc)
        sched.add_job(self.retention, "cron", hour=3, minute=17, id="retention")
        sched.start()
        self.scheduler = sched
        log.info("worker_started jobs=%s", ",".join(j.id for j in sched.get_jobs()))

    def stop(self) -> None:
        self.stopping.set()
        if self.scheduler is not None:
            log.info("worker_stopping: finishing the current batch")
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        log.info("worker_stopped")


def _unscored_pipeline(config: WatchConfig, store: MentionStore) -> Pipeline:
    from earshot.pipeline import build_pipeline

    return build_pipeline(config, store, scorer=None, batch_size=config.nlp.batch_size * 4)


def _install_stop_handlers(event: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        log.info("signal_received signal=%s", signal.Signals(signum).name)
        event.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# --- commands ----------------------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add the service commands to the main app."""

    @app.command("worker")
    def worker(
        once: Annotated[bool, typer.Option("--once", help="run every source and the alerts once, then exit")] = False,
        no_sentiment: Annotated[
            bool, typer.Option("--no-sentiment", help="store mentions unscored (no model loaded)")
        ] = False,
    ) -> None:
        """Run the scheduled jobs (crawls, alerts, digest, retention) without the API."""
        from earshot.commands import cli_errors, current_config, open_cli_store
        from earshot.logging import setup_logging
        from earshot.settings import get_settings

        setup_logging()
        with cli_errors():
            config = current_config(required=True)
            assert config is not None
            settings = get_settings()
            with open_cli_store() as store:
                w = Worker(
                    config, store, settings, pipeline=_unscored_pipeline(config, store) if no_sentiment else None
                )
                if once:
                    runs = w.run_once()
                    for r in runs:
                        typer.echo(f"{r.source}: {r.status}, seen {r.seen}, new {r.new}, errors {r.errors}")
                    return
                _install_stop_handlers(w.stopping)
                w.start()
                try:
                    while not w.stopping.wait(1.0):
                        pass
                finally:
                    w.stop()

    @app.command("run")
    def run(
        host: Annotated[str | None, typer.Option(help="API bind address (default EARSHOT_API_HOST)")] = None,
        port: Annotated[int | None, typer.Option(help="API port (default EARSHOT_API_PORT)")] = None,
        no_sentiment: Annotated[
            bool, typer.Option("--no-sentiment", help="store mentions unscored (no model loaded)")
        ] = False,
    ) -> None:
        """The whole service in one process: scheduled crawls, alerts, digest, retention, and the API."""
        import uvicorn

        from earshot.commands import cli_errors, current_config, open_cli_store
        from earshot.logging import setup_logging
        from earshot.settings import get_settings

        setup_logging()
        with cli_errors():
            config = current_config(required=True)
            assert config is not None
            settings = get_settings()
            with open_cli_store() as store:
                from api.app import create_app

                w = Worker(
                    config, store, settings, pipeline=_unscored_pipeline(config, store) if no_sentiment else None
                )
                w.start()
                try:
                    api = create_app(settings, store=store, config=config)
                    server = uvicorn.Server(
                        uvicorn.Config(
                            api,
                            host=host or settings.api_host,
                            port=port or settings.api_port,
                            log_config=None,
                            access_log=False,
                        )
                    )
                    # uvicorn captures SIGTERM/SIGINT while serving and re-raises them once it has shut
                    # down; our handler then only sets the flag, so the worker below can finish its batch.
                    _install_stop_handlers(w.stopping)
                    server.run()
                finally:
                    w.stop()

    @app.command("demo")
    def demo(
        workdir: Annotated[
            Path, typer.Option(help="where the demo writes its store, config, alerts and report")
        ] = Path("var/demo"),
        days: Annotated[int, typer.Option(min=7, max=120, help="weeks of history to generate, in days")] = 28,
        per_day: Annotated[int, typer.Option(min=5, max=500, help="ordinary posts a day")] = 36,
        port: Annotated[int, typer.Option(help="API port (0: any free port)")] = 8765,
        serve: Annotated[
            float | None,
            typer.Option(help="keep the API up this many seconds after the summary (default: until Ctrl-C)"),
        ] = None,
        no_serve: Annotated[bool, typer.Option("--no-serve", help="exit right after the summary")] = False,
        no_sentiment: Annotated[bool, typer.Option("--no-sentiment", help="skip the model (faster)")] = False,
        seed: Annotated[int, typer.Option(help="world generator seed")] = 7,
    ) -> None:
        """The whole mission offline: local sources, real crawlers, sentiment, alerts, API and a report."""
        from earshot.commands import cli_errors
        from earshot.demo.runner import DemoOptions, run_demo
        from earshot.logging import setup_logging

        setup_logging(level="WARNING")
        opts = DemoOptions(
            workdir=workdir,
            days=days,
            per_day=per_day,
            port=port,
            seed=seed,
            serve_s=0.0 if no_serve else serve,
            sentiment=not no_sentiment,
        )
        with cli_errors():
            run_demo(opts)


def wait_for(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes (start-up checks)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()
