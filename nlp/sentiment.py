"""Import path used by :func:`earshot.pipeline.build_pipeline` for the scorer (see :mod:`nlp.scorer`)."""

from nlp.scorer import TransformerScorer

__all__ = ["TransformerScorer"]
