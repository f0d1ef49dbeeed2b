"""The in-memory index of the published passages, and hybrid search over it.

The index is rebuilt when an article changes (keyed by the count, the newest updated_at and the
newest indexed_at), so a search costs one small aggregate query, the question's embedding (about
10 ms) and arithmetic. Passages come from the database as the indexing task stored them; an article
saved since its last indexing is split on the fly (lexical only) until the task has run.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Max, Prefetch

from assistants.knowledge import confidence, embeddings, lexical
from assistants.knowledge.passages import split
from assistants.knowledge.synonyms import WORDS
from assistants.knowledge.typos import Speller
from assistants.models import KnowledgeArticle, KnowledgePassage

TITLE_WEIGHT = 0.2  # chosen on the tuning part of bench/eval, checked on bench/eval/tallybook's
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)


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
    article_vector: np.ndarray | None = None  # the whole article

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
    title_vector = embeddings.from_bytes(article.title_embedding) if fresh else None
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
            if title_vector is not None:
                # And with what the article is about (its title and tags), a field weight for e5.
                vector = (1 - TITLE_WEIGHT) * vector + TITLE_WEIGHT * title_vector
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
                article_vector=article_vector,
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
        self._pairs_init()
        surface: dict[str, Counter] = {}
        for e in self.entries:
            surface.setdefault(e.language, Counter()).update(lexical.words(f"{e.title} {e.heading} {e.text}"))
        self.known_words = set().union(*surface.values()) if surface else set()
        self.spellers = {lang: Speller(counts) for lang, counts in surface.items()}

    def corrected(self, query: str, language: str = "") -> str:
        """The question with each word the knowledge base never uses replaced by the word of the
        question's language one typo away, so that both rankers, the embedding too, read "invocie"
        as "invoice". A word is left alone when it is short, a stopword or synonym-table word, or a
        form of a known word (its stem is indexed: "arrived" is no typo of "arrives")."""
        language = language if language in self.spellers else self.main_language
        speller, bm25 = self.spellers.get(language), self.bm25.get(language)
        if speller is None:
            return query

        def fix(match: re.Match) -> str:
            word = match.group(0)
            lowered = word.lower()
            if lowered in self.known_words or lowered in lexical.ALL_STOPWORDS or lowered in WORDS:
                return word
            if lexical.stem(lowered, language) in bm25.idf:
                return word
            return speller.correct(lowered) or word

        return _LETTERS.sub(fix, query)

    def _pairs_init(self) -> None:
        """Translation pairs: for each language but the knowledge base's main one, the groups that
        have an article in it and in the main language, with the passage rows of each version."""
        counts = Counter(e.language for e in self.entries)
        self.main_language = counts.most_common(1)[0][0] if counts else "en"
        rows: dict[tuple[str, str], list[int]] = {}
        for i, e in enumerate(self.entries):
            rows.setdefault((e.group, e.language), []).append(i)
        self.pairs: dict[str, list[tuple[list[int], list[int]]]] = {}
        for (group, lang), own in rows.items():
            main = rows.get((group, self.main_language))
            if lang != self.main_language and main:
                self.pairs.setdefault(lang, []).append((own, main))

    def language_bias(self, scores: np.ndarray) -> np.ndarray:
        """How much higher a ranker scores a language's passages than the same content in the main
        language, for this question: the mean gap between the two versions of each translated
        article (their content is the same, so the gap is the language's, not the answer's). Both
        rankers favour the question's own language (e5 puts any text in the same language closer;
        a small language's BM25 finds its few passages covering the question); subtracting the gap
        lets an English article that answers beat a French one that merely speaks French."""
        bias = np.zeros(len(self.entries), dtype=np.float32)
        for lang, pairs in self.pairs.items():
            gap = max(float(np.mean([scores[own].max() - scores[main].max() for own, main in pairs])), 0.0)
            bias[self.by_language[lang]] = gap
        return bias

    # --- the two rankers -----------------------------------------------------------------------

    def lexical_scores(self, query: str, language: str = "") -> np.ndarray:
        """Each passage scored with the question stemmed in the passage's own language; the concept
        terms of the synonym table, read in the question's language, are shared by all languages (a
        Spanish "pesar" meets "weight")."""
        out = np.zeros(len(self.entries), dtype=np.float32)
        tokenized = {lang: lexical.tokenize(query, lang) for lang in self.languages}
        if language and language not in tokenized:
            tokenized[language] = lexical.tokenize(query, language)
        read_in = tokenized.values() if not language else [tokenized[language]]
        concepts = sorted({t for terms in read_in for t in terms if t.startswith("~")})
        for lang in self.languages:
            terms = [t for t in tokenized[lang] if not t.startswith("~")] + concepts
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
        asked, query = query, self.corrected(query, language)
        lex = self.lexical_scores(query, language)
        dense = self.dense_scores(query)
        if self.pairs:
            lex = np.maximum(lex - self.language_bias(lex), 0.0)
            if dense is not None:
                dense = dense - self.language_bias(dense)
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
        features = confidence.features(
            hits,
            lexical_best=lexical_best,
            dense_best=dense_best,
            by_group={"lexical": self._by_group(lex, exclude), "dense": self._by_group(dense, exclude)},
        )
        return SearchResult(
            query=asked,
            hits=hits[:limit],
            confidence=confidence.calibrated(features, mode),
            mode=mode,
            features=features,
        )

    def _by_group(self, scores: np.ndarray | None, exclude: frozenset[str]) -> dict[str, float]:
        """One ranker's score of each group: its best passage's."""
        out: dict[str, float] = {}
        if scores is None:
            return out
        for entry, value in zip(self.entries, scores.tolist()):
            if entry.key not in exclude and value > out.get(entry.group, -1e9):
                out[entry.group] = value
        return out

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
