"""Earshot kernel: models, settings, config, query language, errors, and the composition root."""

__version__ = "0.1.0"
