"""The generators that generator-specific extraction rules serve.

Every rule written for one generator or theme (a main-content container, a furniture class,
a code-language convention) is tagged with the generators it serves, so that the extractor
can run with some of them switched off (`extract_page(..., disabled=...)`): the
leave-one-generator-out benchmark (bench/generalization.py) measures how the generic path
alone does on a generator's sites. Rules for libraries many generators share (Pygments line
numbers, anchor.js) and conventions of HTML itself (`language-*` classes, landmarks) are
generic and carry no tag.
"""
from __future__ import annotations

GENERATORS = frozenset((
    "docusaurus", "vitepress", "mkdocs", "mkdocs-material", "sphinx", "docutils", "sphinx-rtd",
    "furo", "pydata", "rustdoc", "nodejs", "erlang", "mdbook", "mintlify", "gitbook", "docsify",
    "github-markdown", "javadoc", "docbook",
))
NONE: frozenset[str] = frozenset()


def checked(disabled) -> frozenset[str]:
    """`disabled` as a frozenset of known generator names (a typo must not pass silently)."""
    disabled = frozenset(disabled)
    unknown = disabled - GENERATORS
    if unknown:
        raise ValueError(f"unknown generators: {', '.join(sorted(unknown))}")
    return disabled
