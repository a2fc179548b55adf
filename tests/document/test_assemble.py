"""The assembled document, llms.txt and llms-full.txt."""
from __future__ import annotations

from pathlib import Path

from spiders.document.assemble import (
    assemble_document,
    boilerplate_blocks,
    demote_headings,
    merge_orders,
    split_blocks,
)
from spiders.document.llms import render_llms_full_txt, render_llms_txt
from spiders.extract.generated import NOINDEX
from spiders.extract.page import extract_page
from spiders.extract.tokens import count_tokens

BASE = "https://docs.example.test/"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FOOTER = "Copyright 2024 Example Corp. All rights reserved."


def page(path, title, body, *, depth=1, quality=100, toc=(), status="completed", reasons=()):
    md = f"# {title}\n\n{body}\n\n{FOOTER}"
    return {"url": BASE + path, "final_url": BASE + path, "title": title, "depth": depth, "status": status,
            "markdown": md, "quality": quality, "quality_reasons": list(reasons), "token_count": count_tokens(md),
            "toc_links": [BASE + t for t in toc], "error": None, "http_status": 200}


def site():
    toc = ("index.html", "intro.html", "guide/index.html", "guide/a.html", "guide/b.html", "api.html")
    return [
        page("index.html", "Home", "Welcome to the example documentation, read on.", depth=0, toc=toc),
        page("api.html", "API", "The API reference with all functions listed.", toc=toc),  # discovered first
        page("guide/b.html", "Guide B", "Second guide page about things.", depth=2, toc=toc),
        page("intro.html", "Intro", "An introduction to everything here.", toc=toc),
        page("guide/a.html", "Guide A", "First guide page about other things.", depth=2, toc=toc),
        page("guide/index.html", "Guide", "The guide section with its pages.", toc=toc),
        page("orphan.html", "Orphan", "A page that no sidebar lists at all.", depth=3),
        page("stub.html", "Stub", "Soon.", quality=4, reasons=["thin content (2 words)"]),
        page("broken.html", "Broken", "", status="failed"),
        dict(page("intro.html", "Intro", "An introduction to everything here."), url=BASE + "intro2.html"),
    ]


def test_order_follows_site_toc_then_bfs():
    doc = assemble_document(site(), source_url=BASE + "index.html")
    titles = [p["title"] for p in doc.included]
    assert titles == ["Home", "Intro", "Guide", "Guide A", "Guide B", "API", "Orphan"]
    toc = doc.markdown.split("## Contents", 1)[1].split("---", 1)[0]
    assert toc.index("[Intro]") < toc.index("[Guide A]") < toc.index("[API]") < toc.index("[Orphan]")


def test_dropped_pages_listed_with_reasons():
    doc = assemble_document(site(), source_url=BASE + "index.html")
    reasons = {p["url"]: why for p, why in doc.dropped}
    assert reasons[BASE + "stub.html"] == "quality 4 below 20: thin content (2 words)"
    assert reasons[BASE + "broken.html"].startswith("failed")
    assert reasons[BASE + "intro2.html"] == f"duplicate of {BASE}intro.html"
    appendix = doc.markdown.split("## Appendix: pages left out", 1)[1]
    assert f"- {BASE}stub.html: quality 4 below 20" in appendix


def test_boilerplate_subtracted_and_pages_under_headings():
    doc = assemble_document(site(), source_url=BASE + "index.html")
    assert FOOTER not in doc.markdown
    assert "## Guide A\n\nSource: https://docs.example.test/guide/a.html (" in doc.markdown
    assert "\n# Guide A" not in doc.markdown  # the page's own h1 is not repeated
    assert doc.markdown.startswith("# Documentation from docs.example.test\n\nSource: https://docs.example.test/index.html")
    assert doc.token_count == count_tokens(doc.markdown)


def test_the_header_states_the_whole_documents_token_count():
    """The number a reader sees at the top is the one the API and the CLI report."""
    for budget in (None, 400):
        doc = assemble_document(site(), source_url=BASE + "index.html", token_budget=budget)
        assert f"Tokens (cl100k_base): ~{doc.token_count}\n" in doc.markdown
        assert doc.token_count == count_tokens(doc.markdown)


def test_token_budget_drops_lowest_quality_first():
    pages = site()
    pages[1]["quality"] = 50  # API
    pages[6]["quality"] = 30  # Orphan
    full = assemble_document(pages, source_url=BASE + "index.html")
    doc = assemble_document(pages, source_url=BASE + "index.html", token_budget=full.token_count - 5)
    assert doc.token_count <= full.token_count - 5
    budget_drops = [p["title"] for p, why in doc.dropped if why.startswith("token budget")]
    assert budget_drops[0] == "Orphan"
    assert "Orphan" not in [p["title"] for p in doc.included]


