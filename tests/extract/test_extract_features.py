"""Feature tests of extract_page on small pages written in each generator's markup."""
from __future__ import annotations

import pytest

from spiders.extract.generated import NOINDEX
from spiders.extract.page import extract_page
from spiders.extract.tokens import count_tokens, tokenizer_name

URL = "https://docs.example.test/guide/page.html"


def md(body: str, head: str = "") -> str:
    """The Markdown of a page fragment, without the title line a page with no title of its own
    gets from its URL ("# page"): these tests are about the body."""
    out = extract_page(f"<html><head>{head}</head><body>{body}</body></html>", URL).markdown
    return out.removeprefix("# page\n\n")


@pytest.mark.parametrize("html,lang", [
    ('<pre><code class="language-rust">fn main() {}</code></pre>', "rust"),
    ('<div class="highlight-python notranslate"><div class="highlight"><pre>x = 1</pre></div></div>', "python"),
    ('<div class="sourceCode"><pre class="sourceCode haskell"><code>main = pure ()</code></pre></div>', "haskell"),
    ('<pre data-lang="toml">a = 1</pre>', "toml"),
    ('<div class="language-ts vp-adaptive-theme"><pre class="shiki"><code>let a</code></pre></div>', "ts"),
    ('<pre>plain</pre>', ""),
])
def test_code_language_from_html(html, lang):
    out = md(f"<main><h1>T</h1><p>Some words here to read.</p>{html}</main>")
    assert f"```{lang}\n" in out


def test_code_text_is_byte_exact():
    code = "def f(a, *b):\n\tif a < b and b > 2:\n        return '**not** _emphasis_ [x](y)'\n\n# trailing"
    html_code = code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = md(f'<main><pre class="language-python"><span class="k">{html_code[:3]}</span>{html_code[3:]}</pre></main>')
    assert f"```python\n{code}\n```" in out


def test_code_with_fences_inside_gets_longer_fence():
    out = md("<main><pre>```\ninner\n```</pre></main>")
    assert out.startswith("````\n```\ninner\n```\n````")


def test_docusaurus_page():
    body = """
    <nav class="navbar">Docs API Blog</nav>
    <main><div class="row"><div class="col"><article>
      <nav aria-label="Breadcrumbs"><ul class="breadcrumbs"><li>Home</li><li>Guide</li></ul></nav>
      <div class="theme-doc-markdown markdown">
        <header><h1>Install</h1></header>
        <p>Install the tool first.<a href="#install" class="hash-link">#</a></p>
        <div class="theme-admonition theme-admonition-warning alert alert--warning">
          <div class="admonitionHeading_x">warning</div><div class="admonitionContent_y"><p>Back up first.</p></div></div>
        <div class="tabs-container"><ul role="tablist"><li role="tab">npm</li><li role="tab">Yarn</li></ul>
          <div class="margin-top--md"><div role="tabpanel"><pre><code class="language-bash">npm i x</code></pre></div>
          <div role="tabpanel" hidden><pre><code class="language-bash">yarn add x</code></pre></div></div></div>
      </div>
      <footer class="theme-doc-footer"><a href="https://github.com/x/edit/main/docs/install.md">Edit this page</a></footer>
      <nav class="pagination-nav"><a href="/intro">Previous Intro</a><a href="/next">Next Usage</a></nav>
    </article></div><div class="col col--3"><div class="tableOfContents">On this page</div></div></div></main>
    <footer class="footer">Copyright 2024</footer>"""
    out = md(body)
    assert out == (
        "# Install\n\nInstall the tool first.\n\n> **Warning**\n>\n> Back up first.\n\n"
        "**npm**\n\n```bash\nnpm i x\n```\n\n**Yarn**\n\n```bash\nyarn add x\n```")


