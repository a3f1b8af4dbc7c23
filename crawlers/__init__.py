"""Crawlers: turn configured sources into ``RawMention``s, incrementally, politely and robustly.

One module per source kind (``feeds``, ``web``, ``reviews``, ``reddit``,
``hackernews``, ``mastodon_source``, ``bluesky``), each a ``crawl(ctx) ->
CrawlBatch`` function (``crawlers.base``); ``runner`` feeds their batches
through the pipeline and records each run; ``fakes`` serves local stand-ins
for every kind. Heavy libraries are imported inside the functions that use them.
"""
