"""Golden tests: real pages saved from Debian -doc packages (trimmed), one per generator,
compared exactly with the Markdown written for them (tests/golden/<generator>/<name>.md)."""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from spiders.extract.page import extract_page

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PAGES = json.loads((GOLDEN / "pages.json").read_text())


@pytest.mark.parametrize("name", sorted(PAGES))
def test_golden_markdown(name):
    html = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    expected = (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    got = extract_page(html, PAGES[name]).markdown + "\n"
    if got != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                            "expected", "got", n=1))
        pytest.fail(f"{name}: Markdown differs from the golden file\n{diff[:4000]}")


def test_golden_covers_six_generators():
    assert len({name.split("/")[0] for name in PAGES}) >= 6


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