def test_mkdocs_material_page():
    body = """
    <header class="md-header"><div class="md-search">Search</div></header>
    <div class="md-container"><main class="md-main"><div class="md-main__inner">
    <div class="md-sidebar md-sidebar--primary"><nav class="md-nav md-nav--primary"><ul>
      <li><a href="../index.html">Home</a></li><li><a href="page.html">Page</a></li><li><a href="other.html">Other</a></li></ul></nav></div>
    <div class="md-content"><article class="md-content__inner md-typeset">
      <a href="https://github.com/x/edit/docs/page.md" class="md-content__button md-icon" title="Edit this page">e</a>
      <h1 id="setup">Setup<a class="headerlink" href="#setup" title="Permanent link">&para;</a></h1>
      <div class="admonition note"><p class="admonition-title">Note</p><p>Read <em>this</em>.</p></div>
      <div class="tabbed-set tabbed-alternate"><input checked id="__tabbed_1_1" type="radio"><input id="__tabbed_1_2" type="radio">
        <div class="tabbed-labels"><label for="__tabbed_1_1">Linux</label><label for="__tabbed_1_2">macOS</label></div>
        <div class="tabbed-content"><div class="tabbed-block"><p>apt install x</p></div><div class="tabbed-block"><p>brew install x</p></div></div></div>
      <ul><li>one<ul><li>nested <code>a|b</code></li></ul></li><li>two</li></ul>
    </article></div></div></main><footer class="md-footer"><a class="md-footer__link--prev" href="../">Previous</a></footer></div>"""
    out = md(body)
    assert out == (
        "# Setup\n\n> **Note**\n>\n> Read *this*.\n\n**Linux**\n\napt install x\n\n**macOS**\n\nbrew install x\n\n"
        "- one\n  - nested `a|b`\n- two")


def test_vitepress_code_group_and_custom_block():
    body = """<div class="VPDoc"><aside class="VPDocAside">On this page</aside><div class="vp-doc"><div>
      <h1 id="start">Start <a class="header-anchor" href="#start">​</a></h1>
      <div class="tip custom-block"><p class="custom-block-title">TIP</p><p>Use pnpm.</p></div>
      <div class="vp-code-group"><div class="tabs"><input type="radio" id="t1"><label for="t1">npm</label><input type="radio" id="t2"><label for="t2">pnpm</label></div>
      <div class="blocks"><div class="language-sh active"><button class="copy"></button><span class="lang">sh</span><pre class="shiki"><code><span class="line">npm add -D vitepress</span></code></pre></div>
      <div class="language-sh"><button class="copy"></button><span class="lang">sh</span><pre class="shiki"><code><span class="line">pnpm add -D vitepress</span></code></pre></div></div></div>
    </div></div></div>"""
    out = md(body)
    assert out == ("# Start\n\n> **TIP**\n>\n> Use pnpm.\n\n**npm**\n\n```sh\nnpm add -D vitepress\n```\n\n"
                   "**pnpm**\n\n```sh\npnpm add -D vitepress\n```")


def test_sphinx_design_tabs_and_signature():
    body = """<div class="document"><div class="body" role="main"><section><h1>API</h1>
      <div class="sd-tab-set docutils"><input checked id="sd-tab-item-0" type="radio"><label class="sd-tab-label" for="sd-tab-item-0">Unix</label>
      <div class="sd-tab-content docutils"><p>Run it.</p></div><input id="sd-tab-item-1" type="radio"><label class="sd-tab-label" for="sd-tab-item-1">Windows</label>
      <div class="sd-tab-content docutils"><p>Click it.</p></div></div>
      <dl class="py function"><dt class="sig sig-object py" id="m.f"><span class="sig-prename descclassname">m.</span><span class="sig-name descname">f</span>(<em class="sig-param">x</em>)<a class="headerlink" href="#m.f">¶</a></dt>
      <dd><p>Do f.</p></dd></dl></section></div></div>
      <div class="sphinxsidebar" role="navigation"><h3>Navigation</h3></div>"""
    assert md(body) == "# API\n\n**Unix**\n\nRun it.\n\n**Windows**\n\nClick it.\n\n`m.f(x)`\n\nDo f."


def test_unknown_site_falls_back_to_density():
    body = """<div class="top"><a href="/">Home</a> <a href="/a">A</a> <a href="/b">B</a></div>
      <div class="wrap"><div class="left"><a href="/x">X</a><a href="/y">Y</a></div>
      <div class="text"><h2>Topic</h2><p>""" + "This is the real text of the page. " * 12 + """</p>
      <p>Second paragraph with <a href="/more">a link</a>.</p></div></div><div id="footer">© Someone</div>"""
    out = md(body)
    # the page's only heading is its title, whatever level the HTML gives it
    assert out.startswith("# Topic\n\nThis is the real text")
    assert "Home" not in out and "©" not in out and "[a link](https://docs.example.test/more)" in out