def test_explicit_order_wins():
    pages = site()
    order = [BASE + "api.html", BASE + "intro.html"]
    doc = assemble_document(pages, source_url=BASE + "index.html", order=order)
    assert [p["title"] for p in doc.included][:3] == ["Home", "API", "Intro"]


def test_merge_orders_nests_child_tocs():
    pages = [{"url": BASE + "index.html", "toc_links": [BASE + "a/index.html", BASE + "b.html"]},
             {"url": BASE + "a/index.html", "toc_links": [BASE + "a/x.html", BASE + "a/y.html"]}]
    assert merge_orders(pages) == [BASE + "a/", BASE + "a/x.html", BASE + "a/y.html", BASE + "b.html"]


def test_order_is_read_from_a_contents_page_the_document_leaves_out():
    # the site's full table of contents is a generated page: not in the document, but its order is
    toc = ("c.html", "a.html", "b.html")
    pages = [dict(page("index.html", "Contents", "", depth=0, toc=toc), generated="table of contents"),
             page("a.html", "A", "Page a, with prose enough to read."),
             page("b.html", "B", "Page b, with prose enough to read."),
             page("c.html", "C", "Page c, with prose enough to read.")]
    doc = assemble_document(pages, source_url=BASE + "index.html")
    assert [p["title"] for p in doc.included] == ["C", "A", "B"]


def test_a_page_the_sidebar_does_not_list_goes_with_its_folder():
    toc = ("guide/", "api.html")  # a TOC shown to one level: guide/b.html is not in it
    pages = [page("index.html", "Home", "Welcome to the docs, read on.", depth=0, toc=toc),
             page("api.html", "API", "The API reference."),
             page("guide/b.html", "Guide B", "A guide page the sidebar leaves out.", depth=2),
             page("guide/index.html", "Guide", "The guide section.")]
    doc = assemble_document(pages, source_url=BASE + "index.html")
    assert [p["title"] for p in doc.included] == ["Home", "Guide", "Guide B", "API"]


def test_a_sections_own_sidebar_under_the_sites_top_bar_stays_in_its_section():
    top = ("install.html", "guide/", "api.html")
    pages = [{"url": BASE + "index.html", "toc_links": [BASE + t for t in top]},
             {"url": BASE + "guide/one.html", "toc_links": [BASE + t for t in (*top, "guide/one.html", "guide/two.html")]}]
    assert merge_orders(pages) == [BASE + "install.html", BASE + "guide/", BASE + "guide/one.html",
                                   BASE + "guide/two.html", BASE + "api.html"]


def test_pages_a_list_names_before_any_placed_page_go_before_it():
    pages = [{"url": BASE + "index.html", "toc_links": [BASE + "b.html", BASE + "c.html"]},
             {"url": BASE + "b.html", "toc_links": [BASE + "a.html", BASE + "b.html"]}]
    assert merge_orders(pages) == [BASE + "a.html", BASE + "b.html", BASE + "c.html"]


def test_demote_headings_skips_code():
    md = "# Title\n\nText\n\n## Part\n\n```python\n# comment\n```"
    assert demote_headings(md, "Title") == "Text\n\n### Part\n\n```python\n# comment\n```"


def test_split_blocks_keeps_code_whole():
    assert split_blocks("a\n\n```\nx\n\ny\n```\n\nb") == ["a", "```\nx\n\ny\n```", "b"]


def test_boilerplate_needs_most_pages():
    mds = [f"Unique text number {i} here.\n\nShared banner text on every page." for i in range(5)]
    assert boilerplate_blocks(mds) == {"Shared banner text on every page."}
    assert boilerplate_blocks(mds[:3]) == set()


def test_llms_txt_and_full():
    doc = assemble_document(site(), source_url=BASE + "index.html")
    txt = render_llms_txt(doc, source_url=BASE + "index.html", title="Example")
    lines = txt.split("\n")
    assert lines[0] == "# Example" and lines[2].startswith("> ")
    assert "## Docs" in txt and "## Guide" in txt
    assert f"- [Guide A]({BASE}guide/a.html): First guide page about other things." in txt
    full = render_llms_full_txt(doc, source_url=BASE + "index.html", title="Example")
    assert full.startswith("# Example\n\n> ")
    assert "## Guide A\n\nSource: https://docs.example.test/guide/a.html\n\nFirst guide page" in full
    assert FOOTER not in full


def test_hash_routes_are_distinct_pages():
    pages = [page("index.html#/", "Home", "Home page text for the site.", depth=0),
             page("index.html#/quickstart", "Quickstart", "Install with pip install pastry today."),
             page("index.html#/faq", "FAQ", "Questions that people ask about it."),
             page("index.html#section", "Home", "Home page text for the site.")]
    doc = assemble_document(pages, source_url=BASE + "index.html#/")
    assert [p["title"] for p in doc.included] == ["Home", "Quickstart", "FAQ"]
    assert "pip install pastry" in doc.markdown


