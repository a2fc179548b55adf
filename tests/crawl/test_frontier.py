"""The frontier on its own, no Scrapy: exact page budget, depth, identity, resume."""
from __future__ import annotations

import random

import pytest

from spiders.crawl.frontier import Frontier, FrontierSnapshot, PageRef
from spiders.crawl.urls import Scope, normalize_url

SITE = "https://docs.example.org/docs/"


def frontier(max_pages=10, max_depth=3, window=32) -> Frontier:
    return Frontier(max_pages=max_pages, max_depth=max_depth, scope=Scope.from_url(SITE), window=window)


def url(name: str) -> str:
    return SITE + name


def started(f: Frontier, links: int) -> PageRef:
    """The start page fetched and completed, linking to p0.html .. p{links-1}.html."""
    start = f.start(SITE)
    f.extract()
    assert f.complete({start.key}) is None
    for n in range(links):
        assert f.add(url(f"p{n}.html"), 1, SITE) is None
    return start


def test_no_more_pages_are_handed_out_than_the_budget_has_room_for():
    f = frontier(max_pages=5)
    started(f, 20)
    assert len(list(f.next_pages())) == 4  # the start page holds the fifth slot
    assert list(f.next_pages()) == []


def test_a_failed_or_skipped_page_gives_its_slot_to_the_next():
    f = frontier(max_pages=3)
    started(f, 10)
    first, second = f.next_pages()
    f.release()  # first failed
    (third,) = f.next_pages()
    assert third.url == url("p2.html")
    f.extract()  # second is being extracted: it keeps its slot
    assert list(f.next_pages()) == []
    assert f.complete({second.key}) is None
    assert list(f.next_pages()) == []
    f.extract()
    assert f.complete({third.key}) is None
    assert f.completed == 3


def test_a_page_that_turns_out_to_be_a_duplicate_gives_its_slot_back():
    f = frontier(max_pages=3)
    started(f, 5)
    a, b = f.next_pages()
    f.extract()
    f.extract()
    assert f.complete({a.key, normalize_url(url("same.html"))}) is None
    # b was redirected to the same page a was: it is a duplicate, and its slot is free again
    assert f.complete({b.key, normalize_url(url("same.html"))}) == normalize_url(url("same.html"))
    assert f.completed == 2
    assert [ref.url for ref in f.next_pages()] == [url("p2.html")]


@pytest.mark.parametrize("seed", range(20))
def test_the_budget_is_exact_whatever_order_pages_end_in(seed):
    """Pages end in a random order (completed, failed, duplicate, re-queued links): the budget
    is never exceeded, and the crawl ends with exactly max_pages completed when there are enough."""
    rng = random.Random(seed)
    f = frontier(max_pages=25, max_depth=5, window=rng.choice([1, 4, 64]))
    started(f, 10)
    out = list(f.next_pages())
    extracting: list[PageRef] = []
    while out or extracting:
        held = f.completed + f.in_flight + f.extracting
        assert held <= f.max_pages and f.in_flight <= f.window
        assert f.in_flight == len(out) and f.extracting == len(extracting)
        if extracting and (not out or rng.random() < 0.5):
            ref = extracting.pop(rng.randrange(len(extracting)))
            key = rng.choice([ref.key, normalize_url(url("dup.html"))])
            if f.complete({ref.key, key}) is None:
                for _ in range(rng.randrange(3, 8)):
                    f.add(url(f"d{ref.depth + 1}/p{rng.randrange(60)}.html"), ref.depth + 1, ref.url)
        elif out:
            ref = out.pop(rng.randrange(len(out)))
            if rng.random() < 0.2:
                f.release()  # failed or skipped
            else:
                f.extract()
                extracting.append(ref)
        out += f.next_pages()
    assert f.completed == 25


def test_depth_is_the_shortest_path_and_nothing_deeper_than_max_depth_is_queued():
    f = frontier(max_depth=2)
    started(f, 0)
    f.add(url("a.html"), 2, url("x.html"))
    f.add(url("deep.html"), 3, url("a.html"))
    f.add(url("a.html"), 1, SITE)  # found again, by a shorter path
    (a,) = f.next_pages()
    assert (a.depth, a.discovered_from) == (1, SITE)
    assert list(f.next_pages()) == []


