"""The job page's list by fate on a job too large to show whole: paged, skipped URLs grouped by
reason, the text filter taken literally, and the fragment an htmx filter change asks for."""
from __future__ import annotations

import re

from tests.web.conftest import sql


def make_job(api, api_site, database_url) -> str:
    response = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")})
    job_id = response.json()["data"]["jobId"]
    # 250 stored pages (one left out), 2 failed, 300 skipped for the page limit and 4 cancelled.
    sql(database_url,
        "INSERT INTO job_urls (job_id, url, normalized_url, status, title, depth, finished_at, included, drop_reason,"
        " quality, quality_reasons, error_message, http_status)"
        " SELECT $1::uuid, u, u, s, t, 1, now() - make_interval(secs => n), i, d, 50, '[\"thin text\"]'::jsonb, e, h"
        " FROM (SELECT n, 'https://docs.example.org/docs/p' || n || '.html' AS u,"
        "   CASE WHEN n < 250 THEN 'completed' WHEN n < 252 THEN 'failed' ELSE 'skipped' END AS s,"
        "   CASE WHEN n = 7 THEN 'Per_cent 100% guide' ELSE 'Page ' || n END AS t,"
        "   CASE WHEN n < 250 THEN n <> 3 END AS i, CASE WHEN n = 3 THEN 'below the quality threshold' END AS d,"
        "   CASE WHEN n BETWEEN 250 AND 251 THEN 'HTTP 500' WHEN n BETWEEN 252 AND 551 THEN"
        "     'not fetched: page limit reached' WHEN n > 551 THEN 'cancelled' END AS e,"
        "   CASE WHEN n BETWEEN 250 AND 251 THEN 500 END AS h FROM generate_series(0, 555) n) rows",
        job_id)
    return job_id


def test_a_large_job_is_paged_grouped_and_filtered(api, api_site, database_url):
    job_id = make_job(api, api_site, database_url)
    first = api.get(f"/jobs/{job_id}").text
    counts = dict(re.findall(r'id="fate-(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', first))
    assert counts == {"fetched": "252", "included": "249", "left_out": "1", "failed": "2", "skipped": "304"}
    assert first.count('<a class="detail"') == 100 and "1–100 of 252" in first and 'rel="next"' in first

    third = api.get(f"/jobs/{job_id}?page=3").text
    assert third.count('<a class="detail"') == 52 and "201–252 of 252" in third and 'rel="next"' not in third

    skipped = api.get(f"/jobs/{job_id}?fate=skipped").text
    groups = re.findall(r'<span class="reason">([^<]+)</span> <span class="count">(\d+) URLs?</span>', skipped)
    assert groups == [("not fetched: page limit reached", "300"), ("cancelled", "4")]

    left_out = api.get(f"/jobs/{job_id}?fate=left_out").text
    assert "left out: below the quality threshold · quality: thin text" in left_out

    # % and _ in the filter are letters, not wildcards; the filter also narrows the counts.
    literal = api.get(f"/jobs/{job_id}", params={"q": "per_cent 100%"}).text
    assert literal.count('<a class="detail"') == 1 and "Per_cent 100% guide" in literal
    assert re.search(r'id="fate-skipped"[^>]*>[^<]*<span class="count">0</span>', literal)

    # htmx asking for the live part gets the fragment alone, its stream following the same filter.
    fragment = api.get(f"/jobs/{job_id}?fate=failed", headers={"HX-Request": "true", "HX-Target": "job-live"}).text
    assert fragment.startswith('<div id="job-live"') and "<html" not in fragment
    assert f'sse-connect="/jobs/{job_id}/events?fate=failed"' in fragment and fragment.count('<a class="detail"') == 2
    assert 'hx-target="#job-live"' in fragment and 'hx-target="#pages-section"' not in fragment

    # Once the job has ended nothing else on the page changes: a filter swaps the pages' section alone.
    sql(database_url, "UPDATE crawl_jobs SET status = 'completed', current_step = 'done' WHERE id = $1::uuid", job_id)
    ended = api.get(f"/jobs/{job_id}").text
    assert 'hx-target="#pages-section"' in ended and 'hx-target="#job-live"' not in ended
    section = api.get(f"/jobs/{job_id}?fate=failed&q=p25",
                      headers={"HX-Request": "true", "HX-Target": "pages-section"}).text
    assert section.startswith('<section class="pages" id="pages-section"') and "job-state" not in section
    assert section.count('<a class="detail"') == 2 and 'value="p25"' in section
    assert 'aria-current="page">Failed <span class="count">2</span>' in section


def test_a_page_detail_shows_its_markdown_as_text_and_unknown_pages_are_404(api, api_site, database_url):
    job_id = make_job(api, api_site, database_url)
    sql(database_url, "UPDATE job_urls SET markdown = '# Title\n\n<img src=x onerror=alert(1)>', token_count = 12"
        " WHERE job_id = $1::uuid AND url LIKE '%/p3.html'", job_id)
    row = sql(database_url, "SELECT id FROM job_urls WHERE job_id = $1::uuid AND url LIKE '%/p3.html'", job_id)[0]
    html = api.get(f"/jobs/{job_id}/pages/{row['id']}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "no, left out: below the quality threshold" in html and 'href="https://docs.example.org/docs/p3.html"' in html
    assert api.get(f"/jobs/{job_id}/pages/999999999").status_code == 404


def test_download_names_are_ascii_slugs_of_the_host():
    from webapp.views.names import download_name, site_slug

    assert site_slug("https://Docs.Example.org:8443/en/") == "docs.example.org"
    assert site_slug("https://bücher.example/docs/") == "xn--bcher-kva.example"
    assert site_slug("file:///x") == "site" and site_slug("http://127.0.0.1:8000/") == "127.0.0.1"
    assert download_name("https://docs.python.org/3/", "docs.md") == "docs.python.org-docs.md"
    assert download_name("https://docs.python.org/3/", "llms-full.txt") == "llms-full.txt"
