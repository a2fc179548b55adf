"""What one crawled URL becomes: the row a user sees in the JSON export."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrapy

from spiders.crawl.frontier import PageRef


class PageItem(scrapy.Item):
    url = scrapy.Field()  # as discovered (fragment and tracking parameters removed)
    final_url = scrapy.Field()  # after redirects
    title = scrapy.Field()
    depth = scrapy.Field()
    discovered_from = scrapy.Field()
    status = scrapy.Field()  # completed | failed | skipped
    http_status = scrapy.Field()
    error = scrapy.Field()  # the reason, for failed or skipped
    markdown = scrapy.Field()
    quality = scrapy.Field()
    quality_reasons = scrapy.Field()
    word_count = scrapy.Field()
    token_count = scrapy.Field()
    fetched_at = scrapy.Field()
    rendered = scrapy.Field()  # fetched through the browser (JavaScript ran)
    render_reason = scrapy.Field()  # why the browser was used, or None
    toc_links = scrapy.Field()  # the site's sidebar/TOC order as this page shows it (absolute URLs)
    description = scrapy.Field()  # the page's first paragraph, shortened (llms.txt notes)
    site_name = scrapy.Field()  # the site's name as the page gives it (the document's title)
    head_title = scrapy.Field()  # the page's own part of <title> (a second opinion on the title)
    generated = scrapy.Field()  # "general index", "search page", ...: kept out of the document
    # for a later refresh (spiders/refresh)
    links = scrapy.Field()  # the page's in-scope links, in page order (what a 304 goes on through)
    etag = scrapy.Field()  # the ETag it was served with (None when rendered)
    last_modified = scrapy.Field()  # its Last-Modified (None when rendered)
    content_hash = scrapy.Field()  # SHA-256 of its Markdown: what says whether it changed
    not_modified = scrapy.Field()  # the server answered 304: the earlier crawl's extraction, reused


def page_item(ref: PageRef, status: str, *, final_url: str | None = None, http_status: int | None = None,
              error: str | None = None, **fields: Any) -> PageItem:
    """The item for `ref`, every field present: what a page did not get is empty."""
    return PageItem(
        url=ref.url, final_url=final_url or ref.url, title=fields.pop("title", ""),
        depth=ref.depth, discovered_from=ref.discovered_from, status=status,
        http_status=http_status, error=error, markdown=fields.pop("markdown", ""),
        quality=fields.pop("quality", 0), quality_reasons=fields.pop("quality_reasons", []),
        word_count=fields.pop("word_count", 0), token_count=fields.pop("token_count", 0),
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"), rendered=fields.pop("rendered", False),
        render_reason=fields.pop("render_reason", None), toc_links=fields.pop("toc_links", []),
        description=fields.pop("description", ""), links=fields.pop("links", []),
        etag=fields.pop("etag", None), last_modified=fields.pop("last_modified", None),
        content_hash=fields.pop("content_hash", None), not_modified=fields.pop("not_modified", False), **fields,
    )