def test_the_document_is_titled_with_the_sites_own_name():
    pages = [dict(p, site_name="Example 2.0 documentation") for p in site()]
    doc = assemble_document(pages, source_url=BASE + "index.html")
    assert doc.markdown.startswith("# Example 2.0 documentation\n")


def test_a_title_most_pages_share_is_the_sites_header_and_each_page_gets_its_own():
    # a theme's header H1 inside the main content: every page's first heading is the site's name
    pages = [dict(page(f"p{i}.html", "Acme Docs", f"## Topic {i}\n\nText about topic {i} and more."),
                  head_title=f"Topic {i}" if i % 2 else "") for i in range(6)]
    doc = assemble_document(pages, source_url=BASE + "p0.html")
    titles = [p["title"] for p in doc.included]
    assert titles == [f"Topic {i}" for i in range(6)]  # from <title>, else the next heading
    assert "## Acme Docs" not in doc.markdown and "# Acme Docs\n" not in doc.markdown.split("## Contents")[1]


def test_a_pages_second_h1_nests_under_its_page_heading():
    body = demote_headings("# Install\n\nText.\n\n# Upgrade\n\nMore.\n\n## Notes\n\nx", "Install")
    assert body == "Text.\n\n### Upgrade\n\nMore.\n\n#### Notes\n\nx"


def test_generated_pages_are_left_out_with_their_own_reason():
    pages = site() + [dict(page("genindex.html", "Index", "[A](a.html) [B](b.html)"), generated="general index")]
    doc = assemble_document(pages, source_url=BASE + "index.html", quality_threshold=0)
    assert (BASE + "genindex.html", "generated page (general index): used to find pages, not content") in \
        [(p["url"], why) for p, why in doc.dropped]


def test_a_navigation_bar_of_short_links_on_every_page_is_chrome():
    bar = "[ [<<](prev.html) ] [ [>>](next.html) ] [[Top](toc.html)]"
    pages = [page(f"p{i}.html", f"Page {i}", f"{bar}\n\nReal text of page {i}, worth reading.") for i in range(5)]
    doc = assemble_document(pages, source_url=BASE + "p0.html")
    assert "[<<]" not in doc.markdown and "Real text of page 3" in doc.markdown


def test_a_page_that_puts_the_other_pages_together_is_left_out():
    chapters = [page(f"ch{i}.html", f"Chapter {i}", "\n\n".join(
        f"Paragraph {j} of chapter {i} says something different from every other paragraph here." for j in range(8)))
        for i in range(4)]
    book = page("print.html", "The Book", "\n\n".join(p["markdown"] for p in chapters))
    doc = assemble_document(chapters + [book], source_url=BASE + "ch0.html")
    assert [p["url"] for p in doc.included] == [BASE + f"ch{i}.html" for i in range(4)]
    assert any(p["url"] == BASE + "print.html" and why.startswith("generated page") for p, why in doc.dropped)


def test_a_pages_own_neighbours_place_it_next_to_its_previous_page():
    # b.html's sidebar is the site's top bar; its rel=prev/next put it right after a.html
    pages = [{"url": BASE + "index.html", "toc_links": [BASE + "a.html", BASE + "z.html"]},
             {"url": BASE + "b.html", "toc_links": [BASE + "a.html", BASE + "z.html", "", BASE + "a.html", BASE + "b.html",
                                                     BASE + "c.html"]}]
    assert merge_orders(pages) == [BASE + "a.html", BASE + "b.html", BASE + "c.html", BASE + "z.html"]


def test_a_page_holding_other_pages_whole_is_left_out_when_only_some_of_them_were_fetched():
    chapters = [page(f"ch{i}.html", f"Chapter {i}", "\n\n".join(
        f"Paragraph {j} of chapter {i} says something different from every other paragraph here." for j in range(5)))
        for i in range(8)]
    book = page("print.html", "The Book", "\n\n".join(p["markdown"] for p in chapters))
    fetched = chapters[:3]  # a budget stopped the crawl: most of the book's chapters are not here
    doc = assemble_document(fetched + [book], source_url=BASE + "ch0.html")
    assert [p["url"] for p in doc.included] == [BASE + f"ch{i}.html" for i in range(3)]
    assert any(p["url"] == BASE + "print.html" and why.startswith("generated page") for p, why in doc.dropped)


