"""URL identity's caches: each holds what it is asked for, and identity does not depend on them."""
from __future__ import annotations

from spiders.crawl import urls
from spiders.crawl.frontier import Frontier
from spiders.crawl.urls import Scope, clean_url, normalize_url

SITE = "https://docs.example.org/docs/"


def clear_caches() -> None:
    for cached in (urls.clean_url, urls.normalize_url, urls._in_scope):
        cached.cache_clear()


def test_a_cache_miss_fills_no_other_cache():
    """The crawl process asks normalize_url and the scope, an extraction worker clean_url and
    the scope: a URL one of them computes is not kept in the others (it was never asked for there)."""
    scope = Scope.from_url(SITE)
    clear_caches()
    for n in range(50):
        assert scope.contains(f"{SITE}page{n}.html")
    assert urls.normalize_url.cache_info().currsize == 0
    assert urls.clean_url.cache_info().currsize == 0
    for n in range(50):
        assert normalize_url(f"{SITE}page{n}.html#part") == f"{SITE}page{n}.html"
    assert urls.clean_url.cache_info().currsize == 0
    assert urls.normalize_url.cache_info().currsize == 50
    assert clean_url(f"{SITE}a.html?utm_source=x#s") == f"{SITE}a.html"
    assert urls.clean_url.cache_info().currsize == 1


def test_pages_are_told_apart_the_same_once_the_caches_are_full():
    """More distinct URLs than a cache holds, each written three ways: every page is handed
    out once, whatever was evicted."""
    clear_caches()
    pages = urls._URL_CACHE_SIZE + 500
    f = Frontier(max_pages=3 * pages, max_depth=3, scope=Scope.from_url(SITE), window=3 * pages)
    start = f.start(SITE)
    f.extract()
    f.complete({start.key})
    for variant in ("{}p{}.html", "{}p{}.html#top", "{}p{}.html?utm_source=feed"):
        for n in range(pages):
            f.add(variant.format(SITE, n), 1, SITE)
    assert urls.normalize_url.cache_info().currsize == urls._URL_CACHE_SIZE
    handed_out = [ref.url for ref in f.next_pages()]
    assert handed_out == [f"{SITE}p{n}.html" for n in range(pages)]
