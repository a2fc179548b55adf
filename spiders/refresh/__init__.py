"""Refresh: crawl a site again against what an earlier crawl stored, and say what changed.

`previous` is what the earlier crawl left (each page's validators, and its stored
extraction to reuse on a 304), read from a job's rows or from an export.json;
`conditional` sends the validators as conditional requests; `changes` compares
the two crawls' pages into a change report with unified diffs.
"""
