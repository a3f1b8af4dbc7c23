"""Hyper-parameter sweep of the sentiment fine-tune on a GPU, then a greedy weight soup of the runs.

How the shipped model was searched for on a lent H100 (see nlp/model/MODEL_CARD.md):

    python scripts/train_sweep.py --base BASE_DIR --data brand_tweets_train.csv --work /tmp/sweep \
        --parallel 8 --budget-s 330 --json sweep.json

Every run shares the dev split (split seed 13) and the head initialisation
(init seed 13), so their weights can be averaged; they differ in rate,
epochs, label smoothing and data-order seed. Runs go ``--parallel`` at a time
on the one GPU (each is Python-bound at this model size) and are stopped at
``--budget-s``; a stopped run still offers its best checkpoint so far.

The dev split is cut in two halves by row index: half A chooses (each run's
rank, the soup's members, single run or soup), half B only reports, so the
B figures are not flattered by the choosing. Full-dev figures are printed
too; they are what ``earshot nlp eval --dev-split`` gives.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMON = {"batch-size": 32, "max-len": 80, "freeze-layers": 0, "eval-every": 300, "split-seed": 13,
          "init-seed": 13, "threads": 1}
GRID: list[dict[str, Any]] = [
    {"name": "r01", "epochs": 3, "lr": 8e-5, "seed": 13},
    {"name": "r02", "epochs": 3, "lr": 8e-5, "seed": 1},
    {"name": "r03", "epochs": 4, "lr": 6e-5, "seed": 13},
    {"name": "r04", "epochs": 4, "lr": 1e-4, "seed": 13},
    {"name": "r05", "epochs": 3, "lr": 1e-4, "seed": 13, "label-smoothing": 0.1, "swa-start": 0.6},
    {"name": "r06", "epochs": 5, "lr": 5e-5, "seed": 13},
    {"name": "r07", "epochs": 3, "lr": 8e-5, "seed": 2},
    {"name": "r08", "epochs": 3, "lr": 8e-5, "seed": 13, "label-smoothing": 0.1},
    {"name": "r09", "epochs": 3, "lr": 1.2e-4, "seed": 13},
    {"name": "r10", "epochs": 4, "lr": 8e-5, "seed": 4},
    {"name": "r11", "epochs": 3, "lr": 8e-5, "seed": 3},
    {"name": "r12", "epochs": 6, "lr": 4e-5, "seed": 13},
    {"name": "r13", "epochs": 4, "lr": 8e-5, "seed": 5, "label-smoothing": 0.1},
    {"name": "r14", "epochs": 3, "lr": 5e-5, "seed": 13},
    {"name": "r15", "epochs": 3, "lr": 8e-5, "seed": 6, "weight-decay": 0.05, "warmup": 0.1},
    {"name": "r16", "epochs": 5, "lr": 8e-5, "seed": 7},
]


def command(run: dict[str, Any], base: str, data: str, work: Path, device: str, max_steps: int) -> list[str]:
    args = [sys.executable, "-m", "nlp.train", "--base", base, "--data", data, "--out", str(work / run["name"]),
            "--device", device, "--max-steps", str(max_steps)]
    for k, v in {**COMMON, **run}.items():
        if k != "name":
            args += [f"--{k}", str(v)]
    return args


def sweep(base: str, data: str, work: Path, parallel: int, budget_s: float, device: str,
          only: list[str], max_steps: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    queue = [r for r in GRID if not only or r["name"] in only]
    running: list[tuple[dict[str, Any], subprocess.Popen[bytes], float]] = []
    deadline = time.monotonic() + budget_s
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    while queue or running:
        while queue and len(running) < parallel and time.monotonic() < deadline - 60:
            run = queue.pop(0)
            log = (work / f"{run['name']}.log").open("wb")
            running.append((run, subprocess.Popen(command(run, base, data, work, device, max_steps), stdout=log,
                                                  stderr=subprocess.STDOUT, cwd=ROOT, env=env), time.monotonic()))
        for item in list(running):
            run, proc, started = item
            if proc.poll() is not None:
                print(f"{run['name']} exit={proc.returncode} {time.monotonic() - started:.0f}s", flush=True)
                running.remove(item)
            elif time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                print(f"{run['name']} stopped at the budget", flush=True)
                running.remove(item)
        if time.monotonic() > deadline and queue:
            print(f"not started: {[r['name'] for r in queue]}", flush=True)
            queue.clear()
        time.sleep(1)


def choose(data: str, work: Path, device: str) -> dict[str, Any]:
    from nlp.soup import DevSplit, average, greedy_soup, load_state

    runs = [str(p.parent) for p in sorted(work.glob("r*/model.safetensors"))]
    dev = DevSplit(runs[0], data, device=device)
    halves = {"A": slice(0, None, 2), "B": slice(1, None, 2), "full": slice(None)}
    states = {r: load_state(r) for r in runs}
    kept, soup_a, singles = greedy_soup(states, lambda st: dev.evaluate(dev.predict(st), halves["A"]).macro_f1)
    best_single = max(runs, key=lambda r: singles[r])
    soup = average([states[k] for k in kept])
    result: dict[str, Any] = {"runs": {}, "soup_members": [Path(k).name for k in kept]}
    for r in runs:
        metrics_file = Path(r) / "train_metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        entry: dict[str, Any] = {"best_step": metrics.get("best_step"), "minutes": metrics.get("train_minutes")}
        predicted = dev.predict(states[r])
        for part, rows in halves.items():
            rep = dev.evaluate(predicted, rows)
            entry[part] = {"accuracy": rep.accuracy, "macro_f1": rep.macro_f1}
        result["runs"][Path(r).name] = entry
    predicted = dev.predict(soup)
    result["soup"] = {part: dev.evaluate(predicted, rows).as_dict() for part, rows in halves.items()}
    chosen = "soup" if soup_a > singles[best_single] else Path(best_single).name
    result["chosen"] = chosen
    dev.model.load_state_dict(soup if chosen == "soup" else states[best_single])
    out = work / "chosen"
    dev.model.save_pretrained(out, safe_serialization=True)
    dev.tokenizer.save_pretrained(out)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--budget-s", type=float, default=330)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--only", default="", help="comma-separated run names (default: the whole grid)")
    ap.add_argument("--max-steps", type=int, default=0, help="cap every run (smoke tests)")
    ns = ap.parse_args()
    only = [n for n in ns.only.split(",") if n]
    sweep(ns.base, ns.data, ns.work, ns.parallel, ns.budget_s, ns.device, only, ns.max_steps)
    result = choose(ns.data, ns.work, ns.device)
    text = json.dumps(result, indent=2)
    print(text)
    if ns.json:
        ns.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
