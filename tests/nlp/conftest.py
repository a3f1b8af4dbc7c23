"""Fixtures for the nlp tests: a tiny randomly initialised BERT classifier and its WordPiece tokenizer.

Built in the test session (nothing read from disk but what the fixture wrote),
so the fast tests exercise the real loading, batching and training code paths
in well under a second per call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

WORDS = [
    *[
        "good",
        "great",
        "love",
        "awesome",
        "happy",
        "thanks",
        "best",
        "nice",
        "bad",
        "awful",
        "hate",
        "terrible",
        "worst",
        "delayed",
        "cancelled",
        "rude",
    ],
    *[
        "the",
        "a",
        "flight",
        "phone",
        "service",
        "is",
        "was",
        "my",
        "your",
        "this",
        "that",
        "and",
        "to",
        "of",
        "it",
        "for",
        "on",
        "with",
        "today",
        "new",
    ],
]


def build_tiny_model(
    directory: Path, *, labels: tuple[str, ...] = ("negative", "neutral", "positive"), seed: int = 0
) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?@#:/'-")
    vocab = specials + WORDS + chars + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"] + ["http", "user"]
    vocab = list(dict.fromkeys(vocab))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    try:  # transformers 5 takes the vocabulary itself; 4.x takes a vocab file
        tokenizer = BertTokenizerFast(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True)
    except TypeError:
        tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_scorer(tiny_model_dir: Path):
    from nlp.scorer import TransformerScorer

    return TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False, batch_size=4)
