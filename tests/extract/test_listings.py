"""Big listings parsed without an element per highlighting span give what the full tree gives."""
from __future__ import annotations

import pytest
from lxml import etree

from spiders.crawl import reading
from spiders.crawl.urls import Scope
from spiders.extract import listings
from spiders.extract.listings import FullTreeNeeded, read_slim_tree
from spiders.extract.main import read_tree
from spiders.extract.page import extract_page, read_content
from spiders.render.signs import visible_words

SITE = "https://docs.example.org/docs/"
PROSE = " ".join(["Documentation prose with enough words to be a real page."] * 12)
TOKENS = ("<span></span><span class=\"kn\">from</span> <span class=\"nn\">x</span> "
          "<span class=\"kn\">import</span> <span class=\"n\">y</span>\n"
          "<span class=\"k\">if</span> <span class=\"n\">a</span> <span class=\"o\">&lt;</span> "
          "<span class=\"mi\">1</span> <span class=\"ow\">and</span> <span class=\"s2\">&quot;&amp;&#x27;</span>"
          "<span class=\"p\">:</span>\n<span class=\"w\">    </span><span class=\"k\">pass</span>\n")


def page(body: str, head: str = "", title: str = "Listing") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
            f"<body><nav>{' '.join(f'<a href=p{n}.html>Page {n}</a>' for n in range(40))}</nav>{body}</body></html>")


def both_ways(html: str, monkeypatch, url: str = SITE + "mod.html"):
    """extract_page's result from the full tree, and with every page's runs collapsed."""
    monkeypatch.setattr(listings, "SLIM_FROM", 10**12)
    full = extract_page(html, url)
    monkeypatch.setattr(listings, "SLIM_FROM", 0)
    return full, extract_page(html, url)


def read_both_ways(html: str, monkeypatch, **checks):
    url = SITE + "mod.html"
    monkeypatch.setattr(listings, "SLIM_FROM", 10**12)
    full = reading.read_page(html.encode(), "utf-8", url, Scope.from_url(SITE), **checks)
    monkeypatch.setattr(listings, "SLIM_FROM", 0)
    return full, reading.read_page(html.encode(), "utf-8", url, Scope.from_url(SITE), **checks)


# Listings as generators write them; each is read from the slim tree (no FullTreeNeeded).
LISTINGS = {
    "sphinx, entities": f"<div class='highlight-python notranslate'><div class='highlight'><pre>{TOKENS}</pre></div></div>",
    "prompts and output": "<div class='highlight-pycon'><div class='highlight'><pre><span></span>"
                          "<span class='gp'>&gt;&gt;&gt; </span><span class='nb'>print</span><span class='p'>(</span>"
                          "<span class='mi'>1</span><span class='p'>)</span>\n<span class='go'>1</span>\n"
                          "<span class='gp'>$ </span>ls</pre></div></div>",
    "line numbers table": "<table class='highlighttable'><tr><td class='linenos'><div class='linenodiv'><pre>"
                          "<span class='normal'>1</span>\n<span class='normal'>2</span></pre></div></td>"
                          f"<td class='code'><div class='highlight'><pre>{TOKENS}</pre></div></td></tr></table>",
    "inline line numbers": "<div class='highlight'><pre><span></span><span class='linenos'>1</span>"
                           "<span class='k'>def</span> <span class='nf'>f</span><span class='p'>():</span>\n"
                           "<span class='linenos'>2</span><span class='w'>    </span><span class='k'>pass</span></pre></div>",
    "highlighted lines (nested spans)": "<div class='highlight'><pre><span></span><span class='hll'>"
                                        "<span class='k'>import</span> <span class='nn'>os</span>\n</span>"
                                        "<span class='n'>os</span><span class='o'>.</span><span class='n'>sep</span></pre></div>",
    "viewcode blocks": "<div class='highlight'><pre><span></span><span class='kn'>import</span> <span class='nn'>os</span>\n\n"
                       "<div class='viewcode-block' id='f'><a class='viewcode-back' href='../f.html#f'>[docs]</a>"
                       "<span class='k'>def</span> <span class='nf'>f</span><span class='p'>():</span>\n"
                       "<span class='w'>    </span><span class='k'>pass</span></div>\n"
                       "<span class='n'>tail</span></pre></div>",
    "mdBook boring lines": "<pre><pre class='playground'><code class='language-rust'><span class='boring'>"
                           "<span class='k'>fn</span> main() {\n</span><span class='n'>x</span>();\n"
                           "<span class='boring'>}</span></code></pre></pre>",
    "classes with several tokens, code, br, emphasis": "<pre><code class='language-c'><span class='k kt'>int</span>"
                                                      " <span class='n'>x</span><br><em>note</em>"
                                                      "<span class='p'>;</span><b>b</b><span></span><b>c</b>"
                                                      "<span><i>i</i></span><span class='n'>n<b>b</b></span></code></pre>",
    "comments and odd text": "<div class='highlight'><pre><span class='c1'># a</span><!-- a comment -->"
                             "<span class='n'>\u200bzero\u200b</span> <span class='n'>\ue001icon</span>"
                             "<span class='w'>\u2003</span><span class='n'>b</span><span class='p'>]]&gt;</span></pre></div>",
    "two variants side by side": "<pre><code class='language-js'><span class='k'>import</span> x</code>"
                                 "<code class='language-js'><span class='k'>const</span> x</code></pre>",
}


