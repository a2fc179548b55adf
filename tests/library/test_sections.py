"""The library's splitting of a document into pages and sections, and its cut to a token budget."""
from __future__ import annotations

from spiders.document.assemble import assemble_document, split_blocks
from spiders.extract.tokens import count_tokens
from spiders.library.sections import cut_to_budget, document_pages, site_name, split_sections

GUIDE = """# Guide

The guide explains the library.

## Installing

Run pip.

```python
# not a heading: a comment in code
pip install lib
```

### On Windows

Use py -m pip.

## Configuring

Set LIB_HOME."""


def pages():
    return [
        {"url": "https://docs.example.org/", "title": "Home", "status": "completed", "quality": 80, "depth": 0,
         "markdown": "# Home\n\nWelcome to the example library, a small library of examples for readers."},
        {"url": "https://docs.example.org/guide.html", "title": "Guide", "status": "completed", "quality": 80,
         "depth": 1, "markdown": GUIDE},
        {"url": "https://docs.example.org/bad.html", "title": "Bad", "status": "failed", "depth": 1},
    ]


def test_an_assembled_document_splits_back_into_its_pages_in_order():
    doc = assemble_document(pages(), source_url="https://docs.example.org/")
    found = document_pages(doc.markdown)
    assert [(p.title, p.url) for p in found] == [("Home", "https://docs.example.org/"),
                                                ("Guide", "https://docs.example.org/guide.html")]
    assert found[1].body == doc.bodies[1], "a page's text is the document's, appendix of dropped pages left out"
    assert "pages left out" not in found[-1].body


def test_a_page_splits_at_its_headings_outside_code_with_heading_paths_and_tokens():
    doc = assemble_document(pages(), source_url="https://docs.example.org/")
    guide = document_pages(doc.markdown)[1]
    sections = split_sections(guide.title, guide.body)
    assert [s.heading_path for s in sections] == [
        ("Guide",), ("Guide", "Installing"), ("Guide", "Installing", "On Windows"), ("Guide", "Configuring")]
    assert "pip install lib" in sections[1].text and "# not a heading" in sections[1].text
    assert all(s.token_count == count_tokens(s.text) for s in sections)
    assert "\n\n".join(s.text for s in sections) == guide.body, "the sections are the page, nothing lost"


def test_an_answer_over_budget_is_cut_between_blocks_and_says_what_was_left_out():
    text = "\n\n".join(f"Paragraph {n} " + "word " * 40 for n in range(30))
    cut = cut_to_budget(text, 300, more="ask for more")
    assert cut.truncated and cut.token_count <= 300
    shown = cut.text.split("\n\n[truncated")[0]
    assert split_blocks(shown) == split_blocks(text)[:len(split_blocks(shown))], "whole blocks only"
    assert f"of {count_tokens(text)} tokens shown" in cut.note and "block(s) left out" in cut.note
    assert "ask for more" in cut.note
    whole = cut_to_budget("short text", 300)
    assert not whole.truncated and whole.text == "short text"


def test_a_single_block_larger_than_the_budget_is_cut_between_lines_and_its_fence_closed():
    code = "```python\n" + "\n".join(f"value_{n} = compute({n})" for n in range(400)) + "\n```"
    cut = cut_to_budget(code, 200)
    assert cut.truncated and cut.token_count <= 200
    shown = cut.text.split("\n\n[truncated")[0]
    assert shown.startswith("```python\n") and shown.endswith("\n```")
    assert "cut short" in cut.note


def test_a_site_is_named_by_its_host_and_start_directory():
    assert site_name("https://docs.python.org/3/index.html") == "docs.python.org/3"
    assert site_name("https://www.Example.org/") == "example.org"
    assert site_name("http://127.0.0.1:8304/") == "127.0.0.1:8304"
