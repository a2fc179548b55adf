"""Leave-one-generator-out evaluation: how the extractor does on each generator of the corpus
with everything on, and with every rule specific to that site's generator switched off (the
generic path alone, `extract_page(..., disabled=...)`; see spiders/extract/rules.py).

Sites: the Debian -doc sites of ../shared/corpus.sh (its SITES table is read for roots and
generators), two more held-out Debian sites, the mdBook books of rust-doc, and the sites
`bash bench/extract_sites.sh` builds under $SITES_DIR (default /tmp/docspasta-sites). Pages are
read from disk (extraction is pure, nothing is served). Per site and per configuration:

  F1      bag-of-words F1 against the page's source text (Sphinx _sources, Markdown sources),
          as bench/extraction.py scores it, of the page as the document holds it (after assembly
          removed what repeats across the site; its extraction where the document leaves it
          out); pages whose source pulls text from elsewhere (autodoc, include, Breathe's
          doxygen*, program-output, click:run's output) are not scored; a toctree's
          rendered titles may be kept or left out (source_f1)
  (generated pages are left out of F1, leak, title and lang: they are scored by "gen")
  leak%   pages of the document whose text there holds a string of the site's chrome (non-link
          text of nav/header/footer/aside regions found on >= 80% of the sampled pages;
          extract_metrics.furniture), after assembly removed what repeats across the site
  title%  pages whose title is right: against the source's first heading where a source
          exists; else (marked ~) the title must be a part of <title> (give or take a section
          number), a heading of the page (h1-h3) or a manual page's NAME line, or the file name
          of a page that names itself nowhere, and must not be one title shared by most pages
  lang%   code blocks whose HTML names a language, kept with that language on the fence
  gen     generated pages (general/module index, search, full contents, tag/archive lists,
          API "all items" lists; ground truth by file name, which the product may not use)
          that the assembled document (assemble_document over the site's sampled pages) keeps
  xgen    pages of content the assembled document leaves out as generated (of those its quality
          threshold keeps)
  tau     Kendall tau between the assembled document's page order and the site's own order:
          the chain of rel="next" links from the start page (Sphinx, mdBook, Texinfo, DocBook,
          ...); "-" where the site gives none. The order is read, as a crawl reads it, from
          the navigation of up to --nav-pages of the site's pages (a page's sidebar, the TOCs in
          it, and its own rel="prev"/"next" when its navigation does not list it: the last is the
          ground truth's own signal, so tau on such pages is not independent evidence). Pages
          come to assembly in file-name order (no crawl), so a site without any order is
          ordered by file name.
  pg/cpu  pages per CPU-second of extract_page alone (time.process_time)

Goals: generic alone F1 >= 0.95 and leak <= 2% on every generator; all on F1 >= 0.98,
leak 0%, title >= 98%, lang >= 98%, 0 generated pages, tau >= 0.9.

Usage: python bench/generalization.py [--per-site N] [--sites a,b] [--show N] [--out FILE]
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import os
import posixpath
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from lxml import etree

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

from spiders.document.assemble import assemble_document, page_title, page_url, site_order  # noqa: E402
from spiders.extract.main import find_main  # noqa: E402
from spiders.extract.main import parse as parse_page  # noqa: E402
from spiders.extract.page import extract_page  # noqa: E402
from spiders.extract.titles import title_from_url  # noqa: E402
from spiders.extract.toc import toc_links  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus.sh"
BUILT = os.environ.get("SITES_DIR", "/tmp/docspasta-sites")

# The generator rules (spiders/extract/rules.py) each corpus generator's sites may use: all are
# switched off for the "generic" column. Keyed by the generator label of corpus.sh.
TAGS = {
    "Sphinx": {"sphinx", "docutils"},
    "Sphinx (pallets theme)": {"sphinx", "docutils"},
    "Sphinx (alabaster)": {"sphinx", "docutils"},
    "Sphinx (Read the Docs theme)": {"sphinx", "docutils", "sphinx-rtd"},
    "Sphinx (furo)": {"sphinx", "docutils", "furo"},
    "Sphinx (dask: book/pydata)": {"sphinx", "docutils", "pydata"},
    "Sphinx (pydata theme)": {"sphinx", "docutils", "pydata"},
    "Sphinx (haiku theme)": {"sphinx", "docutils"},
    "Sphinx (classic theme)": {"sphinx", "docutils"},
    "Sphinx (zzzeeksphinx)": {"sphinx", "docutils"},
    "Sphinx (python-docs-theme)": {"sphinx", "docutils"},
    "Sphinx (sphinx-book-theme)": {"sphinx", "docutils", "pydata"},
    "Sphinx (agogo)": {"sphinx", "docutils"},
    "Sphinx (bizstyle)": {"sphinx", "docutils"},
    "Sphinx (shibuya)": {"sphinx", "docutils"},
    "Sphinx (piccolo)": {"sphinx", "docutils"},
    "docutils rst2html": {"docutils"},
    "rustdoc": {"rustdoc"},
    "gtk-doc (DocBook)": {"docbook"},
    "DocBook XSL 1.73 (chunked)": {"docbook"},
    "xfpt + DocBook (Exim XSLT)": {"docbook"},
    "Erlang erl_docgen": {"erlang", "javadoc"},
    "Node.js doc tool": {"nodejs"},
    "Javadoc (JDK 11)": {"javadoc"},
    "Javadoc (JDK 17)": {"javadoc"},
    "MkDocs Material": {"mkdocs", "mkdocs-material"},
    "MkDocs (mkdocs theme)": {"mkdocs"},
    "MkDocs (readthedocs theme)": {"mkdocs", "sphinx-rtd"},
    "VitePress": {"vitepress"},
    "Docusaurus 3": {"docusaurus"},
    "Starlight (Astro)": set(),
    "mdBook": {"mdbook"},
}

# (name, root, entry path, generator label, ground truth: sphinx | markdown | rst-beside | None)
EXTRA_SITES = [
    ("python3-docs", "/usr/share/doc/python3.11/html", "/index.html", "Sphinx (python-docs-theme)", "sphinx"),
    ("docutils", "/usr/share/doc/docutils-doc", "/index.html", "docutils rst2html", "rst-beside"),
    ("rust-book", "/usr/share/doc/rust-doc/html/book", "/index.html", "mdBook", None),
    ("nomicon", "/usr/share/doc/rust-doc/html/nomicon", "/index.html", "mdBook", None),
    ("flask-furo", f"{BUILT}/flask-furo", "/index.html", "Sphinx (furo)", "sphinx"),
    ("flask-rtd", f"{BUILT}/flask-rtd", "/index.html", "Sphinx (Read the Docs theme)", "sphinx"),
    ("flask-pydata", f"{BUILT}/flask-pydata", "/index.html", "Sphinx (pydata theme)", "sphinx"),
    ("flask-book", f"{BUILT}/flask-book", "/index.html", "Sphinx (sphinx-book-theme)", "sphinx"),
    ("flask-agogo", f"{BUILT}/flask-agogo", "/index.html", "Sphinx (agogo)", "sphinx"),
    ("flask-bizstyle", f"{BUILT}/flask-bizstyle", "/index.html", "Sphinx (bizstyle)", "sphinx"),
    ("flask-shibuya", f"{BUILT}/flask-shibuya", "/index.html", "Sphinx (shibuya)", "sphinx"),
    ("flask-piccolo", f"{BUILT}/flask-piccolo", "/index.html", "Sphinx (piccolo)", "sphinx"),
    ("pdoc-pygments", f"{BUILT}/pdoc-pygments", "/index.html", "pdoc 16", None),
    ("typedoc-datefns", f"{BUILT}/typedoc-datefns", "/index.html", "TypeDoc 0.26", None),
    ("nodejs-material", f"{BUILT}/nodejs-material", "/index.html", "MkDocs Material", "markdown"),
    ("nodejs-mkdocs", f"{BUILT}/nodejs-mkdocs", "/index.html", "MkDocs (mkdocs theme)", "markdown"),
    ("nodejs-mkdocs-rtd", f"{BUILT}/nodejs-mkdocs-rtd", "/index.html", "MkDocs (readthedocs theme)", "markdown"),
    ("nodejs-vitepress", f"{BUILT}/nodejs-vitepress", "/index.html", "VitePress", "markdown"),
    ("nodejs-docusaurus", f"{BUILT}/nodejs-docusaurus", "/index.html", "Docusaurus 3", "markdown"),
    ("nodejs-starlight", f"{BUILT}/nodejs-starlight", "/index.html", "Starlight (Astro)", "markdown"),
]

SKIP = ("/_modules/", "/_static/", "/_sources/", "/_images/", "/src/", "/implementors/", "/404.html",
        "/settings.html", "/assets/", "/_astro/", "/.vitepress/", "/search/search_index")
# Ground truth for "generated page", by file name: the benchmark may use names, the product not.
# Generated: indexes of names (one page or a page per letter), lists of all classes, packages,
# files, members (inherited ones included) or items, class hierarchies, deprecated lists, search
# pages, full tables of contents, pages that put the others together (print.html, all.html).
# Not generated: Javadoc's constant-values.html (the only page that gives the constants' values:
# class pages link to it for them) and help-doc.html (prose on reading Javadoc pages, no listing);
# pages that only share a name with one (Crystal's enum LLVM::AttributeIndex, Berkeley DB's
# interface EntityIndex, Erlang's module tags).
GENERATED = re.compile(
    r"^/search\.html$|^/(?:tags?|archive)\.html$|(?:^|/)(?:genindex(?:-\w+)?|[\w-]*modindex|contents|index-all|"
    r"index-\d+|all|allclasses[\w-]*|allpackages[\w-]*|overview-tree|package-tree|deprecated-list|"
    r"doc-index(?:-[\w%]+)?|api-index-full|api-index-deprecated|ix\d+|print|[\w-]+-Index|Index-[\w-]+|"
    r"[\w-]+-members|classes_hierarchy|ch-\w+_index)\.html$")
# ("search" only at the root: cppreference's std::search is a page.) Doxygen's member, class and
# file lists and its class index and hierarchy ("globals.html" is a real page elsewhere: Node.js's
# globals)
GENERATED_BY = {"Doxygen": re.compile(r"(?:^|/)(?:(?:globals|functions|namespacemembers|files)(?:_\w+)?\.html|"
                                      r"(?:classes|hierarchy)\.html|search/)")}
# Pages whose file names say nothing (texi2html's and xfpt's numbered pages), by their <title>
GENERATED_FILES = {
    "gettext": {f"gettext_{n}.html" for n in range(21, 31)},  # its indexes (Program Index, ...)
    # the concept, option and variable indexes; the start page is the whole specification's contents
    "exim": {"ch63.html", "ch64.html", "ch65.html", "index.html"},
}


def generated(gen: str, rel: str, site: str = "") -> bool:
    if rel in GENERATED_FILES.get(site, ()):
        return True
    rel = "/" + rel
    return bool(GENERATED.search(rel) or any(gen.startswith(g) and rx.search(rel) for g, rx in GENERATED_BY.items()))


def corpus_sites() -> list[tuple[str, str, str, str, str | None]]:
    """The SITES table of shared/corpus.sh: name, root, entry path, generator, ground truth."""
    text = CORPUS.read_text()
    table = text.split("SITES='", 1)[1].split("'", 1)[0]
    out = []
    for line in table.strip().splitlines():
        name, _pkg, root, entry, _port, gen, truth = line.split("|")
        kind = "sphinx" if truth == "_sources" else "markdown" if truth.startswith("api/") else None
        if name == "nodejs":  # the Markdown sits beside the HTML in api/
            root, entry = root + "/api", entry.removeprefix("/api")
        out.append((name, root, entry, gen, kind))
    return out


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def html_files(root: str) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.name.endswith((".html", ".htm", ".html.gz"))
                  and not any(s in "/" + p.relative_to(root).as_posix() for s in SKIP))


def sample(files: list[Path], root: str, entry: str, gen: str, limit: int, site: str = "") -> list[Path]:
    """An even, deterministic sample, plus the entry page and up to 4 generated pages."""
    picked = files if len(files) <= limit else [files[int(i * len(files) / limit)] for i in range(limit)]
    start = Path(root + entry)
    extra = [start] if start in files else []
    extra += [p for p in files if generated(gen, p.relative_to(root).as_posix(), site)][:4]
    return sorted(dict.fromkeys([*extra, *picked]))


_PULLS_TEXT = re.compile(
    r"^\s*\.\. (auto\w+|include|literalinclude|doxygen\w+|program-output|command-output|click(?::run)?|argparse)::", re.M)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def source_of(kind: str | None, root: str, page: Path) -> str | None:
    rel = page.relative_to(root).as_posix().removesuffix(".gz").removesuffix(".html")
    if kind == "sphinx":
        cands = [f"_sources/{rel}{ext}" for ext in (".rst.txt", ".txt", ".md.txt", ".rst")]
    elif kind == "markdown":
        base = rel.removesuffix("/index") if rel.endswith("/index") else rel
        cands = [f"{base}.md.gz", f"{base}.md"]
    elif kind == "rst-beside":
        cands = [f"{rel}.txt", f"{rel}.txt.gz", f"{rel}.rst"]
    else:
        return None
    for c in cands:
        p = Path(root) / c
        if p.exists():
            text = read(p).decode("utf-8", "replace")
            if kind == "sphinx" and _PULLS_TEXT.search(text):
                return None
            if kind == "sphinx":
                text = _DOC_ROLE.sub(lambda m: doc_title(root, rel, m.group(1)) or m.group(0), text)
            return _FRONT_MATTER.sub("", text)
    return None


_TOCTREE = re.compile(r"^([ \t]*)\.\. toctree::.*\n(?:\1[ \t]+.*\n|[ \t]*\n)*", re.M)
_TOCTREE_HTML = etree.XPath("//*[contains(concat(' ', normalize-space(@class), ' '), ' toctree-wrapper ')]")


def source_f1(kind: str | None, src: str, doc, out: Counter) -> tuple[float, float, float]:
    """Precision, recall and F1 of a page's words against its source. A Sphinx toctree is written
    as document names and shown as those documents' titles (to :maxdepth:), a list of the site's
    pages that the document holds anyway: its words (read from the rendered list, the one place
    they exist) may be kept (not counted against precision) or left out (not counted against
    recall)."""
    if kind != "sphinx":
        return prf(out, rst_words(src, markdown=kind == "markdown"))
    shown = Counter()
    for wrapper in _TOCTREE_HTML(doc):
        shown += words(" ".join(wrapper.itertext()))
    ref = rst_words(_TOCTREE.sub("", src + "\n"))
    p = prf(out, ref + shown)[0] if shown else prf(out, ref)[0]
    r = prf(out, ref)[1]
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


_DOC_ROLE = re.compile(r":doc:`([^`<>]+)`")  # shown as the title of the document it names


def doc_title(root: str, rel: str, target: str) -> str | None:
    name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    for ext in (".rst.txt", ".txt", ".md.txt", ".rst", ".md"):  # some themes keep the bare file
        p = Path(root) / "_sources" / f"{name}{ext}"
        if p.exists():
            return source_title(p.read_text("utf-8", "replace"))
    return None


_RST_ADORN = re.compile(r"^([=\-~^\"'`*+#:.<>_])\1{2,}\s*$")


def source_title(src: str) -> str | None:
    """The first heading of a reST or Markdown source."""
    lines = src.splitlines()
    for i, line in enumerate(lines):
        if _RST_ADORN.match(line) and i + 2 < len(lines) and lines[i + 1].strip() \
                and lines[i + 2].strip() == line.strip():  # overlined and underlined
            return lines[i + 1].strip()
        m = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m and not line.startswith("#!"):
            return m.group(1)
        if i + 1 < len(lines) and line.strip() and not _RST_ADORN.match(line) and _RST_ADORN.match(lines[i + 1]) \
                and not line.startswith(("..", " ", "\t")) and len(lines[i + 1].strip()) >= len(line.strip()) - 1:
            return line.strip()
    return None


_SMART = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def norm_title(text: str) -> str:
    # Sphinx's smartquotes turn ' into a curly quote and -- into a dash: the same title
    text = text.translate(_SMART).replace("---", "-").replace("--", "-")
    text = re.sub(r"`([^`<]*?)\s*<[^>`]*>`_{0,2}", r"\1", text)
    text = re.sub(r":[\w:+-]+:`[!~]?", "`", text)  # :mod:`!name`: the ! only says "no link"
    text = text.replace("\\ ", "").replace("`", "")  # reST's escaped space joins: "`with`\\ -statement"
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[`*_¶#\\]|\s+[-–—|:]\s*$", " ", text)
    return " ".join(text.split()).lower().strip(" .:")


# <title> cut into its parts: "A Note About yytext And Memory (Lexical Analysis With Flex)"; the
# page's numbered heading "21.3 A Note About yytext And Memory" is a right title for it
_TITLE_PARTS = re.compile(r"\s+[-–—|:·]\s+|\s*[()]\s*")


def title_right(title: str, truth: str) -> bool:
    a, b = norm_title(title), norm_title(truth)
    return bool(a) and (a == b or (min(len(a), len(b)) >= 0.7 * max(len(a), len(b)) and (a in b or b in a)))


def page_headings(doc) -> tuple[str, list[str]]:
    """<title> and the page's h1-h3 texts; a manual page's NAME heading stands for the line under
    it ("rt-crontool - a tool to act on tickets", or the name alone), the title pod2html and
    man2html give such a page."""
    head = " ".join("".join(t.itertext()) for t in doc.iter("title"))
    heads = []
    for h in doc.iter("h1", "h2", "h3"):  # Texinfo: h3 sections
        text = " ".join("".join(h.itertext()).split())
        nxt = h.getnext()
        if text == "NAME" and nxt is not None and nxt.tag == "p":
            text = " ".join("".join(nxt.itertext()).split())
            heads.append(text.split(" - ", 1)[0])  # or its name alone
        heads.append(text)
    return head, heads


_NEXT = re.compile(rb"<(?:link|a)\b[^>]*\brel=[\"']?next[\"']?[^>]*>", re.I)
_HREF = re.compile(rb"href=[\"']([^\"'#]*)", re.I)


def next_chain(root: str, entry: str, limit: int = 5000) -> list[Path]:
    """The site's own order: rel="next" links followed from the start page."""
    page = Path(root + entry)
    chain, seen = [], set()
    while page.is_file() and page not in seen and len(chain) < limit:
        seen.add(page)
        chain.append(page)
        m = _NEXT.search(page.read_bytes()[:200_000])
        h = _HREF.search(m.group(0)) if m else None
        if not h or not h.group(1):
            break
        page = (page.parent / h.group(1).decode("utf-8", "replace")).resolve()
    return chain if len(chain) >= 3 else []


