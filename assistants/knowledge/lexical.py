"""Lexical ranking: Okapi BM25 over passages, with Snowball stemming per language, a small synonym
table (both sides are folded onto one term) and a typo fallback (a query word the index has never
seen is matched to a close known word).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

import snowballstemmer

from assistants.knowledge.synonyms import PHRASES, WORDS
from assistants.knowledge.typos import Speller

LANGUAGES = {"en": "english", "de": "german", "fr": "french", "es": "spanish"}
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
STOPWORDS = {
    "en": """a an and are as at be been but by can could do does did for from had has have how i i'm if in
        into is it it's its me my of on or our so than that the their them then there these they this to
        was we were what when where which who why will with would you your us not no get got just any
        some there's i'd i've let please hi hello thanks also""",
    "de": """der die das den dem des ein eine einer einem einen und oder aber ist sind war bin bist hat habe
        haben ich du er sie es wir ihr mein meine meinen mir mich sie ihnen ihr ihre zu im in am an auf
        für mit von bei wie was wann wo warum kann können ich's nicht noch schon auch bitte hallo nur so""",
    "fr": """le la les un une des de du et ou mais est sont suis j je tu il elle nous vous ils elles mon ma
        mes votre vos ce cette ces à au aux en dans pour par sur avec que qui quoi quand où comment
        pourquoi ne pas plus puis peux peut s il vous plaît bonjour merci l d qu n""",
    "es": """el la los las un una unos unas de del y o pero es son soy estoy está mi mis tu su sus nuestro
        a al en por para con que qué quién cuando cuándo donde dónde como cómo por qué no sí me te se lo
        le puedo puede hola gracias favor muy""",
}
STOPWORDS = {lang: frozenset(words.split()) for lang, words in STOPWORDS.items()}
ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())
TITLE_WEIGHT = 2  # a word of the article's title or the passage's heading counts twice
TAG_WEIGHT = 2
K1, B = 1.2, 0.75


@lru_cache(maxsize=8)
def _stemmer(language: str):
    return snowballstemmer.stemmer(LANGUAGES.get(language, "english"))


@lru_cache(maxsize=50_000)
def stem(word: str, language: str) -> str:
    return _stemmer(language).stemWord(word)


@lru_cache(maxsize=8)
def _concepts_by_stem(language: str) -> dict[str, str]:
    """The synonym table by stem, so inflections meet it too ("pesar" ~ "pesa" ~ weight)."""
    out: dict[str, str] = {}
    for word, concept in WORDS.items():
        if len(word) >= 4:
            out.setdefault(stem(word, language), concept)
    return out


def words(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall((text or "").lower())]


def tokenize(text: str, language: str = "en") -> list[str]:
    """Stemmed terms, stopwords dropped; a word or phrase in the synonym table adds its concept
    term (`~refund`), so "reimburse" and "money back" meet "refund"."""
    tokens = words(text)
    stops = STOPWORDS.get(language, STOPWORDS["en"])
    out: list[str] = []
    by_stem = _concepts_by_stem(language)
    for i, word in enumerate(tokens):
        # A stopword of this language names no concept ("an" is a French year, a German "to").
        concept = None if word in stops else WORDS.get(word) or by_stem.get(stem(word, language))
        if concept:
            out.append(concept)
        for n in (2, 3):
            concept = PHRASES.get(" ".join(tokens[i : i + n])) if i + n <= len(tokens) else None
            if concept:
                out.append(concept)
        if word in stops or len(word) < 2:
            continue
        if "'" in word:  # "parcel's", "l'adresse", "j'ai"
            head, tail = word.split("'", 1)
            word = tail if len(head) <= 2 else head
            if word in stops or len(word) < 2:
                continue
        out.append(stem(word, language))
    return out


class BM25:
    """BM25 over a list of documents, each a Counter of terms."""

    def __init__(self, docs: list[Counter], languages: list[str] | None = None):
        self.docs = docs
        self.lengths = [sum(d.values()) for d in docs]
        self.avg_len = (sum(self.lengths) / len(docs)) if docs else 1.0
        df: Counter = Counter()
        for doc in docs:
            df.update(doc.keys())
        n = len(docs)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}
        self.vocabulary: dict[str, set[str]] = {}
        for doc, lang in zip(docs, languages or ["en"] * len(docs)):
            self.vocabulary.setdefault(lang, set()).update(t for t in doc if not t.startswith("~"))
        self.spellers = {lang: Speller(Counter({t: df[t] for t in v})) for lang, v in self.vocabulary.items()}
        self.unknown_idf = math.log(1 + (n - 0.5) / 1.5) if n else 1.0  # as if seen once
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in doc.items():
                self.postings.setdefault(term, []).append((i, tf))

    def close_terms(self, term: str, language: str) -> list[str]:
        """A known term of the same language one typo away from an unknown query term (5 letters
        or more)."""
        if term in self.idf or len(term) < 5 or term.startswith("~"):
            return []
        speller = self.spellers.get(language)
        close = speller.correct(term) if speller is not None else None
        return [close] if close else []

    def scores(self, terms: list[str], language: str = "en") -> dict[int, float]:
        out: dict[int, float] = {}
        for term in set(terms):
            weight = 1.0
            postings = self.postings.get(term)
            if postings is None:
                close = self.close_terms(term, language)
                if not close:
                    continue
                term, weight = close[0], 0.8
                postings = self.postings[term]
            idf = self.idf[term] * weight
            for i, tf in postings:
                norm = tf + K1 * (1 - B + B * self.lengths[i] / self.avg_len)
                out[i] = out.get(i, 0.0) + idf * tf * (K1 + 1) / norm
        return out

    def max_score(self, terms: list[str]) -> float:
        """About what a passage holding every query term once would score (a term the index has
        never seen counts as a rare one), so score / max_score says how much of the question a
        passage covers."""
        return sum(self.idf.get(t, self.unknown_idf if not t.startswith("~") else 0.0) for t in set(terms)) or 1.0