@pytest.mark.parametrize("listing", LISTINGS.values(), ids=LISTINGS.keys())
def test_a_listing_reads_the_same_from_its_slim_tree(listing, monkeypatch):
    html = page(f"<main><h1>Listing</h1><p>{PROSE}</p>{listing}<p>After.</p></main>")
    doc, runs = read_slim_tree(html, SITE)
    assert runs, "the listing's token spans were collapsed"
    full, slim = both_ways(html, monkeypatch)
    assert slim == full
    assert "```" in slim.markdown


def test_runs_become_one_span_each_and_keep_the_text_around_them():
    html = page(f"<main><div class='highlight'><pre>{TOKENS}</pre></div>"
                "<pre>a<span class='n'>b</span> <span class='o'>=</span><a href='x'>x</a><span class='p'>;</span></pre></main>")
    full, (slim, runs) = read_tree(html, SITE), read_slim_tree(html, SITE)
    pres_full, pres_slim = full.findall(".//pre"), slim.findall(".//pre")
    assert [len(p) for p in pres_full] == [14, 4] and [len(p) for p in pres_slim] == [1, 3]
    for a, b in zip(pres_full, pres_slim, strict=True):
        assert "".join(a.itertext()) == "".join(b.itertext()) and a.text == b.text
    assert [(el.tag, el.attrib, el.text, el.tail) for el in pres_slim[1]] == [
        ("span", {}, "b =", None), ("a", {"href": "x"}, "x", None), ("span", {}, ";", None)]
    assert set(runs.holders) == set(pres_slim)


# Places where the spans themselves are read: the slim tree says so, and the page is read in full.
SPANS_READ = {
    "a listing inside a link": "<a href='x.html'><pre><span class='o'>!</span><span class='p'>[</span>"
                               "<span class='n'>x</span></pre></a>",
    "inside a heading": "<h2><pre><span class='n'>a</span><span class='w'>\u2003</span><span class='n'>b</span></pre></h2>",
    "inside a definition term": "<dl><dt><pre><span class='n'>a</span><span class='w'> </span></pre></dt><dd>d</dd></dl>",
    "an admonition's title": "<div class='admonition note'><pre class='admonition-title'><span class='n'>a</span>"
                             "<span class='p'>!</span></pre><p>body</p></div>",
}


@pytest.mark.parametrize("listing", SPANS_READ.values(), ids=SPANS_READ.keys())
def test_where_the_spans_are_read_the_page_is_read_from_its_full_tree(listing, monkeypatch):
    html = page(f"<main><h1>Listing</h1><p>{PROSE}</p>{listing}</main>")
    with pytest.raises(FullTreeNeeded):
        _slim_content(html)
    full, slim = both_ways(html, monkeypatch)
    assert slim == full


def _slim_content(html: str):
    doc, runs = read_slim_tree(html, SITE)
    return read_content(doc, SITE, runs=runs)


