"""`scrapy crawl` with the docs spider's arguments checked before anything starts.

A bad `-a` value ends the command with one line naming the argument and exit
status 2, instead of a traceback from inside the crawler. The check runs in
`process_options`, before Scrapy sets up logging and the crawler process.
"""
from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from spiders.jobs.options import CrawlArgumentError, parse_options


class Command(ScrapyCrawlCommand):
    def process_options(self, args, opts):
        super().process_options(args, opts)
        if args[:1] == ["docs"]:
            try:
                options = parse_options(opts.spargs)  # other -a arguments are the spider's own business
                options.check_target(self.settings.get("DOCSPASTA_ALLOW_HOSTS"))
            except (CrawlArgumentError, ValueError) as exc:  # ValueError: a bad DOCSPASTA_ALLOW_HOSTS
                print(f"error: {exc}", file=sys.stderr)
                raise SystemExit(2) from None
