"""Targets YAML: per year and metric, overall, per quarter and per group; owners for follow-ups.

Layout (year keys may be written as numbers or strings)::

    2025:
      csat:                       # percent of 4–5 answers, 0–100
        overall: 85
        quarters: {Q1: 83, Q2: 84, Q3: 85, Q4: 86}   # optional
        region: {EMEA: 85, APAC: 80}                  # any group column
        product: {Cloud: 86}
      nps:                        # −100..100
        overall: 30
      mean:                       # mean answer, 1–5
        overall: 4.2
    owners:                       # who follows up low answers (optional)
      default: {relationship: Account managers, senior: Head of Customer Experience}
      region:
        EMEA: {relationship: EMEA client managers, senior: VP EMEA}

Every error names the file, the key path and the bad value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from earshot.errors import InputError

METRIC_RANGES: dict[str, tuple[float, float]] = {"csat": (0, 100), "nps": (-100, 100), "mean": (1, 5)}
_QUARTERS = {"q1": 1, "q2": 2, "q3": 3, "q4": 4, "1": 1, "2": 2, "3": 3, "4": 4}


@dataclass(frozen=True)
class OwnerPair:
    """Who follows up: a CSAT of 3 goes to ``relationship``, 1–2 to ``senior``."""

    relationship: str = "unassigned (relationship/client manager)"
    senior: str = "unassigned (senior management)"


@dataclass
class Owners:
    default: OwnerPair = field(default_factory=OwnerPair)
    by_group: dict[str, dict[str, OwnerPair]] = field(default_factory=dict)

    def for_groups(self, groups: Mapping[str, str], order: Sequence[str]) -> tuple[OwnerPair, str | None]:
        """Owners for an answer: the first group column in ``order`` with owners set, else the default.

        Returns the owners and the ``dimension=value`` they came from (``None`` for the default).
        """
        for dim in order:
            value = groups.get(dim)
            if value is None:
                continue
            owners = self.by_group.get(dim, {})
            pair = owners.get(value) or {k.casefold(): v for k, v in owners.items()}.get(value.casefold())
            if pair is not None:
                return pair, f"{dim}={value}"
        return self.default, None


@dataclass(frozen=True)
class MetricTargets:
    overall: float | None = None
    quarters: dict[int, float] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Targets:
    path: str | None = None
    sha256: str | None = None
    years: dict[int, dict[str, MetricTargets]] = field(default_factory=dict)
    owners: Owners = field(default_factory=Owners)

    def target(
        self,
        year: int,
        metric: str,
        *,
        dimension: str | None = None,
        group: str | None = None,
        quarter: int | None = None,
    ) -> float | None:
        """The target for a year (or quarter) overall or for one group; ``None`` when none is set.

        A quarter without its own target uses the year's target.
        """
        mt = self.years.get(year, {}).get(metric)
        if mt is None:
            return None
        if dimension is not None:
            if group is None:
                return None
            by_group = mt.groups.get(dimension.lower(), {})
            if group in by_group:
                return by_group[group]
            # Survey exports vary in case ("emea" vs "EMEA"); a target still applies.
            folded = {k.casefold(): v for k, v in by_group.items()}
            return folded.get(group.casefold())
        if quarter is not None and quarter in mt.quarters:
            return mt.quarters[quarter]
        return mt.overall

    def group_targets(self, year: int, metric: str, dimension: str) -> dict[str, float]:
        mt = self.years.get(year, {}).get(metric)
        return dict(mt.groups.get(dimension, {})) if mt else {}

    def metrics(self, year: int) -> list[str]:
        return list(self.years.get(year, {}))


def load_targets(path: str | Path) -> Targets:
    """Parse and validate a targets YAML file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"targets file {str(p)!r} not found; pass an existing YAML file") from None
    except OSError as exc:
        raise InputError(f"cannot read targets file {str(p)!r}: {exc}") from None
    import hashlib

    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text; save the targets file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{p}: invalid YAML{where}: {problem}") from None
    targets = parse_targets(data, file=str(p))
    targets.sha256 = hashlib.sha256(raw).hexdigest()
    return targets


def _err(file: str, key: str, message: str) -> InputError:
    return InputError(f"{file}: {key}: {message}")


def parse_targets(data: Any, *, file: str = "<targets>") -> Targets:
    if data is None:
        raise InputError(f"{file}: the targets file is empty; give e.g. '2025: {{csat: {{overall: 85}}}}'")
    if not isinstance(data, dict):
        raise InputError(f"{file}: the top level must be a mapping of year → metric → targets, got "
                         f"{type(data).__name__}")
    out = Targets(path=file)
    for key, value in data.items():
        if key == "owners":
            out.owners = _parse_owners(value, file)
            continue
        year = _year(key, file)
        if not isinstance(value, dict):
            raise _err(file, str(key), f"expected a mapping of metric → targets (csat, nps, mean), got {value!r}")
        metrics: dict[str, MetricTargets] = {}
        for metric, spec in value.items():
            where = f"{key}.{metric}"
            if metric not in METRIC_RANGES:
                raise _err(file, where, f"unknown metric {metric!r}; use one of {', '.join(METRIC_RANGES)}")
            metrics[str(metric)] = _parse_metric(spec, str(metric), where, file)
        out.years[year] = metrics
    if not out.years:
        raise InputError(f"{file}: no yearly targets; add e.g. '2025: {{csat: {{overall: 85}}}}'")
    return out