def test_tables_gfm_and_spans():
    body = """<main><table><thead><tr><th>Name</th><th>Value</th></tr></thead>
      <tbody><tr><td>a|b</td><td>1</td></tr><tr><td colspan="2">wide</td></tr><tr><td rowspan="2">r</td><td>2</td></tr><tr><td>3</td></tr></tbody></table></main>"""
    assert md(body) == ("| Name | Value |\n|---|---|\n| a\\|b | 1 |\n| wide |  |\n| r | 2 |\n| r | 3 |")


def test_images_and_links_absolute():
    out = md('<article><p>See <a href="../api/x.html#y">x</a> <img src="img/a.png" alt="A diagram"></p></article>')
    assert out == "See [x](https://docs.example.test/api/x.html#y) ![A diagram](https://docs.example.test/guide/img/a.png)"


def test_cookie_banner_and_search_removed():
    body = """<main><div class="cookie-consent">We use cookies. Accept</div><div role="search"><input></div>
      <h1>Title</h1><section id="cookies"><h2>Cookies</h2><p>Session cookies are signed.</p></section></main>"""
    assert md(body) == "# Title\n\n## Cookies\n\nSession cookies are signed."


def test_quality_scores_and_reasons():
    good = extract_page("<main><h1>Guide</h1><p>" + "Words that say things. " * 40 + "</p></main>", URL)
    assert good.quality == 100 and good.quality_reasons == []
    thin = extract_page("<main><h1>Stub</h1><p>Coming soon.</p></main>", URL)
    assert thin.quality < 20 and thin.quality_reasons[0].startswith("thin content")
    e404 = extract_page("<title>404 Not Found</title><main><h1>Page not found</h1><p>"
                        + "Sorry, we could not find what you wanted here. " * 3 + "</p></main>", URL)
    assert e404.quality <= 5 and "soft 404 or error page" in e404.quality_reasons
    links = "".join(f'<li><a href="p{i}.html">Page number {i}</a></li>' for i in range(40))
    nav = extract_page(f"<main><h1>Index</h1><ul>{links}</ul></main>", URL)
    assert nav.quality <= 10 and any(r.startswith("navigation only") for r in nav.quality_reasons)


def test_token_count_is_real_bpe_offline():
    assert tokenizer_name() == "cl100k_base"
    assert count_tokens("hello world") == 2
    page = extract_page("<main><h1>T</h1><p>" + "tokens " * 100 + "</p></main>", URL)
    assert page.token_count == count_tokens(page.markdown)
    assert page.word_count == 101


def test_toc_links_in_sidebar_order():
    body = """<div class="sphinxsidebar" role="navigation"><ul>
      <li><a href="../index.html">Home</a></li><li><a href="install.html">Install</a></li>
      <li><a href="page.html#top">Page</a></li><li><a href="https://elsewhere.test/x">Ext</a></li>
      <li><a href="../_images/a.png">img</a></li><li><a href="usage.html">Usage</a></li></ul></div>
      <div class="body" role="main"><h1>Page</h1><p>Text of the page that is long enough.</p></div>"""
    page = extract_page(f"<html><body>{body}</body></html>", URL)
    assert page.toc_links == ["https://docs.example.test/index.html", "https://docs.example.test/guide/install.html",
                              URL, "https://docs.example.test/guide/usage.html"]


def test_empty_and_broken_input():
    assert extract_page("", URL).markdown == ""
    assert extract_page(b"<html><body><p>unclosed <b>bold", URL).markdown == "# page\n\nunclosed **bold**"
    assert extract_page('<?xml version="1.0" encoding="utf-8"?><html><body><main><p>x</p></main></body></html>',
                        URL).markdown == "# page\n\nx"


def test_inline_code_with_backticks_never_opens_a_fence():
    out = md("<main><p>first line<br><code>The ``::`` may be tacked on</code></p></main>")
    assert out == "first line\n`The ``::`` may be tacked on`"


def test_what_the_page_hides_from_readers_is_not_content():
    out = md("""<main><h1>T</h1><div class="searchtip">Search tips: use quotes</div>
      <p>Visible text here.</p><p hidden>Hidden by attribute.</p><span aria-hidden="true">icon</span>
      <p style="display: none">Hidden inline.</p>
      <div role="tabpanel" hidden><p>An inactive tab is still content.</p></div></main>""",
             head="<style>.searchtip { display:none } @media (max-width: 600px) { .wide { display: none } }</style>")
    assert "Visible text here." in out and "An inactive tab is still content." in out
    for hidden in ("Search tips", "Hidden by attribute", "icon", "Hidden inline"):
        assert hidden not in out


