"""The shipped model (nlp/model): loads offline, gets clear cases right, survives bad input. Marked slow."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from earshot.config import Nlp
from earshot.models import Sentiment
from nlp.scorer import SHIPPED_MODEL_DIR, TransformerScorer

pytestmark = pytest.mark.slow

CLEAR = [
    ("@united thank you so much for the upgrade, best flight ever!", "positive"),
    ("Love my new iPhone, the camera is amazing 😍", "positive"),
    ("Great crew on my flight today, really friendly and helpful", "positive"),
    ("@JetBlue you guys rock, landed early and the snacks were great", "positive"),
    ("Coachella was incredible this year, what a weekend!", "positive"),
    ("@AmericanAir lost my bag AGAIN. Worst airline ever.", "negative"),
    ("@USAirways 3 hours on hold and still no answer. Unacceptable.", "negative"),
    ("My flight was Cancelled Flighted and nobody will rebook me, terrible service", "negative"),
    ("The app keeps crashing since the update, so frustrating", "negative"),
    ("@united rude gate agent and a broken seat, never again", "negative"),
    ("@SouthwestAir what time does the first flight to Denver leave tomorrow?", "neutral"),
    ("Apple will hold its next product event on March 9", "neutral"),
    ("Self-driving cars are being tested in California this month", "neutral"),
    ("@united is there wifi on flights from Newark to London?", "neutral"),
]


@pytest.fixture(scope="module")
def scorer() -> TransformerScorer:
    if not (SHIPPED_MODEL_DIR / "model.safetensors").is_file():
        pytest.fail("nlp/model/model.safetensors is missing: the shipped model must be in the tree")
    return TransformerScorer.from_config(Nlp(), device="cpu")


def test_card_sha256_matches_shipped_weights() -> None:
    card = (SHIPPED_MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((SHIPPED_MODEL_DIR / "model.safetensors").read_bytes()).hexdigest()
    assert digest in card
    assert (SHIPPED_MODEL_DIR / "model.safetensors").stat().st_size <= 100 * 1024 * 1024
    m = re.search(r"accuracy \*\*([0-9.]+)\*\*, macro-F1 \*\*([0-9.]+)\*\*", card)
    assert m is not None


def test_clear_cases(scorer: TransformerScorer) -> None:
    out = scorer.score([t for t, _ in CLEAR], ["en"] * len(CLEAR))
    assert all(isinstance(r, Sentiment) for r in out)
    right = sum(r.label == gold for r, (_, gold) in zip(out, CLEAR, strict=True) if isinstance(r, Sentiment))
    assert right >= len(CLEAR) - 2, [(t, r) for (t, _), r in zip(CLEAR, out, strict=True)]
    assert out[0].model.startswith("earshot-minilm-sentiment-en@")  # type: ignore[union-attr]


def test_bad_input_and_other_languages(scorer: TransformerScorer) -> None:
    texts = [
        "",
        "terrible service, never again " * 35_000,
        bytes(range(256)).decode("latin-1"),
        "bad \udcff flight",
        "😡😡😡",
        "Der Flug war furchtbar",
        "good flight",
    ]
    langs = ["en", "en", "en", "en", "en", "de", "en"]
    (one_word,) = scorer.score(["x" * 1_000_000], ["en"])  # one 1 MB "word": WordPiece gives [UNK] → a reason
    assert one_word == "no words the model knows (only emoji, symbols or unknown script)"
    out = scorer.score(texts, langs)
    assert out[0] == "empty text"
    assert isinstance(out[1], Sentiment) and out[1].label == "negative"
    assert isinstance(out[3], Sentiment)
    assert isinstance(out[2], Sentiment | str)
    assert isinstance(out[4], Sentiment | str)
    assert out[5] == "no sentiment model for language 'de'"
    assert isinstance(out[6], Sentiment) and out[6].label == "positive"


def test_int8_and_fp32_agree(scorer: TransformerScorer) -> None:
    fp32 = TransformerScorer.from_pretrained(Path(SHIPPED_MODEL_DIR), device="cpu", quantize=False)
    a = scorer.score([t for t, _ in CLEAR], ["en"] * len(CLEAR))
    b = fp32.score([t for t, _ in CLEAR], ["en"] * len(CLEAR))
    agree = sum(
        x.label == y.label
        for x, y in zip(a, b, strict=True)  # type: ignore[union-attr]
        if isinstance(x, Sentiment) and isinstance(y, Sentiment)
    )
    assert agree >= len(CLEAR) - 1
