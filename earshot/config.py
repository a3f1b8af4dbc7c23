"""The YAML watch config: brands, queries, sources, alert rules, channels, targets.

``load_config(path)`` parses and validates it into :class:`WatchConfig`; every
error names the file, the key path (``alerts.rules[2].bucket``) and the bad value.
The JSON schema in ``config/schema.json`` is generated from these models
(``earshot config schema``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from earshot.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | int | float) -> timedelta:
    """``"5m"``, ``"1h"``, ``"7d"`` or a number of seconds."""
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a duration; use e.g. '30s', '5m', '1h', '1d', '1w'")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Brand(_Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list, description="words or phrases that mean the brand")
    query: str | None = Field(default=None, description="listening query; default: any alias")
    competitors: list[str] = Field(default_factory=list, description="names of other configured brands")
    products: dict[str, list[str]] = Field(default_factory=dict, description="product group → aliases")
    own: bool = Field(default=True, description="false for a competitor tracked for comparison")


class Topic(_Strict):
    name: str = Field(min_length=1)
    query: str


class Source(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    kind: Literal["feed", "web", "reviews", "reddit", "hackernews", "mastodon", "bluesky"]
    enabled: bool = True
    interval: str = "15m"
    urls: list[str] = Field(default_factory=list, description="feed/page/start URLs")
    base_url: str | None = Field(default=None, description="API base URL; a mirror or local stand-in")
    allowed_domains: list[str] = Field(default_factory=list)
    max_depth: int = 1
    query: str | None = Field(default=None, description="search terms; default: brand aliases")
    subreddits: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    instances: list[str] = Field(default_factory=list)
    selectors: dict[str, str] = Field(default_factory=dict, description="CSS fallbacks for review sites")
    follow_links: bool = False
    region: str | None = Field(default=None, description="group value for reports")
    backfill: str = Field(
        default="3d",
        description="API sources (reddit, hackernews, mastodon, bluesky): how far back a first run reads, "
        "at most options.max_pages pages; '0s' = only what is posted from then on",
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("interval", "backfill")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @model_validator(mode="after")
    def _misplaced_options(self) -> Source:
        # The crawlers read backfill from the source, so under options it would be silently ignored.
        if "backfill" in self.options:
            raise ValueError(f"source {self.name!r}: put 'backfill' on the source itself, not under options")
        return self


class Crawl(_Strict):
    user_agent: str = "EarshotBot/0.1"
    contact: str = Field(default="ops@example.org", description="contact address put in the User-Agent")
    obey_robots: bool = True
    download_delay_s: float = 1.0
    concurrency_per_domain: int = 2
    timeout_s: float = 30.0
    max_page_bytes: int = 5_000_000
    retries: int = 3


class Nlp(_Strict):
    model: str | None = Field(default=None, description="local path or hub id; default: the shipped model")
    multilingual_model: str | None = None
    # Default from the evaluation in docs/nlp.md: French clearly beats chance and the English model; German
    # does not clearly beat the majority-class baseline and misses most negatives, so it is opt-in.
    lexicon_fallback: bool | list[str] = Field(
        default_factory=lambda: ["fr"],
        description="lexicon sentiment (extra 'lexicon': textblob-de, textblob-fr) for configured languages when "
        "multilingual_model is unset: true = every language with a lexicon (de, fr), a list = only those, false = "
        "off; default [fr] (see docs/nlp.md for the evaluation)",
    )
    languages: list[str] = Field(default_factory=lambda: ["en", "de", "fr", "nl", "fi", "es"])
    batch_size: int = Field(default=64, ge=1, description="texts per forward pass on CPU")
    gpu_batch_size: int = Field(default=512, ge=1, description="texts per forward pass on CUDA (fp16)")
    dedup_window: str = "3d"
    dedup_threshold: float = Field(default=0.8, ge=0, le=1)


SeverityName = Literal["notice", "warning", "critical"]


class SeverityBand(_Strict):
    min_score: float
    severity: SeverityName


class AlertRule(_Strict):
    name: str = Field(min_length=1)
    brand: str | None = None
    query: str | None = None
    metric: Literal["volume", "negative_volume", "negative_share", "net_sentiment", "source_silence"]
    bucket: str = "1h"
    detector: Literal["threshold", "relative", "seasonal"] = "seasonal"
    settings: dict[str, Any] = Field(default_factory=dict, description="detector settings")
    min_volume: int = 10
    severity: SeverityName = "warning"
    severity_bands: list[SeverityBand] = Field(default_factory=list)
    cooldown: str = "6h"
    channels: list[str] = Field(default_factory=list, description="extra channels beyond the ladder")
    quiet_hours: str | None = Field(default=None, description="'22:00-07:00' UTC: hold notices")
    count_duplicates: bool = False
    source: str | None = Field(default=None, description="for source_silence")
    group_by: Literal["source", "site", "language"] | None = None

    @field_validator("bucket", "cooldown")
    @classmethod
    def _duration(cls, v: str, info: ValidationInfo) -> str:
        try:
            parse_duration(v)
        except ValueError as exc:
            # name the rule too, not only its index (alerts.rules[2].bucket)
            raise ValueError(f"rule {info.data.get('name')!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _target(self) -> AlertRule:
        if self.metric == "source_silence":
            if not self.source:
                raise ValueError(f"rule {self.name!r}: source_silence needs 'source'")
        elif not (self.brand or self.query):
            raise ValueError(f"rule {self.name!r}: a rule needs 'brand' or 'query'")
        return self


class Channel(_Strict):
    url: str | None = Field(default=None, description="Apprise URL; secrets via ${ENV_VAR}")
    kind: Literal["apprise", "webhook", "console", "file", "recording"] = "apprise"
    path: str | None = None
    secret_env: str | None = Field(default=None, description="env var holding the webhook HMAC secret")


class Alerts(_Strict):
    interval: str = "1m"
    rules: list[AlertRule] = Field(default_factory=list)
    channels: dict[str, Channel] = Field(default_factory=dict)
    escalation: dict[SeverityName, list[str]] = Field(
        default_factory=dict, description="severity → channels (notice → owner, warning → PR, critical → management)"
    )
    digest_at: str = "08:00"

    @model_validator(mode="after")
    def _known_channels(self) -> Alerts:
        names = set(self.channels)
        for sev, chans in self.escalation.items():
            for c in chans:
                if c not in names:
                    raise ValueError(f"escalation.{sev}: unknown channel {c!r}; define it under alerts.channels")
        for rule in self.rules:
            for c in rule.channels:
                if c not in names:
                    raise ValueError(f"rule {rule.name!r}: unknown channel {c!r}; define it under alerts.channels")
        return self


class Reports(_Strict):
    targets: str | None = Field(default=None, description="path of the targets YAML")
    min_n: int = 30
    language_regions: dict[str, str] = Field(default_factory=dict, description="lang → region for web sentiment")
    column_map: dict[str, str] = Field(default_factory=dict, description="survey column → canonical name")
    owners: dict[str, Any] = Field(
        default_factory=dict,
        description="follow-up owners: default/{group column: {value: {relationship, senior}}} (see docs/reports.md)",
    )


class WatchConfig(_Strict):
    version: int = 1
    brands: list[Brand] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    crawl: Crawl = Field(default_factory=Crawl)
    nlp: Nlp = Field(default_factory=Nlp)
    alerts: Alerts = Field(default_factory=Alerts)
    reports: Reports = Field(default_factory=Reports)
    retention: str | None = Field(default=None, description="delete mentions older than this, e.g. '730d'")

    @model_validator(mode="after")
    def _references(self) -> WatchConfig:
        names = {b.name for b in self.brands}
        for b in self.brands:
            for c in b.competitors:
                if c not in names:
                    raise ValueError(f"brand {b.name!r}: competitor {c!r} is not a configured brand")
        for r in self.alerts.rules:
            if r.brand and r.brand not in names:
                raise ValueError(f"rule {r.name!r}: brand {r.brand!r} is not a configured brand")
        srcs = [s.name for s in self.sources]
        if len(srcs) != len(set(srcs)):
            raise ValueError(f"source names must be unique: {srcs!r}")
        return self

    def brand(self, name: str) -> Brand | None:
        return next((b for b in self.brands if b.name == name), None)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"function-after", "function-before"} or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _value_at(data: Any, loc: tuple[int | str, ...]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def parse_config(data: Any, file: str = "<config>") -> WatchConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping, got {type(data).__name__}", file=file)
    try:
        return WatchConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        value = _value_at(data, loc)
        msg = err["msg"].removeprefix("Value error, ")
        shown = f" (got {value!r})" if value is not None and not isinstance(value, dict | list) else ""
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{msg}{shown}{more}", file=file, path=_loc(loc) or None) from None


def load_config(path: str | Path) -> WatchConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; pass an existing YAML file", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", file=str(p), path=where) from None
    return parse_config(data, file=str(p))


def json_schema() -> dict[str, Any]:
    schema = WatchConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Earshot watch config"
    return schema