def test_a_listing_behind_a_view_source_toggle_is_not_content():
    # pdoc: a checkbox and, after it, the module's whole source, hidden until the box is ticked
    source = "".join(f"line_{i} = {i}\n" for i in range(300))
    out = md(f"""<main><h1>pygments.token</h1><p>Basic token types and the standard tokens.</p>
      <input class="view-source-toggle-state" type="checkbox"><label class="view-source-button">View</label>
      <div class="pdoc-code"><pre>{source}</pre></div><p>Token = Token</p>
      <div class="menu-when-open">Opened menu</div></main>""",
             head="<style>.view-source-toggle-state ~ .pdoc-code { display: none }"
                  ".view-source-toggle-state:checked ~ .pdoc-code { display: block }"
                  ".js .menu-when-open, .menu:not(.open) .menu-when-open { display: none }"
                  # Asciidoctor's stylesheet: long selectors the reading must not backtrack over
                  ".admonitionblock-and-a-long-name-of-a-class-for-it-and-more:hover { display: none }</style>")
    assert "line_1 = 1" not in out and "Basic token types" in out and "Token = Token" in out
    assert "Opened menu" in out  # hidden only in a state the page is not in (no .js, no .menu)


def test_inline_meaning_is_kept():
    out = md("<main><h1>T</h1><p>from -(2<sup>7</sup>) to 2<sup>7</sup> - 1, H<sub>2</sub>O, press <kbd>Ctrl</kbd>, "
             "<abbr title=\"HyperText Markup Language\">HTML</abbr>, <del>old</del>.</p></main>")
    assert "-(2<sup>7</sup>) to 2<sup>7</sup> - 1, H<sub>2</sub>O, press <kbd>Ctrl</kbd>, " \
           '<abbr title="HyperText Markup Language">HTML</abbr>, ~~old~~.' in out


def test_icon_font_glyphs_are_dropped_from_labels():
    out = md("<main><h1>T</h1><p><strong>\uf120 Shell</strong> and text.</p></main>")
    assert "\uf120" not in out and "**Shell** and text." in out


def test_code_language_through_nested_wrappers_and_hidden_lines_left_out():
    out = md('<main><h1>T</h1><p>Example follows here.</p><pre><pre class="playground"><code class="language-rust">'
             '<span class="boring">#![allow(unused)]\n</span><span class="boring">fn main() {\n</span>let x = 5;\n'
             '<span class="boring">}</span></code></pre></pre></main>')
    assert "```rust\nlet x = 5;\n```" in out and "allow(unused)" not in out


def test_flavours_of_one_example_side_by_side_are_two_programs():
    # Node.js: an ES-module and a CommonJS version in one <pre>, a checkbox choosing which shows
    out = md('<main><h1>T</h1><p>Read the addresses.</p><pre><input type="checkbox" aria-label="modern syntax">'
             '<code class="language-js mjs">import dns from \'node:dns\';\ndns.lookup(1);</code>'
             '<code class="language-js cjs">const dns = require(\'node:dns\');\ndns.lookup(1);</code></pre></main>')
    assert "```js\nimport dns from 'node:dns';\ndns.lookup(1);\n```\n\n```js\nconst dns = require('node:dns');" in out


def test_a_list_of_the_pages_sections_that_its_prose_introduces_is_content():
    sections = "".join(f'<h3 id="m{i}"><code>resolver.m{i}()</code></h3><p>Method {i} resolves.</p>' for i in range(4))
    links = "".join(f'<li><a href="#m{i}"><code>resolver.m{i}()</code></a></li>' for i in range(4))
    out = md(f"<main><h1>DNS</h1><p>The following methods are available:</p><ul>{links}</ul>{sections}</main>")
    assert "The following methods are available:\n\n- [`resolver.m0()`]" in out
    # the same list heading the page, introduced by nothing, is the page's own table of contents
    out = md(f"<main><h1>DNS</h1><ul>{links}</ul><p>The resolver.</p>{sections}</main>")
    assert "- [`resolver.m0()`]" not in out