def test_a_page_quoting_text_many_pages_share_is_no_compilation():
    """Blanket texts on every page (a trait's "Calls U::from(self)...") are no sign one page holds another."""
    shared = "\n\n".join(f"Shared paragraph {j} that every API page of this site repeats word for word." for j in range(4))
    pages = [page(f"p{i}.html", f"Item {i}", f"{shared}\n\n" + "\n\n".join(
        f"Own paragraph {j} of item {i}, which no other page of the site has in it." for j in range(20 if i == 0 else 2)))
        for i in range(6)]
    doc = assemble_document(pages, source_url=BASE + "p0.html")
    assert len(doc.included) == 6


def test_a_page_asking_not_to_be_indexed_is_left_out_unless_most_pages_ask_it():
    pages = [page(f"p{i}.html", f"Page {i}", f"Text of page {i} that a reader wants.") for i in range(5)]
    stub = dict(page("old.html", "Old", "This page moved; see the new one."), generated=NOINDEX)
    doc = assemble_document(pages + [stub], source_url=BASE + "p0.html")
    assert BASE + "old.html" not in [p["url"] for p in doc.included]
    assert (BASE + "old.html", f"generated page ({NOINDEX}): used to find pages, not content") in \
        [(p["url"], why) for p, why in doc.dropped]
    old_version = [dict(p, generated=NOINDEX) for p in pages]  # every page of an old version says it
    doc = assemble_document(old_version, source_url=BASE + "p0.html")
    assert len(doc.included) == 5


def test_a_sites_tagline_under_every_title_is_chrome():
    """cppreference (MediaWiki) says "From cppreference.com" under every page's title: a short
    line, but the same one at the top of every page. Saved pages, extracted, then assembled."""
    pages = []
    for i, name in enumerate(("const", "do", "enum", "union")):
        html = (GOLDEN / "mediawiki" / f"c-keyword-{name}.html").read_bytes()
        url = f"https://cppreference.test/w/c/keyword/{name}.html"
        p = extract_page(html, url)
        assert "From cppreference.com" in p.markdown  # one page alone cannot know it is the site's
        pages.append({"url": url, "final_url": url, "title": p.title, "depth": i, "status": "completed",
                      "markdown": p.markdown, "quality": p.quality, "generated": p.generated})
    doc = assemble_document(pages, source_url=pages[0]["url"], quality_threshold=0)  # short pages, all kept
    assert len(doc.included) == 4 and "From cppreference.com" not in doc.markdown
    assert "as the declaration of the loop" in doc.markdown and "C keywords: union" in doc.markdown


def test_a_short_line_repeated_further_down_stays():
    """Only the top is a tagline's place: a short line repeated lower down is the page's own
    ("Performs the conversion." under every From impl), and so is a label ("Parameters:")."""
    pages = [page(f"p{i}.html", f"Item {i}", f"Parameters:\n\n- `x`: the value of item {i}\n\n"
                  f"Some words on item {i}.\n\nPerforms the conversion.") for i in range(5)]
    doc = assemble_document(pages, source_url=BASE + "p0.html")
    assert doc.markdown.count("Performs the conversion.") == 5 and doc.markdown.count("Parameters:") == 5


def test_the_stated_count_holds_whatever_the_pages_start_and_end_with():
    """The document's count is summed from its pieces; pages that begin with blanks (an indented
    code block), end with spaces, are empty after boilerplate, or come last, count as a whole."""
    bodies = ["    indented code first\n    more", "Trailing spaces   ", "```\ncode\n```", "Text\n\n\n  indented"]
    pages = [page("index.html", "Home", "Start here with some words to read.", depth=0)]
    for n, body in enumerate(bodies * 260):  # 1,040 pages: counted on two threads, 4-digit contents numbers
        markdown = body + f"\n\nPage {n} text " * (n % 5)
        pages.append({**page(f"p{n}.html", f"Page {n}", ""), "markdown": markdown, "token_count": count_tokens(markdown)})
    pages.append(page("gone.html", "Gone", "", status="failed"))
    for dropped in (pages, pages[:-1]):  # with and without the appendix after the last page
        for budget in (None, 30000, 3000):
            doc = assemble_document(dropped, source_url=BASE + "index.html", token_budget=budget)
            assert doc.token_count == count_tokens(doc.markdown), budget
            assert budget is None or doc.token_count <= budget or not doc.included  # the appendix alone may not fit
            assert f"Tokens (cl100k_base): ~{doc.token_count}\n" in doc.markdown
    empty_last = pages[:3] + [{**page("empty.html", "Empty", ""), "markdown": "# Empty", "token_count": 2}]
    doc = assemble_document(empty_last, source_url=BASE + "index.html", quality_threshold=0)
    assert doc.markdown.endswith("(0 tokens)\n")
    assert doc.token_count == count_tokens(doc.markdown)
