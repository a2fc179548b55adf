"""HTML (an lxml element, already cleaned) to Markdown.

Block structure is kept (headings, paragraphs, nested lists, fenced code with its
language, GFM tables, blockquotes, labelled admonitions, definition lists and API
signatures). Code text is taken byte-exact from the HTML; nothing is escaped in it.
Links and images are made absolute against the page URL.
"""
from __future__ import annotations

import re

from lxml import etree

from spiders.extract.code import code_language, fence_for
from spiders.extract.listings import NO_RUNS, Runs
from spiders.extract.main import drop_element, join_url
from spiders.extract.tables import GRID_CLASS, GRID_WIDTH, TableRenderer

_WS = re.compile(r"[ \t\n\r\f\v\u00a0]+")
_BR = "\x00"
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*", "cite": "*", "dfn": "*",
             "del": "~~", "s": "~~", "strike": "~~"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main menu nav ol p "
    "pre section summary table tbody td tfoot th thead tr ul".split()
)
_CODE_INLINE = frozenset(("code", "samp", "tt", "var"))
# Inline meaning Markdown has no syntax for stays as inline HTML, which Markdown allows:
# 2<sup>7</sup> must not read as 27.
_INLINE_HTML = frozenset(("sup", "sub", "kbd"))
_CODE_SPAN = frozenset(("code", "literal", "computeroutput", "monospaced", "bold_code"))
_SKIP = frozenset(("script", "style", "noscript", "template", "head", "title", "meta", "link"))
_ADMONITION_KINDS = (
    "note", "warning", "tip", "important", "caution", "danger", "attention", "hint", "error",
    "seealso", "todo", "deprecated",
)
_SIG_DL = frozenset(
    "function class method attribute data exception describe decorator property classmethod "
    "staticmethod cmdoption option envvar directive role confval macro type member var "
    "struct enum enumerator union".split()
)


def text_of(el) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def _backticks(text: str) -> str:
    if not text:
        return ""
    runs = {len(r) for r in re.findall(r"`+", text)}
    n = 1
    while n in runs:  # the shortest delimiter no backtick run inside equals (CommonMark)
        n += 1
    tick = "`" * n
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def _classes(el) -> str:
    return el.get("class") or ""


def is_admonition(el) -> str | None:
    """The default label of an admonition element, or None."""
    cls = _classes(el).lower().split()
    if not cls:
        return None
    if el.tag not in ("div", "aside", "details", "section", "blockquote"):
        return None
    generic = any((c == "admonition" or c.startswith("theme-admonition") or c in ("custom-block", "callout", "alert", "hint"))
                  for c in cls)
    kind = next((c for c in cls if c in _ADMONITION_KINDS), None)
    if kind is None:
        kind = next((c.split("--")[-1] for c in cls if c.startswith("alert--")), None)
    if kind is None:
        kind = next((c.rsplit("-", 1)[-1] for c in cls if c.startswith("admonition-")), None)
    if generic or (kind and el.tag != "section"):
        return (kind or "note").replace("seealso", "see also").capitalize()
    return None


def _append(parts: list[str], s: str) -> None:
    """Append inline Markdown; a literal '!' right before a link must not make it an image."""
    if s.startswith("[") and parts and parts[-1].endswith("!"):
        parts[-1] = parts[-1][:-1] + "\\!"
    parts.append(s)


_BLOCK_START = re.compile(r"(#{1,6}(?=\s)|>|[-+*](?=\s)|\d+[.)](?=\s)|`{3,}|~{3,}|=+\s*$|\|)")


_BOLD_OUTSIDE_CODE = re.compile(r"(`+)(.*?)\1|\*\*")


def _unbold(text: str) -> str:
    """Inline Markdown without its bold marks (code spans kept as they are)."""
    return _BOLD_OUTSIDE_CODE.sub(lambda m: m.group(0) if m.group(1) else "", text)


def _drop_zero_width_spaces(root) -> None:
    """A zero-width space only tells the browser where a long name may wrap
    ("Trim&#8203;(next)"): it is no space, and in code it breaks copy and paste."""
    for el in root.iter():
        if el.text and "\u200b" in el.text:
            el.text = el.text.replace("\u200b", "")
        if el.tail and "\u200b" in el.tail and el is not root:
            el.tail = el.tail.replace("\u200b", "")