def test_a_member_table_divided_by_heading_rows_stays_a_table_under_each_heading():
    rows = lambda names: "".join(f'<tr><td>int</td><td><a href="#{n}">{n}</a> (void)</td></tr>'  # noqa: E731
                                 f'<tr><td>&#160;</td><td>Does {n}. <a href="page.html#{n}">More...</a></td></tr>'
                                 for n in names)
    out = md(f'<main><h1>Group</h1><table><tr><td colspan="2"><h2>Functions</h2></td></tr>{rows(["f", "g"])}'
             f'<tr><td colspan="2"><h2>Macros</h2></td></tr>{rows(["M"])}</table>'
             '<h2><a href="#g">&#9670;&nbsp;</a>g()</h2><p>The g function.</p></main>')
    assert "## Functions\n\n| int | [f](https://docs.example.test/guide/page.html#f) (void) |\n|---|---|\n" \
           "|  | Does f. |\n| int | [g]" in out
    assert "## Macros\n\n| int | [M]" in out
    assert "## g()" in out and "More" not in out


def test_a_title_whose_part_the_page_shows_on_its_own_loses_the_project_name():
    page = extract_page('<html><head><title>Opus: Library information</title></head><body>'
                        '<div id="top"><div id="projectname"><img alt="Opus" src="logo.svg"></div></div>'
                        '<div class="header"><div class="title">Library information</div></div>'
                        '<div class="contents"><p>Functions that tell which library is linked, and more.</p></div>'
                        '</body></html>', URL)
    assert page.title == "Library information" and page.markdown.startswith("# Library information\n")


def test_a_short_chapter_about_errors_is_not_a_soft_404():
    text = "This chapter explains how the library reports errors and how to handle them well. " * 12
    page = extract_page(f"<html><head><title>Error Handling — Lib</title></head><body><main><h1>Error Handling</h1>"
                        f"<p>{text}</p></main></body></html>", URL)
    assert not any("soft 404" in reason for reason in page.quality_reasons)
    page = extract_page("<html><head><title>404 Not Found</title></head><body><main><h1>Page not found</h1>"
                        "<p>Sorry, we could not find that page.</p></main></body></html>", URL)
    assert any("soft 404" in reason for reason in page.quality_reasons)


def test_the_title_is_the_pages_heading_not_the_sites():
    page = extract_page("""<html><head><title>Install — Acme 2.0 documentation</title></head><body>
      <div class="document"><h1>Acme 2.0 documentation</h1><p>Welcome here.</p>
      <h2>Install</h2><p>Run the installer and follow what it says.</p><h3>Notes</h3><p>x</p></div></body></html>""", URL)
    assert page.title == "Install" and page.site_name == "Acme 2.0 documentation"
    # the title leads, a line above it follows it (the document gives the page its heading first)
    assert page.markdown.startswith("# Install\n\nWelcome here.\n")


def test_a_manual_pages_name_line_is_its_title_and_its_own_index_goes():
    page = extract_page("""<ul id="index"><li><a href="#NAME">NAME</a></li><li><a href="#SYNOPSIS">SYNOPSIS</a></li>
      <li><a href="#DESCRIPTION">DESCRIPTION</a></li></ul><h1 id="NAME">NAME</h1><p>rt-crontool - act on tickets</p>
      <h1 id="SYNOPSIS">SYNOPSIS</h1><pre>rt-crontool --search</pre>""", URL)
    assert page.title == "rt-crontool - act on tickets"
    assert page.markdown.startswith("# rt-crontool - act on tickets\n\n## SYNOPSIS\n")  # nested, no rival h1


def test_a_page_that_names_itself_nowhere_is_known_by_its_file_name():
    page = extract_page("<pre>RT is an issue tracker.</pre>", "https://docs.example.test/README.MariaDB.html")
    assert page.title == "README.MariaDB" and page.markdown.startswith("# README.MariaDB\n")


@pytest.mark.parametrize("body,title,kind", [
    ("".join(f"## {c}\n\n- [{c}1](x{c}.html)\n- [{c}2](y{c}.html)\n- [{c}3](z{c}.html)\n\n" for c in "ABCDEFGHIJK"), "Index",
     "general index"),
    ("Please activate JavaScript to enable the search functionality.", "Search", "search page"),
    ("\n".join(f"- [Chapter {i}](c{i}.html)\n  - [Section {i}.1](c{i}.html#s1)" for i in range(25)), "Contents",
     "table of contents"),
    ("\n".join(f"- [Chapter {i}](c{i}.html): what chapter {i} teaches you about the system, in one line" for i in range(45)),
     "Guide", None),
])
def test_generated_pages_are_recognised(body, title, kind):
    from spiders.extract.generated import generated_kind

    assert generated_kind(f"# {title}\n\n{body}", title) == kind


