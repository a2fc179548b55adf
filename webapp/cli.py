"""The `docspasta` console command."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from spiders.jobs.options import OPTION, OPTIONS, CrawlArgumentError, parse_options


def _crawl(args: argparse.Namespace) -> int:
    previous = None
    if args.since:
        from spiders.refresh.previous import ExportedPrevious

        try:
            previous = ExportedPrevious.read(args.since)
        except ValueError as exc:
            print(f"docspasta: error: --since: {exc}", file=sys.stderr)
            return 2
        # The earlier crawl's settings (an export names them under "job"), unless given here.
        for option in OPTIONS:
            if option.name != "url" and getattr(args, option.name) is None:
                setattr(args, option.name, previous.job.get(option.alias, previous.job.get(option.name)))
    try:
        options = parse_options({option.name: getattr(args, option.name) for option in OPTIONS})
        options.check_target(os.environ.get("DOCSPASTA_ALLOW_HOSTS"))
    except (CrawlArgumentError, ValueError) as exc:  # ValueError: a bad DOCSPASTA_ALLOW_HOSTS
        print(f"docspasta: error: {exc}", file=sys.stderr)
        return 2

    if args.output != "-" and not args.markdown_only:
        # By default the three outputs side by side: docs.md, docs.json, llms.txt.
        output = Path(args.output)
        args.json = args.json or str(output.with_suffix(".json"))
        args.llms = args.llms or str(output.with_name("llms.txt"))
    if args.since and not args.changes and args.output != "-":
        args.changes = str(Path(args.output).with_name("changes.json"))

    from spiders.crawl.terminal import crawl_to_files  # Scrapy loads only when a crawl runs

    return crawl_to_files(options, args, previous)


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
    crawl.add_argument("url", help=OPTION["url"].help)
    crawl.add_argument("-o", "--output", default="docs.md", help="Markdown file to write, '-' for stdout (default: docs.md)")
    crawl.add_argument("--json", metavar="FILE",
                       help="every page as JSON, the export format (default: the output's name with .json)")
    crawl.add_argument("--llms", metavar="FILE",
                       help="llms.txt, an index of the pages per llmstxt.org (default: llms.txt beside the output)")
    crawl.add_argument("--markdown-only", action="store_true",
                       help="write the Markdown document only (no default JSON or llms.txt)")
    crawl.add_argument("--llms-full", metavar="FILE", help="also write llms-full.txt (every page in full)")
    crawl.add_argument("--since", metavar="EXPORT",
                       help="refresh: compare with an earlier crawl's export.json (the API's or --json's); pages "
                            "unchanged since are asked for conditionally and not downloaded again, and the report "
                            "of what changed is written (--changes); its settings apply unless given here")
    crawl.add_argument("--changes", metavar="FILE",
                       help="with --since: the change report as JSON (default: changes.json beside the output)")
    for option in OPTIONS:  # values checked by parse_options, which names a bad value's option
        if option.name == "url":
            continue
        if option.bounds:
            low, high = option.bounds
            default = "" if option.default is None else f" (default: {option.default})"
            crawl.add_argument(option.flag, dest=option.name, metavar="N", help=f"{option.help}, {low}..{high}{default}")
        elif option.many:
            metavar = {"headers": "'NAME: VALUE'", "cookies": "NAME=VALUE"}.get(option.secret, "GLOB")
            crawl.add_argument(option.flag, dest=option.name, action="append", metavar=metavar,
                               help=f"{option.help}; repeatable")
        else:
            # no default here: None is parse_options' default, and --since can tell it was not given
            crawl.add_argument(option.flag, dest=option.name, choices=option.choices, help=option.help)
    crawl.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    crawl.add_argument("-v", "--verbose", action="store_true", help="Scrapy's INFO log on stderr")
    crawl.set_defaults(handler=_crawl)

    from webapp.serve import add_server_commands  # `serve` and `migrate`: the web app's commands

    add_server_commands(commands)
    from webapp.worker import add_worker_command

    add_worker_command(commands)
    from webapp.mcp_server import add_mcp_command

    add_mcp_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
