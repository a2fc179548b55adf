"""What one crawled URL becomes: the row a user sees in the JSON export."""
from __future__ import annotations

import scrapy


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
