"""The alert engine: evaluate every rule on closed buckets, keep each alert's lifecycle, queue notifications.

One evaluation (:meth:`AlertEngine.evaluate`) does, for each rule and group:

1. read the last ``history`` *closed* buckets from the store (``timeline``;
   duplicates excluded unless the rule counts them) and turn them into the
   rule's metric (volume, negative volume, negative share, net sentiment; source
   silence comes from ``source_runs``);
2. run the rule's detector; the verdict on the last closed bucket decides;
3. move the alert with key ``rule|brand|group`` along its lifecycle
   (firing → acknowledged → resolved; a new episode re-opens a resolved alert
   inside its cooldown, else opens a new one), escalate when the severity rises
   (notice → relationship owner, warning → PR team, critical → senior
   management, as mapped by ``alerts.escalation``), attach the evidence, save it;
4. *enqueue* one outbox message per channel and alert state. Delivery is the
   dispatcher's job (:mod:`alerts.outbox`), so a slow channel never stalls this.

All state lives in the store, so a restarted engine carries on where it was and
never notifies the same alert state twice. Snoozed alerts and alerts inside the
cooldown update silently; quiet hours hold notices and warnings until they end.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from alerts.detectors import Detection, run_detector
from alerts.notifiers.base import Notification
from alerts.outbox import make_message
from alerts.rules import CompiledRule, compile_rules
from earshot.config import WatchConfig
from earshot.models import Alert, AlertStatus, Mention, Severity, utcnow
from earshot.settings import Settings, get_settings
from store.base import Bucket, MentionFilter, MentionStore, SearchRequest

log = logging.getLogger(__name__)

ENGINE = "engine"
NEGATIVE_METRICS = {"negative_volume", "negative_share", "net_sentiment"}
RATIO_METRICS = {"negative_share", "net_sentiment"}
LADDER_ROLE = {
    Severity.NOTICE: "relationship owner",
    Severity.WARNING: "PR team",
    Severity.CRITICAL: "senior management",
}
METRIC_LABEL = {
    "volume": "mentions",
    "negative_volume": "negative mentions",
    "negative_share": "negative share",
    "net_sentiment": "net sentiment",
    "source_silence": "silent buckets",
}
MAX_GROUPS = 20


@dataclass(frozen=True)
class AlertEvent:
    """What one evaluation did to one alert."""

    alert: Alert
    event: str  # opened, reopened, escalated, updated, resolved
    notified: tuple[str, ...] = ()


@dataclass(frozen=True)
class Series:
    starts: list[datetime]
    values: list[float]
    volumes: list[float]


def bucket_floor(t: datetime, bucket: timedelta) -> datetime:
    step = int(bucket.total_seconds())
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "?"
    if metric in RATIO_METRICS:
        return f"{v:.0%}" if metric == "negative_share" else f"{v:+.2f}"
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}"


class AlertEngine:
    """Evaluates the configured rules against a store. Cheap to build; no I/O in ``__init__``."""

    def __init__(
        self,
        store: MentionStore,
        config: WatchConfig,
        *,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = utcnow,
        config_file: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.settings = settings
        self.clock = clock
        self.rules = compile_rules(config, file=config_file)

    # ----------------------------------------------------------------------------------- evaluation
    def evaluate(self, now: datetime | None = None) -> list[AlertEvent]:
        """Evaluate every rule once; a failing rule is logged and skipped, never stops the others."""
        now = now or self.clock()
        events: list[AlertEvent] = []
        for crule in self.rules:
            try:
                events.extend(self.evaluate_rule(crule, now))
            except Exception:
                log.exception("event=rule_failed rule=%s", crule.name)
        return events

    def evaluate_rule(self, crule: CompiledRule, now: datetime) -> list[AlertEvent]:
        rule = crule.rule
        end = bucket_floor(now, crule.bucket)  # start of the open bucket: everything before is closed
        start = end - crule.bucket * crule.history
        if rule.metric == "source_silence":
            return self._silence(crule, now, end)
        base = self.base_filter(crule, start, end)
        groups: list[str | None] = [None]
        if rule.group_by:
            groups = [g for g, _ in self.store.top(base, rule.group_by, size=MAX_GROUPS)]
            # Groups that went quiet still need their open alerts resolved.
            for a in self.store.list_alerts(limit=500):
                if a.rule == rule.name and a.status != AlertStatus.RESOLVED and a.group not in groups:
                    groups.append(a.group)
        events: list[AlertEvent] = []
        for group in groups:
            flt = self._group_filter(crule, base, group)
            series = self.series(crule, flt, start, end)
            settings = dict(crule.detector_settings)
            if rule.metric in RATIO_METRICS:
                # the guard was applied to the volume when the ratio series was built
                settings["min_volume"] = 0
            extra: dict[str, Any] = {}
            if rule.detector == "seasonal":
                extra["interval_s"] = int(crule.bucket.total_seconds())
                if rule.metric in RATIO_METRICS:
                    extra["counts"] = False
            dets = run_detector(rule.detector, series.starts, series.values, settings, **extra)
            if not dets:
                continue
            ev = self._apply(crule, group, series, dets, now)
            if ev is not None:
                events.append(ev)
        return events

    def base_filter(self, crule: CompiledRule, since: datetime, until: datetime) -> MentionFilter:
        rule = crule.rule
        query = None
        if rule.query:
            from earshot.query import parse

            query = parse(rule.query)
        sentiments = ["negative"] if rule.metric == "negative_volume" else None
        return MentionFilter(
            query=query,
            brands=[rule.brand] if rule.brand else None,
            sentiments=sentiments,
            since=since,
            until=until,
            include_duplicates=rule.count_duplicates,
        )

    def _group_filter(self, crule: CompiledRule, base: MentionFilter, group: str | None) -> MentionFilter:
        from dataclasses import replace

        by = crule.rule.group_by
        if group is None or by is None:
            return base
        if by == "source":
            return replace(base, sources=[group])
        if by == "site":
            return replace(base, sites=[group])
        return replace(base, languages=[group])

    def series(self, crule: CompiledRule, flt: MentionFilter, start: datetime, end: datetime) -> Series:
        """The rule's metric per closed bucket in ``[start, end)``, empty buckets filled in."""
        rule = crule.rule
        step = crule.bucket
        by_start: dict[datetime, Bucket] = {
            b.start: b for b in self.store.timeline(flt, int(step.total_seconds()), split_by="sentiment")
        }
        starts: list[datetime] = []
        values: list[float] = []
        volumes: list[float] = []
        # Buckets before the first mention are "not monitored yet", not zeros: starting there keeps
        # the detector's warm-up honest for a new brand or a fresh store.
        t = min((s for s in by_start if s >= start), default=end)
        last_ratio = 0.0
        while t < end:
            b = by_start.get(t)
            total = b.total if b else 0
            counts = b.counts if b else {}
            neg = counts.get("negative", 0)
            pos = counts.get("positive", 0)
            scored = total - counts.get("unscored", 0)
            if rule.metric == "volume":
                value = float(total)
                volume = float(total)
            elif rule.metric == "negative_volume":
                # the filter already keeps negatives only
                value = float(total)
                volume = float(total)
            else:
                volume = float(scored)
                if scored >= max(1, rule.min_volume):
                    last_ratio = (neg / scored) if rule.metric == "negative_share" else (pos - neg) / scored
                # Buckets below the minimum volume carry the last ratio forward: a share from a
                # handful of posts on a quiet night is noise, not a signal.
                value = last_ratio
            starts.append(t)
            values.append(value)
            volumes.append(volume)
            t += step
        return Series(starts, values, volumes)

    # ----------------------------------------------------------------------------------- lifecycle
    def key(self, crule: CompiledRule, group: str | None) -> str:
        r = crule.rule
        target = r.brand or (r.source if r.metric == "source_silence" else None) or "-"
        return f"{r.name}|{target}|{group or '-'}"

    def _apply(
        self, crule: CompiledRule, group: str | None, series: Series, dets: Sequence[Detection], now: datetime
    ) -> AlertEvent | None:
        last = dets[-1]
        i = len(dets) - 1
        # the episode's first bucket (the engine may have been down when it opened)
        first = i
        while first > 0 and dets[first - 1].active:
            first -= 1
        return self._transition(
            crule,
            group,
            active=last.active,
            score=last.score,
            observed=series.values[i],
            expected=last.expected,
            bucket_start=series.starts[i],
            episode_start=series.starts[first],
            now=now,
        )

    def _transition(
        self,
        crule: CompiledRule,
        group: str | None,
        *,
        active: bool,
        score: float,
        observed: float | None,
        expected: float | None,
        bucket_start: datetime,
        episode_start: datetime,
        now: datetime,
    ) -> AlertEvent | None:
        rule = crule.rule
        key = self.key(crule, group)
        existing = self.store.get_alert_by_key(key)
        is_open = existing is not None and existing.status != AlertStatus.RESOLVED
        bucket_end = bucket_start + crule.bucket

        if not active:
            if existing is None or not is_open:
                return None
            resolved = existing.model_copy(
                update={
                    "status": AlertStatus.RESOLVED,
                    "resolved_at": now,
                    "updated_at": now,
                    "history": [*existing.history, self._event("resolved", now, bucket=bucket_start)],
                }
            )
            # Enqueue before saving: a crash in between replays into the same dedup key, never a lost page.
            sent = self._notify(crule, resolved, "resolved", now)
            self.store.save_alert(resolved)
            log.info("event=alert_resolved alert_id=%s key=%s", resolved.id, key)
            return AlertEvent(resolved, "resolved", sent)

        severity = crule.severity_for(score)
        fields: dict[str, Any] = {
            "observed": observed,
            "expected": expected,
            "score": score,
            "bucket_start": bucket_start,
            "bucket_end": bucket_end,
            "updated_at": now,
        }
        if existing is not None and is_open:
            alert = existing
            event = "updated"
            if abs(score) <= abs(alert.score or 0.0) and severity.rank <= alert.severity.rank:
                return None  # the episode goes on; the alert keeps its peak bucket as evidence
            if severity.rank > alert.severity.rank:
                event = "escalated"
                fields["severity"] = severity
                fields["history"] = [
                    *alert.history,
                    self._event("escalated", now, severity=severity.value, **{"from": alert.severity.value}),
                ]
                fields["evidence"] = self.evidence(crule, group, bucket_start, bucket_end, observed, expected, score)
            updated = alert.model_copy(update=fields)
            sent = self._notify(crule, updated, "firing", now) if event == "escalated" else ()
            self.store.save_alert(updated)
            if event == "escalated":
                log.info("event=alert_escalated alert_id=%s severity=%s", updated.id, severity.value)
            return AlertEvent(updated, event, sent)

        if existing is not None and existing.bucket_start is not None and existing.bucket_start >= episode_start:
            # Same episode as an alert that is already resolved (by a person, or before a restart): leave it.
            return None

        evidence = self.evidence(crule, group, bucket_start, bucket_end, observed, expected, score)
        if existing is not None and existing.resolved_at is not None and now - existing.resolved_at < crule.cooldown:
            alert = existing.model_copy(
                update={
                    **fields,
                    "status": AlertStatus.FIRING,
                    "severity": severity,
                    "resolved_at": None,
                    "evidence": evidence,
                    "history": [*existing.history, self._event("reopened", now, bucket=bucket_start)],
                }
            )
            event = "reopened"
        else:
            # One id per episode, so a replay after a crash lands on the same alert and dedup keys.
            digest = hashlib.blake2b(f"{key}\x1f{episode_start.isoformat()}".encode(), digest_size=8)
            alert_id = "al_" + digest.hexdigest()
            alert = Alert(
                id=alert_id,
                key=key,
                rule=rule.name,
                brand=rule.brand,
                group=group,
                metric=rule.metric,
                status=AlertStatus.FIRING,
                severity=severity,
                opened_at=now,
                evidence=evidence,
                history=[self._event("opened", now, bucket=bucket_start)],
                **fields,
            )
            event = "opened"
        # Cooldown: no new notification for this key within `cooldown` of the last one.
        last_sent = existing.last_fired_at if existing is not None else None
        quiet = last_sent is not None and now - last_sent < crule.cooldown
        if not quiet:
            alert = alert.model_copy(update={"last_fired_at": now})
        sent = () if quiet else self._notify(crule, alert, "firing", now)
        self.store.save_alert(alert)
        log.info(
            "event=alert_%s alert_id=%s key=%s severity=%s score=%.2f observed=%s expected=%s notified=%d",
            event, alert.id, key, alert.severity.value, score, observed, expected, len(sent),
        )
        return AlertEvent(alert, event, sent)

    @staticmethod
    def _event(name: str, now: datetime, **extra: Any) -> dict[str, Any]:
        clean = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in extra.items()}
        return {"at": now.isoformat(), "by": ENGINE, "event": name, **clean}

    # ----------------------------------------------------------------------------------- source silence
    def _silence(self, crule: CompiledRule, now: datetime, end: datetime) -> list[AlertEvent]:
        """A source is silent when no run that found anything finished in the last N closed buckets.

        ``settings.max_silent_buckets`` (default 3) sets N; the score is silent buckets / N.
        """
        rule = crule.rule
        assert rule.source is not None
        limit = float(crule.detector_settings.get("max_silent_buckets", crule.detector_settings.get("above", 3)))
        runs = self.store.source_runs(rule.source, limit=200)
        productive = [
            r.finished_at or r.started_at for r in runs if r.status in ("ok", "partial") and (r.seen > 0 or r.new > 0)
        ]
        if not runs:
            return []  # never crawled: nothing to miss yet
        last = max(productive) if productive else min(r.started_at for r in runs)
        silent = max(0.0, (end - bucket_floor(last, crule.bucket)) / crule.bucket - 1)
        score = silent / max(limit, 1e-9)
        ev = self._transition(
            crule,
            None,
            active=silent >= limit,
            score=score,
            observed=silent,
            expected=limit,
            bucket_start=end - crule.bucket,
            episode_start=bucket_floor(last, crule.bucket) + crule.bucket,
            now=now,
        )
        return [ev] if ev else []

    # ----------------------------------------------------------------------------------- evidence
    def public_url(self) -> str:
        settings = self.settings or get_settings()
        return settings.public_url.rstrip("/")

    def search_link(self, crule: CompiledRule, group: str | None, since: datetime, until: datetime) -> str:
        rule = crule.rule
        params: list[tuple[str, str]] = []
        if rule.query:
            params.append(("q", rule.query))
        if rule.brand:
            params.append(("brand", rule.brand))
        if rule.metric in NEGATIVE_METRICS:
            params.append(("sentiment", "negative"))
        if group is not None and rule.group_by:
            params.append(({"source": "source", "site": "site", "language": "lang"}[rule.group_by], group))
        params += [("since", _iso(since)), ("until", _iso(until))]
        if rule.count_duplicates:
            params.append(("include_duplicates", "true"))
        return f"{self.public_url()}/api/v1/mentions?{urlencode(params)}"

    def evidence(
        self,
        crule: CompiledRule,
        group: str | None,
        since: datetime,
        until: datetime,
        observed: float | None,
        expected: float | None,
        score: float,
    ) -> dict[str, Any]:
        rule = crule.rule
        ev: dict[str, Any] = {
            "metric": rule.metric,
            "detector": rule.detector,
            "bucket": rule.bucket,
            "window": {"since": since.isoformat(), "until": until.isoformat()},
            "observed": observed,
            "expected": expected,
            "score": round(score, 3),
            "link": self.search_link(crule, group, since, until),
        }
        if rule.metric == "source_silence":
            runs = self.store.source_runs(rule.source, limit=5)
            ev["recent_runs"] = [
                {"started_at": r.started_at.isoformat(), "status": r.status, "seen": r.seen, "errors": r.errors}
                for r in runs
            ]
            return ev
        from dataclasses import replace

        flt = self._group_filter(crule, self.base_filter(crule, since, until), group)
        if rule.metric in NEGATIVE_METRICS:
            flt = replace(flt, sentiments=["negative"])
        page = self.store.search(SearchRequest(filter=flt, sort="time", limit=200))
        mentions: list[Mention] = [h.mention for h in page.hits]
        mentions.sort(key=lambda m: (-m.reach, m.published_at))
        ev["top_mentions"] = [
            {
                "id": m.id,
                "url": m.url,
                "source": m.source,
                "site": m.site,
                "author": m.author,
                "reach": m.reach,
                "sentiment": m.sentiment_label,
                "published_at": m.published_at.isoformat(),
                "text": _snippet(m.title, m.text, 200),
            }
            for m in mentions[:5]
        ]
        ev["top_sources"] = dict(self.store.top(flt, "source", 5))
        ev["top_sites"] = dict(self.store.top(flt, "site", 5))
        samples: list[str] = []
        seen_hashes: set[str] = set()
        for m in mentions:
            if m.content_hash in seen_hashes:
                continue
            seen_hashes.add(m.content_hash)
            samples.append(_snippet(m.title, m.text, 140))
            if len(samples) == 3:
                break
        ev["samples"] = samples
        return ev

    # ----------------------------------------------------------------------------------- notification
    def channels_for(self, crule: CompiledRule, severity: Severity) -> list[str]:
        chans = list(self.config.alerts.escalation.get(severity.value, []))
        for c in crule.rule.channels:
            if c not in chans:
                chans.append(c)
        return chans

    def message(self, crule: CompiledRule, alert: Alert, state: str) -> Notification:
        """A short, phone-readable message: one title line, two body lines, the evidence link."""
        rule = crule.rule
        ev = alert.evidence
        who = alert.brand or rule.source or rule.query or rule.name
        if alert.group:
            who = f"{who} ({alert.group})"
        label = METRIC_LABEL[rule.metric]
        obs, exp = _fmt(alert.observed, rule.metric), _fmt(alert.expected, rule.metric)
        window = ""
        if alert.bucket_start and alert.bucket_end:
            window = f"{alert.bucket_start:%H:%M}–{alert.bucket_end:%H:%M} UTC"
        if state == "resolved":
            title = f"RESOLVED {who}: {label} back to normal"
            body = f"Rule {rule.name}. Opened {alert.opened_at:%d %b %H:%M} UTC."
        else:
            title = f"[{alert.severity.value.upper()}] {who}: {label} {obs} vs ~{exp} expected"
            lines = [f"{window} · rule {rule.name} → {LADDER_ROLE[alert.severity]}"]
            srcs = ev.get("top_sources") or {}
            if srcs:
                lines.append("Top: " + ", ".join(f"{k} {v}" for k, v in list(srcs.items())[:3]))
            samples = ev.get("samples") or []
            if samples:
                lines.append(f"“{samples[0][:100]}”")
            body = "\n".join(lines)
        return Notification(
            title=title,
            body=body,
            url=ev.get("link"),
            severity=alert.severity.value,
            kind="alert",
            alert_id=alert.id,
            status=state,
            data={"key": alert.key, "rule": rule.name, "observed": alert.observed, "expected": alert.expected},
        )

    def _notify(self, crule: CompiledRule, alert: Alert, state: str, now: datetime) -> tuple[str, ...]:
        if alert.snoozed_until is not None and alert.snoozed_until > now:
            log.info("event=alert_snoozed alert_id=%s until=%s", alert.id, alert.snoozed_until.isoformat())
            return ()
        channels = self.channels_for(crule, alert.severity)
        if not channels:
            log.warning("event=alert_no_channels alert_id=%s severity=%s", alert.id, alert.severity.value)
            return ()
        not_before = now
        qh = crule.quiet_hours
        if qh is not None and alert.severity != Severity.CRITICAL and qh.contains(now.timetz().replace(tzinfo=None)):
            not_before = _quiet_end(now, qh.end)
        opening = sum(1 for h in alert.history if h.get("event") in ("opened", "reopened"))
        dedup = f"{alert.id}#{opening}:{state}" + (f":{alert.severity.value}" if state == "firing" else "")
        note = self.message(crule, alert, state)
        queued = []
        for ch in channels:
            if self.store.enqueue(make_message(ch, dedup, note, not_before)):
                queued.append(ch)
        return tuple(queued)

    # ----------------------------------------------------------------------------------- digest
    def digest(self, day: date) -> Notification:
        """A summary of one UTC day's alerts: counts by state and severity, the top five."""
        since = datetime.combine(day, time(0), tzinfo=UTC)
        until = since + timedelta(days=1)
        alerts = [a for a in self.store.list_alerts(since=since, limit=1000) if a.updated_at < until]
        by_status: dict[str, int] = {}
        for a in alerts:
            by_status[a.status.value] = by_status.get(a.status.value, 0) + 1
        ranked = sorted(alerts, key=lambda a: (-a.severity.rank, -(abs(a.score or 0))))
        lines = [", ".join(f"{v} {k}" for k, v in sorted(by_status.items())) or "no alerts"]
        for a in ranked[:5]:
            lines.append(
                f"{a.severity.value}: {a.brand or a.rule} {METRIC_LABEL.get(a.metric, a.metric)} "
                f"{_fmt(a.observed, a.metric)} vs {_fmt(a.expected, a.metric)} ({a.status.value})"
            )
        link = f"{self.public_url()}/api/v1/alerts?since={since.isoformat().replace('+00:00', 'Z')}"
        return Notification(
            title=f"Earshot daily digest {day.isoformat()}: {len(alerts)} alert(s)",
            body="\n".join(lines),
            url=link,
            severity="notice",
            kind="digest",
            data={"day": day.isoformat(), "by_status": by_status, "alert_ids": [a.id for a in ranked]},
        )

    def enqueue_digest(self, now: datetime | None = None) -> tuple[str, ...]:
        """Queue yesterday's digest (once per day and channel) to the warning-level channels."""
        now = now or self.clock()
        day = (now - timedelta(days=1)).date()
        note = self.digest(day)
        chans = list(self.config.alerts.escalation.get("warning", [])) or list(self.config.alerts.channels)
        return tuple(ch for ch in chans if self.store.enqueue(make_message(ch, f"digest:{day.isoformat()}", note, now)))


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _snippet(title: str | None, text: str, n: int) -> str:
    s = " ".join(f"{title or ''} {text}".split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _quiet_end(now: datetime, end: time) -> datetime:
    candidate = datetime.combine(now.date(), end, tzinfo=UTC)
    return candidate if candidate > now else candidate + timedelta(days=1)
