"""Signals the docs spider sends besides Scrapy's own.

`pages_queued(refs, spider)`: pages newly added to the frontier, sent once per
parsed response with every `PageRef(url, key, depth, discovered_from)` (spiders/crawl/frontier.py) it queued;
a pipeline that keeps the frontier in a database listens to it.
"""

pages_queued = object()
