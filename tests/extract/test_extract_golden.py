"""Golden tests: pages saved from Debian -doc packages (trimmed, structure kept) and a few
realistic synthetic ones (handwritten/, docusaurus/: marked in their first comment), compared
exactly with the Markdown written for them by reading each page (tests/golden/<generator>/<name>.md).
The expected files are never regenerated from the extractor: where it is wrong, the case is an
xfail naming the defect (strict, so a fix turns it into a pass that must be unmarked)."""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from spiders.extract.generated import NOINDEX
from spiders.extract.page import extract_page
from spiders.extract.rules import GENERATORS

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PAGES = json.loads((GOLDEN / "pages.json").read_text())

# Known extraction defects (issue 13), one line each; the expected Markdown stays as read.
DEFECTS: dict[str, str] = {}


def _cases():
    return [pytest.param(name, marks=pytest.mark.xfail(reason=DEFECTS[name], strict=True))
            if name in DEFECTS else name for name in sorted(PAGES)]


@pytest.mark.parametrize("name", _cases())
def test_golden_markdown(name):
    html = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    expected = (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    got = extract_page(html, PAGES[name]).markdown + "\n"
    if got != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                            "expected", "got", n=1))
        pytest.fail(f"{name}: Markdown differs from the golden file\n{diff[:4000]}")


def test_golden_covers_twenty_pages_of_fifteen_generators():
    assert len(PAGES) >= 20
    assert len({name.split("/")[0] for name in PAGES}) >= 15
    assert set(DEFECTS) <= set(PAGES)


def test_short_real_chapter_intro_is_not_a_soft_404():
    """The Rust book's 'Error Handling' intro (~190 words of prose) is content, whatever its title says."""
    name = "mdbook/ch09-00-error-handling"
    page = extract_page((GOLDEN / f"{name}.html").read_text(encoding="utf-8"), PAGES[name])
    assert not any("soft 404" in r or "error page" in r for r in page.quality_reasons), page.quality_reasons
    assert page.quality >= 50, (page.quality, page.quality_reasons)


def test_a_manual_page_without_a_wrapper_keeps_its_name_and_sections():
    """Pod::Simple's fragment: no <title>, no <body> wrapper, most of its text in one <dl>. The
    NAME line is the title, NAME's sibling sections nest under it, the options list stays whole."""
    name = "pod/rt-apache"
    page = extract_page((GOLDEN / f"{name}.html").read_text(encoding="utf-8"), PAGES[name])
    assert page.title == "rt-apache - Wrapper to start Apache running RT"
    assert page.markdown.startswith("# rt-apache - Wrapper to start Apache running RT\n\n## DESCRIPTION\n")
    assert "\n## OPTIONS\n" in page.markdown and "\n**--root path**\n" in page.markdown


GENERATED = {
    "generated/sphinx-genindex": ("https://breathe.test/en/latest/genindex.html", "general index"),
    "generated/sphinx-modindex": ("https://celery.test/en/latest/py-modindex.html", "module index"),
    "generated/sphinx-search": ("https://breathe.test/en/latest/search.html", "search page"),
    "generated/sphinx-contents": ("https://pytest.test/en/latest/contents.html", "table of contents"),
    # one letter of an index, no letter headings: bare names in order, each into another page
    "generated/sphinx-genindex-H": ("https://python.test/3.11/genindex-H.html", "general index"),
    "generated/haddock-doc-index-B": ("https://hackage.test/megaparsec/doc-index-B.html", "general index"),
    "generated/doxygen-globals-func": ("https://opus.test/html/globals_func.html", "general index"),
    # an index named as one, its entries' links holding [brackets]
    "generated/xfpt-variable-index": ("https://exim.test/spec_html/ch-variable_index.html", "general index"),
    "generated/javadoc17-allclasses-index": ("https://validator.test/api/allclasses-index.html",
                                             "list of all items"),
    "generated/doxygen-files": ("https://opus.test/html/files.html", "list of all items"),
    "generated/rustdoc-all": ("https://docs.rs.test/proc_macro2/all.html", "list of all items"),
    "generated/javadoc17-package-tree": ("https://validator.test/api/org/apache/commons/validator/package-tree.html",
                                         "class hierarchy"),
    "generated/javadoc17-deprecated-list": ("https://validator.test/api/deprecated-list.html",
                                            "list of deprecated items"),
    "generated/mdbook-print": ("https://doc.rust-lang.test/nomicon/print.html", NOINDEX),
    # a package's own page: its classes with a line on each are its content
    "generated/javadoc17-package-summary": (
        "https://validator.test/api/org/apache/commons/validator/routines/checkdigit/package-summary.html", None),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
@pytest.mark.parametrize("disabled", [frozenset(), GENERATORS], ids=["all-on", "generic"])
def test_generated_pages_are_recognised(name, disabled):
    """What the page is, read from the page, with or without the rules of its generator."""
    url, kind = GENERATED[name]
    page = extract_page((GOLDEN / f"{name}.html").read_text(encoding="utf-8"), url, disabled=disabled)
    assert page.generated == kind


@pytest.mark.parametrize("name", sorted(PAGES))
def test_content_pages_are_not_generated(name):
    """Every golden page is content, a section index with its one-line descriptions included."""
    page = extract_page((GOLDEN / f"{name}.html").read_text(encoding="utf-8"), PAGES[name])
    assert page.generated is None


@pytest.mark.parametrize("name", sorted(PAGES))
def test_golden_pages_have_no_furniture(name):
    """Whatever the generator, the output holds no permalink signs or navigation labels."""
    md = (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    for bad in ("¶", "](#", "Edit this page", "Previous topic", "Next topic", "Quick search",
                "Show Source", "Table of contents", "Skip navigation"):
        assert bad not in md, bad


def _fenced(md: str) -> list[tuple[str, str]]:
    blocks, lines, info, fence = [], [], "", None
    for line in md.split("\n"):
        if fence is None and line.startswith("```"):
            fence, info, lines = line[: len(line) - len(line.lstrip("`"))], line.lstrip("`").strip(), []
        elif fence is not None and line.strip() == fence:
            blocks.append((info, "\n".join(lines)))
            fence = None
        elif fence is not None:
            lines.append(line)
    return blocks


@pytest.mark.parametrize("name", ["nodejs/path", "mkdocs-material/path", "vitepress/path"])
def test_code_blocks_byte_exact_against_markdown_source(name):
    """Three generators rendered the same Markdown: every code block comes back exactly as
    written in the source, with its language."""
    source = dict((body, info) for info, body in _fenced((GOLDEN / "sources" / "nodejs-path.md").read_text()))
    html = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    blocks = _fenced(extract_page(html, PAGES[name]).markdown)
    assert len(blocks) >= 10
    for info, body in blocks:
        assert body in source, body
        assert info == source[body], (info, source[body], body)
