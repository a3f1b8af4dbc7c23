"""Alert rules as data: the ``alerts.rules`` entries of the watch config, checked and compiled.

The rule model itself is :class:`earshot.config.AlertRule` (the kernel config);
this module adds the checks the config model cannot make on its own (detector
settings, quiet hours, severity bands, the listening query) and turns each rule
into a :class:`CompiledRule` the engine evaluates. Every error names the rule and
the field: ``alerts.rules[2].settings: rule 'neg-spike': unknown setting 'zz' ...``.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from alerts.detectors import DETECTORS, SEASONAL_DEFAULTS, Direction
from earshot.config import AlertRule, WatchConfig, parse_duration
from earshot.errors import ConfigError, QuerySyntaxError
from earshot.models import Severity

_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Which way each metric usually goes wrong; a rule's ``settings.direction`` overrides it.
DEFAULT_DIRECTION: dict[str, Direction] = {
    "volume": "up",
    "negative_volume": "up",
    "negative_share": "up",
    "net_sentiment": "down",
    "source_silence": "up",
}
# Engine-only settings (not passed to the detector).
ENGINE_SETTINGS = {"history", "resolve_after"}


@dataclass(frozen=True)
class QuietHours:
    """A daily UTC window (may wrap midnight) in which notices and warnings wait."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule plus what the engine derives from it."""

    rule: AlertRule
    index: int
    bucket: timedelta
    cooldown: timedelta
    detector_settings: dict[str, Any]
    history: int
    quiet_hours: QuietHours | None
    query_text: str | None

    @property
    def name(self) -> str:
        return self.rule.name

    def severity_for(self, score: float) -> Severity:
        """The highest band whose ``min_score`` |score| reaches, else the rule's severity."""
        chosen = Severity(self.rule.severity)
        best = None
        for band in self.rule.severity_bands:
            if abs(score) >= band.min_score and (best is None or band.min_score >= best):
                best = band.min_score
                chosen = Severity(band.severity)
        return chosen


def _err(i: int, rule: AlertRule, field: str, message: str, file: str | None) -> ConfigError:
    return ConfigError(f"rule {rule.name!r}: {field}: {message}", file=file, path=f"alerts.rules[{i}].{field}")


def parse_quiet_hours(text: str) -> QuietHours:
    m = _QUIET.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a time range; use 'HH:MM-HH:MM' in UTC, e.g. '22:00-07:00'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{text!r} has an hour above 23 or a minute above 59")
    return QuietHours(time(h1, m1), time(h2, m2))


def compile_rule(
    rule: AlertRule, index: int = 0, config: WatchConfig | None = None, file: str | None = None
) -> CompiledRule:
    """Check one rule beyond its model and compile it; raises :class:`ConfigError` naming rule and field."""
    bucket = parse_duration(rule.bucket)
    if bucket < timedelta(minutes=1) or bucket > timedelta(days=7):
        raise _err(index, rule, "bucket", f"{rule.bucket!r} must lie between 1m and 7d", file)
    if timedelta(days=1) % bucket and bucket < timedelta(days=1):
        raise _err(index, rule, "bucket", f"{rule.bucket!r} must divide a day (e.g. 5m, 15m, 1h, 6h)", file)
    cooldown = parse_duration(rule.cooldown)
    if rule.min_volume < 0:
        raise _err(index, rule, "min_volume", f"{rule.min_volume!r} must be >= 0", file)

    settings = dict(rule.settings)
    history = settings.pop("history", None)
    resolve_after = settings.pop("resolve_after", 2)
    if not isinstance(resolve_after, int) or resolve_after < 1:
        raise _err(index, rule, "settings.resolve_after", f"{resolve_after!r} must be an integer >= 1 (buckets)", file)
    # An alert resolves after this many calm closed buckets (the detector's episode end); the
    # rule's cooldown, not a long episode, keeps a flapping series from notifying again.
    settings.setdefault("calm", resolve_after)
    fn = DETECTORS[rule.detector]
    params = inspect.signature(fn).parameters
    allowed = {n for n in params if n not in {"timestamps", "values"}}
    if rule.detector == "seasonal":
        allowed |= set(SEASONAL_DEFAULTS)
    allowed -= {"interval_s", "counts"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise _err(
            index, rule, "settings",
            f"unknown setting(s) {unknown!r} for detector {rule.detector!r}; known: {sorted(allowed)!r}", file,
        )
    direction = settings.get("direction", DEFAULT_DIRECTION[rule.metric])
    if direction not in ("up", "down", "both"):
        raise _err(index, rule, "settings.direction", f"{direction!r} must be 'up', 'down' or 'both'", file)
    if rule.detector != "threshold":
        settings["direction"] = direction
    else:
        settings.pop("direction", None)
    if rule.detector == "threshold" and "above" not in settings and "below" not in settings:
        raise _err(index, rule, "settings", "the threshold detector needs 'above' or 'below'", file)
    for key, value in settings.items():
        if key != "direction" and key != "statistic" and not isinstance(value, int | float | bool):
            raise _err(index, rule, f"settings.{key}", f"{value!r} must be a number", file)
    # A rule's minimum volume is the detector's guard too.
    settings.setdefault("min_volume", rule.min_volume)

    if history is None:
        # Enough buckets for the seasonal baselines (4 weeks of day-of-week history) but bounded.
        history = min(int(timedelta(days=29) / bucket), 4000)
    if not isinstance(history, int) or history < 2:
        raise _err(index, rule, "settings.history", f"{history!r} must be an integer >= 2 (buckets)", file)

    quiet = None
    if rule.quiet_hours:
        try:
            quiet = parse_quiet_hours(rule.quiet_hours)
        except ValueError as exc:
            raise _err(index, rule, "quiet_hours", str(exc), file) from None

    mins = [b.min_score for b in rule.severity_bands]
    if len(set(mins)) != len(mins):
        raise _err(index, rule, "severity_bands", f"duplicate min_score in {mins!r}", file)

    query_text = rule.query
    if query_text is None and rule.brand and config is not None:
        brand = config.brand(rule.brand)
        if brand is not None:
            query_text = brand.query
    if rule.query:
        from earshot.query import parse

        try:
            parse(rule.query)
        except QuerySyntaxError as exc:
            raise _err(index, rule, "query", str(exc), file) from None
    return CompiledRule(
        rule=rule,
        index=index,
        bucket=bucket,
        cooldown=cooldown,
        detector_settings=settings,
        history=history,
        quiet_hours=quiet,
        query_text=query_text,
    )


def compile_rules(config: WatchConfig, file: str | None = None) -> list[CompiledRule]:
    """Every rule of ``config`` compiled; rule names must be unique (they are part of the alert key)."""
    seen: set[str] = set()
    out: list[CompiledRule] = []
    for i, rule in enumerate(config.alerts.rules):
        if rule.name in seen:
            raise _err(i, rule, "name", "another rule has this name; rule names must be unique", file)
        seen.add(rule.name)
        out.append(compile_rule(rule, i, config, file))
    return out
