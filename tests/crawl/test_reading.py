"""Reading a fetched page in the extraction pool: one parse gives links, canonical, render signs and the extraction."""
from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from spiders.crawl import reading
from spiders.crawl.frontier import Frontier
from spiders.crawl.reading import read_page
from spiders.crawl.urls import Scope
from spiders.extract.page import extract_page

SITE = "https://docs.example.org/docs/"
PROSE = " ".join(["Documentation prose with enough words to be a real page."] * 12)


def page(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>Guide</title>{head}</head>" \
           f"<body>{body}</body></html>".encode()


def test_links_canonical_and_extraction_come_back_together_from_one_read():
    body = (f"<nav><a href='a.html'>A</a> <a href='#top'>top</a> <a href='/other/x.html'>out</a>"
            f" <a href='b.html?utm_source=x#s'>B</a> <a href='a.html'>A again</a></nav>"
            f"<main><h1>Guide</h1><p>{PROSE}</p><a href='c/'>C</a></main><script src='app.js'></script>")
    html = page(body, "<link rel='canonical' href='guide.html#x'>")
    read = read_page(html, "utf-8", SITE + "guide/index.html", Scope.from_url(SITE), check_render=True)
    assert read.links == [SITE + "guide/a.html", SITE + "guide/b.html", SITE + "guide/c/"]
    assert read.canonical_key == SITE + "guide/guide.html"
    assert read.render_reason is None
    assert read.page == extract_page(html.decode(), SITE + "guide/index.html")
    assert read.content_hash and read.words is None


def test_a_link_no_url_parser_accepts_costs_the_page_nothing():
    # Groonga's docs link their placeholder address: urllib refuses "[:PORT_NUMBER]" as an IPv6 host.
    placeholder = "http://HOST_NAME_OR_IP_ADDRESS[:PORT_NUMBER]/"
    body = (f"<nav><a href='a.html'>A</a> <a href='{placeholder}'>server</a>"
            f" <a href='{placeholder}#more'>More...</a></nav><main><h1>Guide</h1><p>{PROSE}</p>"
            f"<p>Send requests to <a href='{placeholder}'>{placeholder}</a>.</p><a href='c/'>C</a></main>")
    html = page(body, f"<link rel='canonical' href='{placeholder}'>")
    read = read_page(html, "utf-8", SITE + "guide/index.html", Scope.from_url(SITE))
    assert read.links == [SITE + "guide/a.html", SITE + "guide/c/"]
    assert read.canonical_key is None
    assert f"[{placeholder}]({placeholder})" in read.page.markdown  # kept as the page wrote it


def test_a_shell_that_needs_a_browser_is_not_extracted():
    read = read_page(page("<div id='app'>Loading...</div><script src='/app.js'></script>"), "utf-8",
                     SITE, Scope.from_url(SITE), check_render=True)
    assert read.render_reason.startswith("single-page app") and read.plain_words == 1
    assert read.page is None and read.links == []


def test_a_rerendered_page_counts_its_words_up_to_the_limit():
    read = read_page(page(f"<main><p>{PROSE}</p></main>"), "utf-8", SITE, Scope.from_url(SITE), words_limit=31)
    assert read.words == 31 and read.page is not None


def test_the_body_is_decoded_in_the_encoding_scrapy_found():
    html = "<html><head><title>Café</title></head><body><main><p>Ça marche, déjà.</p></main></body></html>"
    read = read_page(html.encode("latin-1"), "cp1252", SITE, Scope.from_url(SITE))
    assert "Ça marche, déjà." in read.page.markdown


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _malloc_in_use() -> int:
    """Bytes glibc's malloc has handed out and not had back (libxml2's trees are made of them)."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError):
        pytest.skip("needs glibc 2.33+ (mallinfo2)")
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def test_the_tree_is_gone_before_the_markdown_is_scored_and_counted(monkeypatch):
    """A big page's tree (a highlighted source listing: ~600 bytes of libxml2 nodes a token)
    and the Python that scoring and counting its Markdown makes are not held at once."""
    listing = "<span class='k'>def</span> <span class='nf'>f</span><span class='p'>():</span>\n" * 10000
    html = page(f"<main><h1>Listing</h1><div class='highlight'><pre>{listing}</pre></div></main>")
    held = {}

    def scored(content, url):
        held["while scoring"] = _malloc_in_use() - before
        return real(content, url)

    real = reading.page_from
    monkeypatch.setattr(reading, "page_from", scored)
    before = _malloc_in_use()
    tree = reading.read_tree(html.decode(), SITE)
    tree_bytes = _malloc_in_use() - before
    del tree
    before = _malloc_in_use()
    read = read_page(html, "utf-8", SITE, Scope.from_url(SITE))
    assert read.page.markdown.count("def f():") == 10000
    assert tree_bytes > 10_000_000
    assert held["while scoring"] < tree_bytes / 4


def test_the_window_counts_pages_in_extraction():
    frontier = Frontier(max_pages=100, max_depth=3, scope=Scope.from_url(SITE), window=4)
    first = frontier.start(SITE)
    for n in range(10):
        frontier.add(f"{SITE}p{n}.html", 1, SITE)
    assert len(list(frontier.next_pages())) == 3  # the start page holds the fourth place
    frontier.extract()  # the start page goes to extraction: still one of the window
    assert list(frontier.next_pages()) == [] and first.depth == 0
    frontier.complete({first.key})
    assert len(list(frontier.next_pages())) == 1


def test_pool_workers_do_not_run_the_parents_main_module(tmp_path):
    marks = tmp_path / "marks"
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(f"""
        import os
        with open({str(marks)!r}, "a") as out:  # what importing this module does
            out.write(f"{{os.getpid()}}\\n")
        from spiders.crawl.offload import process_pool

        if __name__ == "__main__":
            assert process_pool("test", 2).submit(os.getpid).result() != os.getpid()
    """))
    subprocess.run([sys.executable, str(script)], check=True, timeout=120)
    assert len(marks.read_text().split()) == 1, "a worker imported the parent's main module"


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_pool_read_one_task_at_a_time_keeps_one_worker_and_grows_when_all_are_busy():
    """Results awaited one at a time (a crawl's rendered pages) never start a second worker, which
    the stock pool may do when a submit comes before the worker has said it is idle again."""
    from spiders.crawl.offload import discard_pool, process_pool

    async def one_at_a_time(pool) -> set[int]:
        return {await asyncio.wrap_future(pool.submit(os.getpid)) for _ in range(200)}

    pool = process_pool("one-at-a-time", 2)
    try:
        # A loop of its own, in a thread: the tests' reactor runs one in this thread.
        with ThreadPoolExecutor(1) as thread:
            assert len(thread.submit(asyncio.run, one_at_a_time(pool)).result()) == 1
        both = [pool.submit(_pid_after, seconds) for seconds in (2.5, 0)]  # the first worker is busy
        assert len({future.result() for future in both}) == 2
    finally:
        discard_pool("one-at-a-time", 2)


def test_a_crawl_starts_its_whole_pool_when_it_starts():
    """A crawl's first pages come one at a time: without `fill`, its second worker would boot only
    once pages came faster than one worker reads them."""
    from spiders.crawl.offload import EXTRACT_POOL, PageReader, discard_pool, process_pool

    reader = PageReader(2)
    try:
        reader.fill()
        pool = process_pool(EXTRACT_POOL, 2)
        assert pool.workers == 2
        both = [pool.submit(_pid_after, 1.0) for _ in range(2)]
        assert len({future.result() for future in both}) == 2
        assert pool.workers == 2
    finally:
        discard_pool(EXTRACT_POOL, 2)


def test_pages_are_still_read_after_an_extraction_worker_is_killed():
    """A dead worker broke the whole stock process pool: every later page of every crawl of the
    process failed with it. Its page is read again by another worker, and so is the rest."""
    import signal

    from spiders.crawl.offload import EXTRACT_POOL, PageReader, discard_pool, process_pool

    html = page(f"<main><h1>Guide</h1><p>{PROSE}</p></main>")
    reader = PageReader(2)

    async def read() -> reading.PageRead:
        return await reader(html, "utf-8", SITE + "guide.html", Scope.from_url(SITE))

    try:
        with ThreadPoolExecutor(1) as thread:  # a loop of its own: the tests' reactor runs one in this thread
            assert thread.submit(asyncio.run, read()).result().page is not None
            worker = process_pool(EXTRACT_POOL, 2).submit(os.getpid).result()
            os.kill(worker, signal.SIGKILL)
            for _ in range(3):
                assert thread.submit(asyncio.run, read()).result().page.title == "Guide"
    finally:
        discard_pool(EXTRACT_POOL, 2)
