"""The public help center: categories, articles (Markdown rendered safely), search with the
assistant's own retrieval, and the suggestions shown while a customer writes a new ticket
(deflection: "this solved it" closes the form without a ticket, and is counted).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from assistants import knowledge
from assistants import language as languages
from assistants.models import KnowledgeArticle
from tickets import services

MAX_QUERY = 300
# A suggestion needs less than an answer: the customer reads it and decides.
SUGGEST_MIN_SCORE = 0.25


def _published():
    return KnowledgeArticle.objects.filter(published=True)


def _query(request, name: str = "q") -> str:
    return (request.GET.get(name) or request.POST.get(name) or "").strip()[:MAX_QUERY]


@require_GET
def index(request):
    articles = _published().only("id", "title", "slug", "category", "language").order_by("category", "title")
    categories: dict[str, list] = {}
    for article in articles:
        categories.setdefault(article.category or "General", []).append(article)
    return render(request, "help/index.html", {"categories": sorted(categories.items())})


@require_GET
def article(request, slug: str):
    found = _published().filter(slug=slug).first()
    if found is None:
        raise Http404("No such article.")
    translations = (
        _published()
        .filter(Q(translation_group=found.group) | Q(slug=found.group), ~Q(pk=found.pk))
        .only("title", "slug", "language")
    )
    return render(
        request,
        "help/article.html",
        {
            "article": found,
            "html": mark_safe(knowledge.render_html(found.body)),  # noqa: S308 - raw HTML is escaped by the renderer
            "translations": translations,
        },
    )


def _hits(query: str, *, min_score: float = 0.0) -> tuple[list, object]:
    if not query:
        return [], None
    result = knowledge.search(query, language=languages.detect(query), limit=5)
    return [h for h in result.hits if h.score >= min_score], result


@require_GET
def search(request):
    query = _query(request)
    hits, result = _hits(query, min_score=SUGGEST_MIN_SCORE / 2)
    return render(request, "help/search.html", {"query": query, "hits": hits, "result": result})


@require_GET
def suggest(request):
    """Articles for what the customer is typing into the new-ticket form (a partial, for htmx)."""
    query = " ".join(filter(None, [_query(request, "subject"), _query(request, "message")]))[:MAX_QUERY]
    hits, _ = _hits(query, min_score=SUGGEST_MIN_SCORE) if len(query) >= 8 else ([], None)
    return render(request, "help/_suggestions.html", {"hits": hits[:3], "query": query})


@login_required
@require_POST
def deflect(request):
    """'This solved it': counted, and the new-ticket form is replaced by a short note."""
    try:
        article_id = int(request.POST.get("article", ""))
    except ValueError:
        article_id = None
    query = " ".join(filter(None, [_query(request, "subject"), _query(request, "message")]))
    services.deflection_record(article_id=article_id, customer=request.user, query=query)
    return render(request, "help/_deflected.html", {})