def kendall_tau(ranks: list[tuple[int, int]]) -> float | None:
    n = len(ranks)
    if n < 3:
        return None
    conc = disc = 0
    for i in range(n):
        for j in range(i + 1, n):
            s = (ranks[i][0] - ranks[j][0]) * (ranks[i][1] - ranks[j][1])
            conc += s > 0
            disc += s < 0
    return (conc - disc) / (conc + disc) if conc + disc else None


def navigation(site, all_files: list[Path], disabled: frozenset, limit: int) -> list[dict]:
    """What a crawl reads the site's order from: each fetched page's navigation (`toc_links`),
    here for up to `limit` of the site's pages (evenly spread, the start page first)."""
    name, root, entry, _gen, _kind = site
    start = Path(root + entry)
    picked = all_files if len(all_files) <= limit else [all_files[int(i * len(all_files) / limit)] for i in range(limit)]
    items = []
    for f in ([start] if start in all_files else []) + [f for f in picked if f != start]:
        url = f"http://docs.test/{name}/" + f.relative_to(root).as_posix().removesuffix(".gz")
        doc = parse_page(read(f), url)
        items.append({"url": url, "status": "completed", "depth": 0 if f == start else 1,
                      "toc_links": toc_links(doc, find_main(doc, disabled), url)})
    return items


