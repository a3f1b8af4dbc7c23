"""The report as named flat tables: one CSV file and one XLSX sheet each.

Columns are plain values (numbers stay numbers, empty figures are ``None``),
so spreadsheets can compute on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _ci(value: Any, i: int) -> Any:
    return value[i] if isinstance(value, list | tuple) and len(value) == 2 else None


def report_tables(report: dict[str, Any]) -> list[Table]:
    """Every table of ``report`` in reading order."""
    metric = report["metric"]
    tables: list[Table] = []
    o = report["overall"]
    t = Table("overall", f"Overall {report['year']}", [
        "year", "metric", "n", "n_csat", "csat", "csat_ci_low", "csat_ci_high", "mean", "n_nps", "nps", "nps_ci_low",
        "nps_ci_high", "target", "status", "change_vs_previous_year", "insufficient_sample",
    ])
    t.rows.append([
        report["year"], metric, o["n"], o["n_csat"], o["csat"], _ci(o["csat_ci"], 0), _ci(o["csat_ci"], 1), o["mean"],
        o["n_nps"], o["nps"], _ci(o["nps_ci"], 0), _ci(o["nps_ci"], 1), o["target"], o["status"],
        o["change_vs_previous_year"], o["insufficient_sample"],
    ])
    tables.append(t)

    for dim, rows in report["groups"].items():
        g = Table(f"groups_{dim}", f"Ranking by {dim}", [
            "rank", dim, "n", "csat", "csat_ci_low", "csat_ci_high", "mean", "nps", "target", "gap", "status",
            "change_vs_previous_year", f"previous_year_{metric}", "insufficient_sample",
        ])
        for r in sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, str(r["group"]))):
            g.rows.append([
                r["rank"], r["group"], r["n"], r["csat"], _ci(r["csat_ci"], 0), _ci(r["csat_ci"], 1), r["mean"],
                r["nps"], r["target"], r["gap"], r["status"], r["change_vs_previous_year"],
                r["previous_year"].get(metric), r["insufficient_sample"],
            ])
        tables.append(g)

    h = Table("heroes", "Most improved groups", ["dimension", "group", "change_vs_previous_year", metric, "previous",
                                                 "n", "status", "significant"])
    for x in report["heroes"]:
        h.rows.append([x["dimension"], x["group"], x["change_vs_previous_year"], x.get(metric), x["previous"], x["n"],
                       x["status"], x["significant"]])
    tables.append(h)

    for granularity in ("year", "quarter", "month"):
        rows = report["trend"][granularity]
        cols = ["period", "n", "csat", "nps", "mean", "target"]
        if granularity != "year":
            cols += ["previous_period", "previous_n", "previous_csat", "previous_nps", "previous_mean"]
        tt = Table(f"trend_{granularity}", f"Trend by {granularity}", cols)
        for r in rows:
            line = [r["period"], r["n"], r["csat"], r["nps"], r["mean"], r["target"]]
            if granularity != "year":
                p = r["previous_year"]
                line += [p["period"], p["n"], p["csat"], p["nps"], p["mean"]]
            tt.rows.append(line)
        tables.append(tt)

    web = report["web_sentiment"]
    if web.get("available"):
        wm = Table("web_month", "Web sentiment by month", [
            "period", "volume", "scored", "positive", "neutral", "negative", "net_sentiment", "negative_share", "csat",
            "previous_period", "previous_volume", "previous_net_sentiment",
        ])
        for r in web["month"]:
            p = r["previous_year"]
            wm.rows.append([r["period"], r["volume"], r["scored"], r["positive"], r["neutral"], r["negative"],
                            r["net_sentiment"], r["negative_share"], r["csat"], p["period"], p["volume"],
                            p["net_sentiment"]])
        tables.append(wm)
        wq = Table("web_quarter", "Web sentiment by quarter", [
            "period", "volume", "scored", "net_sentiment", "negative_share", "previous_period", "previous_volume",
            "previous_net_sentiment",
        ])
        for r in web["quarter"]:
            p = r["previous_year"]
            wq.rows.append([r["period"], r["volume"], r["scored"], r["net_sentiment"], r["negative_share"],
                            p["period"], p["volume"], p["net_sentiment"]])
        tables.append(wq)
        for dim, rows in web["groups"].items():
            wg = Table(f"web_{dim}", f"Web sentiment by {dim}", [
                dim, "volume", "scored", "net_sentiment", "negative_share", "csat", "change_net_sentiment",
                "previous_volume", "previous_net_sentiment",
            ])
            for r in rows:
                wg.rows.append([r["group"], r["volume"], r["scored"], r["net_sentiment"], r["negative_share"],
                                r["csat"], r["change_net_sentiment"], r["previous_year"]["volume"],
                                r["previous_year"]["net_sentiment"]])
            tables.append(wg)
        sv = Table("share_of_voice", "Share of voice", ["brand", "own", "volume", "share_of_voice", "net_sentiment",
                                                        "negative_share"])
        for r in web["share_of_voice"]:
            sv.rows.append([r["brand"], r["own"], r["volume"], r["share_of_voice"], r["net_sentiment"],
                            r["negative_share"]])
        tables.append(sv)

    dims = report["group_by"]
    info_keys = sorted({k for f in report["follow_ups"] for k in f if k not in _FOLLOW_KEYS})
    fu = Table("follow_ups", "Follow-up queue", ["row", "date", "csat", "nps", "level", "owner", *dims, *info_keys])
    for f in report["follow_ups"]:
        fu.rows.append([f["row"], f["date"], f["csat"], f["nps"], f["level"], f["owner"],
                        *[f["groups"].get(d) for d in dims], *[f.get(k) for k in info_keys]])
    tables.append(fu)

    st = Table("suggested_targets", "Suggested targets", ["scope", "group", "metric", "year", "suggested",
                                                           "slope_per_year", "quarters_used", "basis"])
    for m, s in report["suggested_targets"]["overall"].items():
        st.rows.append(["overall", None, m, s["year"], s["suggested"], s["slope_per_year"], s["quarters_used"],
                        s["basis"]])
    for dim, rows in report["suggested_targets"]["groups"].items():
        for s in rows:
            st.rows.append([dim, s["group"], s["metric"], s["year"], s["suggested"], s["slope_per_year"],
                            s["quarters_used"], s["basis"]])
    tables.append(st)

    rj = Table("rejected_rows", "Rejected rows", ["row", "reason"])
    rj.rows = [[e["row"], e["reason"]] for e in report["validation"]["errors"]]
    tables.append(rj)

    df = Table("definitions", "Definitions", ["figure", "definition"])
    df.rows = [[k, v] for k, v in report["definitions"].items()]
    tables.append(df)
    return tables


_FOLLOW_KEYS = {"row", "date", "csat", "nps", "level", "owner", "owner_from", "groups"}
