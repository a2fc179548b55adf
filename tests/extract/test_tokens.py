"""Token counts that add up: a text counted in pieces gives the whole text's count."""
from __future__ import annotations

import pytest

from spiders.extract.tokens import (
    PARALLEL_CHARS,
    count_tokens,
    count_tokens_appended,
    count_tokens_edited,
    count_tokens_many,
)

TEXTS = [
    "Plain sentence without a newline",
    "A paragraph.\n\nAnother one ends with spaces   ",
    "    indented code\n    more code\n",
    "## Heading\n\nText under it.\n\n```python\nx = 1\n    y = 2\n```",
    "Line one\n  \n\tTabbed line after a blank one with spaces",
    "Numbers 123\n456 split by a newline\n789",
    "CRLF line\r\nnext line\r\n",
    "Ünïcödé wörds\n日本語のテキスト\n😀 emoji",
    "ends in newlines\n\n\n",
    "x = 1\n    ",  # blanks after its last newline: a newline added after them joins them
    "a.\n\t",
    "",
]
SUFFIXES = ["\n", "\n\n", "\n\n---", " ", "x", "\n  y"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_count_extended_by_its_last_line_equals_counting_it_whole(text):
    for suffix in SUFFIXES:
        assert count_tokens_appended(text, count_tokens(text), suffix) == count_tokens(text + suffix), (text, suffix)


def test_many_texts_counted_on_two_threads_keep_their_order():
    texts = [f"Page {n}: " + "word " * (n % 97) + "\n" + "函数 " * (n % 13) for n in range(3000)]
    assert sum(map(len, texts)) > PARALLEL_CHARS  # large enough for the second thread
    assert count_tokens_many(texts) == [count_tokens(text) for text in texts]
    assert count_tokens_many(texts[:3]) == [count_tokens(text) for text in texts[:3]]
    assert count_tokens_many([]) == []


PAGE = ("# Install\n\nRun the installer.\n\n## Options\n\n    --quiet   say less\n\n## Options\n\n"
        "Repeated heading, repeated text.\n\nRepeated heading, repeated text.\n\n```\ncode\n  indented\n```\n"
        "Footer: all rights reserved.")


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("\n## ", "\n### "),  # headings a level down
    lambda t: t.split("\n\n", 1)[1],  # the title's heading taken out
    lambda t: t.replace("\n\nRepeated heading, repeated text.", "", 1),  # one of two equal blocks gone
    lambda t: t.rsplit("\n", 1)[0],  # the footer gone
    lambda t: t.replace("    --quiet", "--quiet"),  # a line that joined its blank line now stands apart
    lambda t: t + "\n\nA new block   \n",
    lambda t: "",
])
def test_a_count_after_editing_some_lines_equals_counting_the_edited_text(edit):
    edited = edit(PAGE)
    assert count_tokens_edited(PAGE, count_tokens(PAGE), edited) == count_tokens(edited)