def test_shallower_pages_go_first():
    f = frontier()
    started(f, 0)
    f.add(url("two.html"), 2, url("one.html"))
    f.add(url("one.html"), 1, SITE)
    f.add(url("also-one.html"), 1, SITE)
    assert [ref.url for ref in f.next_pages()] == [url("one.html"), url("also-one.html"), url("two.html")]


def test_variants_of_one_url_and_pages_outside_the_scope_are_never_handed_out():
    f = frontier()
    start = started(f, 0)
    for variant in (url("guide/"), url("guide/index.html"), url("guide"), url("guide/?utm_source=x"),
                    SITE, "https://docs.example.org/blog/post.html", "https://other.example.org/docs/a.html"):
        f.add(variant, 1, start.url)
    assert [ref.url for ref in f.next_pages()] == [url("guide/")]
    assert [ref.url for ref in f.take_new()] == [url("guide/")]
    assert f.take_new() == []


def test_a_queued_page_already_completed_under_another_address_is_not_fetched():
    f = frontier()
    started(f, 0)
    f.add(url("old.html"), 1, SITE)
    f.add(url("other.html"), 1, SITE)
    (old, other) = f.next_pages()
    f.add(url("new.html"), 2, url("other.html"))
    f.extract()
    assert f.complete({old.key, normalize_url(url("new.html"))}) is None  # old.html redirected to new.html
    assert list(f.next_pages()) == []


def test_traps_and_files_that_are_not_pages_are_recorded_not_fetched():
    f = frontier()
    started(f, 0)
    manual = f.add(url("manual.pdf"), 1, SITE)
    trap = f.add(url("a/a/a/page.html"), 1, SITE)
    assert manual.reason == "not HTML (.pdf file), not downloaded" and manual.ref.url == url("manual.pdf")
    assert trap.reason == "crawler trap: path segment 'a' repeated 3 times"
    assert f.add(url("manual.pdf"), 1, SITE) is None  # recorded once
    assert list(f.next_pages()) == []


def test_the_window_bounds_requests_handed_out_at_once():
    f = frontier(max_pages=100, window=4)
    started(f, 20)
    assert len(list(f.next_pages())) == 4
    f.release()
    assert len(list(f.next_pages())) == 1


def test_requests_that_vanish_give_their_slots_back():
    f = frontier(max_pages=3)
    started(f, 5)
    assert len(list(f.next_pages())) == 2
    assert f.release_lost() == 2
    assert len(list(f.next_pages())) == 2


def test_a_resumed_frontier_counts_stored_pages_and_refetches_nothing_stored():
    stored = [PageRef(url(name), normalize_url(url(name)), 1, SITE) for name in ("a.html", "b.html")]
    pending = [PageRef(url("d.html"), normalize_url(url("d.html")), 2, url("a.html")),
               PageRef(url("c.html"), normalize_url(url("c.html")), 1, SITE)]
    snapshot = FrontierSnapshot(site_url=SITE, completed=3,
                                done_keys={normalize_url(SITE), *(ref.key for ref in stored)},
                                seen_keys={normalize_url(url("gone.html"))}, pending=pending,
                                attempts={pending[0].key: 2})
    f = frontier(max_pages=5)
    f.resume(snapshot)
    assert f.add(url("a.html"), 1, SITE) is None
    assert [ref.url for ref in f.next_pages()] == [url("c.html"), url("d.html")]  # 3 stored + 2 = 5
    for name in ("a.html", "gone.html", ""):
        f.add(url(name), 1, SITE)
    assert f.take_new() == []
    assert (f.retries_made(pending[0].key), f.retries_made(pending[0].key)) == (2, 0)


def test_the_scope_moves_to_where_the_start_page_landed():
    f = frontier()
    start = f.start("http://docs.example.org/docs")
    f.land("https://www.example.org/manual/")
    f.extract()
    f.complete({start.key})
    assert f.add("https://www.example.org/manual/a.html", 1, SITE) is None
    assert f.add("https://docs.example.org/docs/b.html", 1, SITE) is None
    assert [ref.url for ref in f.next_pages()] == ["https://www.example.org/manual/a.html"]
