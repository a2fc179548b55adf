"""The meta refresh middleware: Scrapy's redirects, from the page's head only."""
from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from spiders.crawl.metarefresh import HeadMetaRefreshMiddleware, page_head

PAGE = ('<html><head><meta charset="utf-8"><base href="http://a.test/docs/">'
        '<meta http-equiv="refresh" content="0; url=next.html"></head><body>' + "é" * 50_000 + "</body></html>")


def middleware() -> HeadMetaRefreshMiddleware:
    return HeadMetaRefreshMiddleware.from_crawler(get_crawler())


def test_a_meta_refresh_redirects_against_the_base_url_without_decoding_the_page():
    response = HtmlResponse("http://a.test/old/page.html", body=PAGE.encode())
    redirected = middleware().process_response(Request(response.url), response)
    assert isinstance(redirected, Request) and redirected.url == "http://a.test/docs/next.html"
    assert response._cached_ubody is None, "the page's 100 KB were not decoded to read its head"


def test_a_page_without_one_is_passed_on():
    response = HtmlResponse("http://a.test/p.html", body=b"<html><head><title>t</title></head><body>x</body></html>")
    assert middleware().process_response(Request(response.url), response) is response


def test_the_head_is_what_scrapy_reads_in_any_encoding():
    bodies = [PAGE.encode(), PAGE.encode("utf-16"), b"<html>" + "€".encode() * 6000, PAGE.encode("utf-32"),
              b"<html><body>" + "ü".encode("latin-1") * 9000]  # the last: no charset, inferred from the body
    for body in bodies:
        assert page_head(HtmlResponse("http://a.test/", body=body)) == HtmlResponse("http://a.test/", body=body).text[:4096]
