"""Extraction benchmark: DocsPasta's extract_page against trafilatura and html2text.

Reads real documentation sites straight from disk (the Debian -doc packages that
`shared/corpus.sh install` sets up; extraction is pure, so nothing is served), runs the
three tools on the same pages and prints, per site and tool:

  P/R/F1   bag-of-words precision/recall/F1 of the output text against the page's source
           (Sphinx `_sources/*.txt`, Node.js `api/*.md.gz`); link targets are not counted;
           Sphinx pages whose source pulls its text from elsewhere (autodoc `.. auto*::`,
           `.. include::`, `.. literalinclude::`) have no usable ground truth and are not scored
  leak%    pages whose output contains a string of the site's navigation/footer: non-link text
           of furniture regions (nav/header/footer/aside, landmark roles, sidebar/related/menu
           classes) found on >= 80% of the sampled pages, page titles excepted
  code%    <pre> blocks of the main content found inside a fenced block of the output
  lang%    of those with a language in the HTML, kept with a language on the fence
  head%    headings of the main content kept as Markdown headings
  rows%    table rows of the main content's data tables kept as table rows
  pages/s  throughput of the tool alone (parse + extract + convert), one core; the tools
           run interleaved page by page so machine load affects them alike

Sites built with other generators (furo, Read the Docs and pydata Sphinx themes, MkDocs
Material, VitePress) are included when `bash bench/extract_sites.sh` has built them.

Usage: python bench/extraction.py [--per-site N] [--sites a,b] [--show-leaks]
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from extract_metrics import (  # noqa: E402
    furniture_strings,
    leak_strings,
    leaked,
    output_stats,
    parse,
    plain_text,
    prf,
    reference,
    rst_words,
    words,
)

from spiders.extract.page import extract_page  # noqa: E402

# name, HTML root, generator, ground truth kind, page filter (path parts to skip)
SITES = [
    ("celery", "/usr/share/doc/python-celery-doc/html", "Sphinx (classic)", "sphinx"),
    ("pytest", "/usr/share/doc/python-pytest-doc/html", "Sphinx (flask theme)", "sphinx"),
    ("sphinx", "/usr/share/doc/sphinx-doc/html", "Sphinx (sphinx13)", "sphinx"),
    ("flask", "/usr/share/doc/python-flask-doc/html", "Sphinx (pallets)", "sphinx"),
    ("click", "/usr/share/doc/python-click-doc/html", "Sphinx (pallets)", "sphinx"),
    ("requests", "/usr/share/doc/python-requests-doc/html", "Sphinx (alabaster)", "sphinx"),
    ("cargo-crates", "/usr/share/doc/cargo/doc", "rustdoc", None),
    ("glib", "/usr/share/gtk-doc/html/glib", "gtk-doc (DocBook)", None),
    ("erlang", "/usr/share/doc/erlang-doc", "erl_docgen + Javadoc", None),
    ("nodejs", "/usr/share/doc/nodejs/api", "Node.js doc tool", "markdown"),
]
# Held out: added after the extractor was tuned, to see how it does on pages it was not tuned on.
SITES += [
    ("python3-docs", "/usr/share/doc/python3.11/html", "Sphinx (python-docs-theme), held out", "sphinx"),
    ("docutils", "/usr/share/doc/docutils-doc", "docutils rst2html, held out", "rst-beside"),
]
# Built by bench/extract_sites.sh from the same real sources with other generators (if present).
_BUILT = os.environ.get("SITES_DIR", "/tmp/docspasta-sites")
SITES += [
    ("flask-furo", f"{_BUILT}/flask-furo", "Sphinx (furo)", "sphinx"),
    ("flask-rtd", f"{_BUILT}/flask-rtd", "Sphinx (Read the Docs)", "sphinx"),
    ("flask-pydata", f"{_BUILT}/flask-pydata", "Sphinx (pydata)", "sphinx"),
    ("nodejs-material", f"{_BUILT}/nodejs-material", "MkDocs Material", "markdown"),
    ("nodejs-vitepress", f"{_BUILT}/nodejs-vitepress", "VitePress", "markdown"),
]
SKIP = ("/_modules/", "/_static/", "/_sources/", "/src/", "genindex", "search.html", "py-modindex",
        "/404.html", "/implementors/", "settings.html", "all.html")


_PULLS_TEXT = re.compile(r"^\s*\.\. (auto\w+|include|literalinclude)::", re.M)


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def pages_of(root: str, limit: int) -> list[Path]:
    base = Path(root)
    files = sorted(p for p in base.rglob("*") if p.name.endswith((".html", ".html.gz"))
                   and not any(s in str(p) for s in SKIP))
    if len(files) > limit:  # an even, deterministic sample across the whole site
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def source_of(kind: str | None, root: str, page: Path) -> str | None:
    rel = page.relative_to(root).as_posix().removesuffix(".gz").removesuffix(".html")
    if kind == "sphinx":
        cands = [f"_sources/{rel}{ext}" for ext in (".rst.txt", ".txt", ".md.txt", ".rst")]
    elif kind == "markdown":
        cands = [f"{rel}.md.gz", f"{rel}.md"]
    elif kind == "rst-beside":
        cands = [f"{rel}.txt", f"{rel}.txt.gz", f"{rel}.rst"]
    else:
        return None
    for c in cands:
        p = Path(root) / c
        if p.exists():
            text = read(p).decode("utf-8", "replace")
            # text pulled in from elsewhere (docstrings, included files) is not in this source:
            # such a page has no usable ground truth
            if kind == "sphinx" and _PULLS_TEXT.search(text):
                return None
            return text
    return None


def run_ours(html: bytes, url: str) -> str:
    return extract_page(html, url).markdown


def run_trafilatura(html: bytes, url: str) -> str:
    import trafilatura
    return trafilatura.extract(html, url=url, output_format="markdown", include_tables=True,
                               include_formatting=True, include_links=True, include_images=True) or ""


def run_html2text(html: bytes, url: str) -> str:
    import html2text
    h = html2text.HTML2Text(baseurl=url)
    h.body_width = 0
    h.mark_code = True
    return h.handle(html.decode("utf-8", "replace"))


TOOLS = [("docspasta", run_ours), ("trafilatura", run_trafilatura), ("html2text", run_html2text)]


def pct(pair) -> str:
    kept, total = pair
    return f"{100 * kept / total:5.1f}" if total else "    -"


def bench_site(name, root, generator, kind, limit, show_leaks=False):
    files = pages_of(root, limit)
    htmls = [read(p) for p in files]
    urls = [f"http://docs.test/{name}/" + p.relative_to(root).as_posix().removesuffix(".gz") for p in files]
    docs = [parse(h) for h in htmls]
    refs = [reference(d) for d in docs]
    titles = set()
    for d in docs:
        for t in d.iter("title", "h1"):
            titles.add(" ".join("".join(t.itertext()).split()).lower())
    strings = leak_strings([furniture_strings(d) for d in docs], titles)
    sources = [source_of(kind, root, p) for p in files]
    # the tools run page by page, interleaved, so that a busy machine slows them all alike
    for _, fn in TOOLS:
        fn(htmls[0], urls[0])  # warm up (imports, tokenizer)
    outputs = {tool: [] for tool, _ in TOOLS}
    seconds = {tool: 0.0 for tool, _ in TOOLS}
    for h, u in zip(htmls, urls, strict=True):
        for tool, fn in TOOLS:
            t0 = time.perf_counter()
            outputs[tool].append(fn(h, u))
            seconds[tool] += time.perf_counter() - t0
    rows = []
    for tool, _ in TOOLS:
        outs = outputs[tool]
        rate = len(files) / seconds[tool]
        scores = [prf(words(plain_text(o)), rst_words(s, markdown=kind == "markdown")) for o, s in zip(outs, sources, strict=True)
                  if s]
        agg = {k: [0, 0] for k in ("code", "lang", "headings", "rows")}
        leaks = 0
        for o, r, f, src in zip(outs, refs, files, sources, strict=True):
            st = output_stats(o, r)
            for k in agg:
                agg[k][0] += st[k][0]
                agg[k][1] += st[k][1]
            hit = leaked(o, strings, src)
            if hit:
                leaks += 1
                if show_leaks and tool == "docspasta":
                    print(f"    leak {f}: {hit[:3]}")
        p = r_ = f1 = None
        if scores:
            p, r_, f1 = (sum(s[i] for s in scores) / len(scores) for i in range(3))
        rows.append((tool, p, r_, f1, 100 * leaks / len(files), agg, rate, len(scores)))
    return files, strings, rows


def fmt(v):
    return f"{v:5.3f}" if v is not None else "    -"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-site", type=int, default=40, help="pages sampled per site (default 40)")
    ap.add_argument("--sites", default="", help="comma-separated site names (default: all present)")
    ap.add_argument("--show-leaks", action="store_true")
    args = ap.parse_args(argv)
    wanted = set(filter(None, args.sites.split(",")))
    header = (f"  {'tool':<12} {'P':>5} {'R':>5} {'F1':>5} {'leak%':>6} {'code%':>6} {'lang%':>6} {'head%':>6}"
              f" {'rows%':>6} {'pages/s':>8}")
    total_pages, summary = 0, {}
    for name, root, generator, kind in SITES:
        if (wanted and name not in wanted) or not os.path.isdir(root):
            continue
        files, strings, rows = bench_site(name, root, generator, kind, args.per_site, args.show_leaks)
        total_pages += len(files)
        with_src = rows[0][7]
        print(f"\n{name} ({generator}): {len(files)} pages, {with_src} with sources, {len(strings)} leak strings")
        print(header)
        for tool, p, r, f1, leak, agg, rate, _ in rows:
            print(f"  {tool:<12} {fmt(p)} {fmt(r)} {fmt(f1)} {leak:6.1f} {pct(agg['code']):>6} {pct(agg['lang']):>6} "
                  f"{pct(agg['headings']):>6} {pct(agg['rows']):>6} {rate:8.1f}")
            s = summary.setdefault(tool, {"f1": [], "leak": [0, 0], "code": [0, 0], "lang": [0, 0],
                                          "headings": [0, 0], "rows": [0, 0], "time": 0.0})
            if f1 is not None:
                s["f1"].append(f1)
            s["leak"][0] += leak * len(files) / 100
            s["leak"][1] += len(files)
            for k in ("code", "lang", "headings", "rows"):
                s[k][0] += agg[k][0]
                s[k][1] += agg[k][1]
            s["time"] += len(files) / rate
    print(f"\nall sites: {total_pages} pages")
    print(f"  {'tool':<12} {'meanF1':>6} {'leak%':>6} {'code%':>6} {'lang%':>6} {'head%':>6} {'rows%':>6} {'pages/s':>8}")
    for tool, s in summary.items():
        mf1 = sum(s["f1"]) / len(s["f1"]) if s["f1"] else None
        print(f"  {tool:<12} {fmt(mf1):>6} {pct(s['leak']):>6} {pct(s['code']):>6} {pct(s['lang']):>6} "
              f"{pct(s['headings']):>6} {pct(s['rows']):>6} {total_pages / s['time']:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
