"""Hostile sites: bombs, floods, loops and traps end with a reason, never silently."""
from __future__ import annotations

import gzip
import os
import subprocess
import zlib
from pathlib import Path

import pytest
import pytest_twisted

from tests.sitefixture import Reply, page

ROOT = Path(__file__).resolve().parents[2]

D = "/docs/"


@pytest_twisted.inlineCallbacks
def test_decompression_bomb_stops_at_the_size_cap_and_says_too_large(site, crawl):
    bomb = gzip.compress(b"<html><body>" + b"A" * (30 * 1024 * 1024) + b"</body></html>", 9)
    assert len(bomb) < 100_000
    site.add_page(D, "Start", "bomb.html")
    site.add(f"{D}bomb.html", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    result = yield crawl(site.url(D), settings={"DOWNLOAD_MAXSIZE": 5 * 1024 * 1024})
    bomb_item = result.item(site.url(f"{D}bomb.html"))
    assert (bomb_item["status"], bomb_item["error"]) == ("failed", "too large (over 5 MB)")


@pytest_twisted.inlineCallbacks
def test_body_without_length_over_the_cap_is_cut_off(site, crawl):
    def endless(req):
        return Reply(body=b"<html><body>" + b"x" * 3_000_000, chunks=30, length=False)

    site.add_page(D, "Start", "stream.html")
    site.add(f"{D}stream.html", endless)
    result = yield crawl(site.url(D), settings={"DOWNLOAD_MAXSIZE": 1_000_000})
    item = result.item(site.url(f"{D}stream.html"))
    assert (item["status"], item["error"]) == ("failed", "too large (over 1000000 bytes)")


@pytest_twisted.inlineCallbacks
def test_redirect_loops_and_long_chains_end_with_a_reason(site, crawl):
    site.add_page(D, "Start", "loop-a.html", "chain0.html")
    site.redirect(f"{D}loop-a.html", f"{D}loop-b.html")
    site.redirect(f"{D}loop-b.html", f"{D}loop-a.html")
    for n in range(30):
        site.redirect(f"{D}chain{n}.html", f"{D}chain{n + 1}.html")
    result = yield crawl(site.url(D))
    for name in ("loop-a.html", "chain0.html"):
        item = result.item(site.url(f"{D}{name}"))
        assert (item["status"], item["error"]) == ("failed", "redirect loop or too many redirects")
    assert site.count(f"{D}chain12.html") == 0


@pytest_twisted.inlineCallbacks
def test_slow_server_times_out_without_holding_up_the_rest(site, crawl):
    site.add_page(D, "Start", "slow.html", *[f"p{n}.html" for n in range(10)])
    site.add(f"{D}slow.html", Reply(body=page("Slow"), delay=3))
    for n in range(10):
        site.add_page(f"{D}p{n}.html", f"P{n}")
    result = yield crawl(site.url(D), settings={"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 0})
    assert len(result.completed) == 11
    assert result.item(site.url(f"{D}slow.html"))["error"].startswith("timed out")


@pytest_twisted.inlineCallbacks
def test_crawler_traps_stop_at_their_limits_with_a_reason(site, crawl):
    def ever_deeper(req):  # every page links one level deeper, with the same segment
        return Reply(body=page("Deeper", "more/index.html", "again/"))

    long_link = "long.html?q=" + "a" * 3000
    many_params = "search.html?" + "&".join(f"p{n}=1" for n in range(20))
    site.add_page(D, "Start", "more/index.html", long_link, many_params)
    for path in (f"{D}more/index.html", f"{D}more/more/index.html", f"{D}more/more/more/index.html"):
        site.add(path, ever_deeper)
    result = yield crawl(site.url(D), max_depth=10, max_pages=50)
    reasons = {item["url"].split("/docs/", 1)[1][:20]: item["error"] for item in result.by_status("skipped")}
    assert reasons["long.html?q=" + "a" * 8] == "crawler trap: URL longer than 2048 characters"
    assert reasons[many_params[:20]] == "crawler trap: more than 12 query parameters"
    assert reasons["more/more/more/index"] == "crawler trap: path segment 'more' repeated 3 times"
    assert site.count(f"{D}more/more/more/index.html") == 0
    assert not [path for path in site.paths() if "long.html" in path or "search.html" in path]


# -- a sitemap that is a decompression bomb -------------------------------------------------

SITEMAP_HEAD = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
SPACES_PER_MEMBER = 64 * 1024 * 1024


def sitemap_bomb(cache: Path, compressed_bytes: int) -> bytes:
    """A gzip sitemap of about `compressed_bytes` that inflates about 1000-fold (spaces).

    One gzip member of 64 MB of spaces is compressed once and repeated: a gzip stream may
    hold many members, so a 20 MB bomb (about 20 GB inflated) takes a second to build, not
    the minutes compressing 20 GB would. Cached in `cache`.
    """
    path = cache / f"sitemap-bomb-{compressed_bytes}.xml.gz"
    if path.exists():
        return path.read_bytes()
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    spaces = b" " * (1024 * 1024)
    member = b"".join(packer.compress(spaces) for _ in range(SPACES_PER_MEMBER // len(spaces))) + packer.flush()
    head, tail = gzip.compress(SITEMAP_HEAD), gzip.compress(b"</urlset>")
    bomb = head + member * ((compressed_bytes - len(head) - len(tail)) // len(member)) + tail
    path.write_bytes(bomb)
    return bomb


def crawl_peak_rss(site, cwd: Path) -> tuple[subprocess.CompletedProcess, int]:
    """`docspasta crawl` of the fixture site in a child process; its peak RSS in bytes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{site.port}"}
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(["docspasta", "crawl", site.url(D), "-o", "docs.md", "--max-pages", "5"],
                                 cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        # wait4 gives this child's own peak RSS (ru_maxrss, in kB on Linux), whatever else ran
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    proc = subprocess.CompletedProcess(child.args, child.returncode, out.read_text(), err.read_text())
    return proc, usage.ru_maxrss * 1024


@pytest.fixture(scope="module")
def bomb_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bombs")


def docs_pages(site):
    site.add_page(D, "Start", "a.html", "b.html")
    site.add_page(f"{D}a.html", "Alpha")
    site.add_page(f"{D}b.html", "Beta")


@pytest.mark.parametrize(("compressed_mb", "found_via"), [(1, "robots.txt"), (19.5, "/sitemap.xml")])
def test_a_sitemap_bomb_is_skipped_and_the_crawl_goes_on_in_bounded_memory(
        site, tmp_path, bomb_cache, compressed_mb, found_via):
    # 19.5 MB: just under DOWNLOAD_MAXSIZE (20 MB), so the whole bomb is downloaded and inflated
    docs_pages(site)
    (tmp_path / "plain").mkdir()
    plain, plain_rss = crawl_peak_rss(site, tmp_path / "plain")
    assert plain.returncode == 0, plain.stderr

    bomb = sitemap_bomb(bomb_cache, int(compressed_mb * 1024 * 1024))
    sitemap = "/sitemap.xml" if found_via == "/sitemap.xml" else "/sitemap-docs.xml"
    if found_via == "robots.txt":
        site.add("/robots.txt", Reply(body=f"Sitemap: {site.url(sitemap)}\n", content_type="text/plain"))
    site.add(sitemap, Reply(body=bomb, content_type="application/xml"))
    (tmp_path / "bomb").mkdir()
    before = len(site.hits)
    proc, rss = crawl_peak_rss(site, tmp_path / "bomb")
    assert sitemap in site.paths()[before:], "the bomb was not fetched: the test tests nothing"
    assert proc.returncode == 0, proc.stderr
    assert "Alpha" in (tmp_path / "bomb" / "docs.md").read_text()
    assert rss - plain_rss < 50 * 1024 * 1024, f"peak RSS {rss >> 20} MB, without the bomb {plain_rss >> 20} MB"
    assert f"sitemap {site.url(sitemap)} skipped: larger than 20 MB uncompressed" in proc.stderr
