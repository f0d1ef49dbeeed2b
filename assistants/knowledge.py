"""Knowledge-base retrieval for the offline assistant: Okapi BM25 over titles and bodies.

A dozen to a few thousand articles fit in memory; the index is rebuilt when an article changes
(keyed by the newest updated_at and the count), so a search costs one small query.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Max

from assistants.models import KnowledgeArticle

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an and are as at be but by can do does for from have how i if in is it its me my of on or our so that
    the their this to was what when where which who why will with you your we us not no get""".split()
)
TITLE_WEIGHT = 3  # a title word counts as often as this many body words
K1, B = 1.5, 0.75


def tokenize(text: str) -> list[str]:
    words = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        # A light stemmer: plural and -ing/-ed endings fold together ("refunds" ~ "refund").
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        words.append(word)
    return words


@dataclass
class Hit:
    article_id: int
    title: str
    body: str
    score: float


class _Index:
    def __init__(self, articles: list[KnowledgeArticle]):
        self.docs = []
        for article in articles:
            terms = Counter(tokenize(article.body) + tokenize(article.tags))
            for word in tokenize(article.title):
                terms[word] += TITLE_WEIGHT
            self.docs.append((article, terms, sum(terms.values())))
        self.avg_len = (sum(d[2] for d in self.docs) / len(self.docs)) if self.docs else 0.0
        df = Counter()
        for _, terms, _ in self.docs:
            df.update(terms.keys())
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def search(self, query: str, limit: int) -> list[Hit]:
        words = set(tokenize(query))
        hits = []
        for article, terms, length in self.docs:
            score = 0.0
            for word in words:
                tf = terms.get(word)
                if not tf:
                    continue
                norm = tf + K1 * (1 - B + B * length / self.avg_len)
                score += self.idf[word] * tf * (K1 + 1) / norm
            if score > 0:
                hits.append(Hit(article.pk, article.title, article.body, round(score, 3)))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]


_cache: dict = {}


def _index() -> _Index:
    published = KnowledgeArticle.objects.filter(published=True)
    key = tuple(published.aggregate(n=Count("id"), t=Max("updated_at")).values())
    if _cache.get("key") != key:
        _cache["index"] = _Index(list(published))
        _cache["key"] = key
    return _cache["index"]


def search(query: str, limit: int = 3) -> list[Hit]:
    return _index().search(query, limit)
