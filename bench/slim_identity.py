"""Slim trees read as full ones: every page of the given sites read with its listings' runs
collapsed (spiders/extract/listings.py, `SLIM_FROM` = 0: every page, not only big ones) and
from its full tree, and the results compared: `extract_page`, and `read_page` with rendering
checks and with a word limit. Prints the pages that differ, and how many pages had runs and
how many a reader sent back to the full tree (`FullTreeNeeded`).

Run it after changing how extraction reads a tree: a new reader of elements inside `<pre>`
must ask `Runs` (see the module docstring of spiders/extract/listings.py).

Usage: python bench/slim_identity.py DIR [DIR ...]   (sites' HTML roots, e.g. /usr/share/doc/python-dask-doc/html)
"""
from __future__ import annotations

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spiders.crawl import reading  # noqa: E402
from spiders.crawl.urls import Scope  # noqa: E402
from spiders.extract import listings, page  # noqa: E402

ORIGIN = "http://127.0.0.1:8000"  # pages are read from disk, under a made-up loopback address


def _read(path: Path, root: Path) -> list:
    html = path.read_bytes()
    url = ORIGIN + str(path)
    scope = Scope.from_url(f"{ORIGIN}{root}/")
    results = []
    for call in (lambda: page.extract_page(html.decode("utf-8", "replace"), url),
                 lambda: reading.read_page(html, "utf-8", url, scope, check_render=True),
                 lambda: reading.read_page(html, "utf-8", url, scope, words_limit=400)):
        try:
            results.append(call())
        except ValueError as error:  # a link urljoin refuses, read alike both ways
            results.append(repr(error))
    return results


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()
    slim_tree = listings.read_slim_tree

    def counted_slim_tree(html, url):
        doc, runs = slim_tree(html, url)
        counts["slim parses with runs"] += bool(runs)
        return doc, runs

    def counted(read):
        def read_counting(*args, **kwargs):
            try:
                return read(*args, **kwargs)
            except listings.FullTreeNeeded as why:
                counts[f"full tree needed: {why}"] += 1
                raise
        return read_counting

    listings.read_slim_tree = counted_slim_tree
    page.read_content = counted(page.read_content)
    reading.read_content = counted(reading.read_content)
    for root in map(Path, sys.argv[1:]):
        for path in sorted(p for p in root.rglob("*.htm*") if p.suffix in (".html", ".htm", ".xhtml")):
            listings.SLIM_FROM = 10**12
            full = _read(path, root)
            listings.SLIM_FROM = 0
            slim = _read(path, root)
            counts["pages"] += 1
            if slim != full:
                counts["DIFFERENT"] += 1
                print("different:", path, flush=True)
    print(dict(counts))


if __name__ == "__main__":
    main()
