"""Metrics for bench/extraction.py: bag-of-words P/R/F1, boilerplate leak, code blocks,
headings and table rows kept. Reference values are read from the HTML itself (page furniture
regions are found by landmark tags/roles and class names, not by the extractor under test)."""
from __future__ import annotations

import re
from collections import Counter

from lxml import etree

from spiders.extract.code import code_language

_WORD = re.compile(r"[^\W_]+(?:_+[^\W_]+)*", re.U)  # "_emphasis_" markup is not part of the word
_MDLINK = re.compile(r"(?<!\\)!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_WS = re.compile(r"\s+")
_FURNITURE = etree.XPath(
    "//nav|//header|//footer|//aside|//*[@role='navigation' or @role='banner' or @role='contentinfo' "
    "or @role='search' or @role='complementary'] | //table[contains(@class,'navigation')]")
_WITH_ATTR = etree.XPath("//*[@class or @id]")
# class or id words of page furniture ("has-sidebar" on a content wrapper is not furniture)
_FURNITURE_RX = re.compile(r"(?:^|[\s_-])(?<!has-)(?:sidebar|related|footer|navbar|breadcrumbs?|topbar|leftnav|"
                           r"navigation|menu|column2)(?:$|[\s_-])", re.I)
PARSER = etree.HTMLParser(remove_comments=True)


def parse(html: bytes):
    return etree.fromstring(html, PARSER)


def furniture(doc) -> list:
    regions = list(_FURNITURE(doc))
    for el in _WITH_ATTR(doc):
        for value in (el.get("class"), el.get("id")):
            if value and any(_FURNITURE_RX.search(tok) and not tok.lower().startswith("has-")
                             for tok in value.split()):
                regions.append(el)
                break
    outer = set()
    for r in regions:  # keep only the outermost regions
        if not any(a in outer for a in r.iterancestors()):
            outer.add(r)
    return [r for r in regions if r in outer]


def _inside(el, regions: set) -> bool:
    return any(a in regions for a in el.iterancestors()) or el in regions


def plain_text(md: str) -> str:
    md = _MDLINK.sub(r"\1", md)
    md = re.sub(r"^\s*(`{3,}|~{3,}).*$", "", md, flags=re.M)
    md = md.replace("[code]", "").replace("[/code]", "")
    # inline HTML the Markdown keeps (<sup>, <kbd>, <abbr title>): its text, not its tag names
    md = re.sub(r'<abbr title="([^"]*)">(.*?)</abbr>', r"\2 \1", md)
    md = re.sub(r"</?(?:sup|sub|kbd|abbr|del|ins|mark|small|br)\b[^>]*>", " ", md)
    return md


def words(text: str) -> Counter:
    return Counter(w.lower() for w in _WORD.findall(text))


# Directives whose argument the page does not show as text (a language, a path, a class name, a
# module declared for cross-references, a local table of contents the extractor drops by design).
# Every other directive's argument is shown: a signature (`.. function:: f(x)`, `.. clicmd:: show
# ip`, `.. option:: -v`), an admonition's title, a table's caption.
_SILENT_DIRECTIVES = {
    "code-block", "code", "sourcecode", "highlight", "highlightlang", "literalinclude", "include", "image",
    "figure", "toctree", "index", "only", "ifconfig", "raw", "meta", "tabularcolumns", "currentmodule",
    "module", "py:module", "py:currentmodule", "c:namespace", "cpp:namespace", "default-role", "role",
    "contents", "sectionauthor", "codeauthor", "moduleauthor", "class", "rst-class", "cssclass", "container",
    "graphviz", "digraph", "graph", "plot", "program", "default-domain", "testsetup", "testcleanup",
    "doctest", "testcode", "testoutput", "productionlist", "sectnum", "target-notes", "title", "date",
}
_DIRECTIVE = re.compile(r"^(\s*)\.\. ([\w:-]+)::(.*)$", re.M)


# Directives that show a label before their argument (Sphinx: "New in version 3.7.")
_LABELLED_DIRECTIVES = {"versionadded": "New in version", "versionchanged": "Changed in version",
                        "deprecated": "Deprecated since version", "versionremoved": "Removed in version"}


# an index directive's entries ("single: module; attribute") are for the general index only
_INDEX_ENTRIES = re.compile(r"^([ \t]*)\.\. index::.*\n(?:\1[ \t]+[^\n]*\n|[ \t]*\n)*", re.M)


def _directive_argument(m: re.Match) -> str:
    name = m.group(2).lower()
    if name in _LABELLED_DIRECTIVES:
        return f"{m.group(1)}{_LABELLED_DIRECTIVES[name]} {m.group(3)}"
    return "" if name in _SILENT_DIRECTIVES else m.group(1) + m.group(3)


# A reST comment: ".." and text that is not a directive, target, footnote or substitution, with
# its indented block; the page does not show it.
_RST_COMMENT = re.compile(r"^([ \t]*)\.\.(?:[ \t]+(?![\[_|])(?![\w:-]+::)[^\n]*)?\n(?:\1[ \t]+[^\n]*\n|[ \t]*\n)*", re.M)


_MD_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_MDREFLINK = re.compile(r"(?<![\\\]])\[((?:[^\[\]]|\[[^\]]*\])*)\]\[[^\]\n]*\]")
_RAW_TAG = re.compile(r"</?[a-zA-Z][\w-]*(?:\s+[\w:-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*\s*/?>")
_SHOWN_AS = {"added": "Added in:", "deprecated": "Deprecated since:", "removed": "Removed in:",
             "napiVersion": "N-API version:"}


def _node_metadata(m: re.Match) -> str:
    """A Node.js `<!-- YAML -->` block as its page shows it; any other comment as nothing."""
    body = m.group(1)
    if not body.lstrip().startswith("YAML"):
        return " "
    shown, changes, key = [], [], None
    for line in body.split("\n")[1:]:
        item = re.match(r"\s*(-\s+)?([\w-]+):\s*(.*)$", line)
        if item and (item.group(1) or not line.startswith(" ")) or item and item.group(2) in {"version", "pr-url", "description"}:
            key, value = item.group(2), item.group(3)
        else:
            value = line.strip().removeprefix("- ")
        if key in _SHOWN_AS and value:
            shown.append(f"{_SHOWN_AS[key]} {value}")
        elif key in ("version", "description") and value:
            changes.append(value.strip("'\""))
    if changes:  # the History table: its head, each change, and a row per version line above
        rows = [f"{s.split(':', 1)[1]} {s}" for s in shown]
        return " History Version Changes " + " ".join(changes + rows) + " "
    return " " + " ".join(shown) + " "


_MD_FENCED = re.compile(r"^([ \t]*(?:```+|~~~+)[^\n]*\n.*?^[ \t]*(?:```+|~~~+)[ \t]*$)", re.M | re.S)
_FENCE_INFO = re.compile(r"\A([ \t]*(?:```+|~~~+))[^\n]*")  # a fence's language: not shown


def _markdown_prose(text: str) -> str:
    """Markdown outside code fences as the page shows it."""
    # an HTML comment is not shown, except the Node.js tool's YAML metadata, which the page
    # renders as "Added in: v1" or as a History table of versions and descriptions
    text = _MD_COMMENT.sub(_node_metadata, text)
    text = _MDREFLINK.sub(r"\1", text)  # [text][label]: the text is shown
    text = _RAW_TAG.sub(" ", text)  # <hr class="line"/>: markup, not text
    return text.replace("\\_", "_")  # an escaped underscore


def rst_words(src: str, markdown: bool = False) -> Counter:
    """The words a page shows of its reST (or, with `markdown`, Markdown) source."""
    src = _RST_COMMENT.sub("", src + "\n")
    src = _INDEX_ENTRIES.sub("", src)
    src = _DIRECTIVE.sub(_directive_argument, src)
    # targets, with a URL that may go on over indented lines
    src = re.sub(r"^([ \t]*)\.\. _[^\n]*:.*(?:\n\1[ \t]+\S.*)*$", "", src, flags=re.M)
    src = re.sub(r"^\.\. \|[^\n]*$|^[ \t]*__ (?:`[^`]*`_|\S+)[ \t]*$", "", src, flags=re.M)
    # RCS keywords in docinfo fields: docutils shows "$Date: 2022-04-02 23:59 ... $" as its date
    src = re.sub(r"\$Date:\s*(\S+)[^$\n]*\$", r"\1", src)
    src = re.sub(r"\$(?:Revision|RCSfile|Id|Author):\s*([^$\n]*?)\s*\$", r"\1", src)
    src = re.sub(r"^\s*:[\w -]+:\s*$", "", src, flags=re.M)  # directive options (:linenos:)
    src = re.sub(r"`([^`<]*?)\s*<[^>`]*>`_{0,2}", r"\1", src)  # `text <target>`_ and :ref:`t <x>`
    src = re.sub(r":[\w:+-]+:`", "`", src)  # :role:`x` -> `x`
    if markdown:
        src = "".join(_FENCE_INFO.sub(r"\1", part) if part.lstrip(" \t").startswith(("```", "~~~"))
                      else _markdown_prose(part)
                      for part in _MD_FENCED.split(src))
    else:
        src = re.sub(r"<!--|-->", " ", src)
    src = _MDLINK.sub(r"\1", src)
    src = re.sub(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", "", src, flags=re.M)  # [ref]: url, not shown
    return words(src)


def prf(out: Counter, ref: Counter) -> tuple[float, float, float]:
    overlap = sum((out & ref).values())
    p = overlap / max(1, sum(out.values()))
    r = overlap / max(1, sum(ref.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def furniture_strings(doc) -> set[str]:
    """Non-link text segments of the page's furniture regions (>= 8 characters)."""
    out = set()
    for region in furniture(doc):
        for el in region.iter():
            if not isinstance(el.tag, str):
                continue
            in_link = el.tag == "a" or any(a.tag == "a" for a in el.iterancestors())
            for text, linked in ((el.text, in_link), (el.tail, any(a.tag == "a" for a in el.iterancestors()))):
                if text and not linked:
                    t = _WS.sub(" ", text).strip(" :·|»«,-—–")
                    if len(t) >= 10 and " " in t and re.search(r"[A-Za-z]{3}", t):
                        out.add(t)
    return out


def leak_strings(per_page: list[set[str]], titles: set[str], share: float = 0.8) -> list[str]:
    counts = Counter(s for strings in per_page for s in strings)
    need = share * len(per_page)
    return sorted(s for s, n in counts.items() if n >= need and s.lower() not in titles)


def leaked(md: str, strings: list[str], source: str | None = None) -> list[str]:
    """Leak strings found in the output as furniture: the string makes up at least half of an
    output line (a label, heading, list item or footer line, not a word in a sentence), and the
    page's own source text, where known, does not contain it."""
    src = _WS.sub(" ", source or "").lower()
    lines = [_WS.sub(" ", re.sub(r"^[\s#>*|-]+|[*_`|]+", " ", ln)).strip() for ln in plain_text(md).split("\n")]
    hits = []
    for s in strings:
        if s.lower() in src:
            continue
        pat = re.compile(r"(?<!\w)" + re.escape(s) + r"(?!\w)")
        if any(len(s) * 2 >= len(ln) and pat.search(ln) for ln in lines if ln):
            hits.append(s)
    return hits


def _layout_table(table) -> bool:
    cls = (table.get("class") or "").lower()
    rows = table.xpath(".//tr[not(ancestor::table[1] != current())]") if False else table.findall(".//tr")
    return (len(rows) <= 1 or "highlighttable" in cls or "listing_frame" in cls or "navigation" in cls
            or bool(table.xpath(".//pre|.//table|.//h1|.//h2|.//h3|.//h4|.//h5|.//h6")))


def _code_text(pre) -> str:
    """A code block's text without the copy buttons some generators put inside it; a <br> or a
    line <div> (Docusaurus' token-line) ends a line."""
    parts = [pre.text or ""]
    for child in pre:
        if child.tag == "br":
            parts.append("\n")
        elif isinstance(child.tag, str) and child.tag != "button":
            parts.append(_code_text(child))
            if child.tag == "div":
                parts.append("\n")
        parts.append(child.tail or "")
    return "".join(parts)


def reference(doc) -> dict:
    """What the page's main content holds, by the HTML: code blocks, headings, table rows."""
    regions = set(furniture(doc))
    code = []
    for pre in doc.iter("pre"):
        cls = " ".join(((a.get("class") or "") for a in (pre, pre.getparent()))).lower()
        if _inside(pre, regions) or "linenos" in cls or "line-numbers" in cls or "listing_lines" in cls:
            continue
        variants = [c for c in pre if c.tag == "code"]  # flavours of one example under a toggle
        for block in variants if len(variants) > 1 else [pre]:
            text = _code_text(block)
            first = next((ln.strip() for ln in text.split("\n") if ln.strip()), "")
            if first:
                code.append((first, code_language(block)))
    heads = []
    for h in doc.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        if _inside(h, regions):
            continue
        t = _norm_heading("".join(h.itertext()))
        if t:
            heads.append(t)
    rows = 0
    for table in doc.iter("table"):
        if _inside(table, regions) or _layout_table(table):
            continue
        rows += sum(1 for tr in table.iter("tr") if "".join(tr.itertext()).strip())
    return {"code": code, "headings": heads, "rows": rows}


def _norm_heading(text: str) -> str:
    text = _MDLINK.sub(r"\1", text).replace("\\!", "!").replace("`", "").replace("*", "")
    return _WS.sub(" ", re.sub(r"[¶§#🔗\u200b\ue000-\uf8ff]", "", text)).strip().lower()


def fenced_blocks(md: str) -> list[tuple[str, str]]:
    md = re.sub(r"\[code\]\n?(.*?)\[/code\]", lambda m: "```\n" + m.group(1) + "\n```", md, flags=re.S)
    blocks, info, buf, fence = [], "", [], None
    for line in md.split("\n"):
        s = re.sub(r"^(?:\s*>)*\s*", "", line)  # list indents and quote marks, nested
        m = re.match(r"(`{3,}|~{3,})(.*)$", s)
        if fence is None:
            if m:
                fence, info, buf = m.group(1), m.group(2).strip(), []
        elif m and s.strip() == m.group(1) and len(m.group(1)) >= len(fence):
            blocks.append((info, "\n".join(buf)))
            fence = None
        else:
            buf.append(s)
            buf.append(line)
    return blocks


def output_stats(md: str, ref: dict) -> dict:
    blocks = fenced_blocks(md)
    code_kept = lang_kept = lang_total = 0
    j = 0
    for first, lang in ref["code"]:  # matched in document order, so a '{' line finds its own block
        k = next((k for k in range(j, len(blocks)) if first in blocks[k][1]), None)
        if k is not None:
            j = k + 1
        else:
            k = next((k for k in range(len(blocks)) if first in blocks[k][1]), None)
        hit = blocks[k][0] if k is not None else None
        if hit is not None:
            code_kept += 1
        if lang:
            lang_total += 1
            if hit:
                lang_kept += 1
    heads_out = set()
    for line in md.split("\n"):
        m = re.match(r"\s*(#{1,6})\s+(.*)$", line)
        if m:
            heads_out.add(_norm_heading(m.group(2)))
    heads_kept = sum(1 for h in ref["headings"] if h in heads_out or any(h in o for o in heads_out))
    rows = sum(1 for line in md.split("\n")
               if ("|" in line and (line.lstrip().startswith("|") or " | " in line))
               and not re.fullmatch(r"[\s|:\-]+", line))
    return {"code": (code_kept, len(ref["code"])), "lang": (lang_kept, lang_total),
            "headings": (heads_kept, len(ref["headings"])), "rows": (min(rows, ref["rows"]), ref["rows"])}
