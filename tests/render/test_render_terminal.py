"""`docspasta crawl --render` from the terminal, against the docsify fixture site."""
from __future__ import annotations

import json
import sys

from tests.crawl.test_terminal import run
from tests.render.test_render_crawl import D, needs_chromium, serve_docsify


@needs_chromium
def test_docspasta_crawl_renders_a_docsify_site(site, tmp_path):
    serve_docsify(site)
    out, pages = tmp_path / "docs.md", tmp_path / "pages.json"
    proc = run(sys.executable, "-m", "webapp.cli", "crawl", site.url(D), "-o", str(out), "--json", str(pages),
               "--render", "auto", "-q", allow=f"127.0.0.1:{site.port}", timeout=120)
    assert proc.returncode == 0, proc.stderr
    items = {item["url"].partition("#")[2]: item for item in json.loads(pages.read_text())["pages"]}
    assert set(items) == {"", "/quickstart", "/configuration", "/guide/templates", "/faq"}
    assert all(item["status"] == "completed" and item["rendered"] for item in items.values())
    assert "pip install pastry" in items["/quickstart"]["markdown"]
    document = out.read_text()
    for text in ("static site generator for recipe collections", "pip install pastry", "Jinja templates",
                 "How do I publish?"):
        assert text in document, f"{text!r} missing: a route was folded into another page"


def test_render_flag_is_checked():
    proc = run(sys.executable, "-m", "webapp.cli", "crawl", "https://docs.example.org/", "--render", "sometimes")
    assert proc.returncode == 2 and "--render: invalid choice: 'sometimes'" in proc.stderr