def test_code_language_from_a_class_naming_it_when_no_convention_is_known():
    out = extract_page('<main><h1>T</h1><p>Some words here to read.</p><div class="highlight-python notranslate">'
                       '<div class="highlight"><pre>x = 1</pre></div></div></main>', URL, disabled={"sphinx"}).markdown
    assert "```python\nx = 1\n```" in out
    out = md('<main><h1>T</h1><p>Some words here to read.</p><div class="codeblock_rust"><pre>let x = 1;</pre></div></main>')
    assert "```rust\nlet x = 1;\n```" in out


def test_a_page_its_navigation_does_not_list_stands_between_its_prev_and_next():
    html = """<html><head><link rel="prev" href="one.html"><link rel="next" href="three.html"></head><body>
      <div role="navigation"><p><a href="../index.html">Contents</a></p></div>
      <div role="main"><h1>Two</h1><p>The second page of a hidden toctree, with prose enough.</p></div></body></html>"""
    page = extract_page(html, URL)
    # a list of its own, after the navigation's (one link to the contents: no list)
    assert page.toc_links == ["", "https://docs.example.test/guide/one.html", URL, "https://docs.example.test/guide/three.html"]


def test_sub_pages_in_the_content_nest_under_their_entry_in_the_sidebar():
    html = """<html><body><div class="sidebar" role="navigation"><ul><li><a href="a.html">A</a></li>
      <li><a href="page.html">Page</a></li><li><a href="z.html">Z</a></li></ul></div>
      <div role="main"><h1>Page</h1><p>A section with two sub-pages.</p>
      <div class="toctree-wrapper"><ul><li><a href="page/x.html">X</a></li><li><a href="page/y.html">Y</a></li></ul></div>
      </div></body></html>"""
    page = extract_page(html, URL)
    assert [u.removeprefix("https://docs.example.test/guide/") for u in page.toc_links] == \
        ["a.html", "page.html", "page/x.html", "page/y.html", "z.html"]


def test_a_section_that_held_only_a_table_of_contents_goes_with_it():
    html = """<html><body><div role="main"><section><h1>Guide</h1><p>Welcome to the guide, read on.</p>
      <section id="intro"><h2>Introduction</h2><div class="toctree-wrapper compound"><ul>
        <li><a href="overview.html">Overview</a></li><li><a href="install.html">Installation</a></li></ul></div></section>
      <section id="api"><h2>API</h2><p>The API has one function.</p></section></section></div></body></html>"""
    md = extract_page(html, URL).markdown
    assert "Introduction" not in md and "## API\n\nThe API has one function." in md


def test_a_short_page_beside_a_long_table_of_contents_is_still_the_page():
    toc = "".join(f'<li><a href="p{i}.html">Chapter number {i} of the guide</a></li>' for i in range(40))
    html = f"""<html><body><div class="content"><div class="document"><div role="main">
      <h1>AJAX with jQuery</h1><p>Obsolete, see <a href="javascript.html">JavaScript</a> instead.</p></div></div>
      <div class="sidebar-of-a-theme-nobody-knows"><h3>Table of Contents</h3><ul>{toc}</ul></div></div></body></html>"""
    md = extract_page(html, URL).markdown
    assert md == "# AJAX with jQuery\n\nObsolete, see [JavaScript](https://docs.example.test/guide/javascript.html) instead."


