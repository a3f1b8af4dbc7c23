"""NAB benchmark of the alert detectors: run each over the NAB tuning corpora and score the decisions.

Usage (from the repository root)::

    python benchmarks/spikes.py [--nab ../shared/data/nab] [--scorer ../shared/tools/nab_score.py]
        [--out var/nab-results] [--detector seasonal ...] [--corpus realKnownCause ...]

For each detector it writes ``OUT/<detector>/<corpus>/<file>.csv`` (``timestamp,value,score,alert``,
the same rows ``earshot alerts detect`` prints), scores them with NAB's rules (standard, low-FP,
low-FN profiles) via the shared ``nab_score.py`` and prints one table, with the never-alert baseline.
Detectors run with their defaults fixed in code; nothing is tuned per series.
``threshold`` needs a per-series level and is listed as not applicable.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.detectors import run_detector  # noqa: E402
from alerts.series_io import read_series, write_detections  # noqa: E402

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
DEFAULT_NAB = ROOT.parent / "shared" / "data" / "nab"
DEFAULT_SCORER = ROOT.parent / "shared" / "tools" / "nab_score.py"
# Settings for detectors whose built-in defaults need a rule (documented in docs/alerts.md).
BENCH_SETTINGS: dict[str, dict[str, object]] = {
    "seasonal": {},
    "relative": {"window": 1, "baseline": 12, "ratio": 3.0, "direction": "both"},
}


def load_scorer(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("nab_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the NAB scorer from {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nab_score"] = mod
    spec.loader.exec_module(mod)
    return mod


def run(detector: str, data_dir: Path, out_dir: Path, corpora: list[str]) -> tuple[int, float]:
    alerts = 0
    started = time.perf_counter()
    for corpus in corpora:
        for csv_path in sorted((data_dir / corpus).glob("*.csv")):
            stamps, values, written = read_series(csv_path)
            dets = run_detector(detector, stamps, values, BENCH_SETTINGS.get(detector, {}))
            alerts += sum(d.alert for d in dets)
            target = out_dir / detector / corpus / csv_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8") as fh:
                write_detections(fh, written, values, dets)
    return alerts, time.perf_counter() - started


def write_never(data_dir: Path, out_dir: Path, corpora: list[str]) -> None:
    for corpus in corpora:
        for csv_path in sorted((data_dir / corpus).glob("*.csv")):
            _, values, written = read_series(csv_path)
            target = out_dir / "never" / corpus / csv_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8") as fh:
                fh.write("timestamp,value,alert\n")
                for ts, v in zip(written, values, strict=True):
                    fh.write(f"{ts},{v},0\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="folder with data/ and labels.json")
    ap.add_argument("--scorer", type=Path, default=DEFAULT_SCORER)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "nab-results")
    ap.add_argument("--detector", action="append", choices=["seasonal", "relative"], default=None)
    ap.add_argument("--corpus", action="append", default=None)
    ap.add_argument("--per-corpus", action="store_true", help="also print each corpus's own figures")
    args = ap.parse_args(argv)
    data_dir = args.nab / "data"
    labels = args.nab / "labels.json"
    corpora = args.corpus or sorted(p.name for p in data_dir.iterdir() if p.is_dir())
    if "realTweets" in corpora:
        raise SystemExit("realTweets is the held-out acceptance corpus; do not benchmark on it here")
    scorer = load_scorer(args.scorer)
    detectors = args.detector or ["seasonal", "relative"]

    write_never(data_dir, args.out, corpora)
    rows: list[tuple[str, list[str], int, float]] = []
    for det in ["never", *detectors]:
        n_alerts, secs = (0, 0.0) if det == "never" else run(det, data_dir, args.out, corpora)
        res = scorer.score_corpus(str(data_dir), str(labels), str(args.out / det), corpora)
        figs = []
        for prof in PROFILES:
            val = res.profiles[prof]["normalized"]
            figs.append("n/a" if val is None else f"{val:.2f}")
        rows.append((det, figs, n_alerts, secs))
        if args.per_corpus and det != "never":
            for corpus in corpora:
                r = scorer.score_corpus(str(data_dir), str(labels), str(args.out / det), [corpus])
                vals = [r.profiles[p]["normalized"] for p in PROFILES]
                shown = ["n/a" if v is None else f"{v:.2f}" for v in vals]
                raw = r.profiles["standard"]["raw"]
                print(f"  {det:9s} {corpus:24s} std={shown[0]:>7s} lowFP={shown[1]:>7s} lowFN={shown[2]:>7s} "
                      f"raw_std={raw:.3f}")

    print(f"NAB corpora: {', '.join(corpora)} ({len(corpora)} corpora)")
    print("| detector | standard | low FP | low FN | alerts | seconds |")
    print("|---|---|---|---|---|---|")
    for det, figs, n_alerts, secs in rows:
        print(f"| {det} | {figs[0]} | {figs[1]} | {figs[2]} | {n_alerts} | {secs:.1f} |")
    print("| threshold | n/a (needs a per-series level) | | | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
