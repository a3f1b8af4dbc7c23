"""Regenerate the bundled ``survey.csv`` (fixed seed, so the file is reproducible).

Run ``python -m reports.samples.generate``. The story it tells: EMEA and AMER
steady near target, APAC improving from about 70% to the mid 80s over two years
(the "hero"), LATAM below its target both years, Hardware a new product with
too few answers to rank, and eight bad rows the import must reject.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from reports.samples import SAMPLE_SURVEY

REGIONS = {"EMEA": 0.36, "AMER": 0.30, "APAC": 0.24, "LATAM": 0.10}
PRODUCTS = {"Cloud": 0.45, "Mobile": 0.32, "Payments": 0.22, "Hardware": 0.01}
ROWS_PER_YEAR = 1600


def _satisfied_probability(region: str, product: str, day: date) -> float:
    """Chance of a 4–5 answer; APAC improves steadily over 2024–2025."""
    t = (day - date(2024, 1, 1)).days / 730  # 0 → 1 across the two years
    base = {"EMEA": 0.855, "AMER": 0.87, "APAC": 0.68 + 0.19 * t, "LATAM": 0.755}[region]
    base += {"Cloud": 0.015, "Mobile": 0.0, "Payments": -0.03 - 0.02 * t, "Hardware": -0.05}[product]
    return min(max(base, 0.05), 0.98)


def _answer(rng: random.Random, p: float) -> tuple[int, int]:
    if rng.random() < p:
        csat = 5 if rng.random() < 0.45 else 4
    else:
        csat = rng.choices([3, 2, 1], weights=[0.62, 0.25, 0.13])[0]
    nps_by_csat = {5: ([10, 9, 8], [0.5, 0.38, 0.12]), 4: ([9, 8, 7, 6], [0.22, 0.4, 0.3, 0.08]),
                   3: ([8, 7, 6, 5], [0.1, 0.3, 0.35, 0.25]), 2: ([6, 5, 4, 3], [0.2, 0.3, 0.3, 0.2]),
                   1: ([4, 3, 2, 1, 0], [0.2, 0.2, 0.2, 0.2, 0.2])}
    values, weights = nps_by_csat[csat]
    return csat, rng.choices(values, weights=weights)[0]


def rows(seed: int = 20251123) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    for year in (2024, 2025):
        start = date(year, 1, 1)
        for i in range(ROWS_PER_YEAR):
            day = start + timedelta(days=rng.randrange(365))
            region = rng.choices(list(REGIONS), weights=list(REGIONS.values()))[0]
            product = rng.choices(list(PRODUCTS), weights=list(PRODUCTS.values()))[0]
            if year == 2024 and product == "Hardware":
                product = "Cloud"  # Hardware launched in 2025
            csat, nps = _answer(rng, _satisfied_probability(region, product, day))
            nps_text = "" if rng.random() < 0.08 else str(nps)  # not everyone answers the NPS question
            out.append({"date": day.isoformat(), "customer_id": f"C{year % 100}{i:05d}", "region": region,
                        "product": product, "csat": str(csat), "nps": nps_text})
    out.sort(key=lambda r: (r["date"], r["customer_id"]))
    bad = [
        {"date": "2025-03-14", "customer_id": "C25X0001", "region": "EMEA", "product": "Cloud", "csat": "8",
         "nps": "9"},
        {"date": "31/05/2025", "customer_id": "C25X0002", "region": "APAC", "product": "Mobile", "csat": "4",
         "nps": "8"},
        {"date": "2025-06-02", "customer_id": "C25X0003", "region": "", "product": "Cloud", "csat": "5", "nps": "10"},
        {"date": "2025-07-19", "customer_id": "C25X0004", "region": "AMER", "product": "Payments", "csat": "4",
         "nps": "11"},
        {"date": "2025-08-08", "customer_id": "C25X0005", "region": "LATAM", "product": "Mobile", "csat": "80%",
         "nps": ""},
        {"date": "", "customer_id": "C25X0006", "region": "EMEA", "product": "Mobile", "csat": "3", "nps": "6"},
        {"date": "2025-02-30", "customer_id": "C25X0007", "region": "AMER", "product": "Cloud", "csat": "4",
         "nps": "7"},
        {"date": "2025-10-10", "customer_id": "C25X0008", "region": "APAC", "product": "", "csat": "", "nps": ""},
    ]
    step = len(out) // (len(bad) + 1)
    for k, row in enumerate(bad, start=1):
        out.insert(k * step, row)
    return out


def write(path: Path = SAMPLE_SURVEY) -> Path:
    data = rows()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["date", "customer_id", "region", "product", "csat", "nps"])
        w.writeheader()
        w.writerows(data)
    return path


if __name__ == "__main__":
    print(write())