def merge_adjacent(root) -> None:
    """`<em>a</em><em>[</em>` -> `<em>a[</em>`, so emphasis marks do not collide (`*a**[*`)."""
    for el in list(root.iter("em", "strong", "i", "b")):
        if el.getparent() is None:
            continue
        nxt = el.getnext()
        while nxt is not None and nxt.tag == el.tag and not el.tail and len(el) == 0 and len(nxt) == 0:
            el.text = (el.text or "") + (nxt.text or "")
            el.tail = nxt.tail
            el.getparent().remove(nxt)
            nxt = el.getnext()


class MarkdownConverter(TableRenderer):
    def __init__(self, base_url: str, disabled: frozenset[str] = frozenset(), runs: Runs = NO_RUNS):
        self.base = base_url
        self.disabled = disabled  # generators whose rules are switched off (see rules.py)
        self.runs = runs  # collapsed listings: their children are not to be read one by one
        self._urls: dict[str, str] = {}

    # -- public ----------------------------------------------------------------------------
    def convert(self, el) -> str:
        merge_adjacent(el)
        _drop_zero_width_spaces(el)
        md = "\n\n".join(b for b in self.blocks(el) if b)
        return md.strip("\n")

    # -- helpers ---------------------------------------------------------------------------
    def url(self, href: str | None) -> str:
        href = (href or "").strip()
        if not href or href.lower().startswith(("javascript:", "data:")):
            return ""
        url = self._urls.get(href)
        if url is None:
            try:
                url = join_url(self.base, href)
            except ValueError:
                url = href
            self._urls[href] = url
        return url

    @staticmethod
    def _flush(parts: list[str], out: list[str]) -> None:
        if not parts:
            return
        text = _WS.sub(" ", "".join(parts))
        parts.clear()
        if _BR in text:
            text = "\n".join(line.strip() for line in text.split(_BR))
            text = re.sub(r"\n{2,}", "\n", text)
        text = text.strip()
        if text:
            m = _BLOCK_START.match(text)
            if m:  # a paragraph that would read as a heading, list, quote or fence
                text = text[: m.start()] + "\\" + text[m.start():]
            out.append(text)

    def _has_block(self, el) -> bool:
        for d in el.iterdescendants():
            if isinstance(d.tag, str) and d.tag in BLOCK_TAGS:
                return True
        return False

    # -- block level -----------------------------------------------------------------------
    def blocks(self, el) -> list[str]:
        self.runs.check(el)
        out: list[str] = []
        parts: list[str] = []
        if el.text:
            parts.append(el.text)
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                if child.tail:
                    parts.append(child.tail)
                continue
            if tag in _SKIP:
                pass
            elif tag in BLOCK_TAGS or (tag not in ("a", "code", "img", "br") and self._has_block(child)):
                self._flush(parts, out)
                out.extend(self.block(child))
            else:
                _append(parts, self.inline(child))
            if child.tail:
                parts.append(child.tail)
        self._flush(parts, out)
        return out

    def block(self, el) -> list[str]:
        tag = el.tag
        if tag in _HEADINGS:
            for a in el.iter("a"):  # a heading that links to its own anchor: keep the words only
                if (a.get("href") or "").startswith("#"):
                    a.attrib.pop("href")
            text = self.inline_text(el)
            return [f"{'#' * _HEADINGS[tag]} {text}"] if text else []
        if tag == "p":
            cls = _classes(el)
            if cls and ("rubric" in cls or "sidebar-title" in cls or "topic-title" in cls):
                text = self.inline_text(el)
                return [f"**{text}**"] if text else []
            return self.blocks(el)
        if tag == "pre":
            variants = [c for c in el if c.tag == "code"]
            if len(variants) > 1:
                self.runs.check(el)  # the tails of its children are read
            if len(variants) > 1 and not (el.text or "").strip() and not any((c.tail or "").strip() for c in el):
                # one example in several flavours side by side (ES module and CommonJS under a
                # toggle): each is a program of its own, glued into one they read as neither
                return [b for b in map(self.code_block, variants) if b]
            code = self.code_block(el)
            return [code] if code else []
        if tag in ("ul", "ol", "menu", "dir"):
            if el.xpath("boolean(./li/*[self::h1 or self::h2 or self::h3 or self::h4 or self::section])") or \
                    el.xpath("count(./li) = 1 and boolean(./li/*[self::pre or self::dl or self::table])"):
                return self.blocks(el)  # a list used for layout (Javadoc's summaries and blocks)
            return [self.list_block(el, tag == "ol")]
        if tag == "dl":
            return self.dl_block(el)
        if tag == "table":
            return self.table_block(el)
        if tag == "blockquote" and not is_admonition(el):
            return [self.quote("\n\n".join(self.blocks(el)))]
        if tag == "hr":
            return []
        if tag in ("details",) and not is_admonition(el):
            return self.blocks(el)
        if tag == "summary":
            if self._has_block(el):
                return self.blocks(el)
            text = self.inline_text(el)
            return [f"**{text}**"] if text else []
        label = is_admonition(el)
        if label is not None:
            return [self.admonition(el, label)]
        if tag == "div":
            m = GRID_CLASS.search(_classes(el))
            if m:
                return self.div_grid(el, GRID_WIDTH[m.group(1)])
        return self.blocks(el)

    def quote(self, body: str) -> str:
        if not body:
            return ""
        return "\n".join((">" + (" " + line if line else "")) for line in body.split("\n"))

    def admonition(self, el, label: str) -> str:
        title = None
        for child in el:
            if not isinstance(child.tag, str):
                continue
            cls = _classes(child)
            if child.tag == "summary" or "title" in cls or "heading" in cls.lower() or "label" in cls:
                title = child
            break
        if title is not None:
            text = self.inline_text(title).rstrip(":").strip()
            label = (text[:1].upper() + text[1:] if text.islower() else text) or label
            tail = title.tail
            title.tail = None
            el.remove(title)
            if tail:
                el.text = (el.text or "") + tail
        body = "\n\n".join(b for b in self.blocks(el) if b)
        md = f"**{label}**" + (f"\n\n{body}" if body else "")
        return self.quote(md)

    def code_block(self, pre) -> str:
        if "mdbook" not in self.disabled:
            for boring in pre.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' boring ')]"):
                drop_element(boring)  # mdBook: lines the book hides from its readers (`# fn main() {`)
        for br in pre.iter("br"):
            br.tail = "\n" + (br.tail or "")
        code = text_of(pre)
        code = code.lstrip("\n").rstrip()
        if not code.strip():
            return ""
        fence = fence_for(code)
        return f"{fence}{code_language(pre, self.disabled)}\n{code}\n{fence}"

    def list_block(self, el, ordered: bool) -> str:
        try:
            n = int(el.get("start") or 1)
        except ValueError:
            n = 1
        items = []
        for li in el:
            if not isinstance(li.tag, str):
                continue
            if li.tag != "li" and li.tag in BLOCK_TAGS and li.tag not in ("ul", "ol"):
                items.extend(b for b in self.block(li) if b)
                continue
            only = [c for c in li if isinstance(c.tag, str)]
            if li.tag == "li" and items and len(only) == 1 and only[0].tag in ("ul", "ol") \
                    and not (li.text or "").strip() and not (only[0].tail or "").strip():
                li = only[0]  # an item holding only a list (a class's inheritance): a level below
            if li.tag in ("ul", "ol"):  # a list directly inside a list: nest it under the previous item
                sub = self.list_block(li, li.tag == "ol")
                if sub and items:
                    items[-1] += "\n" + "\n".join(("  " + s) if s else s for s in sub.split("\n"))
                continue
            blocks = [b for b in self.blocks(li) if b]
            if not blocks:
                continue
            marker = f"{n}. " if ordered else "- "
            n += 1
            body = blocks[0]
            for b in blocks[1:]:
                body += ("\n" if b.startswith(("- ", "1. ")) or re.match(r"\d+\. ", b) else "\n\n") + b
            pad = " " * len(marker)
            lines = body.split("\n")
            items.append(marker + lines[0] + "".join("\n" + (pad + ln if ln.strip() else "") for ln in lines[1:]))
        return "\n".join(items)

    def dl_block(self, el) -> list[str]:
        out: list[str] = []
        dl_cls = set(_classes(el).split())
        sig_dl = bool(dl_cls & _SIG_DL)
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "dt":
                cls = _classes(child)
                if "sig" in cls.split() or (sig_dl and child.get("id")) or child.xpath(
                        "boolean(.//*[contains(@class,'descname') or contains(@class,'sig-name')])"):
                    text = _WS.sub(" ", text_of(child)).strip()
                    if text:
                        out.append(_backticks(text))
                else:
                    text = self.inline_text(child)
                    if text:
                        # the term is bold as a whole: its own bold parts ("--root <b>path</b>")
                        # would close and reopen the mark ("**--root **path****")
                        out.append(text if text.startswith("**") else f"**{_unbold(text)}**")
            elif child.tag == "dd":
                out.extend(b for b in self.blocks(child) if b)
            else:
                out.extend(self.block(child) if child.tag in BLOCK_TAGS else self.blocks(child))
        return out

    # -- inline ----------------------------------------------------------------------------
    def inline_text(self, el, keep_breaks: bool = False) -> str:
        """The inline Markdown of el's content on one line (`keep_breaks`: its <br>s kept as _BR)."""
        self.runs.check(el)
        parts = [el.text or ""]
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _SKIP:
                _append(parts, self.inline(child))
            if child.tail:
                parts.append(child.tail)
        text = "".join(parts)
        return _WS.sub(" ", text if keep_breaks else text.replace(_BR, " ")).strip()

    def inline(self, el) -> str:
        tag = el.tag
        if tag in _SKIP:
            return ""
        if tag == "br":
            return _BR
        if tag == "img":
            src = self.url(el.get("src") or el.get("data-src"))
            alt = _WS.sub(" ", el.get("alt") or "").strip()
            if not src:
                return alt
            return f"![{alt}]({src})"
        if tag in _CODE_INLINE or (tag == "span" and _CODE_SPAN.intersection(_classes(el).split())):
            text = _WS.sub(" ", text_of(el))
            if not text.strip():
                return text
            lead = " " if text[0] == " " else ""
            trail = " " if text[-1] == " " else ""
            return lead + _backticks(text.strip()) + trail
        inner = self.inline_text(el) if len(el) or el.text else ""
        if tag == "a":
            href = self.url(el.get("href"))
            if not inner:
                return ""
            raw = el.text or ""
            lead = " " if raw[:1].isspace() else ""
            trail = " " if self._ends_space(el) else ""
            if not href:
                return lead + inner + trail
            return f"{lead}[{inner}]({href}){trail}"
        mark = _EMPHASIS.get(tag)
        if mark:
            lines = self.inline_text(el, keep_breaks=True).split(_BR)
            if len(lines) == 1:
                return self._wrap(el, inner, mark)
            # a line break inside emphasis ends it: the marks do not run across lines, so each
            # line is emphasised on its own ("**Operation modifiers:**" / "**-m**")
            return _BR.join(f"{mark}{line.strip()}{mark}" if line.strip() else "" for line in lines)
        if tag in _INLINE_HTML and inner:
            return f"<{tag}>{inner}</{tag}>"
        if tag == "abbr" and inner and (expansion := _WS.sub(" ", el.get("title") or "").strip()):
            return f'<abbr title="{expansion.replace(chr(34), "&quot;")}">{inner}</abbr>'
        raw = el.text or ""
        lead = " " if raw[:1].isspace() else ""
        return lead + inner + (" " if self._ends_space(el) else "")

    @staticmethod
    def _ends_space(el) -> bool:
        if len(el):
            t = el[-1].tail
        else:
            t = el.text
        return bool(t) and t[-1:].isspace()

    def _wrap(self, el, inner: str, mark: str) -> str:
        if not inner:
            return ""
        if inner.startswith(mark) and inner.endswith(mark):
            return inner
        raw = el.text or ""
        lead = " " if raw[:1].isspace() else ""
        trail = " " if self._ends_space(el) else ""
        return f"{lead}{mark}{inner}{mark}{trail}"


def to_markdown(el, base_url: str) -> str:
    return MarkdownConverter(base_url).convert(el)
