"""Weight averaging (nlp.soup): exact means, refusal of mismatched runs, greedy selection."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from earshot.errors import InputError
from nlp.soup import average, greedy_soup, load_state
from tests.nlp.conftest import build_tiny_model


def test_average_is_the_element_wise_mean() -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([3.0, 6.0]), "ids": torch.tensor([0, 1])}
    out = average([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(out["ids"], torch.tensor([0, 1]))


def test_mismatched_checkpoints_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="checkpoint 2 has other weights"):
        average([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}])
    with pytest.raises(InputError, match=r"no model\.safetensors"):
        load_state(tmp_path)


def test_greedy_soup_keeps_only_runs_that_help(tmp_path: Path) -> None:
    runs = [str(build_tiny_model(tmp_path / f"r{s}", seed=s)) for s in range(3)]
    states = {r: load_state(r) for r in runs}
    target = states[runs[0]]

    def score(state: dict[str, torch.Tensor]) -> float:  # closeness to run 0: averaging anything else hurts
        return -float(sum((state[k] - target[k]).abs().sum() for k in target if state[k].is_floating_point()))

    kept, best, singles = greedy_soup(states, score)
    assert kept == [runs[0]] and best == singles[runs[0]] == 0.0

    def flat(state: dict[str, torch.Tensor]) -> float:  # indifferent score: every run joins (ties are kept)
        return 1.0

    kept, _, _ = greedy_soup(states, flat)
    assert sorted(kept) == sorted(runs)
