"""How the library ranks sections for a question (pure functions; LibraryStore runs the SQL).

A question is read as words, not as a boolean query: each word weighs by its rarity in the
library (inverse document frequency), so `on_failure` counts for more than "task". A section's
score for a word is BM25F-like: a hit in its own heading, half a hit in its page title or the
headings above it, plus its hits in the text (saturating with repeats, normalised by the section's
length); the sum over the words is scaled by the share of the question's weight the section
covers, so a section holding most of the rare words beats one that repeats a single word. Then a
section whose own heading the question says (the share of the heading's words the question holds,
common words too) is raised: "Event: 'line'" for "readline event for each line of input received"
over a long section that mentions lines and input throughout.

Only a bounded set of candidates is ranked: the sections holding every word, else at least m of
the question's rarest words, m lowered until enough sections qualify. Words in more than
MAX_COMMON of the sections ("the", "use") tell sections apart too little to be used at all.
Quoted phrases and -exclusions (websearch syntax) are kept as written: they filter. ("or" is read
as a word: a question's "sunset or dawn" is not an operator.)
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import combinations

MAX_COMMON = 0.3  # a word in more of the library's sections than this share is not used
MAX_WORDS = 8  # the rarest words of a long question are ranked by; the rest add little but cost
CANDIDATE_WORDS = 5  # the rarest words that choose the candidates (at most C(5, 2) = 10 combinations)
TIERS = CANDIDATE_WORDS + 1  # the most candidate tiers a question has (see candidate_tiers)
TYPICAL_TOKENS = 300  # a section of this many tokens has its text's hits counted as they are
HEADING, TITLE, TEXT = 1.0, 0.5, 1.0  # a word's weight in the section's own heading, its page title and headings above, its text
EXACT = 1.0  # a section whose own heading the question says whole scores up to 1 + EXACT times as much
LENGTH_NORM = 0.5  # how much a long section's text hits are discounted (BM25's b)
SATURATION = 1.0  # BM25's k: the second hit of a word adds less than the first

_PHRASE = re.compile(r'"[^"]*"?')
# -word excludes; -B and --extra-files are command-line options, asked about, not excluded
_EXCLUDED = re.compile(r"(?:^|(?<=\s))-(?!-)[^\s\"]{2,}")


@dataclass(frozen=True)
class Question:
    words: str
    """The text whose words are ranked by (the question without its -exclusions)."""
    constraint: str | None
    """The quoted phrases and -exclusions, in websearch syntax, every section must satisfy; None without."""


def read_question(query: str) -> Question:
    phrases = [m.group(0) for m in _PHRASE.finditer(query)]
    excluded = [m.group(0) for m in _EXCLUDED.finditer(_PHRASE.sub(" ", query))]
    words = _EXCLUDED.sub(" ", query)
    constraint = " ".join(p for p in phrases if p.strip('"').strip()) + " " + " ".join(excluded)
    return Question(" ".join(words.replace('"', " ").split()), constraint.strip() or None)


@dataclass(frozen=True)
class Term:
    word: str  # a lexeme of the `docspasta` text search configuration
    idf: float


def question_terms(counts: dict[str, int], sections: int) -> list[Term]:
    """The question's words worth ranking by, rarest first: those some section holds, and not in
    more than MAX_COMMON of them (unless every word is that common: then the rarest, to say
    something); at most MAX_WORDS of them."""
    sections = max(sections, max(counts.values(), default=0), 1)
    held = sorted((count, word) for word, count in counts.items() if count > 0)
    kept = ([(count, word) for count, word in held if count <= MAX_COMMON * sections] or held[:1])[:MAX_WORDS]
    return [Term(word, math.log(1 + (sections - count + 0.5) / (count + 0.5))) for count, word in kept]


def tsquery_word(word: str, weight: str = "") -> str:
    escaped = word.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'{':' + weight if weight else ''}"


def every(terms: list[Term]) -> str:
    """A tsquery that matches the sections holding every one of `terms`' words."""
    return " & ".join(tsquery_word(term.word) for term in terms)


def candidate_tiers(terms: list[Term]) -> list[list[str]]:
    """The candidate queries from the strictest to the loosest: every word (when there are more
    than the rarest few), then at least m of the rarest CANDIDATE_WORDS, m from all of them to one.
    A tier is a list of AND queries (a section found by any is found): the index runs each driven
    by its rarest word, cheaper than one query of ORs that it would check on every section holding
    any of the words."""
    rarest = terms[:CANDIDATE_WORDS]
    tiers = [[every(terms)]] if len(terms) > len(rarest) else []
    return tiers + [[every(list(group)) for group in combinations(rarest, m)] for m in range(len(rarest), 0, -1)]


def score_sql(vector: str, tokens: str, heading_lexemes: str, q: str) -> str:
    """SQL for a section's score, the same statement for any number of words.

    `vector` names the section's tsvector, `tokens` its token count, `heading_lexemes` how many
    lexemes its own heading has; `q` a row of arrays: words (tsqueries of the words ranked by),
    heading_words (the same weighted A: in the section's own heading), title_words (B: the page
    title and the headings above), idfs (their weights, float8) and total (the weights' sum), and
    every_heading_word (each of the question's lexemes, common ones too, weighted A).
    """
    length = f"1.0 / ({1 - LENGTH_NORM} + {LENGTH_NORM} * {tokens} / {TYPICAL_TOKENS}.0)"
    feature = (f"{HEADING} * ({vector} @@ w.a)::int + {TITLE} * ({vector} @@ w.b)::int"
               f" + {TEXT} * ts_rank('{{1,0,0,0}}', {vector}, w.word) * {length}")
    weights = (f"(SELECT sum(f.idf * f.c / ({SATURATION} + f.c)) * sum(f.idf * (f.c > 0)::int)"
               f" FROM (SELECT w.idf, {feature} AS c"
               f"  FROM unnest({q}.words, {q}.heading_words, {q}.title_words, {q}.idfs) AS w(word, a, b, idf)) f)")
    said = (f"(SELECT count(*) FROM unnest({q}.every_heading_word) AS e(word) WHERE {vector} @@ e.word)::float8"
            f" / greatest({heading_lexemes}, 1)")
    return f"{weights} / {q}.total * (1 + {EXACT} * {said})"
