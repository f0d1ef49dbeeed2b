"""The in-memory index of the published passages, and hybrid search over it.

The index is rebuilt when an article changes (keyed by the count, the newest updated_at and the
newest indexed_at), so a search costs one small aggregate query, the question's embedding (about
10 ms) and arithmetic. Passages come from the database as the indexing task stored them; an article
saved since its last indexing is split on the fly (lexical only) until the task has run.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Max, Prefetch

from assistants.knowledge import confidence, embeddings, lexical
from assistants.knowledge.passages import split
from assistants.models import KnowledgeArticle, KnowledgePassage


@dataclass
class Entry:
    article_id: int
    slug: str
    title: str
    group: str
    language: str
    category: str
    position: int
    heading: str
    text: str
    terms: Counter  # text, heading, title and tags: how the passage ranks
    text_terms: frozenset  # text and heading only: which passage of an article answers
    vector: np.ndarray | None  # the passage averaged with its article
    own_vector: np.ndarray | None  # the passage alone

    @property
    def key(self) -> str:
        return f"{self.article_id}:{self.position}"


@dataclass
class Hit:
    """The best passage of one article group for a question."""

    article_id: int
    slug: str
    title: str
    group: str
    language: str
    passage: str  # "article_id:position"
    heading: str
    text: str
    score: float  # fused, 0..1
    lexical: float  # BM25 / what a passage with every query term would score
    dense: float | None  # cosine similarity, None without a model

    def as_dict(self) -> dict:
        return {
            "id": self.article_id,
            "slug": self.slug,
            "title": self.title,
            "group": self.group,
            "language": self.language,
            "passage": self.passage,
            "heading": self.heading,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    confidence: float  # calibrated: the chance that hits[0] answers the question
    mode: str  # "hybrid" | "lexical"
    features: dict = field(default_factory=dict)

    @property
    def confident(self) -> bool:
        return bool(self.hits) and self.confidence >= confidence.threshold(self.mode)


def _entries_for(article: KnowledgeArticle, stored: list[KnowledgePassage]) -> list[Entry]:
    fresh = article.indexed_at is not None and article.indexed_at >= article.updated_at and stored
    article_vector = embeddings.from_bytes(article.embedding) if fresh else None
    if fresh:
        rows = [(p.position, p.heading, p.text, embeddings.from_bytes(p.embedding)) for p in stored]
    else:
        rows = [(p.position, p.heading, p.text, None) for p in split(article.body)]
    head = f"{article.title} {article.tags.replace(',', ' ')}"
    out = []
    for position, heading, text, own in rows:
        vector = own
        if own is not None and article_vector is not None:
            # A passage is judged with its article: e5 finds short passages close to almost any
            # question, and the whole article's vector tempers that.
            vector = (own + article_vector) / 2
        terms = Counter(lexical.tokenize(text, article.language))
        for term in lexical.tokenize(f"{article.title} {heading}", article.language):
            terms[term] += lexical.TITLE_WEIGHT - 1
        for term in lexical.tokenize(head, article.language):
            terms[term] += 1
        out.append(
            Entry(
                article_id=article.pk,
                slug=article.slug,
                title=article.title,
                group=article.group,
                language=article.language,
                category=article.category,
                position=position,
                heading=heading,
                text=text,
                terms=terms,
                text_terms=frozenset(lexical.tokenize(f"{heading} {text}", article.language)),
                vector=vector,
                own_vector=own,
            )
        )
    return out


class Index:
    def __init__(self, articles: list[KnowledgeArticle]):
        self.entries: list[Entry] = []
        for article in articles:
            self.entries.extend(_entries_for(article, list(article.passages.all())))
        self.languages = sorted({e.language for e in self.entries})
        self.by_language = {
            lang: [i for i, e in enumerate(self.entries) if e.language == lang] for lang in self.languages
        }
        # One BM25 per language: a word's rarity is judged among the passages of its own language
        # (otherwise "colis" looks rare merely because few articles are in French).
        self.bm25 = {
            lang: lexical.BM25([self.entries[i].terms for i in rows], [lang] * len(rows))
            for lang, rows in self.by_language.items()
        }
        vectors = [e.vector for e in self.entries]
        self.has_vectors = np.array([v is not None for v in vectors], dtype=bool)
        self.matrix = (
            np.vstack([v if v is not None else np.zeros(embeddings.DIMENSIONS, np.float32) for v in vectors])
            if vectors and self.has_vectors.any()
            else None
        )
        self.own_matrix = (
            np.vstack([v if v is not None else np.zeros(embeddings.DIMENSIONS, np.float32) for v in
                       [e.own_vector for e in self.entries]])
            if self.matrix is not None
            else None
        )  # fmt: skip
        self.groups = {e.group for e in self.entries}

    # --- the two rankers -----------------------------------------------------------------------

    def lexical_scores(self, query: str) -> np.ndarray:
        """Each passage scored with the question stemmed in the passage's own language; the concept
        terms of the synonym table are shared by all languages (a Spanish "pesar" meets "weight")."""
        out = np.zeros(len(self.entries), dtype=np.float32)
        tokenized = {lang: lexical.tokenize(query, lang) for lang in self.languages}
        concepts = sorted({t for terms in tokenized.values() for t in terms if t.startswith("~")})
        for lang, terms in tokenized.items():
            terms = [t for t in terms if not t.startswith("~")] + concepts
            if not terms:
                continue
            bm25 = self.bm25[lang]
            scores = bm25.scores(terms, lang)
            top = bm25.max_score(terms)
            rows = self.by_language[lang]
            for local, score in scores.items():
                out[rows[local]] = score / top
        return out

    def dense_scores(self, query: str) -> np.ndarray | None:
        if self.matrix is None:
            return None
        vector = embeddings.embed_query(query)
        if vector is None:
            return None
        return np.where(self.has_vectors, self.matrix @ vector, 0.0).astype(np.float32)

    # --- search --------------------------------------------------------------------------------

    def search(
        self, query: str, *, language: str = "", limit: int = 3, exclude: frozenset[str] = frozenset()
    ) -> SearchResult:
        if not self.entries or not query.strip():
            return SearchResult(query=query, hits=[], confidence=0.0, mode="lexical")
        lex = self.lexical_scores(query)
        dense = self.dense_scores(query)
        mode = "hybrid" if dense is not None else "lexical"
        fused = confidence.fuse(lex, dense, self.has_vectors)
        # A group ranks by its best passage; the passage quoted is the best one in the customer's
        # language when the group has a version in it (translations share a group).
        best: dict[str, int] = {}
        score: dict[str, float] = {}
        for i in np.argsort(-fused, kind="stable"):
            entry = self.entries[int(i)]
            if entry.key in exclude:
                continue
            best.setdefault(entry.group, int(i))
            score[entry.group] = max(score.get(entry.group, 0.0), float(fused[i]))
        ranked = sorted(best, key=lambda g: -score[g])
        order = [self._quoted(g, query, language, exclude) for g in ranked[: max(limit, 2)]]
        scores = [score[g] for g in ranked]
        hits = [
            Hit(
                article_id=self.entries[i].article_id,
                slug=self.entries[i].slug,
                title=self.entries[i].title,
                group=self.entries[i].group,
                language=self.entries[i].language,
                passage=self.entries[i].key,
                heading=self.entries[i].heading,
                text=self.entries[i].text,
                score=scores[n],
                # How the group ranked (its best passage), whichever passage is quoted.
                lexical=float(lex[best[ranked[n]]]),
                dense=float(dense[best[ranked[n]]]) if dense is not None else None,
            )
            for n, i in enumerate(order)
        ]
        lexical_best = self.entries[int(np.argmax(lex))].group if lex.max() > 0 else ""
        dense_best = self.entries[int(np.argmax(dense))].group if dense is not None else ""
        features = confidence.features(hits, lexical_best=lexical_best, dense_best=dense_best)
        return SearchResult(
            query=query,
            hits=hits[:limit],
            confidence=confidence.calibrated(features, mode),
            mode=mode,
            features=features,
        )

    def _quoted(self, group: str, query: str, language: str, exclude: frozenset[str]) -> int:
        """Which passage of a group to quote: one in the customer's language if the group has one,
        and among those the one whose own words and own embedding are closest to the question (the
        title and the article's vector are the same for all of them, so they cannot choose)."""
        rows = [i for i, e in enumerate(self.entries) if e.group == group and e.key not in exclude]
        if language and any(self.entries[i].language == language for i in rows):
            rows = [i for i in rows if self.entries[i].language == language]
        if len(rows) == 1:
            return rows[0]
        question = {lang: set(lexical.tokenize(query, lang)) for lang in {self.entries[i].language for i in rows}}
        vector = embeddings.embed_query(query) if self.own_matrix is not None else None

        def closeness(i: int) -> float:
            entry = self.entries[i]
            words = question[entry.language]
            overlap = len(words & entry.text_terms) / len(words) if words else 0.0
            if vector is None or entry.own_vector is None:
                return overlap
            return overlap + float(self.own_matrix[i] @ vector - confidence.DENSE_FLOOR) * 4

        return max(rows, key=lambda i: (closeness(i), -self.entries[i].position))

    def passages_of(self, group: str, *, language: str = "") -> list[Entry]:
        return [e for e in self.entries if e.group == group and (not language or e.language == language)]


_lock = threading.Lock()
_cache: dict = {}


def current() -> Index:
    published = KnowledgeArticle.objects.filter(published=True)
    key = tuple(published.aggregate(n=Count("id"), t=Max("updated_at"), i=Max("indexed_at")).values())
    key = (*key, embeddings.available())
    if _cache.get("key") != key:
        with _lock:
            if _cache.get("key") != key:
                articles = list(
                    published.order_by("pk").prefetch_related(
                        Prefetch("passages", queryset=KnowledgePassage.objects.order_by("position"))
                    )
                )
                _cache["index"] = Index(articles)
                _cache["key"] = key
    return _cache["index"]


def reset() -> None:
    _cache.clear()