def run_config(site, files, htmls, urls, docs, sources, strings, disabled, chain, show, nav=()):
    name, root, entry, gen, kind = site
    pages, seconds = [], 0.0
    for h, u in zip(htmls, urls, strict=True):
        t0 = time.process_time()
        pages.append(extract_page(h, u, disabled=disabled))
        seconds += time.process_time() - t0
    items = []
    start_url = f"http://docs.test/{name}{entry}"
    for i, (u, p) in enumerate(zip(urls, pages, strict=True)):
        items.append({"url": u, "final_url": u, "status": "completed", "depth": 0 if u == start_url else 1,
                      "title": p.title, "markdown": p.markdown, "quality": p.quality,
                      "quality_reasons": p.quality_reasons, "token_count": p.token_count,
                      "toc_links": p.toc_links, "site_name": p.site_name, "head_title": p.head_title,
                      "generated": p.generated, "description": p.description, "_i": i})
    doc = assemble_document(items, source_url=start_url, order=site_order([*nav, *items], start_url) if nav else None)
    # each page as the document holds it: its heading there, then its body
    body_of = {it["_i"]: f"# {page_title(it)}\n\n{body}" for it, body in zip(doc.included, doc.bodies, strict=True)}
    f1s, leaks, title_ok, title_n, lang, scored, in_doc = [], [], 0, 0, [0, 0], 0, 0
    approx = kind is None
    title_counts = defaultdict(int)
    for f, p in zip(files, pages, strict=True):
        if not generated(gen, f.relative_to(root).as_posix(), name):
            title_counts[norm_title(p.title)] += 1
    examples = defaultdict(list)
    for i, (f, p, tree, src) in enumerate(zip(files, pages, docs, sources, strict=True)):
        rel = f.relative_to(root).as_posix()
        if generated(gen, rel, name):
            continue  # scored by whether the document keeps it out, not by its text
        scored += 1
        if src:
            md = body_of.get(i, p.markdown)
            if source_title(src) is None:  # named by the file it is in: the title line is scored by title%
                md = re.sub(r"\A\s*#{1,6} [^\n]*\n", "", md)
            pr, rc, f1 = source_f1(kind, src, tree, words(plain_text(md)))
            f1s.append(f1)
            if f1 < 0.95:
                examples["f1"].append(f"{rel}: F1 {f1:.2f} (precision {pr:.2f}, recall {rc:.2f})")
        in_doc += i in body_of
        hit = leaked(body_of[i], strings, src) if i in body_of else []
        if hit:
            leaks.append(rel)
            examples["leak"].append(f"{rel}: {hit[:2]}")
        st = output_stats(p.markdown, reference(tree))
        lang[0] += st["lang"][0]
        lang[1] += st["lang"][1]
        if st["lang"][0] < st["lang"][1]:
            examples["lang"].append(f"{rel}: {st['lang'][0]}/{st['lang'][1]}")
        truth = source_title(src) if src else None
        if truth is not None:
            title_n += 1
            ok = title_right(p.title, truth)
        elif approx:
            title_n += 1
            head, heads = page_headings(tree)
            t = norm_title(p.title)
            shared = title_counts[t] > max(2, 0.5 * len(pages))
            ok = bool(t) and not shared and (t in norm_title(head) or any(t == norm_title(x) for x in heads)
                                             or any(title_right(p.title, part) for part in _TITLE_PARTS.split(head)))
            if not re.search(r"\w", head) and not heads:  # the page names itself nowhere: its file name
                ok = t == norm_title(title_from_url(f"http://docs.test/{name}/{rel}"))
        else:
            continue
        title_ok += ok
        if not ok:
            examples["title"].append(f"{rel}: {p.title!r} (want {truth!r})" if truth else f"{rel}: {p.title!r}")
    included = [it["_i"] for it in doc.included]
    gen_in = [files[i].relative_to(root).as_posix() for i in included
              if generated(gen, files[i].relative_to(root).as_posix(), name)]
    examples["generated"] = gen_in
    # content pages the document leaves out as generated (the other way to be wrong), of those
    # its quality threshold would have kept
    prefix = f"http://docs.test/{name}/"
    gen_out = [f"{page_url(p).removeprefix(prefix)}: {why}" for p, why in doc.dropped
               if why.startswith("generated page") and (p.get("quality") or 0) >= 20
               and not generated(gen, page_url(p).removeprefix(prefix), name)]
    examples["not generated"] = gen_out
    tau = None
    if chain:
        pos = {p: k for k, p in enumerate(chain)}
        ranks = [(k, pos[files[i].resolve()]) for k, i in enumerate(included) if files[i].resolve() in pos]
        tau = kendall_tau(ranks)
        if tau is not None and tau < 0.9:
            worst = sorted(ranks, key=lambda r: -abs(r[0] - r[1]))[:3]
            examples["order"] = [f"doc #{a} is site #{b}: {chain[b].relative_to(root).as_posix()}" for a, b in worst]
    if show:
        for k, v in examples.items():
            for line in v[:show]:
                print(f"      {k}: {line}")
    return {"f1": f1s, "leak": len(leaks), "pages": max(scored, 1), "in_doc": max(in_doc, 1),
            "title": (title_ok, title_n, approx), "lang": tuple(lang), "gen": len(gen_in), "xgen": len(gen_out),
            "tau": tau, "rate": len(pages) / max(seconds, 1e-9),
            "seconds": seconds, "assembled": len(included), "extracted": len(pages)}


