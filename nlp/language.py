"""Import path used by :func:`earshot.pipeline.build_pipeline` for the language detector (see :mod:`nlp.langid`)."""

from nlp.langid import LinguaDetector

__all__ = ["LinguaDetector"]
