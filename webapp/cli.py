"""The `docspasta` console command."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from spiders.options import LIMITS, RENDER_MODES, CrawlArgumentError, CrawlOptions


def _crawl(args: argparse.Namespace) -> int:
    try:
        options = CrawlOptions.parse(url=args.url, max_pages=args.max_pages, max_depth=args.max_depth,
                                     quality_threshold=args.quality_threshold, scope=args.scope,
                                     render=args.render)
        options.check_target(os.environ.get("DOCSPASTA_ALLOW_HOSTS"))
    except (CrawlArgumentError, ValueError) as exc:
        print(f"docspasta: error: {exc}", file=sys.stderr)
        return 2

    if args.output != "-" and not args.markdown_only:
        # By default the three outputs side by side: docs.md, docs.json, llms.txt.
        output = Path(args.output)
        args.json = args.json or str(output.with_suffix(".json"))
        args.llms = args.llms or str(output.with_name("llms.txt"))

    # Imported here so `docspasta --help` and argument errors stay instant.
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings
    from tqdm import tqdm

    from spiders.assemble import assemble_document
    from spiders.llms import render_llms_full_txt, render_llms_txt
    from spiders.docs import DocsSpider
    from spiders.signals import pages_queued

    settings = get_project_settings()
    settings.set("LOG_LEVEL", "INFO" if args.verbose else "WARNING", priority="cmdline")
    if args.json:
        settings.set("FEEDS", {str(args.json): {"format": "json", "overwrite": True}}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(DocsSpider)
    items: list[dict] = []
    bar = tqdm(total=options.max_pages, unit="page", desc="crawling", file=sys.stderr, disable=args.quiet)

    def on_item(item, response=None, spider=None):
        page = dict(item)
        items.append(page)
        if page["status"] == "completed":
            bar.update(1)
        bar.set_postfix_str(f"{page['status']}: {page['url'][-60:]}", refresh=True)

    # Discovery order (the start URL, then links in the order they were found), so the
    # document reads in the site's order rather than the order pages happened to finish.
    discovered: dict[str, int] = {}

    def on_queued(refs, spider=None):
        for ref in refs:
            discovered.setdefault(ref.url, len(discovered))

    crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(on_queued, signal=pages_queued, weak=False)
    process.crawl(crawler, **options.as_dict())
    process.start()
    bar.close()

    completed = [page for page in items if page["status"] == "completed"]
    if not completed:
        reason = next((page["error"] for page in items if page.get("error")), "nothing was fetched")
        print(f"docspasta: error: no page could be crawled from {options.url}: {reason}", file=sys.stderr)
        return 1
    items.sort(key=lambda page: (page["depth"], discovered.get(page["url"], -1)))
    document = assemble_document(items, source_url=options.url, quality_threshold=options.quality_threshold,
                                 token_budget=args.token_budget)
    if args.output == "-":
        sys.stdout.write(document.markdown)
    else:
        Path(args.output).write_text(document.markdown, encoding="utf-8")
    written = [] if args.output == "-" else [args.output]
    if args.llms:
        Path(args.llms).write_text(render_llms_txt(document, source_url=options.url), encoding="utf-8")
        written.append(args.llms)
    if args.llms_full:
        Path(args.llms_full).write_text(render_llms_full_txt(document, source_url=options.url), encoding="utf-8")
        written.append(args.llms_full)
    failed = sum(page["status"] == "failed" for page in items)
    print(
        f"docspasta: {len(document.included)} pages in the document ({document.token_count} tokens), "
        f"{len(document.dropped)} left out, {failed} failed"
        + (f"; wrote {', '.join(written + ([args.json] if args.json else []))}" if written or args.json else ""),
        file=sys.stderr,
    )
    return 0


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, got {text!r}")
    return int(text)


LIMIT_HELP = {
    "max_pages": "at most N completed pages",
    "max_depth": "follow links at most N steps from the start page",
    "quality_threshold": "leave pages scoring below N out of the document",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docspasta",
        description="Turn a documentation site into one clean, LLM-ready Markdown document.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  docspasta serve                       # the web app on http://127.0.0.1:8000/\n"
               "  docspasta crawl https://docs.example.org/ -o docs.md --json pages.json --llms llms.txt\n"
               "\n`docspasta COMMAND --help` describes each command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    crawl = commands.add_parser("crawl", help="crawl a site from the terminal and write the Markdown document",
                                description="Crawl a documentation site and write one Markdown document.")
    crawl.add_argument("url", help="the documentation site's start URL (http or https)")
    crawl.add_argument("-o", "--output", default="docs.md", help="Markdown file to write, '-' for stdout (default: docs.md)")
    crawl.add_argument("--json", metavar="FILE",
                       help="every page as JSON, the export format (default: the output's name with .json)")
    crawl.add_argument("--llms", metavar="FILE",
                       help="llms.txt, an index of the pages per llmstxt.org (default: llms.txt beside the output)")
    crawl.add_argument("--markdown-only", action="store_true",
                       help="write the Markdown document only (no default JSON or llms.txt)")
    crawl.add_argument("--llms-full", metavar="FILE", help="also write llms-full.txt (every page in full)")
    crawl.add_argument("--token-budget", metavar="N", type=_positive_int,
                       help="fit the document in N tokens, dropping the lowest-quality pages first")
    for name, (low, high, default) in LIMITS.items():
        flag = "--" + name.replace("_", "-")
        crawl.add_argument(flag, dest=name, metavar="N", help=f"{LIMIT_HELP[name]}, {low}..{high} (default: {default})")
    crawl.add_argument("--render", choices=RENDER_MODES, default="auto",
                       help="JavaScript rendering in Chromium: auto renders only pages whose plain HTML is an "
                            "empty shell (default); always; never")
    crawl.add_argument("--scope", choices=("prefix", "host"), default="prefix",
                       help="prefix: only under the start URL's directory (default); host: the whole host")
    crawl.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    crawl.add_argument("-v", "--verbose", action="store_true", help="Scrapy's INFO log on stderr")
    crawl.set_defaults(handler=_crawl)

    from webapp.serve import add_server_commands  # `serve` and `migrate`: the web app's commands

    add_server_commands(commands)
    from webapp.worker import add_worker_command

    add_worker_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
