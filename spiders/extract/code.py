"""Code blocks: the language a page declares for a `<pre>`, and a fence that cannot clash."""
from __future__ import annotations

import re

from lxml import etree

_LANG_ALIASES = {"default": "python", "python3": "python", "py": "python", "erl": "erlang",
                 "none": "", "text": "", "plain": "", "plaintext": "", "nohighlight": "", "txt": ""}
_KNOWN_BARE_LANGS = frozenset(
    "rust python c cpp java javascript js typescript ts bash sh shell console json yaml toml "
    "erlang elixir go ruby sql html xml css ini diff make cmake haskell kotlin scala swift "
    "php perl lua r csharp".split()
)
# Class prefixes naming a code block's language: generic ones, and (prefix, generators served).
_PREFIXES = ("language-", "lang-", "brush:")
_GENERATOR_PREFIXES = (("highlight-", ("sphinx",)), ("example-", ("erlang",)))
_ALL_PREFIXES = (*_PREFIXES, *(p for p, _ in _GENERATOR_PREFIXES))


def code_language(pre: etree._Element, disabled: frozenset[str] = frozenset()) -> str:
    """The language of a code block, from the classes or data attributes around `pre`.

    Nearest first: the `pre` and the `code`/`pre` wrappers inside it (mdBook nests
    `<pre><pre class="playground"><code class="language-rust">`), then three ancestors;
    `disabled` names generators whose conventions are not read."""
    prefixes = _ALL_PREFIXES if not disabled else (
        *_PREFIXES, *(p for p, gens in _GENERATOR_PREFIXES if not disabled.intersection(gens)))
    inner = [el for el in pre.iter("code", "pre") if el is not pre][:3]
    chain = [*(el for el in inner if el.tag == "code"), pre, *(el for el in inner if el.tag == "pre")]
    anc = pre.getparent()
    for _ in range(3):
        if anc is None:
            break
        chain.append(anc)
        anc = anc.getparent()
    for el in chain:
        lang = el.get("data-lang") or el.get("data-language")
        if lang:
            return _LANG_ALIASES.get(lang.lower(), lang.lower())
        classes = (el.get("class") or "").split()
        for i, c in enumerate(classes):
            lc = c.lower()
            for prefix in prefixes:
                if lc.startswith(prefix) and len(lc) > len(prefix):
                    lang = lc[len(prefix):]
                    return _LANG_ALIASES.get(lang, lang)
            if lc == "sourcecode" and i + 1 < len(classes):
                lang = classes[i + 1].lower()
                return _LANG_ALIASES.get(lang, lang)
        if el.tag in ("pre", "code"):
            for c in classes:
                if c.lower() in _KNOWN_BARE_LANGS:
                    return c.lower()
    # No convention known: a class whose last part names a language ("highlight-python",
    # "codeblock_rust", "src-bash") on the block or around it says what it is.
    for el in chain:
        for c in (el.get("class") or "").split():
            parts = re.split(r"[-_:]", c.lower())
            if len(parts) > 1 and parts[-1] in _KNOWN_BARE_LANGS:
                return parts[-1]
    return ""


def fence_for(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}|~{3,}", code)), default=0)
    return "`" * max(3, longest + 1)
