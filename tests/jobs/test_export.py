"""export.json written a page at a time (`docspasta crawl --json`) is the API's export, byte for byte."""
import io
import json
from datetime import UTC, datetime

import pytest

from spiders.jobs.export import export_document, write_export

JOB = {"id": None, "status": "completed", "createdAt": datetime(2026, 12, 3, tzinfo=UTC), "include": ["/a/*"]}
PAGES = [
    {"url": "http://127.0.0.1:1/a", "included": True, "reason": None, "markdown": "# A\n\n```py\nx = 1\n```",
     "links": [], "quality_reasons": ["short"], "title": "Ä “quoted” \u2028 line"},
    {"url": "http://127.0.0.1:1/b", "included": False, "reason": "quality 10 < 20", "markdown": "",
     "links": ["http://127.0.0.1:1/a"], "toc_links": {}},
    {"url": "http://127.0.0.1:1/c", "included": None, "reason": None, "status": "failed", "error": "HTTP 500"},
]


@pytest.mark.parametrize("pages", [PAGES, []], ids=["pages", "no pages"])
def test_streamed_export_is_the_documents_json(pages):
    expected = io.StringIO()
    json.dump(export_document(JOB, pages), expected, ensure_ascii=False, indent=1, default=str)
    written = io.StringIO()
    write_export(written, JOB, iter(pages))  # an iterator: read once, never held
    assert written.getvalue() == expected.getvalue()
    dropped = [{"url": "http://127.0.0.1:1/b", "reason": "quality 10 < 20"}] if pages else []
    assert json.loads(written.getvalue())["dropped"] == dropped