def fmt_row(r) -> str:
    f1 = f"{sum(r['f1']) / len(r['f1']):.3f}" if r["f1"] else "  -  "
    leak = f"{100 * r['leak'] / r['in_doc']:5.1f}"
    tk, tn, approx = r["title"]
    title = (f"{100 * tk / tn:5.1f}" + ("~" if approx else " ")) if tn else "   -  "
    lang = f"{100 * r['lang'][0] / r['lang'][1]:5.1f}" if r["lang"][1] else "   - "
    tau = f"{r['tau']:5.2f}" if r["tau"] is not None else "   - "
    return f"{f1:>5} {leak:>5} {title:>6} {lang:>5} {r['gen']:>3} {r['xgen']:>4} {tau:>5} {r['rate']:6.1f}"


HEAD = f"{'F1':>5} {'leak%':>5} {'title%':>6} {'lang%':>5} {'gen':>3} {'xgen':>4} {'tau':>5} {'pg/cpu':>6}"


def merge(rows: list[dict]) -> dict:
    out = {"f1": [], "leak": 0, "pages": 0, "in_doc": 0, "title": [0, 0, False], "lang": [0, 0], "gen": 0, "xgen": 0, "taus": [],
           "seconds": 0.0}
    for r in rows:
        out["f1"] += r["f1"]
        out["leak"] += r["leak"]
        out["pages"] += r["pages"]
        out["in_doc"] += r["in_doc"]
        out["title"][0] += r["title"][0]
        out["title"][1] += r["title"][1]
        out["title"][2] |= r["title"][2]
        out["lang"][0] += r["lang"][0]
        out["lang"][1] += r["lang"][1]
        out["gen"] += r["gen"]
        out["xgen"] += r["xgen"]
        out["seconds"] += r["seconds"]
        if r["tau"] is not None:
            out["taus"].append(r["tau"])
    out["tau"] = min(out["taus"]) if out["taus"] else None  # the worst site's order
    out["rate"] = sum(r["extracted"] for r in rows) / max(out["seconds"], 1e-9)
    out["title"] = tuple(out["title"])
    return out


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def misses(all_on: dict, generic: dict) -> list[str]:
    bad = []
    if generic["f1"] and mean(generic["f1"]) < 0.95:
        bad.append("generic F1<0.95")
    if generic["leak"] > 0.02 * generic["in_doc"]:
        bad.append("generic leak>2%")
    if all_on["f1"] and mean(all_on["f1"]) < 0.98:
        bad.append("F1<0.98")
    if all_on["leak"]:
        bad.append("leak>0")
    if all_on["title"][1] and all_on["title"][0] < 0.98 * all_on["title"][1]:
        bad.append("title<98%")
    if all_on["lang"][1] and all_on["lang"][0] < 0.98 * all_on["lang"][1]:
        bad.append("lang<98%")
    if all_on["gen"]:
        bad.append("generated>0")
    if all_on["tau"] is not None and all_on["tau"] < 0.9:
        bad.append("tau<0.9")
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-site", type=int, default=30, help="pages sampled per site (default 30)")
    ap.add_argument("--sites", default="", help="comma-separated site names (default: all present)")
    ap.add_argument("--nav-pages", type=int, default=2000,
                    help="pages whose navigation the order is read from, as a crawl of the whole site reads "
                         "every page's (default 2000: all pages of every corpus site with an order)")
    ap.add_argument("--show", type=int, default=0, help="print up to N failing pages per metric and site")
    ap.add_argument("--out", default="", help="also write the tables to this file, with date, load and command")
    args = ap.parse_args(argv)
    wanted = set(filter(None, args.sites.split(",")))
    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    results = []
    sites = [*corpus_sites(), *EXTRA_SITES]
    say(f"{'site':<18} {'generator':<30} {'pages':>5}  | all on: {HEAD}  | generic alone: {HEAD}")
    for site in sites:
        name, root, entry, gen, kind = site
        if (wanted and name not in wanted) or not os.path.isdir(root):
            continue
        all_files = html_files(root)
        if not all_files:
            continue
        files = sample(all_files, root, entry, gen, args.per_site, name)
        htmls = [read(p) for p in files]
        urls = [f"http://docs.test/{name}/" + p.relative_to(root).as_posix().removesuffix(".gz") for p in files]
        docs = [parse(h) if h.strip() else parse(b"<html></html>") for h in htmls]
        titles = {" ".join("".join(t.itertext()).split()).lower() for d in docs for t in d.iter("title", "h1")}
        strings = leak_strings([furniture_strings(d) for d in docs], titles)
        sources = [source_of(kind, root, p) for p in files]
        chain = [p.resolve() for p in next_chain(root, entry)]
        tags = frozenset(TAGS.get(gen, set()))
        if args.show:
            print(f"  {name}: all on")
        nav_on = navigation(site, all_files, frozenset(), args.nav_pages) if chain and args.nav_pages else ()
        on = run_config(site, files, htmls, urls, docs, sources, strings, frozenset(), chain, args.show, nav_on)
        if tags:
            if args.show:
                print(f"  {name}: generic alone (off: {', '.join(sorted(tags))})")
            nav_off = navigation(site, all_files, tags, args.nav_pages) if chain and args.nav_pages else ()
            off = run_config(site, files, htmls, urls, docs, sources, strings, tags, chain, args.show, nav_off)
        else:
            off = on
        results.append((name, gen, on, off))
        say(f"{name:<18} {gen[:30]:<30} {len(files):>5}  | {'':8}{fmt_row(on)}  | {'':15}{fmt_row(off)}"
            + ("" if tags else "  (no specific rules)"))
    say()
    say("per generator (tau: the worst site's; goals missed listed last)")
    say(f"{'generator':<34} {'sites':>5} {'pages':>5}  | all on: {HEAD}  | generic alone: {HEAD}  | missed")
    by_gen = defaultdict(list)
    for _, gen, on, off in results:
        by_gen[gen].append((on, off))
    failing = 0
    for gen, rows in by_gen.items():
        on, off = merge([r[0] for r in rows]), merge([r[1] for r in rows])
        bad = misses(on, off)
        failing += bool(bad)
        say(f"{gen[:34]:<34} {len(rows):>5} {on['pages']:>5}  | {'':8}{fmt_row(on)}  | {'':15}{fmt_row(off)}  | "
            + (", ".join(bad) or "ok"))
    on = merge([r[2] for r in results])
    off = merge([r[3] for r in results])
    say(f"{'all':<34} {len(results):>5} {on['pages']:>5}  | {'':8}{fmt_row(on)}  | {'':15}{fmt_row(off)}")
    say(f"\n{len(results)} sites, {len(by_gen)} generators, {failing} generators missing a goal")
    if args.out:
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        head = [f"# {datetime.datetime.now().isoformat(timespec='minutes')}  load: {load}",
                f"# python bench/generalization.py {' '.join(argv if argv is not None else sys.argv[1:])}", ""]
        Path(args.out).write_text("\n".join(head + lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