@pytest.mark.parametrize("head,body,title,site", [
    # a separator inside brackets belongs to the part it is in: "(Oracle - Berkeley DB Java API)" is the site
    ("<title>com.sleepycat.bind Class Hierarchy (Oracle - Berkeley DB Java API)</title>",
     "<p>Package hierarchies and the classes of this package, in a tree.</p>",
     "com.sleepycat.bind Class Hierarchy", "Oracle - Berkeley DB Java API"),
    # an empty window title leaves a bare separator in front
    ("<title>\n: Index\n</title>", "<p>Entries of the index follow, by letter.</p>", "Index", ""),
    # "Site (Page)": the part a line at the top of the page says is the page's
    ("<title>megaparsec-9.2.2: Monadic parser combinators (Index - B)</title>",
     "<ul><li><a href='doc-index-A.html'>A</a></li></ul><p class='caption'>Index - B</p><p>between, binary</p>",
     "Index - B", "megaparsec-9.2.2: Monadic parser combinators"),
    # og:site_name names the site, whatever <title> says
    ('<title>Installation | Quill</title><meta property="og:site_name" content="Quill Docs">',
     "<main><h1>Installation</h1><p>Install it with the package manager.</p></main>", "Installation", "Quill Docs"),
])
def test_title_and_site_name_from_title_element(head, body, title, site):
    page = extract_page(f"<html><head>{head}</head><body>{body}</body></html>", URL)
    assert (page.title, page.site_name) == (title, site)


def test_a_manual_pages_long_name_line_gives_its_name_as_title():
    purpose = "An Action which can be used from an external tool, or in any situation where a ticket " \
              "transaction has not been started, to make a comment on the ticket."
    page = extract_page(f"<h1 id='NAME'>NAME</h1><p>RT::Action::RecordComment - {purpose}</p>"
                        "<h1 id='SYNOPSIS'>SYNOPSIS</h1><pre>my $a = 1;</pre>", URL)
    assert page.title == "RT::Action::RecordComment"
    assert page.markdown.startswith("# RT::Action::RecordComment\n\n## SYNOPSIS\n")


@pytest.mark.parametrize("robots,kind", [("noindex", NOINDEX), ("NOINDEX, follow", NOINDEX), ("none", NOINDEX),
                                         ("noodp,noydir,index,follow", None)])
def test_a_page_asking_search_engines_to_leave_it_out_says_so(robots, kind):
    page = extract_page(f'<html><head><meta name="robots" content="{robots}"><title>Book</title></head>'
                        "<body><main><h1>Book</h1><p>All of the chapters, one after another.</p></main></body></html>",
                        URL)
    assert page.generated == kind


@pytest.mark.parametrize("body,title,kind", [
    # a list of pages, in order, without anchors: a section's pages, not an index of names
    ("\n".join(f"- [Module {chr(97 + i)}](m{i}.html)" for i in range(25)), "Modules", None),
    # an API summary: names in order, pointing into pages, each with what it does
    ("| Name | What it does |\n|---|---|\n" + "\n".join(
        f"| [`f{i:02}`](api/f{i:02}.html#f{i:02}) | Return the value of the thing number {i} as a string |"
        for i in range(20)), "Reference", None),
    # names in order, each pointing into another page, nothing said of them: an index nobody named
    ("\n".join(f"- name_{i:02} : [header.h](group.html#a{i})" for i in range(12)), "Opus: Globals", "general index"),
    # a class page says what its class implements: "All Known ..." is not a list of all of something
    ("**All Known Implementing Classes:**\n\n[A](a.html), [B](b.html)\n\n"
     + "\n".join(f"- [m{i}](#m{i})" for i in range(8)), "Interface Foo", None),
    ("Here is a list of all files with brief descriptions:\n\n| [a.h](a_8h.html) | API |\n|---|---|\n"
     "| [b.h](b_8h.html) | Types |", "Opus: File List", "list of all items"),
    # the same with one file: its one row is the table's first, an entry all the same
    ("Here is a list of all documented files with brief descriptions:\n\n| [define.h](define_8h.html) | Defines |\n"
     "|---|---|", "Define Command: File List", "list of all items"),
    # a whole contents with its numbers ("1. Introduction", "1.1 ...") and nothing else
    ("\n".join(f"- {i}. [Chapter {i}](c{i}.html)\n  - {i}.1 [Part one](c{i}.html#a)" for i in range(1, 25)),
     "Specification", "table of contents"),
    # a home page's introduction above its whole contents is content
    (" ".join(["Acme checks the types of your programs before you run them, and says where they go wrong."] * 7)
     + "\n\n" + "\n".join(f"- [Chapter {i}](c{i}.html)\n  - [Section {i}.1](c{i}.html#s1)" for i in range(40)),
     "Welcome to Acme", None),
])
def test_generated_listings_are_told_from_content(body, title, kind):
    from spiders.extract.generated import generated_kind

    assert generated_kind(f"# {title}\n\n{body}", title, URL) == kind
