"""Public request/response schemas, split by resource and role (``*Public`` out, ``*Update`` in).

The storage models in :mod:`earshot.models` are never returned as is; each
``*Public`` schema has a ``from_model`` that picks what the API exposes.
"""