def test_main_content_in_a_listing_is_read_from_the_full_tree(monkeypatch):
    html = page(f"<pre class='content'><span class='n'>a</span><span class='o'>!</span><span class='p'>[</span>"
                f"<span class='n'>b</span> {PROSE}</pre>")
    with pytest.raises(FullTreeNeeded):
        _slim_content(html)
    full, slim = both_ways(html, monkeypatch)
    assert slim == full


def test_a_title_part_a_token_shows_alone_is_read_from_the_full_tree(monkeypatch):
    html = page(f"<main><p>{PROSE}</p><pre><span class='n'>Widgets</span> <span class='n'>x</span></pre></main>",
                title="Widgets: The Manual")
    full, slim = both_ways(html, monkeypatch)
    assert slim == full and slim.title == full.title


def test_a_style_hiding_token_spans_keeps_the_full_tree(monkeypatch):
    listing = ("<div class='highlight'><pre><span class='gp'>$ </span><span class='n'>ls</span>\n"
               "<span class='go'>out</span></pre></div>")
    for css in (".highlight .gp { display: none }", "pre span { visibility: hidden }", ".x ~ .y { display:none }"):
        html = page(f"<main><p>{PROSE}</p>{listing}</main>", head=f"<style>{css}</style>")
        assert not read_slim_tree(html, SITE)[1]
        full, slim = both_ways(html, monkeypatch)
        assert slim == full
    html = page(f"<main><p>{PROSE}</p>{listing}</main>", head="<style>.sidebar { display: none }</style>")
    assert read_slim_tree(html, SITE)[1]


def test_boolean_attributes_without_a_value_keep_the_full_tree():
    html = page(f"<main><pre>{TOKENS}</pre><input type='checkbox' checked></main>")
    doc, runs = read_slim_tree(html, SITE)
    assert not runs and doc.find(".//input").get("checked") == "checked"


def test_odd_names_are_built_as_the_parser_gives_them(monkeypatch):
    html = page(f"<main><div @click='go()' :class='x' x-on:y=1>{PROSE}</div><foo:bar a=1>t</foo:bar>"
                f"<pre>{TOKENS}</pre></main>")
    full, (slim, runs) = read_tree(html, SITE), read_slim_tree(html, SITE)
    assert runs and [(el.tag, el.items()) for el in full.iter() if el.tag not in ("pre", "span")] \
        == [(el.tag, el.items()) for el in slim.iter() if el.tag not in ("pre", "span")]
    full, slim = both_ways(html, monkeypatch)
    assert slim == full


def test_rendering_signs_count_a_listings_words_as_its_spans_have_them(monkeypatch):
    """Each text node's words are counted on its own: `foo.bar` in three spans is three words."""
    thin = ("<!doctype html><html><head><script src='app.js'></script></head><body><div id='app'><pre>"
            + "<span class='n'>foo</span><span class='o'>.</span><span class='n'>bar</span>\n" * 9
            + "</pre></div></body></html>")
    doc, runs = read_slim_tree(thin, SITE)
    assert runs and visible_words(doc, runs=runs) == visible_words(read_tree(thin, SITE)) == 27
    full, slim = read_both_ways(thin, monkeypatch, check_render=True)
    assert slim == full and full.render_reason == "single-page app: <div id=app> holds 27 words until JavaScript runs"
    wordy = page(f"<main><p>{PROSE}</p><div class='highlight'><pre>{TOKENS}</pre></div></main>",
                 head="<script src='app.js'></script>")
    full, slim = read_both_ways(wordy, monkeypatch, check_render=True, words_limit=50)
    assert slim == full and full.words == 50


def test_a_slim_tree_of_a_big_listing_is_a_fraction_of_the_full_one():
    listing = "<span class='k'>def</span> <span class='nf'>f</span><span class='p'>():</span>\n" * 10000
    html = page(f"<main><h1>Listing</h1><div class='highlight'><pre>{listing}</pre></div></main>")
    full, (slim, _) = read_tree(html, SITE), read_slim_tree(html, SITE)
    assert sum(1 for _ in full.iter()) > 30000 and sum(1 for _ in slim.iter()) < 100
    assert etree.tostring(full, method="text") == etree.tostring(slim, method="text")
