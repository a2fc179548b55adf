"""Generate a static documentation site of N pages for benchmarks.

Pages form a tree (each section page links its children) with a sidebar of the
first sections on every page, like real generators, and a few paragraphs and a
code block each. Served by `python -m http.server` from the output folder.

    python bench/sitegen.py OUT_DIR N
"""
from __future__ import annotations

import sys
from pathlib import Path

FANOUT = 10
WORDS = ("crawler frontier token budget extraction markdown sitemap robots scope depth "
         "retry backoff worker lease heartbeat pipeline stream snapshot document quality").split()


def page_html(n: int, total: int) -> str:
    children = [c for c in range(n * FANOUT + 1, n * FANOUT + FANOUT + 1) if c < total]
    sidebar = "".join(f'<li><a href="/docs/p{i}.html">Section {i}</a></li>' for i in range(1, min(total, 12)))
    links = "".join(f'<li><a href="p{c}.html">Page {c}</a></li>' for c in children)
    text = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(120))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Page {n}</title></head><body>"
        f"<header><a href='/docs/'>Docs</a></header><nav class='sidebar'><ul>{sidebar}</ul></nav>"
        f"<main><article><h1>Page {n}</h1><p>{text}</p><h2>Example</h2>"
        f"<pre><code class='language-python'>def page_{n}():\n    return {n}\n</code></pre>"
        f"<p>{text[::-1]}</p><ul>{links}</ul></article></main>"
        "<footer>Generated documentation, for benchmarks</footer></body></html>"
    )


def generate(out: Path, total: int) -> str:
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "index.html").write_text(page_html(0, total))
    for n in range(1, total):
        (docs / f"p{n}.html").write_text(page_html(n, total))
    return "/docs/"


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]), int(sys.argv[2])))