def _year(key: Any, file: str) -> int:
    try:
        year = int(str(key))
    except ValueError:
        raise _err(file, str(key), "top-level keys are years (e.g. 2025) or 'owners'") from None
    if not 1900 <= year <= 2200:
        raise _err(file, str(key), f"year {year} is out of range 1900–2200")
    return year


def _number(value: Any, metric: str, where: str, file: str) -> float:
    lo, hi = METRIC_RANGES[metric]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(file, where, f"target {value!r} is not a number (a {metric} target is between {lo:g} and {hi:g})")
    if not lo <= value <= hi:
        raise _err(file, where, f"{metric} target {value!r} is outside {lo:g}–{hi:g}")
    return float(value)


def _parse_metric(spec: Any, metric: str, where: str, file: str) -> MetricTargets:
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return MetricTargets(overall=_number(spec, metric, where, file))
    if not isinstance(spec, dict):
        raise _err(file, where, f"expected a number or a mapping with 'overall', 'quarters' and group columns, "
                                f"got {spec!r}")
    overall = None
    quarters: dict[int, float] = {}
    groups: dict[str, dict[str, float]] = {}
    for k, v in spec.items():
        sub = f"{where}.{k}"
        if k == "overall":
            overall = _number(v, metric, sub, file)
        elif k == "quarters":
            if not isinstance(v, dict):
                raise _err(file, sub, f"expected a mapping like {{Q1: 83, Q2: 84}}, got {v!r}")
            for q, t in v.items():
                qn = _QUARTERS.get(str(q).strip().lower())
                if qn is None:
                    raise _err(file, f"{sub}.{q}", f"unknown quarter {q!r}; use Q1, Q2, Q3 or Q4")
                quarters[qn] = _number(t, metric, f"{sub}.{q}", file)
        else:
            if not isinstance(v, dict) or not v:
                raise _err(file, sub, f"expected a mapping of group value → target (e.g. {{EMEA: 85}}), got {v!r}")
            groups[str(k).strip().lower()] = {
                str(g).strip(): _number(t, metric, f"{sub}.{g}", file) for g, t in v.items()
            }
    return MetricTargets(overall=overall, quarters=quarters, groups=groups)


def _owner_pair(value: Any, where: str, file: str, base: OwnerPair) -> OwnerPair:
    if isinstance(value, str) and value.strip():
        return OwnerPair(relationship=value.strip(), senior=base.senior)
    if not isinstance(value, dict):
        raise _err(file, where, f"expected {{relationship: NAME, senior: NAME}} or a name, got {value!r}")
    unknown = set(value) - {"relationship", "senior"}
    if unknown:
        raise _err(file, where, f"unknown key(s) {sorted(unknown)!r}; use 'relationship' and 'senior'")
    for k in ("relationship", "senior"):
        if k in value and not (isinstance(value[k], str) and value[k].strip()):
            raise _err(file, f"{where}.{k}", f"expected a name, got {value[k]!r}")
    return OwnerPair(
        relationship=str(value.get("relationship", base.relationship)).strip(),
        senior=str(value.get("senior", base.senior)).strip(),
    )


def _parse_owners(value: Any, file: str) -> Owners:
    if not isinstance(value, dict):
        raise _err(file, "owners", f"expected a mapping (default, and group column → value → owners), got {value!r}")
    default = _owner_pair(value["default"], "owners.default", file, OwnerPair()) if "default" in value else OwnerPair()
    by_group: dict[str, dict[str, OwnerPair]] = {}
    for dim, groups in value.items():
        if dim == "default":
            continue
        if not isinstance(groups, dict):
            raise _err(file, f"owners.{dim}", f"expected a mapping of group value → owners, got {groups!r}")
        by_group[str(dim).strip().lower()] = {
            str(g).strip(): _owner_pair(v, f"owners.{dim}.{g}", file, default) for g, v in groups.items()
        }
    return Owners(default=default, by_group=by_group)


def owners_from_config(raw: Mapping[str, Any] | None, base: Owners | None = None) -> Owners:
    """Owners from the watch config's ``reports.owners`` (same layout); targets-file owners win."""
    if not raw:
        return base or Owners()
    from_config = _parse_owners(dict(raw), "config reports.owners")
    if base is None:
        return from_config
    merged = {dim: dict(groups) for dim, groups in from_config.by_group.items()}
    for dim, groups in base.by_group.items():
        merged.setdefault(dim, {}).update(groups)
    default = base.default if base.default != OwnerPair() else from_config.default
    return Owners(default=default, by_group=merged)
